//! # rukasec-ffi
//!
//! The UniFFI face of [`rukasec_core`] for Kotlin (Android) and Swift (iOS). The actual
//! implementation happens in the core crate: this crate only wraps. It holds newtypes that
//! forward to core objects, records and enums mirrored with `From`, the error mapping, the
//! adapter that lets a Kotlin/Swift listener act as a core listener, and the async glue
//! (tokio). If a line here decides something, it belongs in the core.
//!
//! Every export that can fail returns `Result<_, E>` with its area's error enum (`RukaSecError`,
//! `VaultError`, `TlsError`, `SignatureError`, `OtpError`, `CredentialError`) and runs inside [`guard`] (or `guard_with`,
//! `guard_future`), so a Rust panic reaches the app as that enum's `Internal`, never as a crash.

/// `Display` as the type's (redacting) `Debug`, for records whose Kotlin `toString` and Swift
/// `description` must not print credentials, bodies or values: UniFFI's `Display` export makes
/// those call it, where a generated data class or struct would print every field.
macro_rules! display_as_redacted_debug {
    ($($record:ty),+ $(,)?) => {
        $(
            impl ::std::fmt::Display for $record {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    ::std::fmt::Debug::fmt(self, f)
                }
            }
        )+
    };
}

#[cfg(target_os = "android")]
mod android;
mod bound_keys;
mod credentials;
mod error;
#[cfg(test)]
mod errors_doc;
mod events;
mod guard;
mod https;
mod logging;
mod numbers;
mod otp;
mod rukasec;
mod signing;
#[cfg(feature = "ffi-testing")]
mod testing;
mod tls;
mod unlock;
mod vault;

pub use bound_keys::{AuthBoundKeyWrapper, KeyAuthRequirement, PromptedUnwrap};
pub use credentials::{
    AuthHeader, CredentialError, CredentialMetadata, CredentialSpec, CredentialStore, Environment,
    HostEnvironment, RateLimitMode,
};
pub use error::RukaSecError;
pub use events::{
    AnomalyDetector, AnomalyRules, EventJournal, EventStats, EventSubscription, JournalEntry,
    SecurityEvent, SecurityEventKind, SecurityEventListener, Severity,
};
pub use https::{
    Cancellation, HostAddress, HttpHeader, HttpRequest, HttpResponse, HttpsClient,
    HttpsClientOptions,
};
pub use logging::{LogLevel, LogRecord, LogStats, Logger};
pub use otp::{
    Hotp, OtpAlgorithm, OtpAuthInfo, OtpError, OtpKind, OtpVerdict, Totp, delete_otp_enrolment,
    load_hotp, load_otp_auth_info, load_totp, parse_otpauth_uri,
};
pub use rukasec::{KatResult, RukaSec, SelfTestReport};
pub use signing::{
    AuthBoundDeviceKey, AuthBoundSigner, DeviceKey, PlatformSigner, PromptedSignature,
    PublicKeyInfo, SignOptions, SignatureError, SignatureVerifier, SignedRequestHeaders,
    VerifiedSignature, VerifierOptions,
};
pub use tls::{
    CertificateSummary, DomainPin, PinChecker, PinOutcome, PinPolicy, PolicyUpdater, TlsError,
    spki_sha256_pin,
};
pub use unlock::{AuthMethod, AuthOutcome, AuthRequest, Authenticator, UnlockGate, UnlockPolicy};
pub use vault::{
    DataClass, KeyWrapper, KeyWrapperError, RotationReport, Vault, VaultError, VaultItem,
};

use guard::guard;

uniffi::setup_scaffolding!("rukasec");

/// The version of the RukaSec library, e.g. `"0.1.0"`. (Throws only as every export may: a
/// Rust panic arrives as `Internal`, never as a crash of the app.)
#[uniffi::export]
pub fn rukasec_version() -> Result<String, RukaSecError> {
    guard(|| Ok::<_, RukaSecError>(env!("CARGO_PKG_VERSION").to_owned()))
}
