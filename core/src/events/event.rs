//! The security event record.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// How urgent an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Normal operation worth recording (a self-test passed).
    Info,
    /// Something unexpected that RukaSec handled (a listener failed).
    Warning,
    /// An operation failed for a security reason (crypto refused).
    Error,
    /// RukaSec cannot protect the customer any more (self-test failed): alert someone.
    Critical,
}

impl Severity {
    /// Every severity, least urgent first.
    pub const ALL: [Self; 4] = [Self::Info, Self::Warning, Self::Error, Self::Critical];

    /// The severity's stable name: `info`, `warning`, `error`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    /// The severity named `name` ([`Severity::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityEventKind {
    /// The crypto self-test passed.
    SelfTestPassed,
    /// The crypto self-test failed; crypto is now refused. `details.failed` names the KATs.
    SelfTestFailed,
    /// An operation was refused because crypto is unavailable. `details.operation` names it.
    CryptoRefused,
    /// Stored vault data failed authentication. `details.what` says which part (value, name,
    /// wrapped_key).
    VaultIntegrityFailure,
    /// An account's key-encryption key is missing or wrong. `details.cause` says which.
    VaultKeyUnavailable,
    /// A vault key was rotated. `details.key` is `kek` or `dek`, `details.class` the data class.
    VaultKeyRotated,
    /// A vault account was deleted (crypto-shredded) or reset.
    VaultAccountDeleted,
    /// A server's chain matched none of its enforced pins; the connection was refused.
    /// `details`: `host`, `pattern`, `presented` (the chain's pins), `enforced` = `true`.
    PinMismatch,
    /// A server's chain matched none of its report-only pins; the connection went ahead.
    /// `details` as for `PinMismatch`, `enforced` = `false`.
    PinMismatchReportOnly,
    /// A host's pin set has expired, so only normal certificate verification applies to it.
    /// `details`: `host`, `pattern`, `expired_at` (RFC 3339, UTC).
    PinSetExpired,
    /// A server's certificate failed normal verification (untrusted, expired, wrong name) or
    /// the handshake was refused. `details`: `host`, `failure`.
    TlsVerificationFailed,
    /// A signed pin-policy update was verified and installed. `details.version`.
    PinPolicyUpdated,
    /// A signed pin-policy update was refused (bad signature, rollback, expired).
    /// `details.failure`, and `details.version` when the document could be read.
    PinPolicyRejected,
    /// A pin-failure report was sent to the policy's report URL. `details`: `host`, `status`.
    PinReportSent,
    /// A pin-failure report could not be sent. `details`: `host`, `failure`.
    PinReportFailed,
    /// The user authenticated to unlock data. `details`: `class`, `method`.
    UnlockSucceeded,
    /// An authentication attempt failed (counted). `details`: `class`, `failures` (in a row),
    /// `limit`.
    UnlockFailed,
    /// The user cancelled an authentication prompt (not counted). `details.class`.
    UnlockCancelled,
    /// Unlocking is locked out after too many failed attempts, or the platform locked its
    /// authenticator out. `details`: `until_ms`, `by` (`rukasec` or `platform`).
    UnlockLockedOut,
    /// The stored failed-attempt counter failed authentication (edited or rolled back); it is
    /// treated as a lockout. `details.what`.
    UnlockCounterTampered,
    /// Data was locked: unwrapped keys were dropped. `details.why` (`lock`, `background`).
    VaultLocked,
    /// The platform invalidated a key bound to biometrics (a new enrolment). `details.class`.
    VaultKeyInvalidated,
    /// Anomaly rule: many authentication failures (unlock failures, lockouts, server 401/403
    /// answers) within a short window. `details`: `failures`, `window_s`.
    AuthenticationFailureBurst,
    /// Anomaly rule: the request rate rose far above its recent average. `details`:
    /// `requests`, `window_s`, `baseline`.
    RequestRateAnomaly,
    /// An API credential is older than its rotation period: rotate it. `details`: `credential`
    /// (its id), `environment`, `age_days`, `rotate_after_days`.
    CredentialRotationDue,
    /// A request with an API credential was refused by the client-side rate limit, or the
    /// server paused the credential (429 or 503 with `Retry-After`). `details`: `credential`
    /// (its id, never the key), `outcome` (`refused` or `paused`), `retry_after_ms`, and for
    /// `paused` the `status` and `host`.
    RateLimited,
    /// A server answered 401 or 403: the credential, token or signature was not accepted.
    /// `details`: `host`, `status`, and `credential` (its id) when the request carried one.
    AuthenticationRejected,
    /// This device's clock is off from the servers' (their `Date` headers) by a minute or more;
    /// signatures made through RukaSec's client use the servers' time. `details`: `skew_s`
    /// (server minus device, seconds), `host`.
    ClockSkewDetected,
}

impl SecurityEventKind {
    /// The kind's stable name, as used in logs and telemetry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfTestPassed => "self_test_passed",
            Self::SelfTestFailed => "self_test_failed",
            Self::CryptoRefused => "crypto_refused",
            Self::VaultIntegrityFailure => "vault_integrity_failure",
            Self::VaultKeyUnavailable => "vault_key_unavailable",
            Self::VaultKeyRotated => "vault_key_rotated",
            Self::VaultAccountDeleted => "vault_account_deleted",
            Self::PinMismatch => "pin_mismatch",
            Self::PinMismatchReportOnly => "pin_mismatch_report_only",
            Self::PinSetExpired => "pin_set_expired",
            Self::TlsVerificationFailed => "tls_verification_failed",
            Self::PinPolicyUpdated => "pin_policy_updated",
            Self::PinPolicyRejected => "pin_policy_rejected",
            Self::PinReportSent => "pin_report_sent",
            Self::PinReportFailed => "pin_report_failed",
            Self::UnlockSucceeded => "unlock_succeeded",
            Self::UnlockFailed => "unlock_failed",
            Self::UnlockCancelled => "unlock_cancelled",
            Self::UnlockLockedOut => "unlock_locked_out",
            Self::UnlockCounterTampered => "unlock_counter_tampered",
            Self::VaultLocked => "vault_locked",
            Self::VaultKeyInvalidated => "vault_key_invalidated",
            Self::AuthenticationFailureBurst => "authentication_failure_burst",
            Self::RequestRateAnomaly => "request_rate_anomaly",
            Self::CredentialRotationDue => "credential_rotation_due",
            Self::RateLimited => "rate_limited",
            Self::AuthenticationRejected => "authentication_rejected",
            Self::ClockSkewDetected => "clock_skew_detected",
        }
    }

    /// Every kind.
    pub const ALL: [Self; 28] = [
        Self::SelfTestPassed,
        Self::SelfTestFailed,
        Self::CryptoRefused,
        Self::VaultIntegrityFailure,
        Self::VaultKeyUnavailable,
        Self::VaultKeyRotated,
        Self::VaultAccountDeleted,
        Self::PinMismatch,
        Self::PinMismatchReportOnly,
        Self::PinSetExpired,
        Self::TlsVerificationFailed,
        Self::PinPolicyUpdated,
        Self::PinPolicyRejected,
        Self::PinReportSent,
        Self::PinReportFailed,
        Self::UnlockSucceeded,
        Self::UnlockFailed,
        Self::UnlockCancelled,
        Self::UnlockLockedOut,
        Self::UnlockCounterTampered,
        Self::VaultLocked,
        Self::VaultKeyInvalidated,
        Self::AuthenticationFailureBurst,
        Self::RequestRateAnomaly,
        Self::CredentialRotationDue,
        Self::RateLimited,
        Self::AuthenticationRejected,
        Self::ClockSkewDetected,
    ];

    /// The kind named `name` ([`SecurityEventKind::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The severity events of this kind carry.
    pub fn severity(self) -> Severity {
        match self {
            Self::SelfTestPassed
            | Self::VaultKeyRotated
            | Self::VaultAccountDeleted
            | Self::PinPolicyUpdated
            | Self::PinReportSent
            | Self::UnlockSucceeded
            | Self::UnlockCancelled
            | Self::VaultLocked => Severity::Info,
            Self::PinMismatchReportOnly
            | Self::PinSetExpired
            | Self::TlsVerificationFailed
            | Self::PinReportFailed
            | Self::UnlockFailed
            | Self::CredentialRotationDue
            | Self::RateLimited
            | Self::AuthenticationRejected
            | Self::ClockSkewDetected => Severity::Warning,
            Self::SelfTestFailed
            | Self::VaultIntegrityFailure
            | Self::UnlockCounterTampered
            | Self::AuthenticationFailureBurst => Severity::Critical,
            Self::CryptoRefused
            | Self::VaultKeyUnavailable
            | Self::PinMismatch
            | Self::PinPolicyRejected
            | Self::UnlockLockedOut
            | Self::VaultKeyInvalidated
            | Self::RequestRateAnomaly => Severity::Error,
        }
    }
}

/// One security event. Holds no secret and no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: SecurityEventKind,
    /// How urgent it is.
    pub severity: Severity,
    /// When it happened, in milliseconds since the Unix epoch (wall clock).
    pub timestamp_ms: u64,
    /// Non-secret facts about it, by fixed keys.
    pub details: BTreeMap<String, String>,
}

impl SecurityEvent {
    /// An event of `kind`, now, with its kind's severity and no details.
    pub fn new(kind: SecurityEventKind) -> Self {
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            kind,
            severity: kind.severity(),
            timestamp_ms,
            details: BTreeMap::new(),
        }
    }

    /// Adds a detail. `key` is a fixed name; `value` must not be secret or personal.
    #[must_use]
    pub fn with_detail(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// An exhaustive match: a new kind fails to compile here until it is added to `ALL` too.
    fn listed(kind: SecurityEventKind) -> bool {
        use SecurityEventKind as K;
        match kind {
            K::SelfTestPassed
            | K::SelfTestFailed
            | K::CryptoRefused
            | K::VaultIntegrityFailure
            | K::VaultKeyUnavailable
            | K::VaultKeyRotated
            | K::VaultAccountDeleted
            | K::PinMismatch
            | K::PinMismatchReportOnly
            | K::PinSetExpired
            | K::TlsVerificationFailed
            | K::PinPolicyUpdated
            | K::PinPolicyRejected
            | K::PinReportSent
            | K::PinReportFailed
            | K::UnlockSucceeded
            | K::UnlockFailed
            | K::UnlockCancelled
            | K::UnlockLockedOut
            | K::UnlockCounterTampered
            | K::VaultLocked
            | K::VaultKeyInvalidated
            | K::AuthenticationFailureBurst
            | K::RequestRateAnomaly
            | K::CredentialRotationDue
            | K::RateLimited
            | K::AuthenticationRejected
            | K::ClockSkewDetected => SecurityEventKind::ALL.contains(&kind),
        }
    }

    #[test]
    fn every_kind_is_listed_once_and_its_name_reads_back() {
        let names: HashSet<&str> = SecurityEventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), SecurityEventKind::ALL.len());
        for kind in SecurityEventKind::ALL {
            assert!(listed(kind));
            assert_eq!(SecurityEventKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(SecurityEventKind::from_name("no_such_kind"), None);
        for severity in Severity::ALL {
            assert_eq!(Severity::from_name(severity.as_str()), Some(severity));
        }
        assert_eq!(Severity::from_name("Info"), None);
    }
}
