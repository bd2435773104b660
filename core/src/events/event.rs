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
        }
    }

    /// The severity events of this kind carry.
    pub fn severity(self) -> Severity {
        match self {
            Self::SelfTestPassed | Self::VaultKeyRotated | Self::VaultAccountDeleted => {
                Severity::Info
            }
            Self::SelfTestFailed | Self::VaultIntegrityFailure => Severity::Critical,
            Self::CryptoRefused | Self::VaultKeyUnavailable => Severity::Error,
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
