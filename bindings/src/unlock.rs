//! Biometric-gated unlocking for apps: the `Authenticator` the app implements (BiometricPrompt,
//! LocalAuthentication), the policy, and the `UnlockGate` a vault is checked against. The
//! decisions are the core's (`rukasec_core::unlock`); this module only converts.

use std::sync::Arc;

use rukasec_core::unlock as core;

use crate::guard::{guard_future, guard_with};
use crate::vault::{DataClass, VaultError};
use crate::{RukaSecError, numbers};

/// How the user proved presence; also the methods a prompt may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AuthMethod {
    /// A Class 3 ("strong") biometric: Android `BIOMETRIC_STRONG`, Face ID / Touch ID.
    StrongBiometric,
    /// Any biometric, Class 2 ("weak") included: Android `BIOMETRIC_WEAK`.
    AnyBiometric,
    /// The device PIN, pattern or password: Android `DEVICE_CREDENTIAL`, the iOS passcode.
    DeviceCredential,
}

impl From<AuthMethod> for core::AuthMethod {
    fn from(method: AuthMethod) -> Self {
        match method {
            AuthMethod::StrongBiometric => Self::StrongBiometric,
            AuthMethod::AnyBiometric => Self::AnyBiometric,
            AuthMethod::DeviceCredential => Self::DeviceCredential,
        }
    }
}

impl From<core::AuthMethod> for AuthMethod {
    fn from(method: core::AuthMethod) -> Self {
        match method {
            core::AuthMethod::StrongBiometric => Self::StrongBiometric,
            core::AuthMethod::AnyBiometric => Self::AnyBiometric,
            core::AuthMethod::DeviceCredential => Self::DeviceCredential,
        }
    }
}

/// What RukaSec asks the app to show. Rust `Debug`, Kotlin `toString` and Swift
/// `description`/`debugDescription` print the reason's and the account's lengths only (the
/// reason may name a payee or an amount, the account is a customer id).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct AuthRequest {
    /// Why, as the caller of the unlock gave it (fixed text; the app may show its own,
    /// localized, chosen by `data_class`).
    pub reason: String,
    /// The account whose data is being unlocked, when one is.
    pub account: Option<String>,
    /// The most sensitive class this unlock is for.
    pub data_class: DataClass,
    /// The methods that satisfy it: the prompt's allowed authenticators.
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
            .field("data_class", &self.data_class)
            .field("allowed", &self.allowed)
            .finish()
    }
}

display_as_redacted_debug!(AuthRequest);

impl From<core::AuthRequest> for AuthRequest {
    fn from(request: core::AuthRequest) -> Self {
        Self {
            reason: request.reason,
            account: request.account,
            data_class: request.class.into(),
            allowed: request.allowed.into_iter().map(Into::into).collect(),
        }
    }
}

/// How the prompt ended, as the platform reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AuthOutcome {
    /// The user authenticated with `method`.
    Success {
        /// The method used (BiometricPrompt's `authenticationType`, the `LAContext` policy).
        method: AuthMethod,
    },
    /// The user or the app cancelled the prompt (`ERROR_USER_CANCELED`, `ERROR_NEGATIVE_BUTTON`,
    /// `LAError.userCancel`, `.appCancel`, `.systemCancel`): not a failed attempt.
    Cancelled,
    /// The user failed to authenticate and the prompt ended (counted).
    Failed,
    /// The platform's authenticator is locked out (`ERROR_LOCKOUT`, `ERROR_LOCKOUT_PERMANENT`,
    /// `LAError.biometryLockout`) until `until_unix_ms`, or for an unknown time when null.
    LockedOut {
        /// When the platform allows another try, if known.
        until_unix_ms: Option<i64>,
    },
    /// No allowed method is enrolled (`ERROR_NONE_ENROLLED`, `LAError.biometryNotEnrolled`).
    NotEnrolled,
    /// The authenticator cannot run now (`ERROR_HW_UNAVAILABLE`, `LAError.notInteractive`).
    Unavailable,
    /// The biometric-bound key was invalidated before the prompt could use it
    /// (`KeyPermanentlyInvalidatedException` while initialising the `CryptoObject`).
    KeyInvalidated,
}

impl From<AuthOutcome> for core::AuthOutcome {
    fn from(outcome: AuthOutcome) -> Self {
        match outcome {
            AuthOutcome::Success { method } => Self::Success {
                method: method.into(),
            },
            AuthOutcome::Cancelled => Self::Cancelled,
            AuthOutcome::Failed => Self::Failed,
            AuthOutcome::LockedOut { until_unix_ms } => Self::LockedOut { until_unix_ms },
            AuthOutcome::NotEnrolled => Self::NotEnrolled,
            AuthOutcome::Unavailable => Self::Unavailable,
            AuthOutcome::KeyInvalidated => Self::KeyInvalidated,
        }
    }
}

/// Authenticates the user, implemented by the app: BiometricPrompt on Android (with a
/// `CryptoObject` where the keystore key itself needs the user), `LAContext` on iOS. RukaSec
/// calls it only from async calls, only when its policy needs a prompt, and never twice at once
/// for one gate: concurrent reads wait for the same prompt. Resolve when the prompt ends;
/// cancelling the caller's coroutine or Task cancels the wait. Throwing counts as
/// `Unavailable` (the exception's text is not copied).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// Shows the prompt `request` describes and returns how it ended.
    async fn authenticate(&self, request: AuthRequest) -> Result<AuthOutcome, RukaSecError>;
}

/// The app's authenticator as the core sees it.
pub(crate) struct ForeignAuthenticator(pub(crate) Arc<dyn Authenticator>);

impl core::Authenticator for ForeignAuthenticator {
    fn authenticate(&self, request: core::AuthRequest) -> core::AuthFuture<'_> {
        Box::pin(async move {
            match self.0.authenticate(request.into()).await {
                Ok(outcome) => outcome.into(),
                // The app's exception: no prompt could run (its text is not copied).
                Err(_) => core::AuthOutcome::Unavailable,
            }
        })
    }
}

/// What each data class needs before it can be read, and the failure limits. The defaults are
/// RukaSec's: Public nothing; Internal the first unlock since start; Confidential an unlocked
/// session (a strong biometric or the device credential) that closes after
/// `confidential_idle_timeout_seconds` without use; Restricted a strong biometric within
/// `restricted_window_seconds` (0: for each read); a lockout after `max_failures` failed
/// attempts in a row, `lockout_seconds` long, doubling for each further one up to
/// `max_lockout_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnlockPolicy {
    /// How long the Confidential session survives without a read, in seconds.
    #[uniffi(default = 300)]
    pub confidential_idle_timeout_seconds: i64,
    /// How long one strong biometric serves Restricted reads, in seconds; 0: each read prompts.
    #[uniffi(default = 10)]
    pub restricted_window_seconds: i64,
    /// Whether the device credential (PIN, passcode) may unlock Restricted data too (off: a
    /// strong biometric only).
    #[uniffi(default = false)]
    pub restricted_allows_device_credential: bool,
    /// Failed attempts in a row before a lockout (at least 1).
    #[uniffi(default = 5)]
    pub max_failures: i32,
    /// The first lockout's length in seconds.
    #[uniffi(default = 30)]
    pub lockout_seconds: i64,
    /// The longest lockout in seconds.
    #[uniffi(default = 3600)]
    pub max_lockout_seconds: i64,
    /// Whether `onAppBackground` locks at once.
    #[uniffi(default = true)]
    pub lock_on_background: bool,
}

impl TryFrom<UnlockPolicy> for core::UnlockPolicy {
    type Error = rukasec_core::Error;

    fn try_from(policy: UnlockPolicy) -> Result<Self, Self::Error> {
        let mut core = Self::default();
        core.classes[2].0 = core::ClassRequirement::Session {
            idle_timeout: numbers::seconds(
                policy.confidential_idle_timeout_seconds,
                "confidentialIdleTimeoutSeconds",
            )?,
        };
        core.classes[3].0 = core::ClassRequirement::Recent {
            window: numbers::seconds(policy.restricted_window_seconds, "restrictedWindowSeconds")?,
        };
        if policy.restricted_allows_device_credential {
            core.classes[3].1.push(core::AuthMethod::DeviceCredential);
        }
        core.max_failures = numbers::non_negative_i32(policy.max_failures, "maxFailures")?;
        core.lockout = numbers::seconds(policy.lockout_seconds, "lockoutSeconds")?;
        core.max_lockout = numbers::seconds(policy.max_lockout_seconds, "maxLockoutSeconds")?;
        core.lock_on_background = policy.lock_on_background;
        core.validate()?;
        Ok(core)
    }
}

/// The lock state of a vault's data ([`crate::Vault::enable_unlock`]): reads of each class are
/// checked against it; its `*Async` reads prompt through the app's `Authenticator` when needed.
#[derive(uniffi::Object)]
pub struct UnlockGate(pub(crate) Arc<core::UnlockGate>);

#[uniffi::export(async_runtime = "tokio")]
impl UnlockGate {
    /// Makes `data_class` readable: at once when it is, else through one prompt (shared with
    /// every concurrent caller) showing `reason`. Throws `UserCancelled`,
    /// `AuthenticationFailed`, `LockedOut`, `KeyInvalidated`, or `UserAuthenticationRequired`
    /// when no allowed method can prompt (none enrolled, unavailable). For a class that needs
    /// a fresh authentication for each read, the read itself must be the `*Async` one.
    pub async fn unlock(
        &self,
        data_class: DataClass,
        account: Option<String>,
        reason: String,
    ) -> Result<(), VaultError> {
        let gate = Arc::clone(&self.0);
        guard_future(async move {
            gate.unlock(data_class.into(), account.as_deref(), &reason)
                .await
                .map(|_grant| ())
        })
        .await
    }

    /// Locks: closes the session and every recent authentication; the vault drops its
    /// unwrapped keys. Internal stays readable.
    pub fn lock(&self) -> Result<(), VaultError> {
        guard_with(|| {
            self.0.lock();
            Ok::<_, VaultError>(())
        })
    }

    /// Call when the app goes to the background: locks at once when the policy says so.
    pub fn on_app_background(&self) -> Result<(), VaultError> {
        guard_with(|| {
            self.0.on_app_background();
            Ok::<_, VaultError>(())
        })
    }

    /// Until when unlocking is locked out (milliseconds since the Unix epoch), or null.
    pub fn locked_out_until_ms(&self) -> Result<Option<i64>, VaultError> {
        guard_with(|| self.0.locked_out_until())
    }

    /// Whether `data_class` can be read now without a prompt (a blocking read would succeed).
    pub fn is_unlocked(&self, data_class: DataClass) -> Result<bool, VaultError> {
        guard_with(|| match self.0.check(data_class.into(), None) {
            Ok(()) => Ok(true),
            Err(rukasec_core::Error::UserAuthenticationRequired) => Ok(false),
            Err(other) => Err(other),
        })
    }
}

/// The policy of a gate, its seconds as a duration (for tests of the conversion).
#[cfg(test)]
fn idle(policy: &core::UnlockPolicy) -> Option<std::time::Duration> {
    match policy.requirement(rukasec_core::vault::DataClass::Confidential) {
        core::ClassRequirement::Session { idle_timeout } => Some(*idle_timeout),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn defaults() -> UnlockPolicy {
        UnlockPolicy {
            confidential_idle_timeout_seconds: 300,
            restricted_window_seconds: 10,
            restricted_allows_device_credential: false,
            max_failures: 5,
            lockout_seconds: 30,
            max_lockout_seconds: 3600,
            lock_on_background: true,
        }
    }

    #[test]
    fn the_binding_defaults_are_the_core_defaults() {
        assert_eq!(
            core::UnlockPolicy::try_from(defaults()).unwrap(),
            core::UnlockPolicy::default()
        );
    }

    #[test]
    fn policy_fields_reach_the_core_and_bad_ones_are_invalid_input() {
        let policy = core::UnlockPolicy::try_from(UnlockPolicy {
            confidential_idle_timeout_seconds: 60,
            restricted_allows_device_credential: true,
            ..defaults()
        })
        .unwrap();
        assert_eq!(idle(&policy), Some(std::time::Duration::from_secs(60)));
        assert!(
            policy
                .methods(rukasec_core::vault::DataClass::Restricted)
                .contains(&core::AuthMethod::DeviceCredential)
        );
        for bad in [
            UnlockPolicy {
                max_failures: 0,
                ..defaults()
            },
            UnlockPolicy {
                lockout_seconds: -1,
                ..defaults()
            },
            UnlockPolicy {
                max_lockout_seconds: 1,
                ..defaults()
            },
        ] {
            assert!(matches!(
                core::UnlockPolicy::try_from(bad).map_err(VaultError::from),
                Err(VaultError::InvalidInput { .. })
            ));
        }
    }
}
