//! How a command fails: a kind for scripts, a message for people, an exit code.
//!
//! Exit codes: 0 ok, 2 usage (clap), 3 [`NOT_FOUND`], 4 [`INTEGRITY`], 5 [`KEY_UNAVAILABLE`],
//! 1 anything else.

use std::fmt;

use rukasec_core::Error;

/// An item, or an account, that is absent (or expired).
pub const NOT_FOUND: &str = "not-found";
/// Stored data failed authentication (tampered, swapped or corrupt).
pub const INTEGRITY: &str = "integrity";
/// The account's key-encryption key is missing or not the one its data was written with.
pub const KEY_UNAVAILABLE: &str = "key-unavailable";
/// The caller's input could not be used.
pub const INVALID_INPUT: &str = "invalid-input";
/// A bug (an invariant did not hold).
pub const INTERNAL: &str = "internal";

/// A failed command. Printed as `<kind>: <message>`.
#[derive(Debug)]
pub struct Failure {
    kind: &'static str,
    message: String,
}

impl Failure {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Adds what the failure concerns (a file name) in front of the message.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The process exit code for this failure: 3 not found, 4 integrity, 5 key unavailable,
    /// 1 anything else (2, usage, is clap's).
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            NOT_FOUND => 3,
            INTEGRITY => 4,
            KEY_UNAVAILABLE => 5,
            _ => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let kind = match error {
            Error::InvalidInput { .. } => INVALID_INPUT,
            Error::CryptoUnavailable => "crypto-unavailable",
            Error::Crypto => "crypto",
            Error::Integrity => INTEGRITY,
            Error::KeyUnavailable => KEY_UNAVAILABLE,
            Error::KeyWrapper { .. } => "key-wrapper",
            Error::Storage { .. } => "storage",
            _ => INTERNAL,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new("io", error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_per_kind() {
        let cases = [
            (Error::Integrity, INTEGRITY, 4),
            (Error::KeyUnavailable, KEY_UNAVAILABLE, 5),
            (
                Error::Storage {
                    reason: "disk".to_owned(),
                },
                "storage",
                1,
            ),
            (
                Error::KeyWrapper {
                    reason: "keystore".to_owned(),
                },
                "key-wrapper",
                1,
            ),
            (Error::Crypto, "crypto", 1),
        ];
        for (error, kind, code) in cases {
            let failure = Failure::from(error);
            assert_eq!((failure.kind, failure.exit_code()), (kind, code));
        }
        assert_eq!(Failure::new(NOT_FOUND, "absent").exit_code(), 3);
        assert_eq!(Failure::from(std::io::Error::other("x")).exit_code(), 1);
    }
}
