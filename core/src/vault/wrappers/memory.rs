//! An in-memory key wrapper, for tests and for the demo.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::crypto::{Aes256GcmKey, Crypto};
use crate::secret::SecretBytes;
use crate::vault::envelope;
use crate::vault::wrapper::{KeyWrapper, WrapperError};

/// Keeps random KEKs in process memory: everything wrapped with it is lost when the process
/// ends. For tests and demos only.
#[derive(Default)]
pub struct MemoryKeyWrapper {
    keys: Mutex<HashMap<String, Aes256GcmKey>>,
    /// Rollback anchors, when kept ([`MemoryKeyWrapper::with_anchors`]).
    anchors: Option<Mutex<HashMap<String, u64>>>,
}

impl MemoryKeyWrapper {
    /// An empty wrapper that keeps no rollback anchors.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty wrapper that keeps rollback anchors (as a platform keystore would).
    pub fn with_anchors() -> Self {
        Self {
            anchors: Some(Mutex::new(HashMap::new())),
            ..Self::default()
        }
    }

    /// Whether a KEK is stored under `alias`.
    pub fn contains_key(&self, alias: &str) -> bool {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(alias)
    }

    /// The aliases of every stored KEK, sorted.
    pub fn aliases(&self) -> Vec<String> {
        let mut aliases: Vec<String> = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        aliases.sort();
        aliases
    }

    fn with_key<T>(
        &self,
        alias: &str,
        f: impl FnOnce(&Crypto, &Aes256GcmKey) -> Result<T, WrapperError>,
    ) -> Result<T, WrapperError> {
        let crypto = crypto()?;
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys.get(alias).ok_or(WrapperError::KeyNotFound)?;
        f(&crypto, key)
    }
}

impl KeyWrapper for MemoryKeyWrapper {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        let crypto = crypto()?;
        let secret = crypto.random_secret(32).map_err(failed)?;
        // Key creation: the fresh key goes straight into its wrapper type.
        let key = Aes256GcmKey::from_slice(secret.expose_secret()).map_err(failed)?;
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(alias.to_owned(), key);
        Ok(())
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.with_key(alias, |crypto, kek| {
            // Wrapping: the key must be encrypted, which needs its bytes.
            envelope::seal(crypto, kek, alias.as_bytes(), key.expose_secret()).map_err(failed)
        })
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        self.with_key(alias, |crypto, kek| {
            envelope::open(crypto, kek, alias.as_bytes(), wrapped)
                .map_err(|_| WrapperError::Rejected)
        })
    }

    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(alias);
        Ok(())
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }

    fn keeps_anchors(&self) -> bool {
        self.anchors.is_some()
    }

    fn load_anchor(&self, name: &str) -> Result<Option<u64>, WrapperError> {
        Ok(self.anchors.as_ref().and_then(|anchors| {
            anchors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(name)
                .copied()
        }))
    }

    fn store_anchor(&self, name: &str, value: u64) -> Result<(), WrapperError> {
        if let Some(anchors) = &self.anchors {
            anchors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_owned(), value);
        }
        Ok(())
    }

    fn delete_anchor(&self, name: &str) -> Result<(), WrapperError> {
        if let Some(anchors) = &self.anchors {
            anchors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(name);
        }
        Ok(())
    }
}

fn crypto() -> Result<Crypto, WrapperError> {
    Crypto::get().map_err(failed)
}

fn failed(error: crate::Error) -> WrapperError {
    WrapperError::Failed {
        reason: error.to_string(),
    }
}
