//! Keystore keys that unwrap only for an authenticated user, for the vault's Restricted data
//! keys: the app's `AuthBoundKeyWrapper` (Android Keystore with
//! `setUserAuthenticationParameters`, unwrapped inside BiometricPrompt with a `CryptoObject`;
//! a Secure Enclave key with `.biometryCurrentSet`) and its records. The decisions are the
//! core's (`rukasec_core::vault::AuthBoundKeyWrapper`, `Vault::unlock_bound`); this module
//! only converts.

use std::fmt;
use std::sync::Arc;

use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{AuthenticatedUse, AuthenticatedUseFuture};
use rukasec_core::vault as core;

use crate::numbers;
use crate::unlock::{AuthMethod, AuthOutcome, AuthRequest};
use crate::vault::KeyWrapperError;

/// What a bound key demands for each unwrap: the methods that may authenticate it and how long
/// one authentication lasts (`validity_seconds` 0: every unwrap authenticates, Android
/// `setUserAuthenticationParameters(0, …)` with a `CryptoObject`). Taken from the unlock
/// policy's Restricted requirement.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KeyAuthRequirement {
    /// The methods (Android `BIOMETRIC_STRONG` / `DEVICE_CREDENTIAL`; iOS
    /// `.biometryCurrentSet` / `.devicePasscode`).
    pub methods: Vec<AuthMethod>,
    /// Seconds one authentication lets the key be used; 0: every use.
    pub validity_seconds: i64,
}

impl From<&core::KeyAuthRequirement> for KeyAuthRequirement {
    fn from(requirement: &core::KeyAuthRequirement) -> Self {
        Self {
            methods: requirement
                .methods
                .iter()
                .copied()
                .map(Into::into)
                .collect(),
            // The policy's windows are whole seconds.
            validity_seconds: numbers::long(requirement.validity.as_secs()),
        }
    }
}

/// How an `AuthBoundKeyWrapper`'s prompt ended. Rust `Debug`, Kotlin `toString` and Swift
/// `description` print the key's length only.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PromptedUnwrap {
    /// The user authenticated with `method` and the keystore decrypted `key`.
    Unwrapped {
        /// The method used.
        method: AuthMethod,
        /// The decrypted key bytes (wipe your copy when done).
        key: Vec<u8>,
    },
    /// The prompt ended without the key: cancelled, failed, locked out, not enrolled,
    /// unavailable, key invalidated.
    Refused {
        /// How it ended (a `Success` here counts as `Unavailable`).
        outcome: AuthOutcome,
    },
}

impl fmt::Debug for PromptedUnwrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unwrapped { method, key } => f
                .debug_struct("Unwrapped")
                .field("method", method)
                .field("key", &format_args!("<{} bytes>", key.len()))
                .finish(),
            Self::Refused { outcome } => {
                f.debug_struct("Refused").field("outcome", outcome).finish()
            }
        }
    }
}

/// A keystore whose keys unwrap only for an authenticated user, implemented by the app. The
/// vault keeps the Restricted data keys of accounts created after `Vault.enableUnlockWithBoundKeys`
/// here: wrapping needs no prompt (an asymmetric key's public half, or a time-bound key),
/// unwrapping prompts and decrypts in one platform operation. RukaSec decides which methods
/// count, counts failures and locks out. Must not call the vault back.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AuthBoundKeyWrapper: Send + Sync {
    /// Creates a KEK under `alias` that demands `requirement` for every unwrap, replacing any
    /// key already there (no prompt). Throw `Failed` when the device cannot make one (no
    /// biometric enrolled).
    fn create_key(
        &self,
        alias: String,
        requirement: KeyAuthRequirement,
    ) -> Result<(), KeyWrapperError>;
    /// Encrypts `key` under the KEK `alias`, without a prompt.
    fn wrap(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyWrapperError>;
    /// Shows the prompt `request` describes and decrypts what `wrap` returned. Throw
    /// `KeyNotFound`, `Rejected` (it does not open `wrapped`) or `KeyInvalidated` for a key the
    /// platform invalidated; return `Refused` for a prompt that ended without the key.
    async fn unwrap(
        &self,
        alias: String,
        wrapped: Vec<u8>,
        request: AuthRequest,
    ) -> Result<PromptedUnwrap, KeyWrapperError>;
    /// Destroys the KEK `alias`; a missing key is not an error.
    fn delete_key(&self, alias: String) -> Result<(), KeyWrapperError>;
}

/// Lets an app's auth-bound keystore serve as the core's.
pub(crate) struct ForeignAuthBoundKeyWrapper(pub(crate) Arc<dyn AuthBoundKeyWrapper>);

impl core::AuthBoundKeyWrapper for ForeignAuthBoundKeyWrapper {
    fn create_key(
        &self,
        alias: &str,
        requirement: &core::KeyAuthRequirement,
    ) -> Result<(), core::WrapperError> {
        self.0
            .create_key(alias.to_owned(), requirement.into())
            .map_err(Into::into)
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, core::WrapperError> {
        // The app's keystore encrypts the key, so the bytes must cross to it.
        self.0
            .wrap(alias.to_owned(), key.expose_secret().to_vec())
            .map_err(Into::into)
    }

    fn unwrap(
        &self,
        alias: &str,
        wrapped: Vec<u8>,
        request: rukasec_core::unlock::AuthRequest,
    ) -> AuthenticatedUseFuture<'_, SecretBytes, core::WrapperError> {
        let alias = alias.to_owned();
        Box::pin(async move {
            match self.0.unwrap(alias, wrapped, request.into()).await {
                Ok(PromptedUnwrap::Unwrapped { method, key }) => Ok(AuthenticatedUse::Done {
                    method: method.into(),
                    value: SecretBytes::new(key),
                }),
                Ok(PromptedUnwrap::Refused { outcome }) => {
                    Ok(AuthenticatedUse::Refused(outcome.into()))
                }
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete_key(&self, alias: &str) -> Result<(), core::WrapperError> {
        self.0.delete_key(alias.to_owned()).map_err(Into::into)
    }
}
