//! One-time passwords for apps: `Totp` and `Hotp` codes and their verification, `otpauth://`
//! enrolment URIs, and enrolments kept in the vault. Thin wrappers: the HOTP/TOTP maths, the
//! strict URI parser and the replay rule are the core's (`rukasec_core::otp`).
//!
//! - Secrets arrive as `ByteArray`/`Data` or text and are wrapped into `SecretBytes` /
//!   `SecretString` before anything else runs, so they are wiped when the call ends. They never
//!   leave again except inside the URI the app asks for (`otpauthUri`: the app's to show as a
//!   QR code). Codes leave as `String`: showing them is their purpose.
//! - The replay guard is the app's to persist: `verify` takes the last accepted step
//!   (`lastUsedStep`, null before the first) and returns `Accepted(step)`; store that step
//!   atomically with the login it allows.
//! - Two error enums: the OTP calls throw [`OtpError`] (bad input; the crypto self-test;
//!   panics). The vault calls (`saveTo`, `loadTotp`, `loadHotp`, `loadOtpAuthInfo`) throw the
//!   vault's own [`VaultError`], whose variants an app already handles for every vault read
//!   (`UserAuthenticationRequired`: unlock Restricted first; `KeyUnavailable`: reset the
//!   account; `Integrity`, `Storage`, ...): a second copy of them here would only lose detail.

use std::sync::Arc;

use rukasec_core::Error;
use rukasec_core::otp as core;
use rukasec_core::otp::stored;
use rukasec_core::secret::{SecretBytes, SecretString};

use crate::guard::guard_with;
use crate::vault::{Vault, VaultError};
use crate::{RukaSecError, numbers};

/// What can go wrong in an OTP call (the vault calls throw `VaultError`). `reason` never holds
/// the secret, a code, the account name or the issuer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum OtpError {
    /// The input could not be used: a secret shorter than 10 bytes, digits not 6 to 8, a
    /// period of 0, a window over 10 or a look-ahead over 50, a negative number, malformed
    /// base32, a malformed `otpauth://` URI or one of the other kind, an empty account name.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong (never the content).
        reason: String,
    },
    /// The crypto self-test failed: no code is made or checked.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// A bug in RukaSec, including a caught Rust panic.
    #[error("internal error: {reason}")]
    Internal {
        /// A fixed description.
        reason: String,
    },
}

impl From<Error> for OtpError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::InvalidInput { .. } => Self::InvalidInput { reason },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
            // The OTP calls touch no storage, keystore or network; anything else is a bug,
            // passed on with the core's (secret-free) text.
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<RukaSecError> for OtpError {
    fn from(error: RukaSecError) -> Self {
        // Only a caught panic reaches here (see `guard_with`); keep its fixed reason.
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

/// The HMAC an issuer chose (the URI's `algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OtpAlgorithm {
    /// HMAC-SHA-1: RFC 4226's, what nearly every issuer uses.
    Sha1,
    /// HMAC-SHA256 (RFC 6238).
    Sha256,
    /// HMAC-SHA512 (RFC 6238).
    Sha512,
}

impl From<OtpAlgorithm> for core::OtpAlgorithm {
    fn from(algorithm: OtpAlgorithm) -> Self {
        match algorithm {
            OtpAlgorithm::Sha1 => Self::Sha1,
            OtpAlgorithm::Sha256 => Self::Sha256,
            OtpAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

impl From<core::OtpAlgorithm> for OtpAlgorithm {
    fn from(algorithm: core::OtpAlgorithm) -> Self {
        match algorithm {
            core::OtpAlgorithm::Sha1 => Self::Sha1,
            core::OtpAlgorithm::Sha256 => Self::Sha256,
            core::OtpAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

/// What `verify` decided. None of the outcomes says which code would have been right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpVerdict {
    /// The code is right for `step` (the TOTP time step or HOTP counter it matched): persist
    /// it as the next call's `lastUsedStep`, atomically with the login it allows.
    Accepted {
        /// The step the code was made for.
        step: i64,
    },
    /// Not right for any step of the window (wrong code, wrong secret, a clock too far off,
    /// or not `digits` ASCII digits).
    Invalid,
    /// Right only for a step at or before `lastUsedStep`: a replay, refused.
    Replayed,
}

impl From<core::OtpVerdict> for OtpVerdict {
    fn from(verdict: core::OtpVerdict) -> Self {
        match verdict {
            core::OtpVerdict::Accepted { step } => Self::Accepted {
                step: numbers::long(step),
            },
            core::OtpVerdict::Invalid => Self::Invalid,
            core::OtpVerdict::Replayed => Self::Replayed,
        }
    }
}

/// Which kind of OTP an enrolment is, with the kind's own parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpKind {
    /// Time-based (RFC 6238), `period_seconds` per step.
    Totp {
        /// Seconds per time step.
        period_seconds: i64,
    },
    /// Counter-based (RFC 4226); `counter` is the counter of the first (or next) code.
    Hotp {
        /// The counter of the enrolment.
        counter: i64,
    },
}

impl From<core::OtpKind> for OtpKind {
    fn from(kind: core::OtpKind) -> Self {
        match kind {
            core::OtpKind::Totp { period } => Self::Totp {
                period_seconds: numbers::long(period),
            },
            core::OtpKind::Hotp { counter } => Self::Hotp {
                counter: numbers::long(counter),
            },
        }
    }
}

/// What an enrolment says, without its secret: for the app's list of enrolments. Rust
/// `Debug`, Kotlin `toString` and Swift `description`/`debugDescription` print the account's
/// and the issuer's lengths only (the account is personal data, the issuer says which services
/// the customer uses).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct OtpAuthInfo {
    /// TOTP with its period, or HOTP with its counter.
    pub kind: OtpKind,
    /// The HMAC.
    pub algorithm: OtpAlgorithm,
    /// Digits of a code (6 to 8).
    pub digits: i32,
    /// The account name of the label (e.g. an e-mail address).
    pub account: String,
    /// The issuer (the `issuer` parameter or the label's prefix), if any.
    pub issuer: Option<String>,
}

impl std::fmt::Debug for OtpAuthInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpAuthInfo")
            .field("kind", &self.kind)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("account", &format_args!("<{} bytes>", self.account.len()))
            .field(
                "issuer",
                &self.issuer.as_ref().map(|i| format!("<{} bytes>", i.len())),
            )
            .finish()
    }
}

display_as_redacted_debug!(OtpAuthInfo);

impl From<&core::OtpAuthUri> for OtpAuthInfo {
    fn from(uri: &core::OtpAuthUri) -> Self {
        Self {
            kind: uri.kind().into(),
            algorithm: uri.algorithm().into(),
            digits: i32::try_from(uri.digits()).unwrap_or(i32::MAX),
            account: uri.account().to_owned(),
            issuer: uri.issuer().map(str::to_owned),
        }
    }
}

/// A URI from the app, wrapped at once (it holds the secret) and parsed.
fn parse_uri(uri: String) -> Result<core::OtpAuthUri, Error> {
    let uri = SecretString::new(uri);
    // Parsing needs the text; it is wiped when `uri` drops.
    core::OtpAuthUri::parse(uri.expose_secret())
}

/// Digits from the boundary, as the core's `u32` (the core checks 6 to 8).
fn digits(digits: i32) -> Result<u32, Error> {
    numbers::non_negative_i32(digits, "digits")
}

/// The replay guard of `last_used_step`.
fn replay_guard(last_used_step: Option<i64>) -> Result<core::OtpReplayGuard, Error> {
    let last = last_used_step
        .map(|step| numbers::non_negative(step, "lastUsedStep"))
        .transpose()?;
    Ok(core::OtpReplayGuard::with_last_used_step(last))
}

/// The URI text the app asked for (it holds the secret: the app's to show as a QR code).
fn uri_text(uri: &core::OtpAuthUri) -> String {
    // Exposed: returning the URI to the app is the purpose of the call.
    uri.to_uri().expose_secret().to_owned()
}

/// Time-based one-time passwords (RFC 6238, `T0 = 0`). Safe from many threads; holds the
/// secret (wiped when the object is closed / released).
#[derive(uniffi::Object)]
pub struct Totp(core::Totp);

#[uniffi::export]
impl Totp {
    /// TOTP with the raw `secret` bytes (at least 10), `algorithm`, `digits` (6 to 8) and
    /// `period_seconds` per step (30 unless the issuer says otherwise).
    #[uniffi::constructor(default(digits = 6, period_seconds = 30))]
    pub fn new(
        secret: Vec<u8>,
        algorithm: OtpAlgorithm,
        digits: i32,
        period_seconds: i64,
    ) -> Result<Arc<Self>, OtpError> {
        let secret = SecretBytes::new(secret);
        guard_with(|| {
            let period = numbers::non_negative(period_seconds, "periodSeconds")?;
            core::Totp::new(secret, algorithm.into(), self::digits(digits)?, period)
                .map(|totp| Arc::new(Self(totp)))
        })
    }

    /// TOTP with a base32 secret (RFC 4648, either case, spaces and padding allowed), as
    /// issuers show it for manual entry.
    #[uniffi::constructor(default(digits = 6, period_seconds = 30))]
    pub fn from_base32(
        secret: String,
        algorithm: OtpAlgorithm,
        digits: i32,
        period_seconds: i64,
    ) -> Result<Arc<Self>, OtpError> {
        let secret = SecretString::new(secret);
        guard_with(|| {
            let period = numbers::non_negative(period_seconds, "periodSeconds")?;
            // Decoding needs the text; it is wiped when `secret` drops.
            let bytes = core::decode_base32(secret.expose_secret())?;
            core::Totp::new(bytes, algorithm.into(), self::digits(digits)?, period)
                .map(|totp| Arc::new(Self(totp)))
        })
    }

    /// The TOTP of an `otpauth://totp/...` URI (an enrolment QR code), parsed strictly; its
    /// account and issuer are in `parseOtpauthUri`.
    #[uniffi::constructor]
    pub fn from_otpauth_uri(uri: String) -> Result<Arc<Self>, OtpError> {
        guard_with(|| parse_uri(uri)?.into_totp().map(|totp| Arc::new(Self(totp))))
    }

    /// The code at `unix_seconds` (seconds since the Unix epoch; the app reads its clock,
    /// corrected by any skew it measured against the server).
    pub fn code_at(&self, unix_seconds: i64) -> Result<String, OtpError> {
        guard_with(|| {
            let at = numbers::non_negative(unix_seconds, "unixSeconds")?;
            // Exposed: showing the code is the purpose of the call.
            self.0
                .code_at(at)
                .map(|code| code.expose_secret().to_owned())
        })
    }

    /// The time step of `unix_seconds`: `unixSeconds / periodSeconds`.
    pub fn time_step(&self, unix_seconds: i64) -> Result<i64, OtpError> {
        guard_with(|| {
            let at = numbers::non_negative(unix_seconds, "unixSeconds")?;
            Ok::<_, Error>(numbers::long(self.0.time_step(at)))
        })
    }

    /// Checks `code` against the steps within `window` (at most 10; 1 is usual) of
    /// `at_unix_seconds`'s, in constant time, refusing steps at or before `last_used_step` as
    /// `Replayed`. On `Accepted(step)` persist `step` as the next `lastUsedStep`.
    #[uniffi::method(default(window = 1))]
    pub fn verify(
        &self,
        code: String,
        at_unix_seconds: i64,
        window: i32,
        last_used_step: Option<i64>,
    ) -> Result<OtpVerdict, OtpError> {
        let code = SecretString::new(code);
        guard_with(|| {
            let at = numbers::non_negative(at_unix_seconds, "atUnixSeconds")?;
            let window = numbers::non_negative_i32(window, "window")?;
            let mut guard = replay_guard(last_used_step)?;
            // Comparing needs the code's text; it is wiped when `code` drops.
            self.0
                .verify(code.expose_secret(), at, window, &mut guard)
                .map(OtpVerdict::from)
        })
    }

    /// The HMAC.
    pub fn algorithm(&self) -> Result<OtpAlgorithm, OtpError> {
        guard_with(|| Ok::<_, Error>(self.0.algorithm().into()))
    }

    /// Digits of a code.
    pub fn digits(&self) -> Result<i32, OtpError> {
        guard_with(|| Ok::<_, Error>(i32::try_from(self.0.digits()).unwrap_or(i32::MAX)))
    }

    /// Seconds per time step.
    pub fn period_seconds(&self) -> Result<i64, OtpError> {
        guard_with(|| Ok::<_, Error>(numbers::long(self.0.period())))
    }

    /// The `otpauth://totp/...` URI of this secret for `account` (required) at `issuer`
    /// (recommended), every parameter written out. It holds the secret: show it as a QR code,
    /// do not log or store it (use `saveTo`).
    #[uniffi::method(default(issuer = None))]
    pub fn otpauth_uri(&self, account: String, issuer: Option<String>) -> Result<String, OtpError> {
        guard_with(|| {
            core::OtpAuthUri::of_totp(&self.0, &account, issuer.as_deref()).map(|u| uri_text(&u))
        })
    }

    /// Keeps this enrolment in `vault`, for the customer `account`, under `name` (the app's id
    /// for it), as a Restricted item (namespace `rukasec.otp`), with the label `label` (the
    /// account name an authenticator shows, e.g. an e-mail address) and `issuer`. Replaces an
    /// enrolment of that name. Throws the vault's errors; `InvalidInput` for an empty label.
    #[uniffi::method(default(issuer = None))]
    pub fn save_to(
        &self,
        vault: Arc<Vault>,
        account: String,
        name: String,
        label: String,
        issuer: Option<String>,
    ) -> Result<(), VaultError> {
        guard_with(|| {
            let enrolment = core::OtpAuthUri::of_totp(&self.0, &label, issuer.as_deref())?;
            stored::save(&vault.0, &account, &name, &enrolment)
        })
    }
}

/// Counter-based one-time passwords (RFC 4226). Stateless: the app keeps the counter (and the
/// replay guard's last accepted counter). Safe from many threads; holds the secret.
#[derive(uniffi::Object)]
pub struct Hotp(core::Hotp);

#[uniffi::export]
impl Hotp {
    /// HOTP with the raw `secret` bytes (at least 10), `algorithm` and `digits` (6 to 8).
    #[uniffi::constructor(default(digits = 6))]
    pub fn new(
        secret: Vec<u8>,
        algorithm: OtpAlgorithm,
        digits: i32,
    ) -> Result<Arc<Self>, OtpError> {
        let secret = SecretBytes::new(secret);
        guard_with(|| {
            core::Hotp::new(secret, algorithm.into(), self::digits(digits)?)
                .map(|hotp| Arc::new(Self(hotp)))
        })
    }

    /// HOTP with a base32 secret (RFC 4648, either case, spaces and padding allowed).
    #[uniffi::constructor(default(digits = 6))]
    pub fn from_base32(
        secret: String,
        algorithm: OtpAlgorithm,
        digits: i32,
    ) -> Result<Arc<Self>, OtpError> {
        let secret = SecretString::new(secret);
        guard_with(|| {
            // Decoding needs the text; it is wiped when `secret` drops.
            let bytes = core::decode_base32(secret.expose_secret())?;
            core::Hotp::new(bytes, algorithm.into(), self::digits(digits)?)
                .map(|hotp| Arc::new(Self(hotp)))
        })
    }

    /// The HOTP of an `otpauth://hotp/...` URI, parsed strictly; its initial counter, account
    /// and issuer are in `parseOtpauthUri`.
    #[uniffi::constructor]
    pub fn from_otpauth_uri(uri: String) -> Result<Arc<Self>, OtpError> {
        guard_with(|| parse_uri(uri)?.into_hotp().map(|hotp| Arc::new(Self(hotp))))
    }

    /// The code for `counter`.
    pub fn code(&self, counter: i64) -> Result<String, OtpError> {
        guard_with(|| {
            let counter = numbers::non_negative(counter, "counter")?;
            // Exposed: showing the code is the purpose of the call.
            self.0
                .code(counter)
                .map(|code| code.expose_secret().to_owned())
        })
    }

    /// Checks `code` against the counters `counter ..= counter + look_ahead` (`counter` is the
    /// next expected, usually `lastUsedStep + 1`; `look_ahead` at most 50), in constant time,
    /// refusing counters at or before `last_used_step` as `Replayed`. On `Accepted(step)`
    /// persist `step` as the next `lastUsedStep`.
    #[uniffi::method(default(look_ahead = 0))]
    pub fn verify(
        &self,
        code: String,
        counter: i64,
        look_ahead: i32,
        last_used_step: Option<i64>,
    ) -> Result<OtpVerdict, OtpError> {
        let code = SecretString::new(code);
        guard_with(|| {
            let counter = numbers::non_negative(counter, "counter")?;
            let look_ahead = numbers::non_negative_i32(look_ahead, "lookAhead")?;
            let mut guard = replay_guard(last_used_step)?;
            // Comparing needs the code's text; it is wiped when `code` drops.
            self.0
                .verify(code.expose_secret(), counter, look_ahead, &mut guard)
                .map(OtpVerdict::from)
        })
    }

    /// The HMAC.
    pub fn algorithm(&self) -> Result<OtpAlgorithm, OtpError> {
        guard_with(|| Ok::<_, Error>(self.0.algorithm().into()))
    }

    /// Digits of a code.
    pub fn digits(&self) -> Result<i32, OtpError> {
        guard_with(|| Ok::<_, Error>(i32::try_from(self.0.digits()).unwrap_or(i32::MAX)))
    }

    /// The `otpauth://hotp/...` URI of this secret whose next code is for `counter`; see
    /// `Totp.otpauthUri`.
    #[uniffi::method(default(issuer = None))]
    pub fn otpauth_uri(
        &self,
        counter: i64,
        account: String,
        issuer: Option<String>,
    ) -> Result<String, OtpError> {
        guard_with(|| {
            let counter = numbers::non_negative(counter, "counter")?;
            core::OtpAuthUri::of_hotp(&self.0, counter, &account, issuer.as_deref())
                .map(|u| uri_text(&u))
        })
    }

    /// Keeps this enrolment in `vault` with its next `counter`; see `Totp.saveTo`. Save again
    /// after each code to keep the counter.
    #[uniffi::method(default(issuer = None))]
    pub fn save_to(
        &self,
        vault: Arc<Vault>,
        account: String,
        name: String,
        counter: i64,
        label: String,
        issuer: Option<String>,
    ) -> Result<(), VaultError> {
        guard_with(|| {
            let counter = numbers::non_negative(counter, "counter")?;
            let enrolment = core::OtpAuthUri::of_hotp(&self.0, counter, &label, issuer.as_deref())?;
            stored::save(&vault.0, &account, &name, &enrolment)
        })
    }
}

/// What an `otpauth://` URI says (kind, period or counter, algorithm, digits, account,
/// issuer), without its secret, parsed strictly.
#[uniffi::export]
pub fn parse_otpauth_uri(uri: String) -> Result<OtpAuthInfo, OtpError> {
    guard_with(|| parse_uri(uri).map(|uri| OtpAuthInfo::from(&uri)))
}

/// The TOTP enrolment `vault` keeps for `account` under `name`, or null/nil. Throws
/// `VaultError.UserAuthenticationRequired` unless Restricted is unlocked (a blocking read never
/// prompts: `UnlockGate.unlock(RESTRICTED, ...)` first), `InvalidInput` when it is an HOTP
/// enrolment.
#[uniffi::export]
pub fn load_totp(
    vault: Arc<Vault>,
    account: String,
    name: String,
) -> Result<Option<Arc<Totp>>, VaultError> {
    guard_with(|| {
        stored::load(&vault.0, &account, &name)?
            .map(|uri| uri.into_totp().map(|totp| Arc::new(Totp(totp))))
            .transpose()
    })
}

/// The HOTP enrolment `vault` keeps for `account` under `name`, or null/nil (its counter is in
/// `loadOtpAuthInfo`); see `loadTotp`.
#[uniffi::export]
pub fn load_hotp(
    vault: Arc<Vault>,
    account: String,
    name: String,
) -> Result<Option<Arc<Hotp>>, VaultError> {
    guard_with(|| {
        stored::load(&vault.0, &account, &name)?
            .map(|uri| uri.into_hotp().map(|hotp| Arc::new(Hotp(hotp))))
            .transpose()
    })
}

/// What the enrolment `vault` keeps for `account` under `name` says, without its secret, or
/// null/nil; see `loadTotp` (it reads the Restricted item too).
#[uniffi::export]
pub fn load_otp_auth_info(
    vault: Arc<Vault>,
    account: String,
    name: String,
) -> Result<Option<OtpAuthInfo>, VaultError> {
    guard_with(|| {
        stored::load(&vault.0, &account, &name).map(|uri| uri.as_ref().map(OtpAuthInfo::from))
    })
}

/// Deletes the enrolment `name` of `account` from `vault`; returns whether it existed.
#[uniffi::export]
pub fn delete_otp_enrolment(
    vault: Arc<Vault>,
    account: String,
    name: String,
) -> Result<bool, VaultError> {
    guard_with(|| stored::delete(&vault.0, &account, &name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // test code

    use super::*;

    const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc_6238_and_4226_through_the_wrappers() {
        let totp = Totp::from_base32(SECRET_B32.to_owned(), OtpAlgorithm::Sha1, 8, 30).unwrap();
        assert_eq!(totp.code_at(59).unwrap(), "94287082");
        assert_eq!(totp.time_step(59).unwrap(), 1);
        let hotp = Hotp::new(b"12345678901234567890".to_vec(), OtpAlgorithm::Sha1, 6).unwrap();
        assert_eq!(hotp.code(0).unwrap(), "755224");
        assert_eq!(
            hotp.verify("287082".to_owned(), 0, 2, None).unwrap(),
            OtpVerdict::Accepted { step: 1 }
        );
        assert_eq!(
            hotp.verify("287082".to_owned(), 0, 2, Some(1)).unwrap(),
            OtpVerdict::Replayed
        );
    }

    #[test]
    fn negative_numbers_and_bad_secrets_are_invalid_input() {
        let totp = Totp::from_base32(SECRET_B32.to_owned(), OtpAlgorithm::Sha1, 6, 30).unwrap();
        for result in [
            totp.code_at(-1).map(|_| ()),
            totp.verify("123456".to_owned(), 0, 1, Some(-2)).map(|_| ()),
            totp.verify("123456".to_owned(), 0, -1, None).map(|_| ()),
            Totp::new(vec![1; 9], OtpAlgorithm::Sha1, 6, 30).map(|_| ()),
            Totp::new(vec![1; 10], OtpAlgorithm::Sha1, 6, -30).map(|_| ()),
            Hotp::new(vec![1; 10], OtpAlgorithm::Sha1, -6).map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(OtpError::InvalidInput { .. })),
                "{result:?}"
            );
        }
    }

    #[test]
    fn the_info_debug_shows_lengths_only() {
        let info = parse_otpauth_uri(format!(
            "otpauth://totp/Rukapay:alice%40example.com?secret={SECRET_B32}&issuer=Rukapay"
        ))
        .unwrap();
        assert_eq!(info.account, "alice@example.com");
        let printed = format!("{info:?} {info}");
        for needle in ["alice", "Rukapay", SECRET_B32] {
            assert!(!printed.contains(needle), "{printed}");
        }
        assert!(printed.contains("<17 bytes>"), "{printed}");
    }

    #[test]
    fn core_errors_map_to_their_variant() {
        assert!(matches!(
            OtpError::from(Error::CryptoUnavailable),
            OtpError::CryptoUnavailable { .. }
        ));
        assert!(matches!(
            OtpError::from(Error::Integrity),
            OtpError::Internal { .. }
        ));
    }
}
