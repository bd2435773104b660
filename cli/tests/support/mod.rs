//! Running the built `rukasec` binary, shared by the CLI test files.
#![allow(dead_code)] // each test file uses its own subset

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `rukasec` with `args` and waits for it.
pub fn rukasec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rukasec"))
        .args(args)
        .output()
        .expect("the rukasec binary runs")
}

/// Runs `rukasec` with `args`, `stdin` as its standard input (closed at its end).
pub fn rukasec_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rukasec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rukasec binary runs");
    let mut pipe = child.stdin.take().unwrap();
    // A command that fails early exits without reading its stdin.
    if let Err(error) = pipe.write_all(stdin) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs `openssl` in `dir` and returns its standard output (the test fails if it fails).
pub fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed for this test: apt-get install openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
