//! The public error enum and its mapping from the core's errors.

use rukasec_core::Error;

/// What can go wrong in a RukaSec call. Kotlin sees `RukaSecException`, Swift a thrown
/// `RukaSecError`. `reason` is for logs and developers; it never holds secrets or personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum RukaSecError {
    /// The input could not be used (malformed certificate, wrong length, ...).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong with the input (never its content).
        reason: String,
    },
    /// The crypto self-test failed: every cryptographic operation is refused.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// An app-implemented callback (listener, later key wrappers) threw an exception that is not
    /// a `RukaSecError`.
    #[error("callback failed: {reason}")]
    Callback {
        /// A fixed explanation (the foreign exception's message is not copied: it could hold
        /// anything).
        reason: String,
    },
    /// A bug in RukaSec, including a Rust panic caught at the boundary.
    #[error("internal error: {reason}")]
    Internal {
        /// A fixed description.
        reason: String,
    },
}

impl From<Error> for RukaSecError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::InvalidInput { .. } => Self::InvalidInput { reason },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
            // No call returning a `RukaSecError` decrypts or verifies (those are the vault's,
            // the signer's and the client's, with their own enums), so a crypto failure here
            // would be a bug. The core's enum is non-exhaustive; a variant without a mapping here still reaches
            // the app, as an internal error with the core's (secret-free) text.
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for RukaSecError {
    fn from(_error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Callback {
            reason: "a foreign callback threw an exception that is not a RukaSecError".to_owned(),
        }
    }
}
