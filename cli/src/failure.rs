//! How a command fails: a kind for scripts, a message for people, an exit code.
//!
//! Exit codes: 0 ok, 2 usage (clap's, or [`USAGE`]), 3 [`NOT_FOUND`], 4 [`INTEGRITY`],
//! 5 [`KEY_UNAVAILABLE`], 6 a TLS or HTTPS failure (a connection or request the core refused
//! or could not complete), 7 a request-signature failure (a signature that does not verify, or
//! one that cannot be made from the request given), 8 [`LOCKED_OUT`] (too many failed unlocks:
//! the message says until when, as an RFC 3339 UTC time), 9 an unlock that did not happen (the
//! kind says why: [`USER_AUTHENTICATION_REQUIRED`] — no `--unlock-with`, or no PIN set —,
//! [`AUTHENTICATION_FAILED`] — a wrong PIN, the message says how many attempts remain —,
//! [`USER_CANCELLED`], [`KEY_INVALIDATED`]), 1 anything else.
//!
//! A TLS failure's kind is the core's own name for the cause ([`TlsFailure::as_str`]:
//! `pin-mismatch`, `untrusted-certificate`, `insecure-scheme`, ...), so a script can tell a
//! pinning refusal from a server that is down without parsing the message; one exit code
//! covers them all because the kind already says which. Signature failures work the same way
//! with [`SignatureFailure::as_str`] (`bad-signature`, `digest-mismatch`, `signature-expired`,
//! ...): `rukasec verify` exits 7 for every reason a server would refuse the request, and the
//! kind says which. Unlock failures too, with one exception: a lockout has its own code,
//! because it is the one a script must wait out rather than retry or fix.

use std::fmt;

use rukasec_core::{Error, SignatureFailure, TlsFailure};

use crate::utc;

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
/// Arguments that parse but do not go together (clap reports the others itself).
pub const USAGE: &str = "usage";
/// Too many failed unlocks in a row: refused until a time the message gives.
pub const LOCKED_OUT: &str = "locked-out";
/// Reading needs an unlock that was not given (or cannot be done: no PIN is set).
pub const USER_AUTHENTICATION_REQUIRED: &str = "user-authentication-required";
/// The unlock failed (a wrong PIN); counted towards a lockout.
pub const AUTHENTICATION_FAILED: &str = "authentication-failed";
/// The unlock prompt was cancelled (not counted).
pub const USER_CANCELLED: &str = "user-cancelled";
/// The platform invalidated the key bound to the user's biometrics.
pub const KEY_INVALIDATED: &str = "key-invalidated";

/// The exit code of every TLS or HTTPS failure (kind: [`TlsFailure::as_str`]).
pub const TLS_EXIT_CODE: u8 = 6;
/// The exit code of every request-signature failure (kind: [`SignatureFailure::as_str`]).
pub const SIGNATURE_EXIT_CODE: u8 = 7;
/// The exit code of a lockout ([`LOCKED_OUT`]).
pub const LOCKED_OUT_EXIT_CODE: u8 = 8;
/// The exit code of every other unlock that did not happen (the kind says why).
pub const UNLOCK_EXIT_CODE: u8 = 9;

/// Whose name the kind is: ours (exit code by kind), or the core's name of a TLS or signature
/// cause (one exit code per family, the kind says which cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// One of the constants above, or another fixed name.
    Plain,
    /// A [`TlsFailure`] (exit code [`TLS_EXIT_CODE`]).
    Tls,
    /// A [`SignatureFailure`] (exit code [`SIGNATURE_EXIT_CODE`]).
    Signature,
}

/// A failed command. Printed as `<kind>: <message>`.
#[derive(Debug)]
pub struct Failure {
    kind: &'static str,
    message: String,
    family: Family,
}

impl Failure {
    /// A failure of `kind` (one of the constants above, or another fixed name).
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            family: Family::Plain,
        }
    }

    /// A TLS or HTTPS failure, named by its cause.
    pub fn tls(failure: TlsFailure, message: impl Into<String>) -> Self {
        Self {
            kind: failure.as_str(),
            message: message.into(),
            family: Family::Tls,
        }
    }

    /// A request-signature failure, named by its cause.
    pub fn signature(failure: SignatureFailure, message: impl Into<String>) -> Self {
        Self {
            kind: failure.as_str(),
            message: message.into(),
            family: Family::Signature,
        }
    }

    /// The kind (for scripts).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Adds what the failure concerns (a file name) in front of the message.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The process exit code for this failure: 2 usage, 3 not found, 4 integrity, 5 key
    /// unavailable, 6 TLS, 7 request signature, 8 locked out, 9 not unlocked, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self.family {
            Family::Tls => return TLS_EXIT_CODE,
            Family::Signature => return SIGNATURE_EXIT_CODE,
            Family::Plain => {}
        }
        match self.kind {
            USAGE => 2,
            NOT_FOUND => 3,
            INTEGRITY => 4,
            KEY_UNAVAILABLE => 5,
            LOCKED_OUT => LOCKED_OUT_EXIT_CODE,
            USER_AUTHENTICATION_REQUIRED
            | AUTHENTICATION_FAILED
            | USER_CANCELLED
            | KEY_INVALIDATED => UNLOCK_EXIT_CODE,
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
        // For TLS and signature failures the kind is the cause's name; the core's message
        // would repeat it, so only the reason is kept.
        let error = match error {
            Error::Tls { failure, reason } => return Self::tls(failure, reason),
            Error::Signature { failure, reason } => return Self::signature(failure, reason),
            // The core gives Unix milliseconds; people get a time and how long it is.
            Error::LockedOut { until_unix_ms } => {
                return Self::new(LOCKED_OUT, locked_out_message(until_unix_ms, utc::now_ms()));
            }
            Error::AuthenticationFailed { remaining_attempts } => {
                return Self::new(
                    AUTHENTICATION_FAILED,
                    format!(
                        "the authentication failed; {}",
                        attempts_left(remaining_attempts)
                    ),
                );
            }
            other => other,
        };
        let kind = match error {
            Error::InvalidInput { .. } => INVALID_INPUT,
            Error::CryptoUnavailable => "crypto-unavailable",
            Error::Crypto => "crypto",
            Error::Integrity => INTEGRITY,
            Error::KeyUnavailable => KEY_UNAVAILABLE,
            Error::UserAuthenticationRequired => USER_AUTHENTICATION_REQUIRED,
            Error::UserCancelled => USER_CANCELLED,
            Error::KeyInvalidated => KEY_INVALIDATED,
            Error::KeyWrapper { .. } => "key-wrapper",
            Error::Storage { .. } => "storage",
            _ => INTERNAL,
        };
        Self::new(kind, error.to_string())
    }
}

/// `too many failed attempts: locked out until 2026-12-01T20:04:42Z (in 30 s)`.
pub fn locked_out_message(until_unix_ms: i64, now_ms: i64) -> String {
    format!(
        "too many failed attempts: locked out until {}",
        utc::until_text(until_unix_ms, now_ms)
    )
}

/// `4 attempts left before a lockout` (`1 attempt`, `no attempt`).
pub fn attempts_left(remaining: u32) -> String {
    match remaining {
        0 => "no attempt left before a lockout".to_owned(),
        1 => "1 attempt left before a lockout".to_owned(),
        n => format!("{n} attempts left before a lockout"),
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
        assert_eq!(Failure::new(USAGE, "give a backup pin").exit_code(), 2);
        assert_eq!(Failure::from(std::io::Error::other("x")).exit_code(), 1);
    }

    #[test]
    fn unlock_failures_exit_8_when_locked_out_and_9_otherwise() {
        let failure = Failure::from(Error::LockedOut {
            until_unix_ms: 4_102_444_800_000,
        });
        assert_eq!((failure.kind, failure.exit_code()), (LOCKED_OUT, 8));
        assert!(
            failure.to_string().starts_with(
                "locked-out: too many failed attempts: locked out until 2100-01-01T00:00:00Z (in "
            ),
            "{failure}"
        );
        assert_eq!(
            locked_out_message(1_796_155_482_000, 1_796_155_452_000),
            "too many failed attempts: locked out until 2026-12-01T20:04:42Z (in 30 s)"
        );
        let failure = Failure::from(Error::AuthenticationFailed {
            remaining_attempts: 1,
        });
        assert_eq!(
            (failure.to_string().as_str(), failure.exit_code()),
            (
                "authentication-failed: the authentication failed; 1 attempt left before a lockout",
                9
            )
        );
        for (error, kind) in [
            (
                Error::UserAuthenticationRequired,
                USER_AUTHENTICATION_REQUIRED,
            ),
            (Error::UserCancelled, USER_CANCELLED),
            (Error::KeyInvalidated, KEY_INVALIDATED),
            (
                Error::AuthenticationFailed {
                    remaining_attempts: 4,
                },
                AUTHENTICATION_FAILED,
            ),
        ] {
            let failure = Failure::from(error);
            assert_eq!(
                (failure.kind, failure.exit_code()),
                (kind, UNLOCK_EXIT_CODE)
            );
        }
        assert_eq!(attempts_left(4), "4 attempts left before a lockout");
        assert_eq!(attempts_left(0), "no attempt left before a lockout");
    }

    #[test]
    fn tls_failures_are_named_by_their_cause_and_exit_6() {
        let failure = Failure::from(Error::Tls {
            failure: TlsFailure::PinMismatch,
            reason: "the certificate chain of pay.rukapay.test matches none of the pins".to_owned(),
        });
        assert_eq!(failure.exit_code(), TLS_EXIT_CODE);
        assert_eq!(
            failure.to_string(),
            "pin-mismatch: the certificate chain of pay.rukapay.test matches none of the pins"
        );
        let failure = Failure::tls(TlsFailure::InsecureScheme, "http");
        assert_eq!((failure.kind, failure.exit_code()), ("insecure-scheme", 6));
    }

    #[test]
    fn signature_failures_are_named_by_their_cause_and_exit_7() {
        let failure = Failure::from(Error::Signature {
            failure: SignatureFailure::DigestMismatch,
            reason: "the Content-Digest sha-256 does not match the body".to_owned(),
        });
        assert_eq!(failure.exit_code(), SIGNATURE_EXIT_CODE);
        assert_eq!(
            failure.to_string(),
            "digest-mismatch: the Content-Digest sha-256 does not match the body"
        );
        for (cause, kind) in [
            (SignatureFailure::BadSignature, "bad-signature"),
            (SignatureFailure::Expired, "signature-expired"),
            (SignatureFailure::Replayed, "replayed-nonce"),
            (SignatureFailure::Malformed, "malformed-signature"),
        ] {
            let failure = Failure::signature(cause, "x");
            assert_eq!((failure.kind, failure.exit_code()), (kind, 7));
        }
    }
}
