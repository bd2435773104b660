//! The `RukaSec` object: the app's handle on the core.

use std::sync::Arc;

use rukasec_core::selftest as core_selftest;

use crate::events::to_core_listener;
use crate::logging::{secret_bytes, secret_text, to_core_logger};
use crate::vault::RollbackAnchorStore;
use crate::{
    AnomalyDetector, AnomalyRules, CertificateSummary, EventStats, EventSubscription, HttpsClient,
    HttpsClientOptions, KeyWrapper, LogLevel, LogStats, Logger, PinChecker, PinPolicy,
    PolicyUpdater, RukaSecError, SecurityEventListener, TlsError, Vault, VaultError, guard,
};

/// The outcome of one known-answer test.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KatResult {
    /// The primitive tested, e.g. `"AES-256-GCM"`.
    pub name: String,
    /// Whether it gave the published answers.
    pub passed: bool,
}

/// The outcome of a crypto self-test run.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SelfTestReport {
    /// Whether every known-answer test passed.
    pub passed: bool,
    /// One result per test.
    pub results: Vec<KatResult>,
    /// How long the run took, in microseconds.
    pub duration_us: i64,
}

impl From<core_selftest::SelfTestReport> for SelfTestReport {
    fn from(report: core_selftest::SelfTestReport) -> Self {
        Self {
            passed: report.passed,
            results: report
                .results
                .into_iter()
                .map(|r| KatResult {
                    name: r.name.to_owned(),
                    passed: r.passed,
                })
                .collect(),
            duration_us: i64::try_from(report.duration.as_micros()).unwrap_or(i64::MAX),
        }
    }
}

/// The RukaSec core. Create one at app start and keep it; it is safe to use from any thread.
#[derive(uniffi::Object)]
pub struct RukaSec(Arc<rukasec_core::RukaSec>);

#[uniffi::export(async_runtime = "tokio")]
impl RukaSec {
    /// Starts the core: runs the crypto self-test and reports it to `listener` as an event.
    /// A failed self-test does not throw: crypto operations then throw `CryptoUnavailable`.
    /// (It throws only as every export may: a Rust panic arrives as `Internal`.)
    #[uniffi::constructor]
    pub fn new(
        listener: Option<Arc<dyn SecurityEventListener>>,
    ) -> Result<Arc<Self>, RukaSecError> {
        guard(|| {
            Ok::<_, RukaSecError>(Arc::new(Self(Arc::new(rukasec_core::RukaSec::new(
                to_core_listener(listener),
            )))))
        })
    }

    /// Runs the crypto known-answer tests again and reports them as an event.
    pub fn self_test(&self) -> Result<SelfTestReport, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.self_test().into()))
    }

    /// [`Self::self_test`] off the caller's thread: `suspend` in Kotlin, `async` in Swift.
    pub async fn self_test_async(&self) -> Result<SelfTestReport, RukaSecError> {
        let core = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            guard(|| Ok::<_, RukaSecError>(core.self_test().into()))
        })
        .await
        .map_err(|_| RukaSecError::Internal {
            reason: "the self-test task did not complete".to_owned(),
        })?
    }

    /// Whether cryptographic operations are available.
    pub fn is_crypto_operational(&self) -> Result<bool, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.is_crypto_operational()))
    }

    /// The SPKI SHA-256 pin (`sha256/<base64>`) of a DER-encoded X.509 certificate.
    pub fn spki_sha256_pin(&self, cert_der: Vec<u8>) -> Result<String, RukaSecError> {
        guard(|| self.0.spki_sha256_pin(&cert_der).map(|pin| pin.to_string()))
    }

    /// Subject and pin of every certificate in a PEM bundle or a DER certificate.
    pub fn certificates(
        &self,
        pem_or_der: Vec<u8>,
    ) -> Result<Vec<CertificateSummary>, RukaSecError> {
        guard(|| {
            self.0
                .certificates(&pem_or_der)
                .map(|list| list.into_iter().map(Into::into).collect())
        })
    }

    /// Replaces the event listener (`null`/`nil` removes it).
    pub fn set_listener(
        &self,
        listener: Option<Arc<dyn SecurityEventListener>>,
    ) -> Result<(), RukaSecError> {
        guard(|| {
            self.0.events().set_listener(to_core_listener(listener));
            Ok::<_, RukaSecError>(())
        })
    }

    /// Waits up to `timeout_ms` until every event emitted so far reached the listener. Returns
    /// whether it did. Never call it from the listener itself.
    pub fn flush_events(&self, timeout_ms: i64) -> Result<bool, RukaSecError> {
        guard(|| {
            let timeout = crate::numbers::millis(timeout_ms, "timeoutMs")?;
            Ok::<_, rukasec_core::Error>(self.0.events().flush(timeout))
        })
    }

    /// A new subscription to this core's events, holding at most `capacity` undelivered ones.
    #[uniffi::method(default(capacity = 256))]
    pub fn subscribe_events(&self, capacity: i32) -> Result<Arc<EventSubscription>, RukaSecError> {
        guard(|| {
            let capacity = crate::numbers::non_negative_i32(capacity, "capacity")?;
            Ok::<_, rukasec_core::Error>(Arc::new(EventSubscription(
                self.0.subscribe_events(capacity as usize),
            )))
        })
    }

    /// Applies `rules` to this core's events and to the requests of every HTTPS client made
    /// from now on (make clients after this call); their alerts are events of this core. Once
    /// per core: a later call returns the first detector, with its rules. Throws `InvalidInput`
    /// for a zero or negative limit.
    pub fn enable_anomaly_detection(
        &self,
        rules: AnomalyRules,
    ) -> Result<Arc<AnomalyDetector>, RukaSecError> {
        guard(|| {
            let rules = rukasec_core::events::AnomalyRules::try_from(rules)?;
            Ok::<_, rukasec_core::Error>(Arc::new(AnomalyDetector(
                self.0.enable_anomaly_detection(rules),
            )))
        })
    }

    /// Counters of the event stream.
    pub fn event_stats(&self) -> Result<EventStats, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.events().stats().into()))
    }

    /// Sends the core's log lines at `level` and above, redacted, to `logger` (`null`/`nil`
    /// removes it): Logcat or `os_log` in the platform layers. Lines of every core in the
    /// process reach it; it is removed when this core is released. Throws `InvalidInput` when
    /// the process already has another Rust `tracing` subscriber.
    pub fn set_logger(
        &self,
        logger: Option<Arc<dyn Logger>>,
        level: LogLevel,
    ) -> Result<(), RukaSecError> {
        guard(|| self.0.set_logger(to_core_logger(logger), level.into()))
    }

    /// Redacts `secret` (its bytes as text, hex and base64) from every log line of the process
    /// from now on. Throws `InvalidInput` when it is shorter than 4 bytes.
    pub fn register_secret(&self, secret: Vec<u8>) -> Result<(), RukaSecError> {
        let secret = secret_bytes(secret);
        guard(|| self.0.register_secret(&secret))
    }

    /// [`Self::register_secret`] for text (a token, a password).
    pub fn register_secret_text(&self, secret: String) -> Result<(), RukaSecError> {
        let secret = secret_text(secret);
        guard(|| self.0.register_secret_text(&secret))
    }

    /// Stops redacting `secret` specially; returns whether it was registered (bearer tokens and
    /// API keys are still redacted).
    pub fn unregister_secret(&self, secret: Vec<u8>) -> Result<bool, RukaSecError> {
        let secret = secret_bytes(secret);
        guard(|| Ok::<_, RukaSecError>(self.0.unregister_secret(&secret)))
    }

    /// [`Self::unregister_secret`] for text.
    pub fn unregister_secret_text(&self, secret: String) -> Result<bool, RukaSecError> {
        let secret = secret_text(secret);
        guard(|| Ok::<_, RukaSecError>(self.0.unregister_secret_text(&secret)))
    }

    /// `text` redacted as the core's log lines are, for the app's own logs and crash reports.
    pub fn redact(&self, text: String) -> Result<String, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.redact(&text)))
    }

    /// Waits up to `timeout_ms` until every log line queued so far reached the loggers. Returns
    /// whether it did. Never call it from a logger.
    pub fn flush_logs(&self, timeout_ms: i64) -> Result<bool, RukaSecError> {
        guard(|| {
            let timeout = crate::numbers::millis(timeout_ms, "timeoutMs")?;
            Ok::<_, rukasec_core::Error>(self.0.flush_logs(timeout))
        })
    }

    /// The process-wide log counters.
    pub fn log_stats(&self) -> Result<LogStats, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.log_stats().into()))
    }

    /// Opens (or creates) the encrypted vault in directory `dir`, its keys wrapped by the app's
    /// keystore `wrapper`, its rollback anchors (optional, recommended) in `anchors`. Its security
    /// events go to this core's listener.
    #[uniffi::method(default(anchors = None))]
    pub fn open_vault(
        &self,
        dir: String,
        wrapper: Arc<dyn KeyWrapper>,
        anchors: Option<Arc<dyn RollbackAnchorStore>>,
    ) -> Result<Arc<Vault>, VaultError> {
        Vault::open(&self.0, &dir, wrapper, anchors)
    }

    /// An HTTPS-only client that verifies every connection with the platform, then `policy`.
    /// Its pin and TLS events go to this core's listener.
    pub fn https_client(
        &self,
        options: HttpsClientOptions,
        policy: Arc<PinPolicy>,
    ) -> Result<Arc<HttpsClient>, TlsError> {
        HttpsClient::create(&self.0, options, &policy)
    }

    /// A checker of `policy` for chains that OkHttp or URLSession verified. `extra_roots_der`
    /// (DER) let root pins match chains that end at them.
    pub fn pin_checker(
        &self,
        policy: Arc<PinPolicy>,
        extra_roots_der: Vec<Vec<u8>>,
    ) -> Result<Arc<PinChecker>, TlsError> {
        PinChecker::create(&self.0, &policy, extra_roots_der)
    }

    /// An installer of signed pin-policy updates trusting `public_keys` (P-256
    /// SubjectPublicKeyInfo, PEM or DER: Kotlin's `PublicKey.encoded`), keeping the installed
    /// document in the file `store_path` (its directory must exist).
    pub fn policy_updater(
        &self,
        public_keys: Vec<Vec<u8>>,
        store_path: String,
    ) -> Result<Arc<PolicyUpdater>, TlsError> {
        PolicyUpdater::in_file(&self.0, &public_keys, &store_path)
    }

    /// [`Self::policy_updater`] keeping the installed document in `vault` under `account`
    /// (namespace `rukasec.tls`; a fixed id such as `device` when the policy is not per
    /// customer).
    pub fn policy_updater_in_vault(
        &self,
        public_keys: Vec<Vec<u8>>,
        vault: Arc<Vault>,
        account: String,
    ) -> Result<Arc<PolicyUpdater>, TlsError> {
        PolicyUpdater::in_vault(&self.0, &public_keys, &vault, &account)
    }
}

/// Test-only constructors (feature `ffi-testing`, off in app builds).
#[cfg(feature = "ffi-testing")]
#[uniffi::export]
impl RukaSec {
    /// A core whose power-on self-test failed (a deliberately broken known-answer test), so the
    /// binding tests can see each area's `CryptoUnavailable` from Kotlin and Swift without
    /// shutting crypto off for the rest of their process.
    #[uniffi::constructor]
    pub fn ffi_testing_with_failed_self_test(
        listener: Option<Arc<dyn SecurityEventListener>>,
    ) -> Result<Arc<Self>, RukaSecError> {
        guard(|| {
            Ok::<_, RukaSecError>(Arc::new(Self(Arc::new(
                rukasec_core::RukaSec::with_failed_self_test(to_core_listener(listener)),
            ))))
        })
    }
}
