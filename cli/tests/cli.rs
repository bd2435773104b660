//! The `rukasec` binary, end to end: pins agree with openssl, errors are clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::path::{Path, PathBuf};

mod support;
use support::{openssl, rukasec};

/// The pin as the openssl pipeline computes it:
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
fn openssl_pin(cert: &Path, dir: &Path) -> String {
    let cert = cert.to_str().unwrap();
    let pubkey = openssl(
        &["x509", "-in", cert, "-pubkey", "-noout", "-out", "pub.pem"],
        dir,
    );
    assert!(pubkey.is_empty());
    openssl(
        &[
            "pkey", "-pubin", "-in", "pub.pem", "-outform", "der", "-out", "pub.der",
        ],
        dir,
    );
    openssl(
        &[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            "pub.sha256",
            "pub.der",
        ],
        dir,
    );
    let b64 = openssl(&["base64", "-A", "-in", "pub.sha256"], dir);
    format!("sha256/{}", String::from_utf8(b64).unwrap().trim())
}

fn make_cert(dir: &Path, name: &str, newkey: &[&str]) -> PathBuf {
    let pem = format!("{name}.pem");
    let key = format!("{name}.key");
    let subject = format!("/CN={name}.rukapay.test/O=Rukapay CLI Test");
    let mut args = vec![
        "req", "-x509", "-nodes", "-days", "2", "-subj", &subject, "-keyout", &key, "-out", &pem,
    ];
    args.extend_from_slice(newkey);
    openssl(&args, dir);
    dir.join(pem)
}

#[test]
fn pin_agrees_with_openssl_for_rsa_and_ec_certificates_in_pem_and_der() {
    let dir = tempfile::tempdir().unwrap();
    let certs = [
        make_cert(dir.path(), "rsa2048", &["-newkey", "rsa:2048"]),
        make_cert(dir.path(), "rsa3072", &["-newkey", "rsa:3072"]),
        make_cert(
            dir.path(),
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        make_cert(
            dir.path(),
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
        make_cert(dir.path(), "ed25519", &["-newkey", "ed25519"]),
    ];
    let expected: Vec<String> = certs.iter().map(|c| openssl_pin(c, dir.path())).collect();

    // One file per certificate.
    let args: Vec<&str> = certs.iter().map(|c| c.to_str().unwrap()).collect();
    let output = rukasec(&[&["pin"], args.as_slice()].concat());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), certs.len(), "{stdout}");
    for ((line, pin), cert) in lines.iter().zip(&expected).zip(&certs) {
        let name = cert.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            *line,
            format!("{pin}  CN={name}.rukapay.test, O=Rukapay CLI Test")
        );
    }

    // The same certificates as one PEM bundle, and the RSA one as DER.
    let bundle: String = certs
        .iter()
        .map(|c| std::fs::read_to_string(c).unwrap())
        .collect();
    std::fs::write(dir.path().join("bundle.pem"), bundle).unwrap();
    openssl(
        &[
            "x509",
            "-in",
            "rsa2048.pem",
            "-outform",
            "der",
            "-out",
            "rsa2048.der",
        ],
        dir.path(),
    );
    let bundle_path = dir.path().join("bundle.pem");
    let der_path = dir.path().join("rsa2048.der");
    let output = rukasec(&[
        "pin",
        bundle_path.to_str().unwrap(),
        der_path.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let pins: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    let mut want = expected.clone();
    want.push(expected[0].clone());
    assert_eq!(pins, want);
}

#[test]
fn pin_fails_cleanly_on_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "garbage.bin",
            b"\x30\x82\x01\x00 definitely not a certificate",
            "error: invalid-input: ",
        ),
        ("empty.der", b"", "error: invalid-input: "),
        (
            "key-only.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "error: invalid-input: ",
        ),
        (
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "error: invalid-input: ",
        ),
    ];
    for (name, content, prefix) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let output = rukasec(&["pin", path.to_str().unwrap()]);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.starts_with(prefix), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "the message names the file: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line, no panic or backtrace: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }

    let output = rukasec(&["pin", "/nonexistent/cert.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .starts_with("error: io: /nonexistent/cert.pem: ")
    );

    let output = rukasec(&["pin"]);
    assert_eq!(output.status.code(), Some(2), "usage error");
}

#[test]
fn version_self_test_and_demo_run() {
    let output = rukasec(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("rukasec {}", env!("CARGO_PKG_VERSION"))
    );

    let output = rukasec(&["self-test"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("self-test: 8 of 8 passed"), "{stdout}");

    let output = rukasec(&["demo"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("event: self_test_passed"), "{stdout}");
    assert!(
        stdout.contains("the PEM bundle reads back as the same 3 certificates"),
        "{stdout}"
    );
    for line in [
        "[3] encrypted vault",
        "alice: 4 of 4 items stored and read back",
        "no name or value in plaintext",
        "get -> Integrity error",
        "rotate DEK (alice, restricted): now version 2, 1 item re-encrypted",
        "then purged (1 row)",
        "alice has 0 items, bob reads 2 of 2",
        "alice -> KeyUnavailable, bob reads 2 of 2",
        "event: vault_integrity_failure [Critical] what=value",
        "event: vault_account_deleted",
        "[4] pinned TLS",
        "  leaf         sha256/",
        "  intermediate sha256/",
        "  root         sha256/",
        "  backup       sha256/",
        "pinned to leaf + backup: HTTP/2.0 200 OK \"hello from the rukasec test server\"",
        "pinned to root + backup",
        "refused: pin-mismatch: the certificate chain of pay.rukapay.test matches none",
        "event: pin_mismatch [Error] enforced=true host=pay.rukapay.test",
        "the same pins, report-only: HTTP/2.0 200 OK",
        "event: pin_mismatch_report_only [Warning] enforced=false",
        "refused before connecting: insecure-scheme:",
        "the server saw 3 requests: none from the refused GETs",
        "[6] unlocking",
        "restricted: strong-biometric within the last 10 s",
        "3 failed attempts in a row lock out for 5 s",
        "auth/refresh-token (restricted), no unlock yet: refused: user-authentication-required",
        "the user cancels: user-cancelled (not a failed attempt)",
        "a strong biometric: granted; auth/refresh-token reads back",
        "the app goes to the background: locked, the vault dropped its keys; \
         history/last-payment -> user-authentication-required",
        "refused: authentication-failed: the authentication failed; 2 attempts left",
        "refused: authentication-failed: the authentication failed; 1 attempt left",
        "refused: locked-out: too many failed attempts: locked out until 2",
        "one more try while locked out: refused: locked-out before any prompt is shown",
        "the app restarts (a new vault and gate on the same files): still locked-out",
        "event: unlock_cancelled [Info] class=restricted",
        "event: unlock_succeeded [Info] class=restricted method=strong-biometric",
        "event: vault_locked [Info] why=background",
        "event: unlock_failed [Warning] class=restricted failures=3 limit=3",
        "event: unlock_locked_out [Error] by=rukasec until_ms=",
        "[7] API hygiene",
        "TOTP (RFC 6238, SHA-1, 8 digits) at t=59: 94287082; verified: accepted (step 1); \
         the same code again: replayed, refused",
        "the sandbox key to the production host: refused before sending",
        "GET /v1/balance with payments-live (3 of 3 the limit allows at once): HTTP/2.0 200 OK",
        "a 4th at once: refused by the client-side limit, retry after",
        "reports-live again: paused, not sent",
        "event: rate_limited [Warning] credential=reports-live host=pay.rukapay.test \
         outcome=paused retry_after_ms=30000 status=429",
        "event: authentication_rejected [Warning] credential=legacy-live host=pay.rukapay.test \
         status=401",
        "event: authentication_failure_burst [Critical] failures=3 window_s=300",
        "skew -600 s",
        "event: clock_skew_detected [Warning] host=pay.rukapay.test skew_s=-600",
        "the server saw 10 requests: none of the refused ones",
        "event journal: 8 events kept in the vault",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // The unlock step's order: refused, cancelled, granted, locked, failed, locked out.
    let step = &stdout[stdout.find("[6] unlocking").unwrap()..];
    let order = [
        "no unlock yet",
        "the user cancels",
        "granted",
        "goes to the background",
        "2 attempts left",
        "locked out until",
        "one more try",
        "the app restarts",
    ];
    let positions: Vec<usize> = order.iter().map(|text| step.find(text).unwrap()).collect();
    assert!(positions.is_sorted(), "{order:?} out of order in:\n{step}");
    // No demo value is printed (the restricted token of the vault and unlock steps, the API
    // keys of the hygiene step).
    assert!(!stdout.contains("rt.alice."), "{stdout}");
    assert!(!stdout.contains("demo-live-key"), "{stdout}");
    assert!(!stdout.contains("demo-test-key"), "{stdout}");
    assert!(stdout.trim_end().ends_with("demo: ok"), "{stdout}");
}
