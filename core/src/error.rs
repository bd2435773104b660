//! The core's error type.
//!
//! One `#[non_exhaustive]` enum for the whole core, every variant documented. Messages are built
//! only from fixed text and from facts about the input's *shape* (a length, a field name), never
//! from its content: errors travel to logs, crash reports and the app's UI, so they must not carry
//! secrets or personal data. Crypto failures are deliberately opaque ([`Error::Crypto`]); what
//! went wrong in detail goes only to the security-event stream.

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input could not be used (malformed certificate, wrong length, ...).
    /// `reason` describes the problem, never the input's content.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong with the input.
        reason: String,
    },
    /// The power-on crypto self-test failed, so every cryptographic operation refuses.
    #[error(
        "crypto unavailable: the crypto self-test failed; cryptographic operations are refused"
    )]
    CryptoUnavailable,
    /// A cryptographic operation failed (bad tag, bad signature). Deliberately opaque.
    #[error("crypto failure: {CRYPTO}")]
    Crypto,
    /// Stored data failed authentication: tampered, swapped between rows, accounts or classes,
    /// or corrupt. Deliberately opaque; the detail goes to the security-event stream.
    #[error("integrity failure: {INTEGRITY}")]
    Integrity,
    /// The account's key-encryption key is missing or is not the one its data was written
    /// with (keystore wiped, backup restored on another device, biometric re-enrolment). The
    /// data cannot be recovered; `reset_account` starts the account again.
    #[error("key unavailable: {KEY_UNAVAILABLE}")]
    KeyUnavailable,
    /// The user must authenticate first: the unlock policy requires an authentication that is
    /// not in force (a blocking call never prompts), or the platform keystore's key is bound to
    /// user authentication (biometric or device credential) and none is in force, or the device
    /// is locked. Nothing is wrong with the data: authenticate (an async call) and call again.
    #[error("user authentication required: {USER_AUTHENTICATION_REQUIRED}")]
    UserAuthenticationRequired,
    /// The user cancelled the authentication prompt (or the app dismissed it). Every request
    /// waiting on that prompt fails with this; nothing is counted as a failed attempt.
    #[error("the user cancelled authentication")]
    UserCancelled,
    /// The user failed to authenticate. `remaining_attempts` more failures in a row before a
    /// lockout.
    #[error("authentication failed; {remaining_attempts} attempts left before a lockout")]
    AuthenticationFailed {
        /// Failures left before the lockout.
        remaining_attempts: u32,
    },
    /// Too many failed authentication attempts: unlocking is refused until `until_unix_ms`
    /// (milliseconds since the Unix epoch), by RukaSec's own counter or by the platform's.
    #[error("authentication is locked out until {until_unix_ms} (Unix ms)")]
    LockedOut {
        /// When unlocking may be tried again.
        until_unix_ms: i64,
    },
    /// The platform invalidated the key that protects this data (a new fingerprint or face was
    /// enrolled, or biometrics were removed): the data it protected cannot be read again.
    /// Recover by authenticating with the server again and resetting the account's data.
    #[error("the key was invalidated by a biometric enrolment change")]
    KeyInvalidated,
    /// The platform keystore (key wrapper) failed for another reason. `reason` is fixed text.
    #[error("key wrapper failed: {reason}")]
    KeyWrapper {
        /// What failed.
        reason: String,
    },
    /// The local database or file system failed. `reason` describes the failure, never data.
    #[error("storage failed: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// A TLS connection, HTTPS request or pin-policy update was refused. `failure` names the
    /// cause (pin mismatch, untrusted certificate, ...); `reason` says more in fixed text and
    /// host names, never request or response content.
    #[error("{}: {reason}", failure.as_str())]
    Tls {
        /// The cause.
        failure: TlsFailure,
        /// What happened.
        reason: String,
    },
    /// A request signature, Content-Digest or DPoP proof could not be made or did not verify.
    /// `failure` names the cause; `reason` says more in fixed text and component names, never
    /// header values or bodies.
    #[error("{}: {reason}", failure.as_str())]
    Signature {
        /// The cause.
        failure: SignatureFailure,
        /// What happened.
        reason: String,
    },
    /// No API credential has this id in the account (never stored, or revoked).
    #[error("credential not found: {CREDENTIAL_NOT_FOUND}")]
    CredentialNotFound,
    /// The request's URL is not one the credential may go to: its host matches none of the
    /// credential's host patterns (an IP address never does). Nothing was sent.
    #[error("credential host mismatch: {CREDENTIAL_HOST_MISMATCH}")]
    CredentialHostMismatch,
    /// The credential's environment is not the one declared for the request's host (a sandbox
    /// key for a production host or the other way round, or a host with no declared
    /// environment). `reason` names the two environments, never the key. Nothing was sent.
    #[error("credential environment mismatch: {reason}")]
    CredentialEnvironmentMismatch {
        /// Which environments disagreed.
        reason: String,
    },
    /// A request with an API credential was not sent: the client-side rate limit has no token
    /// for the credential, or the server paused it (429 / 503 with `Retry-After`). Send again
    /// after `retry_after`.
    #[error("rate limited: retry after {} ms", retry_after.as_millis())]
    RateLimited {
        /// How long until a request can go out.
        retry_after: std::time::Duration,
    },
    /// A bug in RukaSec (an invariant did not hold, or a panic was caught at the boundary).
    #[error("internal error: {reason}")]
    Internal {
        /// A fixed description of the broken invariant.
        reason: String,
    },
}

const CRYPTO_UNAVAILABLE: &str =
    "the crypto self-test failed; cryptographic operations are refused";
const CRYPTO: &str = "a cryptographic operation failed";
const INTEGRITY: &str = "stored data failed authentication";
const KEY_UNAVAILABLE: &str = "the account's key cannot be used; reset the account";
const CREDENTIAL_NOT_FOUND: &str = "no credential with this id is stored";
const CREDENTIAL_HOST_MISMATCH: &str = "the request's host is not one of the credential's hosts";
const USER_AUTHENTICATION_REQUIRED: &str =
    "the user must authenticate first (the unlock policy or the keystore requires it)";

impl Error {
    /// The message without its kind prefix, for public error types that carry the kind
    /// themselves (the bindings' error enums). Never holds secrets or personal data.
    pub fn reason(&self) -> String {
        match self {
            Self::InvalidInput { reason }
            | Self::KeyWrapper { reason }
            | Self::Storage { reason }
            | Self::Internal { reason }
            | Self::Tls { reason, .. }
            | Self::Signature { reason, .. }
            | Self::CredentialEnvironmentMismatch { reason } => reason.clone(),
            Self::CryptoUnavailable => CRYPTO_UNAVAILABLE.to_owned(),
            Self::Crypto => CRYPTO.to_owned(),
            Self::Integrity => INTEGRITY.to_owned(),
            Self::KeyUnavailable => KEY_UNAVAILABLE.to_owned(),
            Self::UserAuthenticationRequired => USER_AUTHENTICATION_REQUIRED.to_owned(),
            Self::CredentialNotFound => CREDENTIAL_NOT_FOUND.to_owned(),
            Self::CredentialHostMismatch => CREDENTIAL_HOST_MISMATCH.to_owned(),
            Self::UserCancelled
            | Self::RateLimited { .. }
            | Self::AuthenticationFailed { .. }
            | Self::LockedOut { .. }
            | Self::KeyInvalidated => self.to_string(),
        }
    }

    /// An [`Error::Tls`] with the given cause and reason.
    pub(crate) fn tls(failure: TlsFailure, reason: impl Into<String>) -> Self {
        Self::Tls {
            failure,
            reason: reason.into(),
        }
    }

    /// An [`Error::Signature`] with the given cause and reason.
    pub(crate) fn signature(failure: SignatureFailure, reason: impl Into<String>) -> Self {
        Self::Signature {
            failure,
            reason: reason.into(),
        }
    }

    /// An [`Error::InvalidInput`] with the given reason.
    pub(crate) fn invalid_input(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }
}

/// Why a TLS connection, HTTPS request or pin-policy update was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The verified chain matched none of the host's enforced pins.
    PinMismatch,
    /// The chain does not lead to a trusted root (unknown issuer, bad signature, not a CA).
    UntrustedCertificate,
    /// The certificate is not valid for the host name.
    HostnameMismatch,
    /// A certificate of the chain has expired or is not yet valid.
    ExpiredCertificate,
    /// A certificate of the chain is revoked.
    RevokedCertificate,
    /// The server offered no protocol version this client accepts (TLS 1.3 only by default).
    ProtocolVersion,
    /// The URL is not `https://` (refused before any connection).
    InsecureScheme,
    /// The TLS handshake failed for another reason (alert, no shared cipher suite).
    Handshake,
    /// The connection could not be made (name resolution, refused, reset).
    Connection,
    /// The request did not complete in time.
    Timeout,
    /// More redirects than allowed, or a redirect that is not `https://`.
    Redirect,
    /// The response body is larger than the client's limit.
    ResponseTooLarge,
    /// The server's HTTP was malformed.
    Protocol,
    /// A signed pin-policy document failed signature verification.
    PolicySignature,
    /// A signed pin-policy document has a lower version than the one installed.
    PolicyRollback,
    /// A signed pin-policy document has expired.
    PolicyExpired,
    /// The caller cancelled the request (its [`crate::tls::Cancellation`]) before it completed.
    Cancelled,
}

impl TlsFailure {
    /// The cause's stable kebab-case name (the CLI's `error: <kind>:` and telemetry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PinMismatch => "pin-mismatch",
            Self::UntrustedCertificate => "untrusted-certificate",
            Self::HostnameMismatch => "hostname-mismatch",
            Self::ExpiredCertificate => "expired-certificate",
            Self::RevokedCertificate => "revoked-certificate",
            Self::ProtocolVersion => "protocol-version",
            Self::InsecureScheme => "insecure-scheme",
            Self::Handshake => "handshake",
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::Redirect => "redirect",
            Self::ResponseTooLarge => "response-too-large",
            Self::Protocol => "protocol",
            Self::PolicySignature => "policy-signature",
            Self::PolicyRollback => "policy-rollback",
            Self::PolicyExpired => "policy-expired",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Why a request signature or Content-Digest was refused (mostly by the server-side verifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureFailure {
    /// `Signature-Input` / `Signature` (or a DPoP proof) is not well-formed.
    Malformed,
    /// No signature with the expected label, or a required component is not covered.
    MissingComponent,
    /// A covered component is absent from the message.
    ComponentNotInMessage,
    /// The algorithm is not `ecdsa-p256-sha256` (or ES256 for DPoP).
    UnsupportedAlgorithm,
    /// No key is known for the `keyid`.
    UnknownKey,
    /// The signature does not verify (message altered, wrong key).
    BadSignature,
    /// `expires` has passed, or `created` is older than allowed.
    Expired,
    /// `created` is in the future beyond the allowed clock skew.
    NotYetValid,
    /// The `nonce` was seen before within its window.
    Replayed,
    /// The verifier's replay store could not answer (a shared store unreachable): the request
    /// is refused, since a nonce that was not recorded could be replayed.
    ReplayStoreUnavailable,
    /// The `Content-Digest` does not match the body, or none with a supported algorithm.
    DigestMismatch,
    /// The signing key (software or platform) failed to sign.
    SignerFailed,
}

impl SignatureFailure {
    /// The cause's stable kebab-case name (the CLI's `error: <kind>:` and telemetry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed-signature",
            Self::MissingComponent => "missing-component",
            Self::ComponentNotInMessage => "component-not-in-message",
            Self::UnsupportedAlgorithm => "unsupported-algorithm",
            Self::UnknownKey => "unknown-key",
            Self::BadSignature => "bad-signature",
            Self::Expired => "signature-expired",
            Self::NotYetValid => "signature-not-yet-valid",
            Self::Replayed => "replayed-nonce",
            Self::ReplayStoreUnavailable => "replay-store-unavailable",
            Self::DigestMismatch => "digest-mismatch",
            Self::SignerFailed => "signer-failed",
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            // A column of the wrong type or range can only come from a modified database.
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => Self::Integrity,
            // SQLite messages name tables and constraints, never bound values.
            other => Self::Storage {
                reason: other.to_string(),
            },
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Storage {
            reason: error.to_string(),
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
