//! Pin-failure reports in TrustKit's JSON shape, POSTed to the policy's report URL.
//!
//! Reports let the platform team see a pin rotation going wrong (or an interception attempt)
//! before customers call. The shape is TrustKit's, so existing report collectors accept it,
//! minus TrustKit's `app-vendor-id`: a report must not identify the device or the customer.
//! Identical reports (same host, pattern, chain and pins) are sent at most once a day, so a
//! misconfigured pin does not turn every app into a flood of POSTs.
//!
//! Reports are queued by the pin check (which runs inside a TLS handshake and cannot do I/O)
//! and sent by the client through its own pinned connection: a report never travels on a
//! connection that would not itself pass the policy.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::DomainPolicy;
use crate::crypto::{Crypto, SHA256_LEN};

/// Pending reports kept at most; more are dropped (the events still record every mismatch).
const MAX_PENDING: usize = 16;
/// How long an identical report is suppressed.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// Distinct reports remembered for suppression.
const MAX_REMEMBERED: usize = 256;

/// TrustKit's `validation-result` for "no pin matched".
const FAILED_NO_MATCHING_PIN: u8 = 1;

/// What the app says about itself in reports (no device or customer identifiers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportContext {
    /// The app's id (`com.rukapay.app`).
    pub app_id: String,
    /// The app's version (`4.2.0`).
    pub app_version: String,
}

/// One pin failure, waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinReport {
    pub(crate) uri: String,
    host: String,
    pattern: String,
    include_subdomains: bool,
    enforced: bool,
    chain_pem: Vec<String>,
    known_pins: Vec<String>,
    at: SystemTime,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct TrustKitReport<'a> {
    app_bundle_id: &'a str,
    app_version: &'a str,
    app_platform: &'static str,
    trustkit_version: &'static str,
    hostname: &'a str,
    port: u16,
    noted_hostname: &'a str,
    include_subdomains: bool,
    enforce_pinning: bool,
    validated_certificate_chain: &'a [String],
    known_pins: &'a [String],
    validation_result: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_time: Option<String>,
}

impl PinReport {
    pub(crate) fn new(
        host: &str,
        domain: &DomainPolicy,
        uri: &str,
        leaf: &[u8],
        intermediates: &[&[u8]],
        at: SystemTime,
    ) -> Self {
        Self {
            uri: uri.to_owned(),
            host: host.to_owned(),
            pattern: domain.pattern().to_string(),
            include_subdomains: domain.pattern().includes_subdomains(),
            enforced: domain.is_enforced(),
            chain_pem: std::iter::once(leaf)
                .chain(intermediates.iter().copied())
                .map(pem)
                .collect(),
            known_pins: domain
                .pins()
                .iter()
                .map(|pin| {
                    let text = pin.to_string();
                    let digest = text.trim_start_matches("sha256/");
                    format!("pin-sha256=\"{digest}\"")
                })
                .collect(),
            at,
        }
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The JSON body; `date-time` left out for the duplicate check.
    pub(crate) fn to_json(&self, context: &ReportContext, port: u16, with_time: bool) -> String {
        let report = TrustKitReport {
            app_bundle_id: &context.app_id,
            app_version: &context.app_version,
            app_platform: platform(),
            trustkit_version: concat!("rukasec-", env!("CARGO_PKG_VERSION")),
            hostname: &self.host,
            port,
            noted_hostname: &self.pattern,
            include_subdomains: self.include_subdomains,
            enforce_pinning: self.enforced,
            validated_certificate_chain: &self.chain_pem,
            known_pins: &self.known_pins,
            validation_result: FAILED_NO_MATCHING_PIN,
            date_time: with_time.then(|| rfc3339(self.at)),
        };
        // Serialising plain strings, numbers and bools cannot fail.
        serde_json::to_string(&report).unwrap_or_default()
    }
}

/// Sends a standalone checker's queued reports (the pin check itself cannot do I/O: it may run
/// inside a TLS callback of the app's own stack).
pub(crate) trait ReportDelivery: Send + Sync {
    /// Reports were queued: send them soon, without blocking the caller.
    fn queued(&self);
    /// Sends what is queued and waits; returns how many went out.
    fn flush(&self) -> usize;
}

/// Where the pin check leaves reports for the client to send, and which were sent lately.
#[derive(Default)]
pub(crate) struct ReportSink {
    pending: Mutex<Vec<PinReport>>,
    sent: Mutex<HashMap<[u8; SHA256_LEN], SystemTime>>,
}

impl ReportSink {
    /// Queues a report (dropped when the queue is full).
    pub(crate) fn submit(&self, report: PinReport) {
        let mut pending = lock(&self.pending);
        if pending.len() < MAX_PENDING && !pending.contains(&report) {
            pending.push(report);
        }
    }

    /// Whether reports wait to be sent.
    pub(crate) fn has_pending(&self) -> bool {
        !lock(&self.pending).is_empty()
    }

    /// Takes the queued reports.
    pub(crate) fn take(&self) -> Vec<PinReport> {
        std::mem::take(&mut *lock(&self.pending))
    }

    /// Whether an identical report went out less than a day before `now`; if not, records
    /// that it goes out now.
    pub(crate) fn suppress(
        &self,
        crypto: &Crypto,
        body_without_time: &str,
        now: SystemTime,
    ) -> bool {
        let key = crypto.sha256(body_without_time.as_bytes());
        let mut sent = lock(&self.sent);
        let recent = |at: &SystemTime| {
            now.duration_since(*at)
                .is_ok_and(|age| age < REPORT_INTERVAL)
        };
        if sent.get(&key).is_some_and(recent) {
            return true;
        }
        if sent.len() >= MAX_REMEMBERED {
            sent.retain(|_, at| recent(at));
        }
        if sent.len() < MAX_REMEMBERED {
            sent.insert(key, now);
        }
        false
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded collections stay valid whatever a panicking holder did.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn pem(der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

fn platform() -> &'static str {
    if cfg!(target_os = "android") {
        "ANDROID"
    } else if cfg!(target_os = "ios") {
        "IOS"
    } else if cfg!(target_os = "macos") {
        "MACOS"
    } else {
        "LINUX"
    }
}

/// `2026-11-29T20:04:12Z` (whole seconds, as TrustKit writes it).
fn rfc3339(at: SystemTime) -> String {
    let seconds = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    super::policy::date::format_rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_times_are_whole_seconds_utc() {
        let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00Z");
        let with_fraction = at(1_796_155_452) + Duration::from_millis(250);
        assert_eq!(rfc3339(with_fraction), "2026-12-01T20:04:12Z");
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let text = pem(&[0xAB; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        assert_eq!(
            STANDARD.decode(lines[1..lines.len() - 1].concat()).unwrap(),
            vec![0xAB; 100]
        );
    }
}
