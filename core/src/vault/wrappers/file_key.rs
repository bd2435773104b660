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
    /// Where rollback anchors are kept, when they are ([`FileKeyWrapper::with_anchor_dir`]).
    anchor_dir: Option<std::path::PathBuf>,
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
        Ok(Self {
            root,
            anchor_dir: None,
        })
    }

    /// Keeps rollback anchors in `dir` (created if needed), one small file per account: keep it
    /// outside the vault's directory and its backups, or it is rolled back with them.
    ///
    /// # Errors
    /// [`Error::Storage`] when the directory cannot be created.
    pub fn with_anchor_dir(mut self, dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        self.anchor_dir = Some(dir.to_path_buf());
        Ok(self)
    }

    fn anchor_path(&self, name: &str) -> Option<std::path::PathBuf> {
        // Names are the vault's own (`rukasec.anchor.v2.<hex>`): safe as file names.
        self.anchor_dir.as_ref().map(|dir| dir.join(name))
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

    fn keeps_anchors(&self) -> bool {
        self.anchor_dir.is_some()
    }

    fn load_anchor(&self, name: &str) -> Result<Option<u64>, WrapperError> {
        let Some(path) = self.anchor_path(name) else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let raw: [u8; 8] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| WrapperError::Failed {
                            reason: "a rollback anchor file is not 8 bytes".to_owned(),
                        })?;
                Ok(Some(u64::from_be_bytes(raw)))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(WrapperError::Failed {
                reason: "cannot read a rollback anchor file".to_owned(),
            }),
        }
    }

    fn store_anchor(&self, name: &str, value: u64) -> Result<(), WrapperError> {
        let Some(path) = self.anchor_path(name) else {
            return Ok(());
        };
        let failed = |_| WrapperError::Failed {
            reason: "cannot write a rollback anchor file".to_owned(),
        };
        // Written beside and renamed over: a crash leaves the old or the new value, whole.
        let temporary = path.with_extension("tmp");
        let mut file = std::fs::File::create(&temporary).map_err(failed)?;
        std::io::Write::write_all(&mut file, &value.to_be_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&temporary, &path).map_err(failed)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(failed)?;
        }
        Ok(())
    }

    fn delete_anchor(&self, name: &str) -> Result<(), WrapperError> {
        let Some(path) = self.anchor_path(name) else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) => Err(WrapperError::Failed {
                reason: "cannot delete a rollback anchor file".to_owned(),
            }),
        }
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
