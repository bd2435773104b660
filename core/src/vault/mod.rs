//! The vault: encrypted local storage, one set of keys per customer account.
//!
//! Rukapay commits to "AES-256 encryption for all stored data, separate encryption keys per
//! customer, hardware security modules, regular key rotation" and "secure data disposal". The
//! vault is that commitment on the phone:
//!
//! - every value is sealed with AES-256-GCM under a data key of its account and data class, with
//!   an AAD binding format version, account, namespace, name, class, key version and expiry, so a
//!   value copied to another row, account or class does not open;
//! - data keys are random and stored only wrapped by a key-encryption key (KEK) that never leaves
//!   the platform keystore ([`KeyWrapper`]: Android Keystore/StrongBox, Secure Enclave/Keychain);
//! - item names are stored encrypted; rows are found by a keyed hash of namespace and name;
//! - deleting an account destroys its KEK first (crypto-shredding), so copies of the database are
//!   unreadable; expired items are never returned and are purged;
//! - a lost or replaced KEK is detected by a per-account canary and fails closed with
//!   `KeyUnavailable` (never a crash loop); `reset_account` starts again;
//! - writes are durable when they return (SQLite WAL, `synchronous = FULL`).
//!
//! docs/FORMAT.md gives the exact bytes.

mod attempt_store;
mod class;
mod envelope;
mod event_journal;
mod format;
mod handle;
mod keys;
mod store;
mod wrapper;
pub mod wrappers;

pub use attempt_store::{COUNTER_ACCOUNT, VaultAttemptStore};
pub use class::DataClass;
pub use event_journal::{
    DEFAULT_JOURNAL_CAPACITY, EventJournal, FAILURE_PAUSE, JOURNAL_ACCOUNT, JournalEntry,
};
pub use handle::{Clock, MAX_ID_LEN, MAX_VALUE_LEN, PutItem, RotationProgress, SystemClock, Vault};
pub use store::{DATABASE_FILE, SCHEMA};
pub use wrapper::{AuthBoundKeyWrapper, KeyAuthRequirement, KeyWrapper, WrapperError};

/// The vault's AEAD layer, exposed for known-answer tests against the Wycheproof vectors.
pub mod aead {
    pub use super::envelope::{ENVELOPE_VERSION, open, seal};
}
