//! One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), and `otpauth://` URIs.
//!
//! Why in the core: the app shows codes for the customer's second factor (an authenticator
//! inside the payments app), and servers verify them; both sides must agree on every detail
//! (the truncation, the time step, the window, what counts as a replay), so they share this one
//! implementation, tested against the RFCs' own tables.
//!
//! - [`Hotp`] makes and checks counter-based codes, [`Totp`] time-based ones (`T0 = 0`, a
//!   period of [`DEFAULT_PERIOD`] seconds unless the issuer says otherwise). HMAC-SHA-1 (what
//!   nearly every issuer uses), HMAC-SHA256 and HMAC-SHA512; 6, 7 or 8 digits. The HMACs come
//!   from [`Crypto`](crate::crypto::Crypto), so a core whose self-test failed refuses to make or
//!   check codes ([`Error::CryptoUnavailable`](crate::Error::CryptoUnavailable)).
//! - **Secrets** are [`SecretBytes`](crate::secret::SecretBytes): wiped on drop, never in
//!   `Debug`. At least [`MIN_SECRET_LEN`] (10) bytes. RFC 4226 asks for 128 bits and
//!   recommends 160, but 80-bit secrets (16 base32 characters) are what many deployed issuers
//!   hand out, and an authenticator that refuses them cannot enrol the customer. Shorter
//!   secrets are refused: below 80 bits, one observed code narrows an offline search too much.
//!   Secrets RukaSec's own servers issue should be 20 bytes or more.
//! - **Verification** compares the code with every candidate of the window in constant time
//!   (`subtle`), and refuses a **replay**: an [`OtpReplayGuard`] remembers the last accepted
//!   step (a TOTP time step or an HOTP counter), and a code of that step or an earlier one is
//!   [`OtpVerdict::Replayed`], even inside the window. The caller persists the guard per secret
//!   (`last_used_step`) and must update it atomically with the login it allows (a
//!   compare-and-set in its store), or two concurrent requests could both use one code.
//!   Throttling wrong guesses (RFC 4226 §7.3) is the caller's too: a 6-digit code with a window
//!   of ±1 is guessed with a chance of 3 in a million per attempt.
//! - **Time** is always a parameter (`at_unix`, seconds since the Unix epoch): the core reads no
//!   clock here, so tests are exact and a caller that measured its clock skew against a server
//!   passes corrected time ([`corrected_unix_time`]).
//! - **Base32** (RFC 4648) secrets go through a small strict decoder ([`decode_base32`]):
//!   case-insensitive, spaces ignored, padding optional, anything else refused with
//!   [`Error::InvalidInput`](crate::Error::InvalidInput) (whose reason never shows the input).
//! - **`otpauth://` URIs** (the Key Uri Format of the Google Authenticator wiki, what enrolment
//!   QR codes hold) are parsed strictly and written back by [`OtpAuthUri`]. The account name is
//!   personal data and the issuer says which services the customer uses: `Debug` prints their
//!   lengths only, and the secret not at all.
//! - **At rest**, an enrolment lives in the vault ([`stored`]): namespace [`OTP_NAMESPACE`],
//!   class Restricted, the value its `otpauth://` URI.

mod base32;
mod code;
pub mod stored;
mod uri;

pub use base32::{decode_base32, encode_base32};
pub use code::{
    DEFAULT_DIGITS, DEFAULT_PERIOD, Hotp, MAX_DIGITS, MAX_HOTP_LOOK_AHEAD, MAX_TOTP_WINDOW,
    MIN_DIGITS, MIN_SECRET_LEN, OtpAlgorithm, OtpReplayGuard, OtpVerdict, Totp,
    corrected_unix_time,
};
pub use stored::OTP_NAMESPACE;
pub use uri::{MAX_URI_LEN, OtpAuthUri, OtpKind};
