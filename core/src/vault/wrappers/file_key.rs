//! A key wrapper whose root key is a 32-byte file: for the CLI, servers and tests. **Not for
//! phones**: the key is an ordinary file, readable by anyone who can read the app's files.

use std::path::Path;

use crate::crypto::{Aes256GcmKey, Crypto};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::vault::envelope;
use crate::vault::wrapper::{KeyWrapper, WrapperError};

/// Domain label of the per-alias KEK derivation (docs/FORMAT.md).
const KEK_LABEL: &[u8] = b"rukasec.filekey.kek.v1\0";
/// Domain label of the AAD of wrapped keys (docs/FORMAT.md).
const AAD_LABEL: &[u8] = b"rukasec.filekey.wrap.v1\0";

/// Wraps keys under KEKs derived from one 32-byte root key read from a file:
/// `KEK(alias) = HMAC-SHA256(root, "rukasec.filekey.kek.v1\0" ‖ alias)`, and
/// `wrapped = envelope(AES-256-GCM, KEK(alias), AAD = "rukasec.filekey.wrap.v1\0" ‖ alias, key)`.
///
/// Since KEKs are derived, `create_key` and `delete_key` have nothing to do: deleting an
/// account cannot destroy its KEK here. Crypto-shredding with this wrapper means destroying the
/// key file itself.
pub struct FileKeyWrapper {
    root: SecretBytes,
}

impl FileKeyWrapper {
    /// Reads the root key: a file of exactly 32 bytes.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be read; [`Error::InvalidInput`] when it is not
    /// 32 bytes long.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = SecretBytes::new(std::fs::read(path)?);
        Self::from_key(bytes)
    }

    /// Uses `root` (32 bytes) as the root key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `root` is not 32 bytes long.
    pub fn from_key(root: SecretBytes) -> Result<Self> {
        if root.len() != 32 {
            return Err(Error::invalid_input("a key file holds exactly 32 bytes"));
        }
        Ok(Self { root })
    }

    /// Writes a new random root key to `path` (which must not exist), readable by its owner only.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file exists or cannot be written.
    pub fn generate_file(path: &Path) -> Result<()> {
        let crypto = Crypto::get()?;
        let key = crypto.random_secret(32)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        // Writing the key file is the purpose of this function.
        std::io::Write::write_all(&mut file, key.expose_secret())?;
        file.sync_all()?;
        Ok(())
    }

    fn kek(&self, crypto: &Crypto, alias: &str) -> Result<Aes256GcmKey> {
        let input = [KEK_LABEL, alias.as_bytes()].concat();
        // Key derivation: HMAC needs the root key's bytes.
        let derived = crypto.hmac_sha256(self.root.expose_secret(), &input);
        let key = Aes256GcmKey::from_slice(&derived);
        let mut derived = derived;
        zeroize::Zeroize::zeroize(&mut derived);
        key
    }
}

impl KeyWrapper for FileKeyWrapper {
    fn create_key(&self, _alias: &str) -> Result<(), WrapperError> {
        Ok(())
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        let crypto = Crypto::get().map_err(failed)?;
        let kek = self.kek(&crypto, alias).map_err(failed)?;
        let aad = [AAD_LABEL, alias.as_bytes()].concat();
        // Wrapping: the key must be encrypted, which needs its bytes.
        envelope::seal(&crypto, &kek, &aad, key.expose_secret()).map_err(failed)
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        let crypto = Crypto::get().map_err(failed)?;
        let kek = self.kek(&crypto, alias).map_err(failed)?;
        let aad = [AAD_LABEL, alias.as_bytes()].concat();
        envelope::open(&crypto, &kek, &aad, wrapped).map_err(|_| WrapperError::Rejected)
    }

    fn delete_key(&self, _alias: &str) -> Result<(), WrapperError> {
        Ok(())
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

fn failed(error: Error) -> WrapperError {
    WrapperError::Failed {
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_wrong_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.key"), dir.path().join("b.key"));
        FileKeyWrapper::generate_file(&a).unwrap();
        FileKeyWrapper::generate_file(&b).unwrap();
        assert!(
            FileKeyWrapper::generate_file(&a).is_err(),
            "never overwrites a key file"
        );
        let (wa, wb) = (
            FileKeyWrapper::from_file(&a).unwrap(),
            FileKeyWrapper::from_file(&b).unwrap(),
        );
        let secret = SecretBytes::from_slice(&[7; 32]);
        let wrapped = wa.wrap("alias", &secret).unwrap();
        assert_eq!(wa.unwrap("alias", &wrapped).unwrap(), secret);
        assert_eq!(
            wa.unwrap("other", &wrapped).unwrap_err(),
            WrapperError::Rejected
        );
        assert_eq!(
            wb.unwrap("alias", &wrapped).unwrap_err(),
            WrapperError::Rejected
        );
        std::fs::write(dir.path().join("short.key"), [0; 31]).unwrap();
        assert!(FileKeyWrapper::from_file(&dir.path().join("short.key")).is_err());
    }
}
