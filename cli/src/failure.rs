//! How a command fails: a kind for scripts, a message for people, an exit code.

use std::fmt;

use rukasec_core::Error;

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

    /// 1 for every failure for now; later commands (vault) assign codes per kind.
    pub fn exit_code(&self) -> u8 {
        1
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
            Error::InvalidInput { .. } => "invalid-input",
            Error::CryptoUnavailable => "crypto-unavailable",
            Error::Crypto => "crypto",
            _ => "internal",
        };
        Self::new(kind, error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self::new("io", error.to_string())
    }
}
