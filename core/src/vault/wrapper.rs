//! The key wrapper: the platform keystore seen from the core.

use crate::secret::SecretBytes;

/// Wraps and unwraps keys with a key-encryption key (KEK) that lives in a keystore and never
/// leaves it: Android Keystore / StrongBox, iOS Secure Enclave or Keychain, the desktop's
/// credential store, or (not for phones) a key file.
///
/// Implemented in Kotlin and Swift through the bindings, and in Rust by the wrappers in
/// [`wrappers`](super::wrappers). `alias` names a KEK; RukaSec makes one per account and key
/// version. Implementations must be safe to call from several threads.
pub trait KeyWrapper: Send + Sync {
    /// Creates a new KEK under `alias`, replacing any key already there.
    fn create_key(&self, alias: &str) -> Result<(), WrapperError>;

    /// Encrypts `key` under the KEK `alias`. The output format is the wrapper's own.
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError>;

    /// Decrypts what [`KeyWrapper::wrap`] returned.
    ///
    /// Must return [`WrapperError::KeyNotFound`] when there is no KEK under `alias` and
    /// [`WrapperError::Rejected`] when the KEK exists but does not open `wrapped` (another key,
    /// or tampered bytes).
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError>;

    /// Destroys the KEK `alias`. Deleting a missing key is not an error.
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError>;

    /// Whether KEKs live in hardware (StrongBox, Secure Enclave, a TPM).
    fn is_hardware_backed(&self) -> bool;

    /// Whether this wrapper keeps rollback anchors (see [`KeyWrapper::store_anchor`]). The
    /// default keeps none.
    fn keeps_anchors(&self) -> bool {
        false
    }

    /// The rollback anchor `name`, or `None` when none is stored.
    ///
    /// An anchor is a small counter the vault keeps beside the KEKs, outside the app's files:
    /// an account's write counter. When a backup of the app's files is restored on the same
    /// device (the KEKs still in the keystore), the database's counter is below the anchor and
    /// the vault refuses it. Only wrappers whose storage is not restored with the app's files
    /// (the keystore, a separate directory) should keep anchors.
    fn load_anchor(&self, _name: &str) -> Result<Option<u64>, WrapperError> {
        Ok(None)
    }

    /// Stores the rollback anchor `name` (durably: after a crash the stored value may be older,
    /// never newer, than the last one given).
    fn store_anchor(&self, _name: &str, _value: u64) -> Result<(), WrapperError> {
        Ok(())
    }

    /// Deletes the rollback anchor `name` (a deleted account). Deleting a missing anchor is not
    /// an error.
    fn delete_anchor(&self, _name: &str) -> Result<(), WrapperError> {
        Ok(())
    }
}

/// How a key wrapper failed. Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapperError {
    /// No KEK under this alias (keystore wiped, app data restored on another device).
    #[error("no key under this alias")]
    KeyNotFound,
    /// The KEK exists but did not open the wrapped key (another key, or tampered bytes).
    #[error("the key did not open the wrapped data")]
    Rejected,
    /// The keystore needs the user first (locked device, biometric prompt cancelled).
    #[error("the keystore needs user authentication")]
    UserAuthenticationRequired,
    /// The platform invalidated the KEK: it was bound to the enrolled biometrics and they
    /// changed (Android `KeyPermanentlyInvalidatedException`, a Secure Enclave key with
    /// `.biometryCurrentSet` after a new enrolment). What it wrapped is lost.
    #[error("the key was invalidated by a biometric enrolment change")]
    KeyInvalidated,
    /// Anything else; `reason` is fixed text, never key material.
    #[error("keystore failure: {reason}")]
    Failed {
        /// What failed.
        reason: String,
    },
}
