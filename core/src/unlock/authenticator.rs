//! The app's side of an unlock: a prompt the platform shows (BiometricPrompt,
//! LocalAuthentication), asked for by the core through [`Authenticator`].

use std::future::Future;
use std::pin::Pin;

use super::policy::AuthMethod;
use crate::error::Error;
use crate::vault::DataClass;

/// A boxed future, so that [`Authenticator`] can be a trait object.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = AuthOutcome> + Send + 'a>>;

/// What the core asks the app to show. `Debug` prints the reason's and the account's lengths
/// only: the reason may name a payee or an amount, the account is a customer id.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Why, in words the app may show (fixed text from the caller, never data).
    pub reason: String,
    /// The account whose data is being unlocked, when one is.
    pub account: Option<String>,
    /// The most sensitive class this unlock is for.
    pub class: DataClass,
    /// The methods that satisfy it (the prompt's allowed authenticators).
    pub allowed: Vec<AuthMethod>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("reason", &format_args!("<{} bytes>", self.reason.len()))
            .field(
                "account",
                &self
                    .account
                    .as_ref()
                    .map(|a| format!("<{} bytes>", a.len())),
            )
            .field("class", &self.class)
            .field("allowed", &self.allowed)
            .finish()
    }
}

/// How the prompt ended, as the platform reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The user authenticated with `method`.
    Success {
        /// The method used.
        method: AuthMethod,
    },
    /// The user (or the app) cancelled the prompt: not a failed attempt.
    Cancelled,
    /// The user failed to authenticate (the platform gave up on this prompt): counted.
    Failed,
    /// The platform's own authenticator is locked out (too many tries) until `until_unix_ms`,
    /// or for an unknown time when `None`.
    LockedOut {
        /// When the platform allows another try, if it says.
        until_unix_ms: Option<i64>,
    },
    /// No allowed method is enrolled (no fingerprint, no face, no device credential).
    NotEnrolled,
    /// The authenticator cannot run now (no hardware, the app in the background).
    Unavailable,
    /// The key bound to the biometrics was invalidated (a new enrolment) before the prompt
    /// could use it.
    KeyInvalidated,
}

/// What a keystore operation bound to user authentication returns: the platform prompted and
/// used the key in one step (BiometricPrompt with a `CryptoObject`, a Secure Enclave key whose
/// access control needs `.biometryCurrentSet`).
#[derive(Clone, PartialEq, Eq)]
pub enum AuthenticatedUse<T> {
    /// The user authenticated with `method` and the key produced `value`.
    Done {
        /// The method used.
        method: AuthMethod,
        /// What the key produced (a signature, an unwrapped key).
        value: T,
    },
    /// The prompt ended without the key being used: cancelled, failed, locked out, not
    /// enrolled, unavailable, key invalidated (a `Success` here counts as unavailable).
    Refused(AuthOutcome),
}

impl<T> std::fmt::Debug for AuthenticatedUse<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value may be key material: never printed.
        match self {
            Self::Done { method, .. } => f
                .debug_struct("Done")
                .field("method", method)
                .finish_non_exhaustive(),
            Self::Refused(outcome) => f.debug_tuple("Refused").field(outcome).finish(),
        }
    }
}

/// A boxed future of an operation bound to user authentication, so that the traits returning it
/// can be trait objects. Its error `E` (the core's [`Error`] unless a trait says otherwise, as
/// the vault's `AuthBoundKeyWrapper` does with `WrapperError`) is for failures of the key itself
/// (not of the prompt).
pub type AuthenticatedUseFuture<'a, T, E = Error> =
    Pin<Box<dyn Future<Output = std::result::Result<AuthenticatedUse<T>, E>> + Send + 'a>>;

/// Authenticates the user, implemented by the app: BiometricPrompt (with a `CryptoObject` where
/// the keystore key itself needs the user) on Android, `LAContext` on iOS; a PIN check on the
/// command line. Called by the core only when its policy needs a prompt, from async calls only,
/// and never twice at once for one gate.
pub trait Authenticator: Send + Sync {
    /// Shows the prompt for `request` and resolves when it ends.
    fn authenticate(&self, request: AuthRequest) -> AuthFuture<'_>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_prints_no_reason_or_account() {
        let request = AuthRequest {
            reason: "Pay canary-payee-9d1e".to_owned(),
            account: Some("canary-account-256700".to_owned()),
            class: DataClass::Restricted,
            allowed: vec![AuthMethod::StrongBiometric],
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("canary-payee-9d1e"), "{printed}");
        assert!(!printed.contains("canary-account-256700"), "{printed}");
        assert!(
            printed.contains("Restricted") && printed.contains("StrongBiometric"),
            "{printed}"
        );
    }
}
