//! Biometric-gated unlocking: the policy per data class, the lock state, the failed-attempt
//! counter, and the hook through which the core asks the app to authenticate the user.
//!
//! The app owns the prompt (BiometricPrompt, LocalAuthentication: only the platform can show
//! one); the core owns the decision. Each data class has a requirement ([`ClassRequirement`]):
//! Public needs nothing, Internal the first unlock since start, Confidential an unlocked session
//! with an idle timeout, Restricted a recent strong biometric (per use or within seconds). A
//! blocking call never prompts: it fails with `UserAuthenticationRequired`. An async call asks
//! [`UnlockGate::unlock`], which prompts through the app's [`Authenticator`], once for every
//! caller waiting at the same time. Failures are counted in an authenticated record in the
//! vault (`vault::VaultAttemptStore`); after `max_failures` in a row, unlocking is locked out for
//! an exponentially growing time that survives restarts. Locking (explicitly, on backgrounding,
//! after the idle timeout) makes every attached vault drop and zeroize its unwrapped keys.
//!
//! This is a policy enforced in the app's process: on a rooted or jailbroken device it can be
//! patched out. Keys the platform keystore binds to user authentication
//! (`setUserAuthenticationParameters`, `.biometryCurrentSet`) are the part an attacker cannot
//! bypass; docs/THREAT_MODEL.md says what each protects.

mod attempts;
mod authenticator;
mod gate;
mod policy;

pub use attempts::{AttemptRecord, AttemptStore, MemoryAttemptStore};
pub use authenticator::{
    AuthFuture, AuthOutcome, AuthRequest, AuthenticatedUse, AuthenticatedUseFuture, Authenticator,
};
pub use gate::{LockHook, LockReason, SystemUnlockClock, UnlockClock, UnlockGate, UnlockGrant};
pub use policy::{AuthMethod, ClassRequirement, UnlockPolicy};
