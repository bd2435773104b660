//! `rukasec totp` and `rukasec hotp`: one-time passwords (RFC 6238 / RFC 4226) from a base32
//! secret or an `otpauth://` URI, with the core's code.
//!
//! Why: to check what code the app or a server should accept at a given time or counter
//! (`--time`), and to see whether an enrolment QR code's URI is one the core accepts, with the
//! very implementation the app runs. The code goes to stdout alone, so scripts can use it.
//!
//! A secret or URI that the core refuses (bad base32, too short, a malformed URI, digits other
//! than 6 to 8, a period of 0) is a usage error: exit 2, `error: usage: --secret: <why>`, where
//! the reason describes the problem and never shows the value. A `hotp` URI given to `totp` is
//! refused (exit 2) rather than turned into a code: its counter is the enrolment's first, not
//! the current one; `hotp --uri` takes it (and `--counter` gives the current one).
//!
//! Arguments are visible to other local users (`ps`, `/proc`): `--secret -` and `--uri -` read
//! the value from the first line of stdin instead.

use std::io::{BufRead, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use rukasec_core::Error;
use rukasec_core::otp::{
    DEFAULT_DIGITS, DEFAULT_PERIOD, Hotp, OtpAlgorithm, OtpAuthUri, OtpKind, Totp, decode_base32,
};
use rukasec_core::secret::{SecretBytes, SecretString};

use crate::failure::{Failure, USAGE};

/// The HMAC, as command-line values.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum Algorithm {
    /// HMAC-SHA-1 (the default, what nearly every issuer uses).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl From<Algorithm> for OtpAlgorithm {
    fn from(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha1 => Self::Sha1,
            Algorithm::Sha256 => Self::Sha256,
            Algorithm::Sha512 => Self::Sha512,
        }
    }
}

/// Where the secret comes from: a base32 secret with parameters, or an `otpauth://` URI.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct Source {
    /// The shared secret in base32 (RFC 4648; case and spaces do not matter, padding is
    /// optional), at least 10 bytes; `-` reads it from stdin.
    #[arg(long, value_name = "BASE32")]
    secret: Option<String>,
    /// An `otpauth://` URI (what an enrolment QR code holds); it gives the algorithm, digits
    /// and period or counter. `-` reads it from stdin.
    #[arg(long, value_name = "otpauth://...")]
    uri: Option<String>,
}

/// `rukasec totp (--secret BASE32 | --uri otpauth://...) [options]`.
#[derive(Args)]
pub struct TotpArgs {
    #[command(flatten)]
    source: Source,
    /// The time, in seconds since the Unix epoch [default: now].
    #[arg(long, value_name = "UNIX")]
    time: Option<u64>,
    /// Digits of the code, 6 to 8 [default: 6].
    #[arg(long, value_name = "N", conflicts_with = "uri")]
    digits: Option<u32>,
    /// The HMAC [default: SHA1].
    #[arg(long, value_enum, ignore_case = true, conflicts_with = "uri")]
    algorithm: Option<Algorithm>,
    /// Seconds per time step [default: 30].
    #[arg(long, value_name = "S", conflicts_with = "uri")]
    period: Option<u64>,
}

/// `rukasec hotp (--secret BASE32 --counter N | --uri otpauth://...) [options]`.
#[derive(Args)]
pub struct HotpArgs {
    #[command(flatten)]
    source: Source,
    /// The counter; with --uri it replaces the URI's (initial) counter.
    #[arg(long, value_name = "N", required_unless_present = "uri")]
    counter: Option<u64>,
    /// Digits of the code, 6 to 8 [default: 6].
    #[arg(long, value_name = "N", conflicts_with = "uri")]
    digits: Option<u32>,
    /// The HMAC [default: SHA1].
    #[arg(long, value_enum, ignore_case = true, conflicts_with = "uri")]
    algorithm: Option<Algorithm>,
}

/// `rukasec totp`: prints the code at --time (or now).
pub fn totp(mut args: TotpArgs, out: &mut impl Write) -> Result<(), Failure> {
    let totp = match take(&mut args.source)? {
        Given::Secret(secret) => Totp::new(
            decode_secret(&secret)?,
            args.algorithm.map_or(OtpAlgorithm::Sha1, Into::into),
            args.digits.unwrap_or(DEFAULT_DIGITS),
            args.period.unwrap_or(DEFAULT_PERIOD),
        )
        .map_err(|e| usage("--secret", e))?,
        Given::Uri(uri) => {
            let uri = parse_uri(&uri)?;
            if let OtpKind::Hotp { .. } = uri.kind() {
                return Err(Failure::new(
                    USAGE,
                    "--uri: it is a hotp (counter-based) URI; use `rukasec hotp --uri` \
                     (with --counter for the current counter)",
                ));
            }
            uri.into_totp().map_err(|e| usage("--uri", e))?
        }
    };
    let time = match args.time {
        Some(time) => time,
        None => now_unix()?,
    };
    print_code(&totp.code_at(time)?, out)
}

/// `rukasec hotp`: prints the code for --counter (or the URI's counter).
pub fn hotp(mut args: HotpArgs, out: &mut impl Write) -> Result<(), Failure> {
    let (hotp, counter) = match take(&mut args.source)? {
        Given::Secret(secret) => {
            let hotp = Hotp::new(
                decode_secret(&secret)?,
                args.algorithm.map_or(OtpAlgorithm::Sha1, Into::into),
                args.digits.unwrap_or(DEFAULT_DIGITS),
            )
            .map_err(|e| usage("--secret", e))?;
            let counter = args
                .counter
                .ok_or_else(|| Failure::new(USAGE, "--counter is required with --secret"))?;
            (hotp, counter)
        }
        Given::Uri(uri) => {
            let uri = parse_uri(&uri)?;
            let OtpKind::Hotp { counter } = uri.kind() else {
                return Err(Failure::new(
                    USAGE,
                    "--uri: it is a totp (time-based) URI; use `rukasec totp --uri`",
                ));
            };
            let counter = args.counter.unwrap_or(counter);
            (uri.into_hotp().map_err(|e| usage("--uri", e))?, counter)
        }
    };
    print_code(&hotp.code(counter)?, out)
}

/// The secret or the URI, wiped when dropped.
enum Given {
    Secret(SecretString),
    Uri(SecretString),
}

/// Moves the given value out of the arguments (read from stdin for `-`).
fn take(source: &mut Source) -> Result<Given, Failure> {
    if let Some(secret) = source.secret.take() {
        return Ok(Given::Secret(from_arg_or_stdin(secret, "--secret")?));
    }
    match source.uri.take() {
        Some(uri) => Ok(Given::Uri(from_arg_or_stdin(uri, "--uri")?)),
        // clap's group makes one of the two required.
        None => Err(Failure::new(USAGE, "give --secret or --uri")),
    }
}

/// `value`, or for `-` the first line of stdin (without its line end).
fn from_arg_or_stdin(value: String, option: &str) -> Result<SecretString, Failure> {
    let value = SecretString::new(value);
    // Exposed: only compared with "-".
    if value.expose_secret() != "-" {
        return Ok(value);
    }
    let mut text = String::new();
    let read = std::io::stdin().lock().read_line(&mut text);
    // Wiped on drop, whether the read failed or not.
    let line = SecretString::new(text);
    read.map_err(|e| Failure::from(e).context(format!("{option} - (stdin)")))?;
    // Exposed: the line end is cut off; the copy is a SecretString too.
    let value = line.expose_secret().trim_end_matches(['\n', '\r']);
    Ok(SecretString::new(value.to_owned()))
}

fn decode_secret(secret: &SecretString) -> Result<SecretBytes, Failure> {
    // Exposed: decoding is why it was given; the bytes go into a SecretBytes.
    decode_base32(secret.expose_secret()).map_err(|e| usage("--secret", e))
}

fn parse_uri(uri: &SecretString) -> Result<OtpAuthUri, Failure> {
    // Exposed: parsing is why it was given; the secret in it goes into a SecretBytes.
    OtpAuthUri::parse(uri.expose_secret()).map_err(|e| usage("--uri", e))
}

/// A refused argument: exit 2, with the core's reason (which never shows the value).
fn usage(option: &str, error: Error) -> Failure {
    match error {
        Error::InvalidInput { reason } => Failure::new(USAGE, format!("{option}: {reason}")),
        other => Failure::from(other),
    }
}

fn print_code(code: &SecretString, out: &mut impl Write) -> Result<(), Failure> {
    // Exposed: printing the code is what the command is for.
    writeln!(out, "{}", code.expose_secret())?;
    Ok(())
}

fn now_unix() -> Result<u64, Failure> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Failure::new("clock", "the system clock is before 1970"))
}
