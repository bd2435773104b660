//! Security events for the app, and the adapter that makes an app listener a core listener.

use crate::numbers;
use std::collections::HashMap;
use std::sync::Arc;

use rukasec_core::events as core;

use crate::guard::{guard, guard_future, guard_with};
use crate::{RukaSecError, VaultError};

/// How urgent an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Severity {
    /// Normal operation worth recording.
    Info,
    /// Something unexpected that RukaSec handled.
    Warning,
    /// An operation failed for a security reason.
    Error,
    /// RukaSec cannot protect the customer any more: alert someone.
    Critical,
}

impl From<core::Severity> for Severity {
    fn from(severity: core::Severity) -> Self {
        match severity {
            core::Severity::Info => Self::Info,
            core::Severity::Warning => Self::Warning,
            core::Severity::Error => Self::Error,
            // Critical, and any future level, is reported as the most urgent.
            _ => Self::Critical,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SecurityEventKind {
    /// The crypto self-test passed.
    SelfTestPassed,
    /// The crypto self-test failed; crypto is now refused. `details["failed"]` names the tests.
    SelfTestFailed,
    /// An operation was refused because crypto is unavailable. `details["operation"]` names it.
    CryptoRefused,
    /// Stored vault data failed authentication. `details["what"]`: value, name or wrapped_key.
    VaultIntegrityFailure,
    /// An account's key is missing or replaced. `details["cause"]`: kek_missing or wrong_kek.
    VaultKeyUnavailable,
    /// A vault key was rotated. `details["key"]`: kek or dek.
    VaultKeyRotated,
    /// A vault account was deleted (crypto-shredded) or reset. `details["mode"]`.
    VaultAccountDeleted,
    /// A server's chain matched none of its enforced pins; the connection was refused.
    /// `details`: `host`, `pattern`, `presented` (the chain's pins), `enforced` = `true`.
    PinMismatch,
    /// A server's chain matched none of its report-only pins; the connection went ahead.
    /// `details` as for `PinMismatch`, `enforced` = `false`.
    PinMismatchReportOnly,
    /// A host's pin set has expired: only normal verification applies to it. `details`:
    /// `host`, `pattern`, `expired_at`.
    PinSetExpired,
    /// A server's certificate failed normal verification or the handshake was refused.
    /// `details`: `host`, `failure`.
    TlsVerificationFailed,
    /// A signed pin-policy update was installed. `details["version"]`.
    PinPolicyUpdated,
    /// A signed pin-policy update was refused. `details["failure"]`, and `details["version"]`
    /// when the document could be read.
    PinPolicyRejected,
    /// A pin-failure report was sent. `details`: `host`, `status`.
    PinReportSent,
    /// A pin-failure report could not be sent. `details`: `host`, `failure`.
    PinReportFailed,
    /// The user authenticated to unlock data. `details`: `class`, `method`.
    UnlockSucceeded,
    /// An authentication attempt failed (counted). `details`: `class`, `failures`, `limit`.
    UnlockFailed,
    /// The user cancelled an authentication prompt (not counted). `details["class"]`.
    UnlockCancelled,
    /// Unlocking is locked out. `details`: `until_ms`, `by` (`rukasec` or `platform`).
    UnlockLockedOut,
    /// The stored failed-attempt counter failed authentication (edited); treated as a lockout.
    UnlockCounterTampered,
    /// Data was locked and unwrapped keys dropped. `details["why"]`: lock, background, idle.
    VaultLocked,
    /// The platform invalidated a biometric-bound key (a new enrolment).
    VaultKeyInvalidated,
    /// Anomaly rule: many authentication failures (failed unlocks, server 401/403) in a short
    /// window. `details`: `failures`, `window_s`. Critical.
    AuthenticationFailureBurst,
    /// Anomaly rule: the request rate rose far above its recent average. `details`:
    /// `requests`, `window_s`, `baseline`.
    RequestRateAnomaly,
    /// This device's clock is a minute or more off the servers' `Date` headers; RukaSec's
    /// client signs with the servers' time. `details`: `skew_s` (server minus device), `host`.
    ClockSkewDetected,
    /// An API credential is older than its rotation period (on its first use by a store, and
    /// from every `CredentialStore.checkRotation`). `details`: `credential` (the id),
    /// `environment`, `age_days`, `rotate_after_days`.
    CredentialRotationDue,
    /// A request with an API credential was held back: `details["outcome"]` `refused` (no
    /// token in `Fail` mode) or `paused` (the server's 429 / 503 `Retry-After`, with `status`
    /// and `host`); `credential`, `retry_after_ms`.
    RateLimited,
    /// A server answered 401 or 403. `details`: `host`, `status`, and `credential` when the
    /// request carried one.
    AuthenticationRejected,
    /// A kind this version of the bindings does not know yet. `details["kind"]` names it.
    Other,
}

/// One security event. Holds no secret and no personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: SecurityEventKind,
    /// How urgent it is.
    pub severity: Severity,
    /// When, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Non-secret facts about it.
    pub details: HashMap<String, String>,
}

impl From<&core::SecurityEvent> for SecurityEvent {
    fn from(event: &core::SecurityEvent) -> Self {
        let mut details: HashMap<String, String> = event.details.clone().into_iter().collect();
        let kind = match event.kind {
            core::SecurityEventKind::SelfTestPassed => SecurityEventKind::SelfTestPassed,
            core::SecurityEventKind::SelfTestFailed => SecurityEventKind::SelfTestFailed,
            core::SecurityEventKind::CryptoRefused => SecurityEventKind::CryptoRefused,
            core::SecurityEventKind::VaultIntegrityFailure => {
                SecurityEventKind::VaultIntegrityFailure
            }
            core::SecurityEventKind::VaultKeyUnavailable => SecurityEventKind::VaultKeyUnavailable,
            core::SecurityEventKind::VaultKeyRotated => SecurityEventKind::VaultKeyRotated,
            core::SecurityEventKind::VaultAccountDeleted => SecurityEventKind::VaultAccountDeleted,
            core::SecurityEventKind::PinMismatch => SecurityEventKind::PinMismatch,
            core::SecurityEventKind::PinMismatchReportOnly => {
                SecurityEventKind::PinMismatchReportOnly
            }
            core::SecurityEventKind::PinSetExpired => SecurityEventKind::PinSetExpired,
            core::SecurityEventKind::TlsVerificationFailed => {
                SecurityEventKind::TlsVerificationFailed
            }
            core::SecurityEventKind::PinPolicyUpdated => SecurityEventKind::PinPolicyUpdated,
            core::SecurityEventKind::PinPolicyRejected => SecurityEventKind::PinPolicyRejected,
            core::SecurityEventKind::PinReportSent => SecurityEventKind::PinReportSent,
            core::SecurityEventKind::PinReportFailed => SecurityEventKind::PinReportFailed,
            core::SecurityEventKind::UnlockSucceeded => SecurityEventKind::UnlockSucceeded,
            core::SecurityEventKind::UnlockFailed => SecurityEventKind::UnlockFailed,
            core::SecurityEventKind::UnlockCancelled => SecurityEventKind::UnlockCancelled,
            core::SecurityEventKind::UnlockLockedOut => SecurityEventKind::UnlockLockedOut,
            core::SecurityEventKind::UnlockCounterTampered => {
                SecurityEventKind::UnlockCounterTampered
            }
            core::SecurityEventKind::VaultLocked => SecurityEventKind::VaultLocked,
            core::SecurityEventKind::VaultKeyInvalidated => SecurityEventKind::VaultKeyInvalidated,
            core::SecurityEventKind::AuthenticationFailureBurst => {
                SecurityEventKind::AuthenticationFailureBurst
            }
            core::SecurityEventKind::RequestRateAnomaly => SecurityEventKind::RequestRateAnomaly,
            core::SecurityEventKind::ClockSkewDetected => SecurityEventKind::ClockSkewDetected,
            core::SecurityEventKind::CredentialRotationDue => {
                SecurityEventKind::CredentialRotationDue
            }
            core::SecurityEventKind::RateLimited => SecurityEventKind::RateLimited,
            core::SecurityEventKind::AuthenticationRejected => {
                SecurityEventKind::AuthenticationRejected
            }
            other => {
                details.insert("kind".to_owned(), other.as_str().to_owned());
                SecurityEventKind::Other
            }
        };
        Self {
            kind,
            severity: event.severity.into(),
            timestamp_ms: numbers::long(event.timestamp_ms),
            details,
        }
    }
}

/// Receives RukaSec's security events; implemented by the app in Kotlin or Swift.
///
/// Called on RukaSec's own event thread, one event at a time (on the JVM, JNA attaches that
/// thread for each call, so it shows up under a JNA-given name). It may be slow: RukaSec does not
/// wait for it, and events beyond the queue's capacity are dropped and counted. Throwing an
/// exception (Kotlin `Exception`, any Swift `Error`) is allowed: it is counted in
/// [`EventStats::listener_failures`] and delivery goes on. A JVM `Error` is not caught by the
/// generated Kotlin code (JNA logs it and the event counts as delivered); a Swift `fatalError`
/// ends the process.
#[uniffi::export(with_foreign)]
pub trait SecurityEventListener: Send + Sync {
    /// Handles one event.
    fn on_event(&self, event: SecurityEvent) -> Result<(), RukaSecError>;
}

/// Lets an app listener receive the core's events.
pub(crate) struct ForeignListener(pub(crate) Arc<dyn SecurityEventListener>);

impl core::SecurityEventListener for ForeignListener {
    fn on_event(&self, event: &core::SecurityEvent) -> Result<(), core::ListenerError> {
        self.0
            .on_event(event.into())
            .map_err(|_| core::ListenerError)
    }
}

pub(crate) fn to_core_listener(
    listener: Option<Arc<dyn SecurityEventListener>>,
) -> Option<Arc<dyn core::SecurityEventListener>> {
    listener.map(|l| Arc::new(ForeignListener(l)) as Arc<dyn core::SecurityEventListener>)
}

/// A subscription to the core's events (`RukaSec.subscribeEvents`): every event emitted after
/// it was made, in order, through its own bounded queue (a subscriber that falls behind loses
/// its oldest events, counted in `missed`). Kotlin wraps it in a `Flow`, Swift in an
/// `AsyncStream` (docs/INTEGRATION.md); any number may be open at once.
#[derive(uniffi::Object)]
pub struct EventSubscription(pub(crate) core::EventSubscription);

#[uniffi::export(async_runtime = "tokio")]
impl EventSubscription {
    /// The next event, waiting for one: `suspend` in Kotlin, `async` in Swift. `null`/`nil`
    /// once the subscription is closed. Cancelling the caller stops the wait.
    pub async fn next(&self) -> Result<Option<SecurityEvent>, RukaSecError> {
        guard_future(async {
            Ok::<_, RukaSecError>(self.0.next().await.as_ref().map(SecurityEvent::from))
        })
        .await
    }

    /// The next event if one is waiting, else `null`/`nil`.
    pub fn try_next(&self) -> Result<Option<SecurityEvent>, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.try_next().as_ref().map(SecurityEvent::from)))
    }

    /// Events this subscription lost because it fell behind.
    pub fn missed(&self) -> Result<i64, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(numbers::long(self.0.missed())))
    }

    /// Ends the subscription: a waiting `next` returns `null`/`nil`, queued events are dropped.
    /// (Kotlin's `close()` / dropping the last Swift reference also ends it.)
    pub fn unsubscribe(&self) -> Result<(), RukaSecError> {
        guard(|| {
            self.0.close();
            Ok::<_, RukaSecError>(())
        })
    }

    /// Whether it is closed.
    pub fn is_closed(&self) -> Result<bool, RukaSecError> {
        guard(|| Ok::<_, RukaSecError>(self.0.is_closed()))
    }
}

/// When the core raises its own alerts (`RukaSec.enableAnomalyDetection`): a burst of
/// `authFailureLimit` authentication failures (failed unlocks, server 401/403) within
/// `authFailureWindowSeconds` raises `AuthenticationFailureBurst`; a `rateWindowSeconds` window
/// with at least `rateMinRequests` requests and `rateFactor` times the average of the
/// `rateBaselineWindows` windows before it raises `RequestRateAnomaly`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AnomalyRules {
    /// Failures in the window that make a burst.
    #[uniffi(default = 10)]
    pub auth_failure_limit: i32,
    /// The burst window, in seconds.
    #[uniffi(default = 300)]
    pub auth_failure_window_seconds: i64,
    /// The request-rate window, in seconds.
    #[uniffi(default = 60)]
    pub rate_window_seconds: i64,
    /// Past windows averaged for the baseline (no alert before 3 are known).
    #[uniffi(default = 10)]
    pub rate_baseline_windows: i32,
    /// How many times the baseline a window must reach.
    #[uniffi(default = 5)]
    pub rate_factor: i32,
    /// The fewest requests in a window that can be an anomaly.
    #[uniffi(default = 30)]
    pub rate_min_requests: i32,
}

impl TryFrom<AnomalyRules> for core::AnomalyRules {
    type Error = rukasec_core::Error;

    fn try_from(rules: AnomalyRules) -> Result<Self, Self::Error> {
        let positive = |value: i32, what: &str| match numbers::non_negative_i32(value, what)? {
            0 => Err(rukasec_core::Error::InvalidInput {
                reason: format!("{what} must be at least 1"),
            }),
            n => Ok(n),
        };
        Ok(Self {
            auth_failure_limit: positive(rules.auth_failure_limit, "authFailureLimit")? as usize,
            auth_failure_window: numbers::seconds(
                rules.auth_failure_window_seconds,
                "authFailureWindowSeconds",
            )?,
            rate_window: numbers::seconds(rules.rate_window_seconds, "rateWindowSeconds")?,
            rate_baseline_windows: positive(rules.rate_baseline_windows, "rateBaselineWindows")?
                as usize,
            rate_factor: u64::from(positive(rules.rate_factor, "rateFactor")?),
            rate_min_requests: u64::from(positive(rules.rate_min_requests, "rateMinRequests")?),
            ..Self::default()
        })
    }
}

/// The core's anomaly rules in force (`RukaSec.enableAnomalyDetection`). RukaSec's HTTPS
/// clients report their requests themselves; an app sending through another stack (OkHttp,
/// URLSession) calls `recordRequest` for each.
#[derive(uniffi::Object)]
pub struct AnomalyDetector(pub(crate) Arc<core::AnomalyDetector>);

#[uniffi::export]
impl AnomalyDetector {
    /// Counts one request for the request-rate rule.
    pub fn record_request(&self) -> Result<(), RukaSecError> {
        guard(|| {
            self.0.record_request();
            Ok::<_, RukaSecError>(())
        })
    }
}

/// One event kept in a vault's journal, with its sequence number (increasing, never reused).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct JournalEntry {
    /// Its position: acknowledge up to it once uploaded.
    pub seq: i64,
    /// The event.
    pub event: SecurityEvent,
}

/// A vault's bounded journal of security events (`Vault.eventJournal`), kept until the app
/// uploads it: every event of the core from the journal's start on, the oldest dropped beyond
/// its capacity. Stored as sealed vault items of the reserved account `rukasec.events`
/// (docs/FORMAT.md), readable before any unlock (events hold no secrets).
#[derive(uniffi::Object)]
pub struct EventJournal(pub(crate) Arc<rukasec_core::vault::EventJournal>);

#[uniffi::export]
impl EventJournal {
    /// Every entry, oldest first. Throws `Integrity` when the stored journal was edited.
    pub fn entries(&self) -> Result<Vec<JournalEntry>, VaultError> {
        guard_with(|| {
            self.0.entries().map(|entries| {
                entries
                    .into_iter()
                    .map(|entry| JournalEntry {
                        seq: numbers::long(entry.seq),
                        event: SecurityEvent::from(&entry.event),
                    })
                    .collect()
            })
        })
    }

    /// Removes every entry up to and including `seq` (what the server accepted); returns how
    /// many went.
    pub fn acknowledge(&self, seq: i64) -> Result<i32, VaultError> {
        guard_with(|| {
            let seq = numbers::non_negative(seq, "seq")?;
            self.0.acknowledge(seq).map(numbers::int)
        })
    }

    /// Events not journaled because a write had just failed (the journal pauses for a minute
    /// after a failure rather than feed on its own error events).
    pub fn skipped(&self) -> Result<i64, VaultError> {
        guard_with(|| Ok::<_, VaultError>(numbers::long(self.0.skipped())))
    }
}

/// Counters of the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct EventStats {
    /// Events emitted by the core.
    pub emitted: i64,
    /// Events the listener handled without error.
    pub delivered: i64,
    /// Events dropped because the listener was too slow.
    pub dropped: i64,
    /// Events whose listener call threw.
    pub listener_failures: i64,
}

impl From<core::EventStats> for EventStats {
    fn from(stats: core::EventStats) -> Self {
        Self {
            emitted: numbers::long(stats.emitted),
            delivered: numbers::long(stats.delivered),
            dropped: numbers::long(stats.dropped),
            listener_failures: numbers::long(stats.listener_failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PinMismatchReportOnly` -> `pin_mismatch_report_only`.
    fn snake_case(name: &str) -> String {
        let mut snake = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        snake
    }

    #[test]
    fn every_core_kind_maps_to_the_kind_of_the_same_name() {
        use rukasec_core::events::SecurityEventKind as K;
        let all = [
            K::SelfTestPassed,
            K::SelfTestFailed,
            K::CryptoRefused,
            K::VaultIntegrityFailure,
            K::VaultKeyUnavailable,
            K::VaultKeyRotated,
            K::VaultAccountDeleted,
            K::PinMismatch,
            K::PinMismatchReportOnly,
            K::PinSetExpired,
            K::TlsVerificationFailed,
            K::PinPolicyUpdated,
            K::PinPolicyRejected,
            K::PinReportSent,
            K::PinReportFailed,
            K::CredentialRotationDue,
            K::RateLimited,
            K::AuthenticationRejected,
        ];
        for kind in all {
            let event =
                SecurityEvent::from(&core::SecurityEvent::new(kind).with_detail("host", "h"));
            assert_eq!(snake_case(&format!("{:?}", event.kind)), kind.as_str());
            assert_eq!(event.severity, kind.severity().into());
            assert_eq!(event.details.get("host").map(String::as_str), Some("h"));
            assert!(!event.details.contains_key("kind"));
        }
    }
}
