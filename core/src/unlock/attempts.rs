//! The failed-attempt counter: kept across restarts, authenticated where it is stored.
//!
//! A counter an attacker could reset would make the lockout worthless, so the vault keeps it as
//! an item of its own (`vault::VaultAttemptStore`, class Public: the count is not secret, but
//! like every item it is sealed with AES-256-GCM and covered by the account's authenticated
//! state). An edited, swapped or deleted record is an integrity failure, which the gate treats
//! as a lockout. Restoring a whole older database is caught only where the key wrapper keeps
//! rollback anchors (docs/THREAT_MODEL.md).

use std::sync::{Mutex, PoisonError};

use crate::error::Result;
const RECORD_VERSION: u8 = 1;
const RECORD_LEN: usize = 1 + 4 + 4 + 8;

/// The counter's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptRecord {
    /// Failed attempts in a row since the last success or lockout.
    pub failures: u32,
    /// Lockouts in a row since the last success (each doubles the next one's length).
    pub lockouts: u32,
    /// Locked out until then (Unix ms); 0 when not locked out.
    pub locked_until_ms: i64,
}

impl AttemptRecord {
    /// `version ‖ failures ‖ lockouts ‖ locked_until_ms`, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(RECORD_LEN);
        bytes.push(RECORD_VERSION);
        bytes.extend_from_slice(&self.failures.to_be_bytes());
        bytes.extend_from_slice(&self.lockouts.to_be_bytes());
        bytes.extend_from_slice(&self.locked_until_ms.to_be_bytes());
        bytes
    }

    /// The record `encode` wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != RECORD_LEN || bytes[0] != RECORD_VERSION {
            return None;
        }
        let u32_at = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        let i64_at = |at: usize| Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        Some(Self {
            failures: u32_at(1)?,
            lockouts: u32_at(5)?,
            locked_until_ms: i64_at(9)?,
        })
    }
}

/// Where the gate keeps its [`AttemptRecord`].
pub trait AttemptStore: Send + Sync {
    /// The record; `None` before the first save.
    ///
    /// # Errors
    /// [`Error::Integrity`](crate::Error::Integrity) when the stored record failed authentication; storage errors.
    fn load(&self) -> Result<Option<AttemptRecord>>;

    /// Saves `record` durably.
    ///
    /// # Errors
    /// Storage errors.
    fn save(&self, record: &AttemptRecord) -> Result<()>;
}

/// A counter in memory only: lost at restart. For tests and for gates without a vault.
#[derive(Default)]
pub struct MemoryAttemptStore(Mutex<Option<AttemptRecord>>);

impl AttemptStore for MemoryAttemptStore {
    fn load(&self) -> Result<Option<AttemptRecord>> {
        Ok(*self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn save(&self, record: &AttemptRecord) -> Result<()> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(*record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_malformed_one_does_not_decode() {
        let record = AttemptRecord {
            failures: 3,
            lockouts: 2,
            locked_until_ms: 1_800_000_000_123,
        };
        let bytes = record.encode();
        assert_eq!(bytes.len(), RECORD_LEN);
        assert_eq!(AttemptRecord::decode(&bytes), Some(record));
        assert_eq!(AttemptRecord::decode(&bytes[..RECORD_LEN - 1]), None);
        let mut other_version = bytes.clone();
        other_version[0] = 2;
        assert_eq!(AttemptRecord::decode(&other_version), None);
    }
}
