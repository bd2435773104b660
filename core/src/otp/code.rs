//! HOTP and TOTP codes, and their verification with a replay guard.

use std::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::crypto::Crypto;
use crate::error::{Error, Result};
use crate::secret::{SecretBytes, SecretString};

/// Shortest secret accepted, in bytes (80 bits; see the module documentation for why not 128).
pub const MIN_SECRET_LEN: usize = 10;
/// Fewest digits a code may have (RFC 4226 §5.3: at least 6).
pub const MIN_DIGITS: u32 = 6;
/// Most digits a code may have (the 31-bit truncated value carries about 9; RFC 6238's
/// reference code and every authenticator stop at 8).
pub const MAX_DIGITS: u32 = 8;
/// Digits when the issuer does not say.
pub const DEFAULT_DIGITS: u32 = 6;
/// TOTP time step in seconds when the issuer does not say (RFC 6238 §5.2).
pub const DEFAULT_PERIOD: u64 = 30;
/// Largest TOTP window accepted by [`Totp::verify`]: ±10 steps (±5 minutes at 30 s). RFC
/// 6238 §5.2 recommends at most one step back; a wider window accepts more guesses.
pub const MAX_TOTP_WINDOW: u32 = 10;
/// Largest HOTP look-ahead accepted by [`Hotp::verify`] (RFC 4226 §7.4's resynchronisation
/// parameter `s`).
pub const MAX_HOTP_LOOK_AHEAD: u32 = 50;

/// The HMAC an issuer chose (the `algorithm` of an `otpauth://` URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OtpAlgorithm {
    /// HMAC-SHA-1: RFC 4226's, and the default.
    #[default]
    Sha1,
    /// HMAC-SHA256 (RFC 6238).
    Sha256,
    /// HMAC-SHA512 (RFC 6238).
    Sha512,
}

impl OtpAlgorithm {
    /// The name as `otpauth://` URIs write it: `SHA1`, `SHA256` or `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// The algorithm named `name` (`SHA1`, `SHA256`, `SHA512`, in any case).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::invalid_input("the OTP algorithm must be SHA1, SHA256 or SHA512"))
    }
}

/// What [`Hotp::verify`] or [`Totp::verify`] decided. None of the outcomes says which code
/// would have been right.
#[must_use = "a code is accepted only when the verdict is Accepted"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpVerdict {
    /// The code is right for `step` (the TOTP time step or HOTP counter it matched), which the
    /// guard now holds: persist [`OtpReplayGuard::last_used_step`].
    Accepted {
        /// The step the code was made for.
        step: u64,
    },
    /// The code is not right for any step of the window (wrong code, wrong secret, a clock too
    /// far off, or not `digits` ASCII digits).
    Invalid,
    /// The code is right only for steps at or before the last accepted one: a replay (or a
    /// second login with one code). The guard is unchanged.
    Replayed,
}

impl OtpVerdict {
    /// Whether the code was accepted.
    pub fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted { .. })
    }
}

/// The last step (TOTP time step or HOTP counter) a code was accepted for, per secret: codes of
/// that step or earlier ones are refused as [`OtpVerdict::Replayed`]. The caller keeps it with
/// the secret and stores [`last_used_step`](Self::last_used_step) after every acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OtpReplayGuard {
    last_used_step: Option<u64>,
}

impl OtpReplayGuard {
    /// A guard for a secret no code was accepted for yet.
    pub const fn new() -> Self {
        Self {
            last_used_step: None,
        }
    }

    /// A guard restored from storage.
    pub const fn with_last_used_step(last_used_step: Option<u64>) -> Self {
        Self { last_used_step }
    }

    /// The last step a code was accepted for, if any: what the caller persists.
    pub const fn last_used_step(&self) -> Option<u64> {
        self.last_used_step
    }

    /// Whether a code of `step` may still be accepted.
    fn is_fresh(&self, step: u64) -> bool {
        self.last_used_step.is_none_or(|last| step > last)
    }
}

/// Counter-based one-time passwords (RFC 4226).
pub struct Hotp {
    secret: SecretBytes,
    algorithm: OtpAlgorithm,
    digits: u32,
}

impl Hotp {
    /// HOTP with `secret`, `algorithm` and `digits` (6 to 8).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `secret` is shorter than [`MIN_SECRET_LEN`] bytes or
    /// `digits` is not 6, 7 or 8.
    pub fn new(secret: SecretBytes, algorithm: OtpAlgorithm, digits: u32) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::invalid_input(format!(
                "an OTP secret must be at least {MIN_SECRET_LEN} bytes (80 bits), got {}",
                secret.len()
            )));
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(Error::invalid_input(format!(
                "an OTP code has {MIN_DIGITS} to {MAX_DIGITS} digits, not {digits}"
            )));
        }
        Ok(Self {
            secret,
            algorithm,
            digits,
        })
    }

    /// The HMAC.
    pub fn algorithm(&self) -> OtpAlgorithm {
        self.algorithm
    }

    /// The number of digits of a code.
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The secret (for writing an `otpauth://` URI).
    pub(crate) fn secret(&self) -> &SecretBytes {
        &self.secret
    }

    /// A second `Hotp` with a copy of the secret. Why a copy: [`OtpAuthUri::of_hotp`] and
    /// [`OtpAuthUri::of_totp`](crate::otp::OtpAuthUri::of_totp) build a URI (to write or to
    /// store in the vault) from an object the caller keeps using, such as the bindings' `Hotp`
    /// and `Totp`, and `OtpAuthUri` owns its `Hotp`. The copy is a `SecretBytes` too (wiped on
    /// drop), and lives only as long as that URI. Crate-private: callers outside never copy a
    /// secret.
    ///
    /// [`OtpAuthUri::of_hotp`]: crate::otp::OtpAuthUri::of_hotp
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            // Exposed: copied into a new SecretBytes (see above for why).
            secret: SecretBytes::from_slice(self.secret.expose_secret()),
            algorithm: self.algorithm,
            digits: self.digits,
        }
    }

    /// The code for `counter`, `digits` decimal digits with leading zeros.
    ///
    /// # Errors
    /// [`Error::CryptoUnavailable`] when the crypto self-test failed.
    pub fn code(&self, counter: u64) -> Result<SecretString> {
        let crypto = Crypto::get()?;
        Ok(SecretString::new(format_code(
            self.truncated(&crypto, counter),
            self.digits,
        )))
    }

    /// Checks `code` against the counters `counter ..= counter + look_ahead` (`counter` is the
    /// next one expected, usually the guard's last plus one), in constant time. On acceptance
    /// the guard holds the matched counter; the next expected counter is that plus one.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `look_ahead` exceeds [`MAX_HOTP_LOOK_AHEAD`];
    /// [`Error::CryptoUnavailable`] when the crypto self-test failed.
    pub fn verify(
        &self,
        code: &str,
        counter: u64,
        look_ahead: u32,
        guard: &mut OtpReplayGuard,
    ) -> Result<OtpVerdict> {
        if look_ahead > MAX_HOTP_LOOK_AHEAD {
            return Err(Error::invalid_input(format!(
                "the HOTP look-ahead is at most {MAX_HOTP_LOOK_AHEAD}, not {look_ahead}"
            )));
        }
        let last = counter.saturating_add(u64::from(look_ahead));
        self.verify_steps(code, counter, last, guard)
    }

    /// RFC 4226 §5.3: the HMAC of the counter, dynamically truncated to 31 bits.
    fn truncated(&self, crypto: &Crypto, counter: u64) -> u32 {
        let message = counter.to_be_bytes();
        // Exposed: the HMAC key of the code; the tag stays in this function.
        let key = self.secret.expose_secret();
        match self.algorithm {
            OtpAlgorithm::Sha1 => dynamic_truncation(&crypto.hmac_sha1(key, &message)),
            OtpAlgorithm::Sha256 => dynamic_truncation(&crypto.hmac_sha256(key, &message)),
            OtpAlgorithm::Sha512 => dynamic_truncation(&crypto.hmac_sha512(key, &message)),
        }
    }

    /// Checks `code` against every step of `first ..= last` (at most a few dozen), without
    /// stopping at a match, and takes the earliest match the guard still allows.
    fn verify_steps(
        &self,
        code: &str,
        first: u64,
        last: u64,
        guard: &mut OtpReplayGuard,
    ) -> Result<OtpVerdict> {
        let crypto = Crypto::get()?;
        let code = code.as_bytes();
        // The length and the alphabet are public (digits); only the value is compared in
        // constant time.
        let well_formed = usize::try_from(self.digits).is_ok_and(|digits| code.len() == digits)
            && code.iter().all(u8::is_ascii_digit);
        if !well_formed {
            return Ok(OtpVerdict::Invalid);
        }
        let mut fresh_found = Choice::from(0);
        let mut stale_found = Choice::from(0);
        let mut accepted = 0_u64;
        for step in first..=last {
            let expected =
                zeroize::Zeroizing::new(format_code(self.truncated(&crypto, step), self.digits));
            let matched = expected.as_bytes().ct_eq(code);
            // Whether a step is fresh depends on the guard and the step only, not on the secret.
            let fresh = Choice::from(u8::from(guard.is_fresh(step)));
            let take = matched & fresh & !fresh_found;
            accepted.conditional_assign(&step, take);
            fresh_found |= matched & fresh;
            stale_found |= matched & !fresh;
        }
        Ok(if bool::from(fresh_found) {
            guard.last_used_step = Some(accepted);
            OtpVerdict::Accepted { step: accepted }
        } else if bool::from(stale_found) {
            OtpVerdict::Replayed
        } else {
            OtpVerdict::Invalid
        })
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("secret_len", &self.secret.len())
            .finish()
    }
}

/// Time-based one-time passwords (RFC 6238): HOTP of the time step `at_unix / period`
/// (`T0 = 0`).
pub struct Totp {
    hotp: Hotp,
    period: u64,
}

impl Totp {
    /// TOTP with `secret`, `algorithm`, `digits` (6 to 8) and `period` seconds per step
    /// ([`DEFAULT_PERIOD`] is RFC 6238's 30).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] as [`Hotp::new`], or when `period` is 0.
    pub fn new(
        secret: SecretBytes,
        algorithm: OtpAlgorithm,
        digits: u32,
        period: u64,
    ) -> Result<Self> {
        Self::from_hotp(Hotp::new(secret, algorithm, digits)?, period)
    }

    pub(crate) fn from_hotp(hotp: Hotp, period: u64) -> Result<Self> {
        check_period(period)?;
        Ok(Self { hotp, period })
    }

    /// The HOTP of the time steps, and the period.
    pub(crate) fn into_parts(self) -> (Hotp, u64) {
        (self.hotp, self.period)
    }

    /// The HOTP of the time steps (a copy of the secret: see [`Hotp::duplicate`] for why),
    /// and the period.
    pub(crate) fn duplicate_parts(&self) -> (Hotp, u64) {
        (self.hotp.duplicate(), self.period)
    }

    /// The HMAC.
    pub fn algorithm(&self) -> OtpAlgorithm {
        self.hotp.algorithm
    }

    /// The number of digits of a code.
    pub fn digits(&self) -> u32 {
        self.hotp.digits
    }

    /// Seconds per time step.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The time step of `at_unix` (seconds since the Unix epoch): `at_unix / period`.
    pub fn time_step(&self, at_unix: u64) -> u64 {
        at_unix / self.period
    }

    /// The code at `at_unix` (seconds since the Unix epoch; pass [`corrected_unix_time`] when
    /// the clock's skew is known).
    ///
    /// # Errors
    /// [`Error::CryptoUnavailable`] when the crypto self-test failed.
    pub fn code_at(&self, at_unix: u64) -> Result<SecretString> {
        self.hotp.code(self.time_step(at_unix))
    }

    /// Checks `code` against the time steps within `window` steps of `at_unix`'s (RFC 6238
    /// §5.2; 1 is the usual choice), in constant time, refusing steps at or before the guard's
    /// last as replays. On acceptance the guard holds the matched step.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `window` exceeds [`MAX_TOTP_WINDOW`];
    /// [`Error::CryptoUnavailable`] when the crypto self-test failed.
    pub fn verify(
        &self,
        code: &str,
        at_unix: u64,
        window: u32,
        guard: &mut OtpReplayGuard,
    ) -> Result<OtpVerdict> {
        if window > MAX_TOTP_WINDOW {
            return Err(Error::invalid_input(format!(
                "the TOTP window is at most {MAX_TOTP_WINDOW} steps, not {window}"
            )));
        }
        let now = self.time_step(at_unix);
        let window = u64::from(window);
        self.hotp.verify_steps(
            code,
            now.saturating_sub(window),
            now.saturating_add(window),
            guard,
        )
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("algorithm", &self.hotp.algorithm)
            .field("digits", &self.hotp.digits)
            .field("period", &self.period)
            .field("secret_len", &self.hotp.secret.len())
            .finish()
    }
}

/// `now_unix` corrected by a measured clock offset (`clock_offset_secs`, positive when the
/// local clock is behind the server's): the time to pass to [`Totp::code_at`] and
/// [`Totp::verify`].
///
/// # Errors
/// [`Error::InvalidInput`] when the corrected time is before 1970 or past `u64::MAX`.
pub fn corrected_unix_time(now_unix: u64, clock_offset_secs: i64) -> Result<u64> {
    now_unix
        .checked_add_signed(clock_offset_secs)
        .ok_or_else(|| Error::invalid_input("the clock offset takes the time outside 1970..u64"))
}

/// Refuses a TOTP period of 0 seconds.
pub(crate) fn check_period(period: u64) -> Result<()> {
    if period == 0 {
        return Err(Error::invalid_input(
            "a TOTP period must be at least 1 second",
        ));
    }
    Ok(())
}

/// RFC 4226 §5.3 dynamic truncation: 31 bits at the offset the last nibble names.
fn dynamic_truncation(tag: &[u8]) -> u32 {
    // Invariant: every tag here is 20, 32 or 64 bytes, so `offset + 3 <= 15 + 3 < tag.len()`.
    let offset = usize::from(tag.last().copied().unwrap_or(0) & 0x0f);
    let mut word = [0_u8; 4];
    for (i, byte) in word.iter_mut().enumerate() {
        *byte = tag.get(offset + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(word) & 0x7fff_ffff
}

/// `value mod 10^digits`, zero-padded to `digits`.
fn format_code(value: u32, digits: u32) -> String {
    let modulus = 10_u32.pow(digits);
    format!("{:0width$}", value % modulus, width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> SecretBytes {
        SecretBytes::from_slice(b"12345678901234567890")
    }

    #[test]
    fn truncation_matches_rfc_4226_section_5_4() {
        // RFC 4226 §5.4's worked example: offset 0xa, DBC1 0x50ef7f19 = 1357872921.
        let tag = hex_literal::hex!("1f8698690e02ca16618550ef7f19da8e945b555a");
        assert_eq!(dynamic_truncation(&tag), 0x50ef_7f19);
        assert_eq!(format_code(0x50ef_7f19, 6), "872921");
        assert_eq!(format_code(42, 8), "00000042");
    }

    #[test]
    fn the_earliest_fresh_match_is_taken() {
        let hotp = Hotp::new(rfc_secret(), OtpAlgorithm::Sha1, 6).unwrap();
        let mut guard = OtpReplayGuard::with_last_used_step(Some(4));
        // Counter 5's code, checked over 3..=8: 3 and 4 are stale, 5 is the match.
        let code = hotp.code(5).unwrap();
        // Test: verifying the code is the point.
        let verdict = hotp.verify(code.expose_secret(), 3, 5, &mut guard).unwrap();
        assert_eq!(verdict, OtpVerdict::Accepted { step: 5 });
        assert_eq!(guard.last_used_step(), Some(5));
    }

    #[test]
    fn algorithm_names_round_trip() {
        for algorithm in [
            OtpAlgorithm::Sha1,
            OtpAlgorithm::Sha256,
            OtpAlgorithm::Sha512,
        ] {
            assert_eq!(OtpAlgorithm::from_name(algorithm.as_str()), Ok(algorithm));
        }
        assert_eq!(OtpAlgorithm::from_name("sha256"), Ok(OtpAlgorithm::Sha256));
        assert!(OtpAlgorithm::from_name("MD5").is_err());
        assert!(OtpAlgorithm::from_name("SHA-1").is_err());
    }
}
