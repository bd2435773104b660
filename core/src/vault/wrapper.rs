//! The key wrappers: the platform keystore seen from the core. [`KeyWrapper`] for keys the app
//! may use at any time, [`AuthBoundKeyWrapper`] for keys the keystore itself releases only to
//! an authenticated user.

use std::time::Duration;

use crate::secret::SecretBytes;
use crate::unlock::{AuthMethod, AuthRequest, AuthenticatedUseFuture};

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

/// What a key of an [`AuthBoundKeyWrapper`] demands before the keystore unwraps with it: the
/// unlock policy's methods and window for the class it protects (Restricted), so the platform
/// enforces what the core's gate decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAuthRequirement {
    /// The methods that may authenticate a use (Android `BIOMETRIC_STRONG` for
    /// [`AuthMethod::StrongBiometric`], `DEVICE_CREDENTIAL`; iOS `.biometryCurrentSet`,
    /// `.devicePasscode`).
    pub methods: Vec<AuthMethod>,
    /// How long one authentication lets the key be used; `Duration::ZERO`: every use
    /// authenticates (Android `setUserAuthenticationParameters(0, …)` with a `CryptoObject`).
    pub validity: Duration,
}

/// A keystore whose keys unwrap only for an authenticated user: an Android Keystore key made
/// with `setUserAuthenticationParameters(validity, BIOMETRIC_STRONG)` (unwrapped inside
/// BiometricPrompt with a `CryptoObject`), a Secure Enclave key with `.biometryCurrentSet`
/// (ECIES: wrapping with the public key needs no prompt, unwrapping prompts). Implemented by
/// the app's platform glue; the vault wraps Restricted data keys with it
/// ([`Vault::attach_unlock_gate_with_bound_keys`](super::Vault::attach_unlock_gate_with_bound_keys)).
///
/// Wrapping never prompts; unwrapping prompts and unwraps in one platform operation, run by the
/// core under the unlock gate's policy (lockout, failure counting, events, allowed methods).
/// Implementations must be safe to call from several threads and must not call the vault back.
pub trait AuthBoundKeyWrapper: Send + Sync {
    /// Creates a new KEK under `alias` that demands `requirement` for every unwrap, replacing
    /// any key already there. Needs no prompt.
    ///
    /// # Errors
    /// [`WrapperError::Failed`] when the keystore cannot make such a key (for example no
    /// biometric is enrolled).
    fn create_key(&self, alias: &str, requirement: &KeyAuthRequirement)
    -> Result<(), WrapperError>;

    /// Encrypts `key` under the KEK `alias`, without a prompt. The output format is the
    /// wrapper's own.
    ///
    /// # Errors
    /// [`WrapperError::KeyNotFound`] when there is no KEK under `alias`; others as the keystore
    /// fails.
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError>;

    /// Prompts as `request` says (its reason, class and allowed methods) and decrypts what
    /// [`AuthBoundKeyWrapper::wrap`] returned, in one platform operation. Resolves to the
    /// method the user authenticated with and the key, or to how the prompt ended without it
    /// ([`AuthenticatedUse::Refused`](crate::unlock::AuthenticatedUse::Refused): cancelled,
    /// failed, locked out, not enrolled, unavailable, key invalidated).
    ///
    /// # Errors
    /// [`WrapperError::KeyNotFound`] when there is no KEK under `alias`,
    /// [`WrapperError::Rejected`] when it does not open `wrapped` (another key, tampered bytes),
    /// [`WrapperError::KeyInvalidated`] when the platform invalidated it (also fine as a
    /// refused outcome), [`WrapperError::Failed`] otherwise.
    fn unwrap(
        &self,
        alias: &str,
        wrapped: Vec<u8>,
        request: AuthRequest,
    ) -> AuthenticatedUseFuture<'_, SecretBytes, WrapperError>;

    /// Destroys the KEK `alias`. Deleting a missing key is not an error.
    ///
    /// # Errors
    /// As the keystore fails.
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError>;
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
