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
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(RukaSecError::from),
        Err(_panic) => Err(RukaSecError::Internal {
            reason: "a Rust panic was caught at the FFI boundary".to_owned(),
        }),
    }
}

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
