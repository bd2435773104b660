//! The unlock gate's failed-attempt counter kept as a vault item (see `unlock::attempts`):
//! the vault implements the gate's [`AttemptStore`], so the lower layer (`unlock`) never reaches
//! up into the vault.

use std::sync::{Arc, Weak};

use super::{DataClass, Vault};
use crate::error::{Error, Result};
use crate::unlock::{AttemptRecord, AttemptStore};

/// The reserved vault account holding the counter.
pub const COUNTER_ACCOUNT: &str = "rukasec.unlock";
const COUNTER_NAMESPACE: &str = "attempts";
const COUNTER_NAME: &str = "counter";

/// The counter as an item of `vault` (see the module docs). Holds the vault weakly, so a vault
/// that owns a gate using this store is still dropped.
pub struct VaultAttemptStore {
    vault: Weak<Vault>,
}

impl VaultAttemptStore {
    /// A store in `vault`.
    pub fn new(vault: &Arc<Vault>) -> Self {
        Self {
            vault: Arc::downgrade(vault),
        }
    }

    fn vault(&self) -> Result<Arc<Vault>> {
        self.vault.upgrade().ok_or_else(|| Error::Storage {
            reason: "the vault holding the attempt counter was closed".to_owned(),
        })
    }
}

impl AttemptStore for VaultAttemptStore {
    fn load(&self) -> Result<Option<AttemptRecord>> {
        let Some(bytes) =
            self.vault()?
                .get_ungated(COUNTER_ACCOUNT, COUNTER_NAMESPACE, COUNTER_NAME)?
        else {
            return Ok(None);
        };
        // The record is not secret (a count and two times); reading it is the point.
        AttemptRecord::decode(bytes.expose_secret())
            .map(Some)
            .ok_or(Error::Integrity)
    }

    fn save(&self, record: &AttemptRecord) -> Result<()> {
        self.vault()?.put(
            COUNTER_ACCOUNT,
            COUNTER_NAMESPACE,
            COUNTER_NAME,
            &record.encode(),
            DataClass::Public,
            None,
        )
    }
}
