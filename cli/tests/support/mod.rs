//! Running the built `rukasec` binary, shared by the CLI test files.
#![allow(dead_code)] // each test file uses its own subset

use std::process::{Command, Output};

/// Runs `rukasec` with `args` and waits for it.
pub fn rukasec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rukasec"))
        .args(args)
        .output()
        .expect("the rukasec binary runs")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
