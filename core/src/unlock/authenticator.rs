//! The app's side of an unlock: a prompt the platform shows (BiometricPrompt,
//! LocalAuthentication), asked for by the core through [`Authenticator`].

use std::future::Future;
use std::pin::Pin;

use super::policy::AuthMethod;
use crate::vault::DataClass;

/// A boxed future, so that [`Authenticator`] can be a trait object.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = AuthOutcome> + Send + 'a>>;

/// What the core asks the app to show.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Authenticates the user, implemented by the app: BiometricPrompt (with a `CryptoObject` where
/// the keystore key itself needs the user) on Android, `LAContext` on iOS; a PIN check on the
/// command line. Called by the core only when its policy needs a prompt, from async calls only,
/// and never twice at once for one gate.
pub trait Authenticator: Send + Sync {
    /// Shows the prompt for `request` and resolves when it ends.
    fn authenticate(&self, request: AuthRequest) -> AuthFuture<'_>;
}
