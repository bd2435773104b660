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
