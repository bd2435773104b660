//! Panic containment at the FFI boundary.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::RukaSecError;

/// Runs `call`, turning core errors into [`RukaSecError`] and a panic into
/// [`RukaSecError::Internal`]. The panic's message is not forwarded (it stays in the platform
/// log through the default panic hook); the app gets a fixed reason.
pub(crate) fn guard<T, E>(call: impl FnOnce() -> Result<T, E>) -> Result<T, RukaSecError>
where
    RukaSecError: From<E>,
{
    guard_with(call)
}

/// [`guard`] for any public error type `P` of an area: core errors convert into it, and a panic
/// becomes `P::from(RukaSecError::Internal)`.
pub(crate) fn guard_with<T, E, P>(call: impl FnOnce() -> Result<T, E>) -> Result<T, P>
where
    P: From<E> + From<RukaSecError>,
{
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(P::from),
        Err(_panic) => Err(P::from(RukaSecError::Internal {
            reason: PANIC_REASON.to_owned(),
        })),
    }
}

/// The fixed reason of an error made from a caught panic.
pub(crate) const PANIC_REASON: &str = "a Rust panic was caught at the FFI boundary";

#[cfg(test)]
mod tests {
    use rukasec_core::Error;

    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_without_its_message() {
        let result: Result<(), _> =
            guard(|| -> Result<(), Error> { panic!("secret-ish detail 42") });
        match result {
            Err(RukaSecError::Internal { reason }) => assert!(!reason.contains("42"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn core_errors_map_to_their_public_variant() {
        let invalid = guard(|| -> Result<(), Error> {
            Err(Error::InvalidInput {
                reason: "too short".to_owned(),
            })
        });
        assert_eq!(
            invalid,
            Err(RukaSecError::InvalidInput {
                reason: "too short".to_owned()
            })
        );
        assert!(matches!(
            guard(|| -> Result<(), Error> { Err(Error::CryptoUnavailable) }),
            Err(RukaSecError::CryptoUnavailable { reason }) if reason.contains("self-test")
        ));
        assert!(matches!(
            guard(|| -> Result<(), Error> { Err(Error::Crypto) }),
            Err(RukaSecError::Crypto { .. })
        ));
        assert_eq!(guard(|| Ok::<_, Error>(7)), Ok(7));
    }

    #[test]
    fn an_unexpected_callback_error_keeps_no_foreign_text() {
        let error = RukaSecError::from(uniffi::UnexpectedUniFFICallbackError::new(
            "java.lang.IllegalStateException: card 4111111111111111",
        ));
        match error {
            RukaSecError::Callback { reason } => assert!(!reason.contains("4111"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
