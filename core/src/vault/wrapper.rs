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
    /// Anything else; `reason` is fixed text, never key material.
    #[error("keystore failure: {reason}")]
    Failed {
        /// What failed.
        reason: String,
    },
}
