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
            Self::CredentialRotationDue => "credential_rotation_due",
            Self::RateLimited => "rate_limited",
            Self::AuthenticationRejected => "authentication_rejected",
        }
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
            | Self::AuthenticationRejected => Severity::Warning,
            Self::SelfTestFailed | Self::VaultIntegrityFailure | Self::UnlockCounterTampered => {
                Severity::Critical
            }
            Self::CryptoRefused
            | Self::VaultKeyUnavailable
            | Self::PinMismatch
            | Self::PinPolicyRejected
            | Self::UnlockLockedOut
            | Self::VaultKeyInvalidated => Severity::Error,
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
