//! Exports that only the binding test suites call (feature `ffi-testing`, off in app builds).

use crate::{RukaSecError, guard};

/// Panics inside a fallible call, to prove the app receives `RukaSecError::Internal`.
#[uniffi::export]
pub fn ffi_testing_panic() -> Result<(), RukaSecError> {
    guard(|| -> Result<(), RukaSecError> {
        #[allow(clippy::panic)]
        {
            panic!("deliberate panic for the binding tests") // invariant: test-only export
        }
    })
}
