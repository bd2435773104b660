//! [`RukaSec`], the entry point an app creates once and keeps.
//!
//! Creating it runs (or reuses) the process-wide crypto self-test and reports the outcome as a
//! security event, so the app learns at start, not at its first payment, that crypto is
//! unavailable. Every capability hangs off this object and shares its event bus.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::crypto::Crypto;
use crate::error::Result;
use crate::events::{
    AnomalyDetector, AnomalyRules, EventBus, EventSubscription, SecurityEvent, SecurityEventKind,
    SecurityEventListener,
};
use crate::logging::{self, LogLevel, LogStats, Logger};
use crate::secret::{SecretBytes, SecretString};
use crate::selftest::{CryptoGate, SelfTestReport, global_gate};
use crate::tls::{
    CertificateSummary, ClientOptions, HttpsClient, PinChecker, PinPolicy, PolicyStore,
    PolicyUpdater, SignedPolicyVerifier, SpkiPin, parse_certificates,
};
use crate::vault::{KeyWrapper, Vault};

/// The RukaSec core: one per app process (several are allowed and share the self-test).
pub struct RukaSec {
    events: Arc<EventBus>,
    gate: &'static CryptoGate,
    /// The anomaly rules, once enabled; every HTTPS client made afterwards reports to them.
    anomaly: std::sync::OnceLock<Arc<AnomalyDetector>>,
    /// This core's key in the process-wide logger registry (see [`crate::logging`]).
    log_owner: u64,
}

/// The next core's `log_owner`.
static NEXT_LOG_OWNER: AtomicU64 = AtomicU64::new(1);

impl RukaSec {
    /// Starts the core: runs the crypto self-test (once per process) and reports it to
    /// `listener` as a `SelfTestPassed` or `SelfTestFailed` event.
    ///
    /// Start-up never fails: when the self-test fails, the core starts in a refusing state in
    /// which every cryptographic operation returns
    /// [`Error::CryptoUnavailable`](crate::Error::CryptoUnavailable).
    pub fn new(listener: Option<Arc<dyn SecurityEventListener>>) -> Self {
        Self::with_gate(listener, global_gate())
    }

    /// A core whose self-test failed (a deliberately broken known-answer test), in the refusing
    /// state [`Self::new`] describes, for tests of that state from other languages. Only with
    /// feature `test-server`; the process-wide gate is untouched.
    #[cfg(feature = "test-server")]
    pub fn with_failed_self_test(listener: Option<Arc<dyn SecurityEventListener>>) -> Self {
        Self::with_gate(listener, crate::selftest::failing_gate())
    }

    fn with_gate(
        listener: Option<Arc<dyn SecurityEventListener>>,
        gate: &'static CryptoGate,
    ) -> Self {
        let core = Self {
            events: Arc::new(EventBus::new(listener)),
            gate,
            anomaly: std::sync::OnceLock::new(),
            log_owner: NEXT_LOG_OWNER.fetch_add(1, Ordering::Relaxed),
        };
        core.report_self_test(gate.first_report());
        core
    }

    /// Runs the known-answer tests again and reports the outcome as an event. A failure shuts
    /// crypto off for the rest of the process.
    pub fn self_test(&self) -> SelfTestReport {
        let report = self.gate.rerun();
        self.report_self_test(&report);
        report
    }

    /// Whether cryptographic operations are available (every self-test so far passed).
    pub fn is_crypto_operational(&self) -> bool {
        self.gate.is_operational()
    }

    /// The SPKI SHA-256 pin of a DER-encoded X.509 certificate.
    ///
    /// # Errors
    /// `CryptoUnavailable` after a failed self-test; `InvalidInput` for anything but one DER
    /// certificate.
    pub fn spki_sha256_pin(&self, cert_der: &[u8]) -> Result<SpkiPin> {
        let crypto = self.crypto("spki_sha256_pin")?;
        CertificateSummary::from_der(&crypto, cert_der).map(|summary| summary.pin)
    }

    /// Subject and pin of every certificate in a PEM bundle or DER file.
    ///
    /// # Errors
    /// As [`parse_certificates`].
    pub fn certificates(&self, pem_or_der: &[u8]) -> Result<Vec<CertificateSummary>> {
        let crypto = self.crypto("certificates")?;
        parse_certificates(&crypto, pem_or_der)
    }

    /// The event bus: flush, counters, listener replacement.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Opens (or creates) the encrypted vault in `dir`, its keys wrapped by `wrapper`. Its
    /// security events go to this core's listener.
    ///
    /// # Errors
    /// As [`Vault::open`].
    pub fn open_vault(&self, dir: &Path, wrapper: Arc<dyn KeyWrapper>) -> Result<Vault> {
        self.crypto("open_vault")?;
        Vault::open(dir, wrapper, Arc::clone(&self.events))
    }

    /// An HTTPS-only client that verifies every connection with the platform and then `policy`.
    /// Its pin and TLS events go to this core's listener.
    ///
    /// # Errors
    /// As [`HttpsClient::new`].
    pub fn https_client(&self, options: ClientOptions, policy: PinPolicy) -> Result<HttpsClient> {
        self.crypto("https_client")?;
        let client = HttpsClient::new(options, policy, Arc::clone(&self.events))?;
        if let Some(detector) = self.anomaly.get() {
            client.set_anomaly_detector(Arc::clone(detector));
        }
        Ok(client)
    }

    /// Applies `rules` to this core's events and to the requests of every HTTPS client made
    /// from now on; their alerts are events of this core. Once per core: a second call returns
    /// the detector of the first (with its rules).
    pub fn enable_anomaly_detection(&self, rules: AnomalyRules) -> Arc<AnomalyDetector> {
        Arc::clone(
            self.anomaly
                .get_or_init(|| AnomalyDetector::attach(&self.events, rules)),
        )
    }

    /// A new subscription to this core's events (see [`EventBus::subscribe`]).
    pub fn subscribe_events(&self, capacity: usize) -> EventSubscription {
        self.events.subscribe(capacity)
    }

    /// A checker of `policy` for chains another TLS stack verified (OkHttp, URLSession).
    /// `extra_roots` (DER) let root pins match chains that end at them. Its pin-failure reports
    /// are sent like a client's (see [`HttpsClient::pin_checker`]), through a client of its own
    /// with default options: reports then carry no app id or version; to name the app, use
    /// `https_client(options, policy)?.pin_checker()` with a `report_context`.
    ///
    /// # Errors
    /// `CryptoUnavailable` after a failed self-test.
    pub fn pin_checker(&self, policy: PinPolicy, extra_roots: Vec<Vec<u8>>) -> Result<PinChecker> {
        self.crypto("pin_checker")?;
        let mut options = ClientOptions::default();
        options.tls.extra_roots = extra_roots;
        Ok(HttpsClient::reporting_pin_checker(
            options,
            policy,
            Arc::clone(&self.events),
            Arc::default(),
        ))
    }

    /// An installer of signed pin-policy updates verified by `verifier` and kept in `store`.
    /// Its `PinPolicyUpdated` / `PinPolicyRejected` events go to this core's listener.
    ///
    /// # Errors
    /// `CryptoUnavailable` after a failed self-test.
    pub fn policy_updater(
        &self,
        verifier: SignedPolicyVerifier,
        store: Arc<dyn PolicyStore>,
    ) -> Result<PolicyUpdater> {
        self.crypto("policy_updater")?;
        Ok(PolicyUpdater::new(
            verifier,
            store,
            Arc::clone(&self.events),
        ))
    }

    /// Sends the core's log lines at `level` and above, redacted, to `logger` (`None` removes
    /// it). Lines of every core in the process reach it (see [`crate::logging`]); it is
    /// removed when this core is dropped.
    ///
    /// # Errors
    /// `InvalidInput` when the process already has another global `tracing` subscriber;
    /// `Internal` when the log thread cannot be started.
    pub fn set_logger(&self, logger: Option<Arc<dyn Logger>>, level: LogLevel) -> Result<()> {
        logging::install(self.log_owner, logger.map(|logger| (logger, level)))?;
        tracing::info!(level = level.as_str(), "logger installed");
        Ok(())
    }

    /// Redacts `secret` (raw, hex and base64) from every log line of the process from now on.
    ///
    /// # Errors
    /// `InvalidInput` when it is shorter than [`logging::MIN_SECRET_LEN`] bytes.
    pub fn register_secret(&self, secret: &SecretBytes) -> Result<()> {
        logging::redactor().register(secret)
    }

    /// [`Self::register_secret`] for a secret string (a token, a password).
    ///
    /// # Errors
    /// As [`Self::register_secret`].
    pub fn register_secret_text(&self, secret: &SecretString) -> Result<()> {
        logging::redactor().register_text(secret)
    }

    /// Stops redacting `secret` specially; returns whether it was registered. The other
    /// redaction rules still apply.
    pub fn unregister_secret(&self, secret: &SecretBytes) -> bool {
        logging::redactor().unregister(secret)
    }

    /// [`Self::unregister_secret`] for a secret string.
    pub fn unregister_secret_text(&self, secret: &SecretString) -> bool {
        logging::redactor().unregister_text(secret)
    }

    /// `text` redacted as log lines are (for the app's own logs, crash reports, analytics).
    pub fn redact(&self, text: &str) -> String {
        logging::redactor().redact(text)
    }

    /// Waits up to `timeout` until every log line queued so far reached the loggers. Returns
    /// whether it did. Never call it from a logger.
    pub fn flush_logs(&self, timeout: Duration) -> bool {
        logging::flush(timeout)
    }

    /// The process-wide log counters.
    pub fn log_stats(&self) -> LogStats {
        logging::stats()
    }

    /// The primitives, or a refusal that is also reported as a `CryptoRefused` event.
    fn crypto(&self, operation: &'static str) -> Result<Crypto> {
        self.gate.crypto().inspect_err(|_| {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::CryptoRefused)
                    .with_detail("operation", operation),
            );
        })
    }

    fn report_self_test(&self, report: &SelfTestReport) {
        let event = if report.passed {
            SecurityEvent::new(SecurityEventKind::SelfTestPassed)
        } else {
            SecurityEvent::new(SecurityEventKind::SelfTestFailed)
                .with_detail("failed", report.failed_names().join(","))
        };
        self.events.emit(
            event
                .with_detail("tests", report.results.len().to_string())
                .with_detail("duration_us", report.duration.as_micros().to_string()),
        );
    }
}

impl Drop for RukaSec {
    fn drop(&mut self) {
        // Removing never fails (only installing can).
        let _ = logging::install(self.log_owner, None);
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::Error;
    use crate::events::Severity;
    use crate::secret::SecretBytes;
    use crate::selftest::Kat;

    const WAIT: Duration = Duration::from_secs(10);
    const CANARY: &[u8] = b"CANARY-SECRET-91b2e4";

    type Collect = crate::events::EventCollector;

    fn started(gate: &'static CryptoGate) -> (RukaSec, Arc<Collect>) {
        let events = Arc::new(Collect::default());
        let core = RukaSec::with_gate(Some(events.clone()), gate);
        (core, events)
    }

    fn certificate_der() -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["pay.rukapay.test".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn start_reports_the_self_test() {
        let (core, events) = started(global_gate());
        assert!(core.events().flush(WAIT));
        let events = events.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, SecurityEventKind::SelfTestPassed);
        assert_eq!(events[0].details["tests"], "8");
        assert!(core.is_crypto_operational());
    }

    #[test]
    fn a_failed_self_test_refuses_every_crypto_operation_and_says_so() {
        static FAILING: &[Kat] = &[Kat {
            name: "broken-primitive",
            run: |_| false,
        }];
        let gate: &'static CryptoGate = Box::leak(Box::new(CryptoGate::new(FAILING)));
        let (core, events) = started(gate);
        assert!(!core.is_crypto_operational());
        assert_eq!(
            core.spki_sha256_pin(&certificate_der()),
            Err(Error::CryptoUnavailable)
        );
        assert_eq!(
            core.certificates(b"anything"),
            Err(Error::CryptoUnavailable)
        );
        assert!(!core.self_test().passed);
        assert!(core.events().flush(WAIT));
        let kinds: Vec<_> = events
            .events()
            .iter()
            .map(|e| (e.kind, e.severity))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (SecurityEventKind::SelfTestFailed, Severity::Critical),
                (SecurityEventKind::CryptoRefused, Severity::Error),
                (SecurityEventKind::CryptoRefused, Severity::Error),
                (SecurityEventKind::SelfTestFailed, Severity::Critical),
            ]
        );
        assert_eq!(events.events()[0].details["failed"], "broken-primitive");
        assert!(Error::CryptoUnavailable.to_string().contains("self-test"));
    }

    #[test]
    fn pin_of_der_agrees_with_the_bundle_reader() {
        let (core, _) = started(global_gate());
        let der = certificate_der();
        let pin = core.spki_sha256_pin(&der).unwrap();
        let summaries = core.certificates(&der).unwrap();
        assert_eq!(summaries[0].pin, pin);
        assert_eq!(crate::tls::spki_sha256_pin(&der).unwrap(), pin);
    }

    #[test]
    fn canary_never_reaches_errors_debug_output_or_events() {
        let (core, events) = started(global_gate());
        let secret = SecretBytes::from_slice(CANARY);
        // Test: the canary is fed as hostile input to prove it is never echoed back.
        let hostile = [
            b"-----BEGIN CERTIFICATE-----\n".as_slice(),
            secret.expose_secret(),
        ]
        .concat();
        let mut seen = format!("{secret:?}");
        // Test: as above, the canary itself is the input under test.
        for input in [secret.expose_secret(), hostile.as_slice()] {
            let error = core.certificates(input).unwrap_err();
            seen.push_str(&format!("{error} {error:?}"));
            let error = core.spki_sha256_pin(input).unwrap_err();
            seen.push_str(&format!("{error} {error:?}"));
        }
        assert!(core.events().flush(WAIT));
        seen.push_str(&format!("{:?}", events.events()));
        let canary = String::from_utf8_lossy(CANARY);
        assert!(!seen.contains(canary.as_ref()), "{seen}");
        assert!(!seen.contains("91b2e4"), "{seen}");
        assert!(seen.contains("SecretBytes"));
    }
}
