//! `rukasec`: the command-line face of the RukaSec core.
//!
//! For operators and developers: compute certificate pins, run the crypto self-test, use the
//! encrypted vault with a key file (`vault`, `keygen`), and `demo`, the main job, which walks
//! through every capability the core has so far. Output goes
//! to stdout; errors go to stderr as `error: <kind>: <message>` with a non-zero exit code, so
//! scripts can tell failures apart without parsing prose.
#![forbid(unsafe_code)]

mod demo;
mod demo_vault;
mod failure;
mod pin;
mod self_test;
mod vault;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::failure::Failure;

/// RukaSec security core: pinning, self-test, the encrypted vault and demo.
#[derive(Parser)]
#[command(name = "rukasec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SPKI SHA-256 pin and subject of every certificate in each FILE (PEM or DER).
    Pin {
        /// Certificate files: PEM with one or more certificates, or one DER certificate.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the crypto known-answer tests and print the results.
    SelfTest,
    /// Walk through what the core does: self-test, pins of a certificate chain it makes, the
    /// encrypted vault.
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
        Command::Pin { files } => pin::run(&files, &mut out),
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
