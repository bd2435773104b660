//! What each data class needs before its items can be read, and how failures are punished.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::vault::DataClass;

/// How the user proved presence. Also the methods a request allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A Class 3 ("strong") biometric: Android `BIOMETRIC_STRONG`, Face ID / Touch ID.
    StrongBiometric,
    /// Any biometric the platform offers, including Class 2 ("weak") ones.
    AnyBiometric,
    /// The device PIN, pattern or password (Android `DEVICE_CREDENTIAL`, iOS passcode).
    DeviceCredential,
}

impl AuthMethod {
    /// The method's stable name (events, the CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StrongBiometric => "strong-biometric",
            Self::AnyBiometric => "any-biometric",
            Self::DeviceCredential => "device-credential",
        }
    }

    /// Whether an authentication by `self` satisfies a request allowing `allowed`: a strong
    /// biometric is also "any biometric".
    pub fn satisfies(self, allowed: &[AuthMethod]) -> bool {
        allowed.contains(&self)
            || (self == Self::StrongBiometric && allowed.contains(&Self::AnyBiometric))
    }
}

/// When a class's items may be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassRequirement {
    /// Always (Public by default).
    Nothing,
    /// After the first successful unlock since the gate was made (Internal by default): a
    /// later `lock` does not close it again.
    FirstUnlock,
    /// While the session is unlocked: from a successful unlock until `lock`, backgrounding
    /// (when configured) or `idle_timeout` without a read of a class that needs the session
    /// (Confidential by default).
    Session {
        /// How long the session survives without use.
        idle_timeout: Duration,
    },
    /// Only within `window` of an authentication by an allowed method; `Duration::ZERO`: a
    /// fresh authentication for each use (Restricted by default: a strong biometric, 10 s).
    Recent {
        /// How long one authentication serves.
        window: Duration,
    },
}

/// The unlock policy: a requirement and the allowed methods per data class, and the failure
/// limits. The core owns it; apps configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockPolicy {
    /// Public, Internal, Confidential, Restricted, in this order.
    pub classes: [(ClassRequirement, Vec<AuthMethod>); 4],
    /// Failed attempts in a row before a lockout.
    pub max_failures: u32,
    /// The first lockout's length; each further lockout doubles it, up to `max_lockout`.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Whether `on_app_background` locks at once (otherwise only the idle timeout runs).
    pub lock_on_background: bool,
}

impl Default for UnlockPolicy {
    fn default() -> Self {
        use AuthMethod::{AnyBiometric, DeviceCredential, StrongBiometric};
        Self {
            classes: [
                (ClassRequirement::Nothing, Vec::new()),
                (
                    ClassRequirement::FirstUnlock,
                    vec![StrongBiometric, AnyBiometric, DeviceCredential],
                ),
                (
                    ClassRequirement::Session {
                        idle_timeout: Duration::from_secs(300),
                    },
                    vec![StrongBiometric, DeviceCredential],
                ),
                (
                    ClassRequirement::Recent {
                        window: Duration::from_secs(10),
                    },
                    vec![StrongBiometric],
                ),
            ],
            max_failures: 5,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(3600),
            lock_on_background: true,
        }
    }
}

impl UnlockPolicy {
    /// Checks the policy is usable: a class that needs an unlock allows some method, and the
    /// failure limits are positive.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        for (class, (requirement, methods)) in DataClass::ALL.iter().zip(&self.classes) {
            if *requirement != ClassRequirement::Nothing && methods.is_empty() {
                return Err(Error::invalid_input(format!(
                    "the {class} class needs an unlock but allows no method"
                )));
            }
        }
        if self.max_failures == 0 {
            return Err(Error::invalid_input("max_failures must be at least 1"));
        }
        if self.lockout.is_zero() || self.max_lockout < self.lockout {
            return Err(Error::invalid_input(
                "lockout must be positive and max_lockout at least lockout",
            ));
        }
        Ok(())
    }

    /// The requirement of `class`.
    pub fn requirement(&self, class: DataClass) -> &ClassRequirement {
        &self.classes[usize::from(class.code())].0
    }

    /// The methods `class` allows.
    pub fn methods(&self, class: DataClass) -> &[AuthMethod] {
        &self.classes[usize::from(class.code())].1
    }

    /// The length of the `n`th lockout (0-based): `lockout · 2ⁿ`, at most `max_lockout`.
    pub fn lockout_length(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.lockout
            .checked_mul(factor)
            .map_or(self.max_lockout, |length| length.min(self.max_lockout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_the_documented_one_and_valid() {
        let policy = UnlockPolicy::default();
        policy.validate().unwrap();
        assert_eq!(
            policy.requirement(DataClass::Public),
            &ClassRequirement::Nothing
        );
        assert_eq!(
            policy.requirement(DataClass::Internal),
            &ClassRequirement::FirstUnlock
        );
        assert!(matches!(
            policy.requirement(DataClass::Confidential),
            ClassRequirement::Session { .. }
        ));
        assert_eq!(
            policy.methods(DataClass::Restricted),
            &[AuthMethod::StrongBiometric]
        );
    }

    #[test]
    fn lockouts_double_up_to_the_maximum() {
        let policy = UnlockPolicy::default();
        assert_eq!(policy.lockout_length(0), Duration::from_secs(30));
        assert_eq!(policy.lockout_length(1), Duration::from_secs(60));
        assert_eq!(policy.lockout_length(6), Duration::from_secs(1920));
        assert_eq!(policy.lockout_length(7), Duration::from_secs(3600));
        assert_eq!(policy.lockout_length(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn unusable_policies_are_refused() {
        let mut policy = UnlockPolicy::default();
        policy.classes[3].1.clear();
        assert!(matches!(policy.validate(), Err(Error::InvalidInput { .. })));
        let policy = UnlockPolicy {
            max_failures: 0,
            ..UnlockPolicy::default()
        };
        assert!(policy.validate().is_err());
        let policy = UnlockPolicy {
            max_lockout: Duration::from_secs(1),
            ..UnlockPolicy::default()
        };
        assert!(policy.validate().is_err());
    }

    #[test]
    fn a_strong_biometric_is_also_any_biometric() {
        assert!(AuthMethod::StrongBiometric.satisfies(&[AuthMethod::AnyBiometric]));
        assert!(!AuthMethod::AnyBiometric.satisfies(&[AuthMethod::StrongBiometric]));
        assert!(!AuthMethod::DeviceCredential.satisfies(&[AuthMethod::StrongBiometric]));
    }
}
