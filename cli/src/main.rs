//! `rukasec`: the command-line face of the RukaSec core.
//!
//! For operators and developers: compute certificate pins (of files, or of the chain a server
//! presents), make HTTPS requests through the core's pinned client (`fetch`), run the crypto
//! self-test, use the encrypted vault with a key file (`vault`, `keygen`), and `demo`, the main
//! job, which walks through every capability the core has so far. Output goes to stdout;
//! warnings and errors go to stderr, errors as `error: <kind>: <message>` with a non-zero exit
//! code, so scripts can tell failures apart without parsing prose.
#![forbid(unsafe_code)]

mod demo;
mod demo_tls;
mod demo_vault;
mod events;
mod failure;
mod fetch;
mod pin;
mod self_test;
mod vault;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::failure::Failure;

/// The exit codes, for `--help` (a macro so that `concat!` can add to it).
macro_rules! exit_codes {
    () => {
        "Exit codes: 0 ok, 2 usage, 3 not found, 4 integrity failure, 5 key unavailable, 6 TLS \
         or HTTPS failure (the kind names it: pin-mismatch, untrusted-certificate, \
         insecure-scheme, connection, timeout, ...), 1 anything else. Errors go to stderr as \
         `error: <kind>: <message>`."
    };
}

/// RukaSec security core: pinning, the pinned HTTPS client, self-test, the encrypted vault and
/// demo.
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
    /// encrypted vault, pinned TLS against a local server.
    Demo,
    /// Use an encrypted vault whose keys are wrapped by a key file.
    Vault(vault::VaultArgs),
    /// Write a new random 32-byte key file for `vault --kek-file` (never overwrites).
    Keygen {
        /// Where to write the key (must not exist).
        file: PathBuf,
    },
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
        Command::Keygen { file } => vault::keygen(&file, &mut out),
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
