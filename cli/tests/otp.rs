//! `rukasec totp` and `rukasec hotp` end to end: RFC 6238 / RFC 4226 values through the real
//! binary, URIs, stdin, and refusals exiting 2 without echoing the secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::Output;

mod support;
use support::{rukasec, rukasec_with_stdin, stderr, stdout};

/// Base32 of "12345678901234567890", RFC 4226's and RFC 6238's SHA-1 secret.
const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// Base32 of RFC 6238's 32-byte SHA-256 seed ("12345678901234567890123456789012").
const RFC_SEED32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";

/// The one line of stdout of a successful run.
fn code(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    assert!(stderr(output).is_empty(), "{}", stderr(output));
    let stdout = stdout(output);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    stdout.trim_end().to_owned()
}

/// Asserts exit 2 with a one-line `error: usage: ...` (or clap's usage error), nothing on
/// stdout, and `secret` nowhere in the output.
fn assert_usage(output: &Output, secret: &str) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", stdout(output));
    assert!(!stderr.contains(secret), "the secret is echoed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn totp_prints_rfc_6238_values() {
    // RFC 6238 Appendix B: SHA-1 at T = 59 and T = 1111111109, SHA-256 at T = 59.
    let output = rukasec(&[
        "totp", "--secret", RFC_SECRET, "--time", "59", "--digits", "8",
    ]);
    assert_eq!(code(&output), "94287082");
    let output = rukasec(&[
        "totp",
        "--secret",
        RFC_SECRET,
        "--time",
        "1111111109",
        "--digits",
        "8",
    ]);
    assert_eq!(code(&output), "07081804");
    let output = rukasec(&[
        "totp",
        "--secret",
        RFC_SEED32,
        "--time",
        "59",
        "--digits",
        "8",
        "--algorithm",
        "SHA256",
    ]);
    assert_eq!(code(&output), "46119246");
    // Six digits are the last six of eight; lower-case secret and algorithm; a period.
    let output = rukasec(&[
        "totp",
        "--secret",
        &RFC_SECRET.to_lowercase(),
        "--time",
        "59",
        "--algorithm",
        "sha1",
    ]);
    assert_eq!(code(&output), "287082");
    let output = rukasec(&[
        "totp", "--secret", RFC_SECRET, "--time", "119", "--period", "60", "--digits", "8",
    ]);
    assert_eq!(code(&output), "94287082");
}

#[test]
fn totp_without_time_uses_the_clock() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = code(&rukasec(&["totp", "--secret", RFC_SECRET]));
    let after = before + 5;
    let expected: Vec<String> = (before..=after)
        .map(|t| {
            code(&rukasec(&[
                "totp",
                "--secret",
                RFC_SECRET,
                "--time",
                &t.to_string(),
            ]))
        })
        .collect();
    assert!(expected.contains(&now), "{now} not in {expected:?}");
}

#[test]
fn totp_and_hotp_from_uris() {
    let uri = format!(
        "otpauth://totp/Rukapay:alice@rukapay.test?secret={RFC_SECRET}&issuer=Rukapay&digits=8"
    );
    assert_eq!(
        code(&rukasec(&["totp", "--uri", &uri, "--time", "59"])),
        "94287082"
    );
    // From stdin, so the secret is not in the process list.
    let output = rukasec_with_stdin(&["totp", "--uri", "-", "--time", "59"], uri.as_bytes());
    assert_eq!(code(&output), "94287082");
    let line = format!("{RFC_SECRET}\n");
    let output = rukasec_with_stdin(
        &["totp", "--secret", "-", "--time", "59", "--digits", "8"],
        line.as_bytes(),
    );
    assert_eq!(code(&output), "94287082");

    // RFC 4226 Appendix D: counter 1 is 287082, counter 9 is 520489.
    let hotp = format!("otpauth://hotp/alice?secret={RFC_SECRET}&counter=1");
    assert_eq!(code(&rukasec(&["hotp", "--uri", &hotp])), "287082");
    assert_eq!(
        code(&rukasec(&["hotp", "--uri", &hotp, "--counter", "9"])),
        "520489"
    );
    assert_eq!(
        code(&rukasec(&[
            "hotp",
            "--secret",
            RFC_SECRET,
            "--counter",
            "0"
        ])),
        "755224"
    );
    let output = rukasec_with_stdin(
        &["hotp", "--secret", "-", "--counter", "3"],
        line.as_bytes(),
    );
    assert_eq!(code(&output), "969429");
    assert_eq!(
        code(&rukasec(&[
            "hotp",
            "--secret",
            RFC_SECRET,
            "--counter",
            "0",
            "--digits",
            "8",
            "--algorithm",
            "SHA512",
        ]))
        .len(),
        8
    );
}

#[test]
fn malformed_secrets_and_uris_exit_2_without_echoing_them() {
    let bad_secret = "GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJ1";
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            vec!["totp".into(), "--secret".into(), bad_secret.into()],
            bad_secret,
            "error: usage: --secret: the base32 secret is malformed",
        ),
        (
            vec![
                "hotp".into(),
                "--secret".into(),
                bad_secret.into(),
                "--counter".into(),
                "1".into(),
            ],
            bad_secret,
            "error: usage: --secret: the base32 secret is malformed",
        ),
        (
            vec![
                "totp".into(),
                "--secret".into(),
                "GEZDGNBVGY3TQOJQ".into(),
                "--digits".into(),
                "9".into(),
            ],
            "GEZDGNBVGY3TQOJQ",
            "error: usage: --secret: an OTP code has 6 to 8 digits, not 9",
        ),
        (
            vec!["totp".into(), "--secret".into(), "GEZDGNBVGY3TQO".into()],
            "GEZDGNBVGY3TQO",
            "error: usage: --secret: the base32 secret is malformed",
        ),
        (
            vec![
                "totp".into(),
                "--secret".into(),
                "GEZDGNBVGY3TQOJQ".into(),
                "--period".into(),
                "0".into(),
            ],
            "GEZDGNBVGY3TQOJQ",
            "error: usage: --secret: a TOTP period must be at least 1 second",
        ),
        (
            vec!["totp".into(), "--secret".into(), "GEZDGNBV".into()],
            "GEZDGNBV",
            "error: usage: --secret: an OTP secret must be at least 10 bytes",
        ),
        (
            vec![
                "totp".into(),
                "--uri".into(),
                format!("otpauth://totp/alice?secret={RFC_SECRET}&secret={RFC_SECRET}"),
            ],
            RFC_SECRET,
            "error: usage: --uri: the otpauth URI is malformed: a parameter appears twice",
        ),
        (
            vec![
                "totp".into(),
                "--uri".into(),
                format!("otpauth://totp/Bank:alice?secret={RFC_SECRET}&issuer=Other"),
            ],
            RFC_SECRET,
            "error: usage: --uri: the otpauth URI is malformed: the issuer parameter differs",
        ),
        (
            vec![
                "totp".into(),
                "--uri".into(),
                format!("otpauth://motp/alice?secret={RFC_SECRET}"),
            ],
            RFC_SECRET,
            "error: usage: --uri: the otpauth URI is malformed: the type",
        ),
        (
            vec![
                "hotp".into(),
                "--uri".into(),
                format!("otpauth://hotp/alice?secret={RFC_SECRET}"),
            ],
            RFC_SECRET,
            "error: usage: --uri: the otpauth URI is malformed: a hotp URI without a counter",
        ),
        (
            vec![
                "totp".into(),
                "--uri".into(),
                format!("otpauth://hotp/alice?secret={RFC_SECRET}&counter=1"),
            ],
            RFC_SECRET,
            "error: usage: --uri: it is a hotp (counter-based) URI",
        ),
        (
            vec![
                "hotp".into(),
                "--uri".into(),
                format!("otpauth://totp/alice?secret={RFC_SECRET}"),
            ],
            RFC_SECRET,
            "error: usage: --uri: it is a totp (time-based) URI",
        ),
        (
            vec![
                "totp".into(),
                "--uri".into(),
                format!(
                    "otpauth://totp/alice?secret={RFC_SECRET}&x={}",
                    "y".repeat(3000)
                ),
            ],
            RFC_SECRET,
            "error: usage: --uri: the otpauth URI is malformed: longer than 2048 bytes",
        ),
    ];
    for (args, secret, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = assert_usage(&rukasec(&args), secret);
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("alice"), "{stderr}");
    }
    // Arguments clap refuses: no source, both sources, --digits with --uri, no counter.
    let uri = format!("otpauth://totp/alice?secret={RFC_SECRET}");
    for args in [
        vec!["totp"],
        vec!["totp", "--secret", RFC_SECRET, "--uri", &uri],
        vec!["totp", "--uri", &uri, "--digits", "8"],
        vec!["hotp", "--secret", RFC_SECRET],
        vec!["totp", "--secret", RFC_SECRET, "--algorithm", "MD5"],
    ] {
        let stderr = assert_usage(&rukasec(&args), "GEZD");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    // An empty stdin line is an empty secret.
    let output = rukasec_with_stdin(&["totp", "--secret", "-"], b"\n");
    let stderr = assert_usage(&output, RFC_SECRET);
    assert!(stderr.contains("it is empty"), "{stderr}");
}

#[test]
fn help_lists_the_otp_commands() {
    let help = stdout(&rukasec(&["--help"]));
    assert!(help.contains("totp"), "{help}");
    assert!(help.contains("hotp"), "{help}");
    let help = stdout(&rukasec(&["totp", "--help"]));
    for needle in [
        "--secret",
        "--uri",
        "--time",
        "--digits",
        "--algorithm",
        "--period",
        "hotp URI is",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    let help = stdout(&rukasec(&["hotp", "--help"]));
    for needle in ["--secret", "--uri", "--counter", "--digits", "--algorithm"] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}
