//! Panic containment at the FFI boundary.

use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

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

/// [`guard_with`] for an `async` export: every poll of `future` runs inside `catch_unwind`, and a
/// panic ends the call with `P::from(RukaSecError::Internal)` (the future is not polled again).
/// Runs on the caller's task, so cancelling the call from Kotlin or Swift drops `future`.
pub(crate) async fn guard_future<T, E, P>(
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, P>
where
    P: From<E> + From<RukaSecError>,
{
    let mut future = pin!(future);
    let outcome = poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await;
    match outcome {
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
            Err(RukaSecError::Internal { .. })
        ));
        assert_eq!(guard(|| Ok::<_, Error>(7)), Ok(7));
    }

    #[test]
    fn a_panic_in_a_future_becomes_an_internal_error_of_the_area() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result: Result<(), crate::TlsError> = runtime.block_on(guard_future(async {
            tokio::task::yield_now().await;
            if true {
                panic!("secret-ish detail 42");
            }
            Ok::<_, Error>(())
        }));
        match result {
            Err(crate::TlsError::Internal { reason }) => {
                assert!(reason.contains(PANIC_REASON), "{reason}");
                assert!(!reason.contains("42"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let ok: Result<u8, crate::TlsError> =
            runtime.block_on(guard_future(async { Ok::<_, Error>(7) }));
        assert_eq!(ok, Ok(7));
        let failed: Result<(), crate::TlsError> =
            runtime.block_on(guard_future(async { Err(Error::CryptoUnavailable) }));
        assert!(matches!(
            failed,
            Err(crate::TlsError::CryptoUnavailable { .. })
        ));
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
