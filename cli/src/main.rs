//! `rukasec`: the command-line face of the RukaSec core.
//!
//! For operators and developers: compute certificate pins (of files, or of the chain a server
//! presents), make HTTPS requests through the core's pinned client (`fetch`), run the crypto
//! self-test, use the encrypted vault with a key file (`vault`, `keygen`), sign requests and
//! check their signatures as a server would (`keygen --out`, `sign`, `verify`, `dpop`), print
//! one-time passwords (`totp`, `hotp`), and
//! `demo`, the main job, which walks through every capability the core has so far. Output goes
//! to stdout; warnings and errors go to stderr, errors as `error: <kind>: <message>` with a
//! non-zero exit code, so scripts can tell failures apart without parsing prose.
#![forbid(unsafe_code)]

mod demo;
mod demo_hygiene;
mod demo_signing;
mod demo_tls;
mod demo_unlock;
mod demo_vault;
mod events;
mod failure;
mod fetch;
mod journal;
mod keys;
mod otp;
mod pin;
mod self_test;
mod sign;
mod unlock;
mod utc;
mod vault;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::failure::Failure;

/// The exit codes, for `--help` (a macro so that `concat!` can add to it).
macro_rules! exit_codes {
    () => {
        "Exit codes: 0 ok, 2 usage, 3 not found, 4 integrity failure, 5 key unavailable, 6 TLS \
         or HTTPS failure (the kind names it: pin-mismatch, untrusted-certificate, \
         insecure-scheme, connection, timeout, ...), 7 request-signature failure (the kind \
         names it: bad-signature, digest-mismatch, signature-expired, replayed-nonce, \
         missing-component, unknown-key, malformed-signature, ...), 8 locked out after too \
         many failed unlocks (the message says until when), 9 not unlocked (the kind names \
         it: user-authentication-required, authentication-failed, user-cancelled, \
         key-invalidated), 1 anything else. Errors go to stderr as `error: <kind>: \
         <message>`."
    };
}

/// RukaSec security core: pinning, the pinned HTTPS client, self-test, the encrypted vault,
/// request signing, one-time passwords and demo.
#[derive(Parser)]
#[command(name = "rukasec", version, about, after_help = exit_codes!())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SPKI SHA-256 pin and subject of every certificate in each FILE (PEM or DER),
    /// or of the chain a server presents (--connect), with the platform's verdict on it.
    #[command(after_help = concat!(
        "With --connect, the exit code is 0 whenever the handshake completes, trusted or not: \
         the last line says `trusted: yes` or `trusted: no (<kind>: <message>)`. ",
        exit_codes!()
    ))]
    Pin(pin::PinArgs),
    /// Make an HTTPS request through the core's pinned client and print the status line and
    /// body; a refusal exits 6 with the cause as the error kind.
    #[command(after_help = concat!(
        "Any HTTP status exits 0. Report-only pin mismatches, expired pin sets and pin-failure \
         reports are printed to stderr as `warning: <kind>: <message>` lines. ",
        exit_codes!()
    ))]
    Fetch(fetch::FetchArgs),
    /// Run the crypto known-answer tests and print the results.
    SelfTest,
    /// Walk through what the core does: self-test, pins of a certificate chain it makes, the
    /// encrypted vault, pinned TLS against a local server, signed requests it verifies,
    /// unlocking (a policy per class, a prompt, a lockout).
    Demo,
    /// Use an encrypted vault whose keys are wrapped by a key file; reading internal,
    /// confidential and restricted items needs --unlock-with pin-file:PATH (set-pin sets it).
    #[command(after_help = concat!(
        "Unlocking: a PIN stands in for a phone's device credential, checked against a salted \
         PBKDF2-HMAC-SHA256 hash (600,000 iterations) kept in the account. The policy is the \
         core's default except that restricted items also accept the device credential (by \
         default they want a strong biometric, which a terminal has not got): public items \
         need nothing; internal, confidential and restricted items need --unlock-with (each \
         run unlocks anew). 5 wrong PINs in a row lock the account out for 30 s, doubling \
         with each further lockout up to 1 h, across runs. ",
        exit_codes!()
    ))]
    Vault(vault::VaultArgs),
    /// Write a new random 32-byte key file for `vault --kek-file` (keygen FILE), or a new
    /// P-256 request-signing key (keygen --out KEY.pem) and print its public key. Never
    /// overwrites.
    Keygen(keys::KeygenArgs),
    /// Sign a request (RFC 9421, ecdsa-p256-sha256, with an RFC 9530 Content-Digest for the
    /// body) and print the header lines to add: Content-Digest, Signature-Input, Signature.
    #[command(after_help = exit_codes!())]
    Sign(sign::SignArgs),
    /// Check a signed request as a server would: `valid: ...` and exit 0, or exit 7 with the
    /// cause as the error kind.
    #[command(after_help = concat!(
        "Give the request as received: its method, URL, every header that may be covered \
         (including Signature-Input, Signature and, with a body, Content-Digest) and its body. ",
        exit_codes!()
    ))]
    Verify(sign::VerifyArgs),
    /// Print a DPoP proof (RFC 9449, ES256) for a request, the value of its `DPoP` header.
    #[command(after_help = exit_codes!())]
    Dpop(sign::DpopArgs),
    /// Print the TOTP code (RFC 6238) of a base32 secret or an otpauth:// URI at --time (or
    /// now).
    #[command(after_help = concat!(
        "A malformed secret or URI exits 2 with the reason, never the value. A hotp URI is \
         refused (its counter is the enrolment's first): use `rukasec hotp --uri`. Arguments \
         are visible to other local users: `--secret -` or `--uri -` reads the first line of \
         stdin. ",
        exit_codes!()
    ))]
    Totp(otp::TotpArgs),
    /// Print the HOTP code (RFC 4226) of a base32 secret for --counter, or of an otpauth://
    /// hotp URI (its counter unless --counter is given).
    #[command(after_help = concat!(
        "A malformed secret or URI exits 2 with the reason, never the value. `--secret -` or \
         `--uri -` reads the first line of stdin. ",
        exit_codes!()
    ))]
    Hotp(otp::HotpArgs),
    /// Print the security events a vault's journal kept, oldest first: `SEQ TIME SEVERITY KIND
    /// key=value ...`. Every `rukasec vault` command records its events there.
    #[command(after_help = exit_codes!())]
    Events(journal::EventsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Pin(args) => pin::run(args, &mut out),
        Command::Fetch(args) => fetch::run(args, &mut out, &mut std::io::stderr()),
        Command::SelfTest => self_test::run(&mut out),
        Command::Demo => demo::run(&mut out),
        Command::Vault(args) => vault::run(args, &mut out),
        Command::Keygen(args) => keys::run(args, &mut out),
        Command::Sign(args) => sign::sign(args, &mut out),
        Command::Verify(args) => sign::verify(args, &mut out),
        Command::Dpop(args) => sign::dpop(args, &mut out),
        Command::Totp(args) => otp::totp(args, &mut out),
        Command::Hotp(args) => otp::hotp(args, &mut out),
        Command::Events(args) => journal::run(args, &mut out),
    };
    let result = result.and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Nothing more can be reported if stderr itself is gone.
            let _ = writeln!(std::io::stderr(), "error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
