//! `otpauth://` URIs: the Key Uri Format of the Google Authenticator wiki, what enrolment QR
//! codes hold:
//!
//! ```text
//! otpauth://TYPE/LABEL?secret=BASE32&issuer=...&algorithm=SHA1&digits=6&period=30
//! otpauth://hotp/LABEL?secret=BASE32&counter=0
//! ```
//!
//! The parser is strict, because the text arrives from a QR code anyone can print:
//! - at most [`MAX_URI_LEN`] bytes, printable ASCII only (anything else is percent-encoded), no
//!   fragment;
//! - `TYPE` is `totp` or `hotp`; the `LABEL` is percent-decoded UTF-8, `issuer:account` or
//!   `account` (spaces after the colon are dropped), neither part empty, neither with a colon
//!   or a control character;
//! - `secret` is required and valid base32; `counter` is required for `hotp`; `algorithm`
//!   (`SHA1`, `SHA256`, `SHA512`), `digits` (6 to 8) and `period` (seconds, above 0) are
//!   optional with the defaults SHA1, 6 and 30; `period` is ignored for `hotp` and `counter`
//!   for `totp`, as are parameters the format does not define (`image`, ...);
//! - a parameter given twice, a malformed parameter, a malformed percent escape, or an `issuer`
//!   parameter that differs from the label's prefix is refused. In parameter values `+` is a
//!   space (form encoding, which many generators use); the writer encodes a `+` as `%2B`.
//!
//! Errors are [`Error::InvalidInput`] whose reason names the part that is wrong, never its
//! content. The secret's decoded text is wiped after use; the URI the caller holds is the
//! caller's to wipe.

use std::fmt;

use zeroize::Zeroizing;

use super::base32;
use super::code::{DEFAULT_DIGITS, DEFAULT_PERIOD, Hotp, OtpAlgorithm, Totp, check_period};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Longest `otpauth://` URI accepted, in bytes (2 KiB: a QR code's practical limit is lower).
pub const MAX_URI_LEN: usize = 2048;

const SCHEME: &str = "otpauth://";

/// Which kind of OTP a URI is for, with the kind's own parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpKind {
    /// Counter-based (RFC 4226); `counter` is the initial counter the issuer gave.
    Hotp {
        /// The counter of the first code.
        counter: u64,
    },
    /// Time-based (RFC 6238).
    Totp {
        /// Seconds per time step.
        period: u64,
    },
}

/// A parsed (or to be written) `otpauth://` URI. `Debug` shows the kind and parameters, the
/// lengths of the account and issuer, and nothing of the secret.
pub struct OtpAuthUri {
    kind: OtpKind,
    hotp: Hotp,
    issuer: Option<String>,
    account: String,
}

impl OtpAuthUri {
    /// Parses `uri` strictly (see the module documentation).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming what is wrong (never the content).
    pub fn parse(uri: &str) -> Result<Self> {
        if uri.len() > MAX_URI_LEN {
            return Err(invalid(&format!(
                "longer than {MAX_URI_LEN} bytes ({} bytes)",
                uri.len()
            )));
        }
        if !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "a character that is not printable ASCII (encode it as %XX)",
            ));
        }
        if uri.contains('#') {
            return Err(invalid("a fragment (#)"));
        }
        let rest = strip_prefix_ignore_case(uri, SCHEME)
            .ok_or_else(|| invalid("the scheme is not otpauth://"))?;
        let (kind_name, rest) = rest
            .split_once('/')
            .ok_or_else(|| invalid("no label after the type"))?;
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (label_issuer, account) = parse_label(label)?;
        let params = Params::parse(query)?;

        let secret_text = params
            .get("secret")
            .ok_or_else(|| invalid("no secret parameter"))?;
        let secret_text = Zeroizing::new(percent_decode(secret_text, true)?);
        let secret = base32::decode(&secret_text)?;
        let algorithm = match params.get("algorithm") {
            Some(name) => OtpAlgorithm::from_name(name)?,
            None => OtpAlgorithm::Sha1,
        };
        let digits = match params.get("digits") {
            Some(text) => u32::try_from(decimal(text, "digits")?)
                .map_err(|_| invalid("digits is out of range"))?,
            None => DEFAULT_DIGITS,
        };
        let kind = if kind_name.eq_ignore_ascii_case("totp") {
            OtpKind::Totp {
                period: match params.get("period") {
                    Some(text) => decimal(text, "period")?,
                    None => DEFAULT_PERIOD,
                },
            }
        } else if kind_name.eq_ignore_ascii_case("hotp") {
            OtpKind::Hotp {
                counter: decimal(
                    params
                        .get("counter")
                        .ok_or_else(|| invalid("a hotp URI without a counter parameter"))?,
                    "counter",
                )?,
            }
        } else {
            return Err(invalid("the type is neither totp nor hotp"));
        };
        let issuer = match params.get("issuer") {
            Some(text) => {
                let issuer = decode_text(text, true, "the issuer parameter")?;
                check_name(&issuer, "the issuer parameter")?;
                if label_issuer
                    .as_ref()
                    .is_some_and(|prefix| *prefix != issuer)
                {
                    return Err(invalid(
                        "the issuer parameter differs from the label's issuer prefix",
                    ));
                }
                Some(issuer)
            }
            None => label_issuer,
        };
        if let OtpKind::Totp { period } = kind {
            check_period(period)?;
        }
        Ok(Self {
            kind,
            hotp: Hotp::new(secret, algorithm, digits)?,
            issuer,
            account,
        })
    }

    /// The URI of a TOTP enrolment for `account` (required), at `issuer` (recommended: the
    /// label's prefix and the `issuer` parameter).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the account is empty, either name holds a colon or a
    /// control character, or the URI would exceed [`MAX_URI_LEN`].
    pub fn for_totp(totp: Totp, account: &str, issuer: Option<&str>) -> Result<Self> {
        let (hotp, period) = totp.into_parts();
        Self::checked(OtpKind::Totp { period }, hotp, account, issuer)
    }

    /// The URI of an HOTP enrolment whose first code is for `counter`; see
    /// [`for_totp`](Self::for_totp).
    ///
    /// # Errors
    /// As [`for_totp`](Self::for_totp).
    pub fn for_hotp(hotp: Hotp, counter: u64, account: &str, issuer: Option<&str>) -> Result<Self> {
        Self::checked(OtpKind::Hotp { counter }, hotp, account, issuer)
    }

    /// [`for_totp`](Self::for_totp) without consuming `totp`: the URI holds a copy of the
    /// secret (wiped when it is dropped), for a caller that keeps using `totp`.
    ///
    /// # Errors
    /// As [`for_totp`](Self::for_totp).
    pub fn of_totp(totp: &Totp, account: &str, issuer: Option<&str>) -> Result<Self> {
        let (hotp, period) = totp.duplicate_parts();
        Self::checked(OtpKind::Totp { period }, hotp, account, issuer)
    }

    /// [`for_hotp`](Self::for_hotp) without consuming `hotp`; see [`of_totp`](Self::of_totp).
    ///
    /// # Errors
    /// As [`for_totp`](Self::for_totp).
    pub fn of_hotp(hotp: &Hotp, counter: u64, account: &str, issuer: Option<&str>) -> Result<Self> {
        Self::checked(OtpKind::Hotp { counter }, hotp.duplicate(), account, issuer)
    }

    fn checked(kind: OtpKind, hotp: Hotp, account: &str, issuer: Option<&str>) -> Result<Self> {
        check_name(account, "the account name")?;
        if let Some(issuer) = issuer {
            check_name(issuer, "the issuer")?;
        }
        let uri = Self {
            kind,
            hotp,
            issuer: issuer.map(str::to_owned),
            account: account.to_owned(),
        };
        let len = uri.to_uri().expose_secret().len(); // Exposed: only its length is read.
        if len > MAX_URI_LEN {
            return Err(invalid(&format!(
                "it would be longer than {MAX_URI_LEN} bytes ({len} bytes)"
            )));
        }
        Ok(uri)
    }

    /// TOTP or HOTP, with its period or initial counter.
    pub fn kind(&self) -> OtpKind {
        self.kind
    }

    /// The HMAC.
    pub fn algorithm(&self) -> OtpAlgorithm {
        self.hotp.algorithm()
    }

    /// The number of digits of a code.
    pub fn digits(&self) -> u32 {
        self.hotp.digits()
    }

    /// The account name (personal data: keep it out of logs).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The issuer, from the `issuer` parameter or the label's prefix.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The URI text, every parameter written out (the secret as unpadded base32, names
    /// percent-encoded). It holds the secret, so it is a [`SecretString`].
    pub fn to_uri(&self) -> SecretString {
        let secret = base32::encode_base32(self.hotp.secret());
        let issuer_len = self.issuer.as_ref().map_or(0, String::len);
        // Allocated once at a size it cannot outgrow, so no reallocation leaves a copy of the
        // secret behind: the fixed text (at most 96 bytes with a 20-digit number), the secret,
        // and the names at most 3 bytes per byte.
        let mut out = String::with_capacity(
            96 + secret.expose_secret().len() + 3 * (self.account.len() + 2 * issuer_len),
        );
        out.push_str(SCHEME);
        out.push_str(match self.kind {
            OtpKind::Totp { .. } => "totp/",
            OtpKind::Hotp { .. } => "hotp/",
        });
        if let Some(issuer) = &self.issuer {
            percent_encode(issuer, &mut out);
            out.push(':');
        }
        percent_encode(&self.account, &mut out);
        out.push_str("?secret=");
        // Exposed: the URI carries the secret; `out` becomes a SecretString.
        out.push_str(secret.expose_secret());
        if let Some(issuer) = &self.issuer {
            out.push_str("&issuer=");
            percent_encode(issuer, &mut out);
        }
        out.push_str("&algorithm=");
        out.push_str(self.hotp.algorithm().as_str());
        out.push_str("&digits=");
        out.push_str(&self.hotp.digits().to_string());
        match self.kind {
            OtpKind::Totp { period } => {
                out.push_str("&period=");
                out.push_str(&period.to_string());
            }
            OtpKind::Hotp { counter } => {
                out.push_str("&counter=");
                out.push_str(&counter.to_string());
            }
        }
        SecretString::new(out)
    }

    /// The TOTP of a `totp` URI (the account and issuer are dropped).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a `hotp` URI.
    pub fn into_totp(self) -> Result<Totp> {
        match self.kind {
            OtpKind::Totp { period } => Totp::from_hotp(self.hotp, period),
            OtpKind::Hotp { .. } => Err(invalid("it is a hotp URI, not totp")),
        }
    }

    /// The HOTP of a `hotp` URI; its initial counter is in [`kind`](Self::kind).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a `totp` URI.
    pub fn into_hotp(self) -> Result<Hotp> {
        match self.kind {
            OtpKind::Hotp { .. } => Ok(self.hotp),
            OtpKind::Totp { .. } => Err(invalid("it is a totp URI, not hotp")),
        }
    }
}

impl fmt::Debug for OtpAuthUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The account is personal data and the issuer says which services the customer uses:
        // lengths only. The secret: its length, through `Hotp`'s own Debug.
        f.debug_struct("OtpAuthUri")
            .field("kind", &self.kind)
            .field("otp", &self.hotp)
            .field("issuer_len", &self.issuer.as_ref().map(String::len))
            .field("account_len", &self.account.len())
            .finish()
    }
}

fn invalid(what: &str) -> Error {
    Error::invalid_input(format!("the otpauth URI is malformed: {what}"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `issuer:account` or `account`, percent-decoded; spaces after the colon dropped.
fn parse_label(label: &str) -> Result<(Option<String>, String)> {
    let label = decode_text(label, false, "the label")?;
    let (issuer, account) = match label.split_once(':') {
        Some((issuer, account)) => (Some(issuer), account.trim_start_matches(' ')),
        None => (None, label.as_str()),
    };
    check_name(account, "the label's account name")?;
    if let Some(issuer) = issuer {
        check_name(issuer, "the label's issuer prefix")?;
    }
    Ok((issuer.map(str::to_owned), account.to_owned()))
}

/// An account name or issuer: not empty, no colon, no control character.
fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(&format!("{what} is empty")));
    }
    if name.contains(':') {
        return Err(invalid(&format!("{what} holds a colon")));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(&format!("{what} holds a control character")));
    }
    Ok(())
}

/// Percent-decoded UTF-8 text (`plus_is_space` in parameter values).
fn decode_text(text: &str, plus_is_space: bool, what: &str) -> Result<String> {
    String::from_utf8(percent_decode(text, plus_is_space)?)
        .map_err(|_| invalid(&format!("{what} is not UTF-8 once decoded")))
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`).
fn percent_decode(text: &str, plus_is_space: bool) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let high = bytes.get(i + 1).and_then(|&c| hex_value(c));
                let low = bytes.get(i + 2).and_then(|&c| hex_value(c));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(invalid("a % not followed by two hex digits"));
                };
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

/// Appends `text` with every byte but RFC 3986's unreserved ones percent-encoded.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// A decimal number parameter: ASCII digits only (no sign, no space), within `u64`.
fn decimal(text: &str, name: &str) -> Result<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(&format!("{name} is not a decimal number")));
    }
    text.parse()
        .map_err(|_| invalid(&format!("{name} is out of range")))
}

/// The query's `key=value` pairs, raw (values still percent-encoded), each key at most once.
struct Params<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Params<'a> {
    fn parse(query: &'a str) -> Result<Self> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if query.is_empty() {
            return Ok(Self { pairs });
        }
        for pair in query.split('&') {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid("a parameter without ="))?;
            if key.is_empty() {
                return Err(invalid("a parameter without a name"));
            }
            // Keys are compared as written: the format's names are lower-case ASCII.
            if pairs.iter().any(|(seen, _)| *seen == key) {
                return Err(invalid("a parameter appears twice"));
            }
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    }
}
