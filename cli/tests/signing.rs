//! `rukasec keygen --out`, `sign`, `verify` and `dpop` end to end: the real binary, keys
//! cross-checked with openssl, every refusal exiting 7 with the core's name of the cause.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rukasec_core::signing::{PublicKeyInfo, SoftwareKey};

mod support;
use support::{openssl, rukasec, stderr, stdout};

const URL: &str = "https://api.rukapay.test/v1/payments?ref=42";
const BODY: &str = r#"{"amount":"100.00","currency":"EUR"}"#;
const CONTENT_TYPE: &str = "Content-Type: application/json";

fn assert_ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    assert!(stderr(output).is_empty(), "{}", stderr(output));
    stdout(output)
}

/// Asserts a one-line error `error: <kind>: ...` with exit `code`, and nothing on stdout.
fn assert_error(output: &Output, code: i32, kind: &str) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: {kind}: ")),
        "expected {kind}: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line, no panic: {stderr}");
    assert!(output.stdout.is_empty(), "{}", stdout(output));
    stderr
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A directory with a signing key (`key.pem`), its public key (`pub.pem`) and a body file.
struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    public: PathBuf,
    body: PathBuf,
    /// What `keygen --out` printed.
    keygen_stdout: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let public = dir.path().join("pub.pem");
        let output = rukasec(&["keygen", "--out", path(&key), "--public-out", path(&public)]);
        let keygen_stdout = assert_ok(&output);
        let body = dir.path().join("body.json");
        std::fs::write(&body, BODY).unwrap();
        Self {
            dir,
            key,
            public,
            body,
            keygen_stdout,
        }
    }

    /// `rukasec sign --key key.pem --key-id device-1 -X POST --url URL -H CONTENT_TYPE
    /// --body-file body.json extra...`: the printed header lines.
    fn sign(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "sign",
            "--key",
            path(&self.key),
            "--key-id",
            "device-1",
            "-X",
            "POST",
            "--url",
            URL,
            "-H",
            CONTENT_TYPE,
            "--body-file",
            path(&self.body),
        ];
        args.extend_from_slice(extra);
        assert_ok(&rukasec(&args))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `rukasec verify --public-key pub.pem -X method --url url -H header... --body-file body
    /// extra...`.
    fn verify(
        &self,
        method: &str,
        url: &str,
        headers: &[String],
        body: Option<&Path>,
        extra: &[&str],
    ) -> Output {
        let mut args = vec![
            "verify".to_owned(),
            "--public-key".to_owned(),
            path(&self.public).to_owned(),
            "-X".to_owned(),
            method.to_owned(),
            "--url".to_owned(),
            url.to_owned(),
        ];
        for header in headers {
            args.push("-H".to_owned());
            args.push(header.clone());
        }
        if let Some(body) = body {
            args.push("--body-file".to_owned());
            args.push(path(body).to_owned());
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rukasec(&args)
    }

    /// The signed request's headers: Content-Type and the lines `sign` printed.
    fn signed_headers(&self, extra: &[&str]) -> Vec<String> {
        let mut headers = vec![CONTENT_TYPE.to_owned()];
        headers.extend(self.sign(extra));
        headers
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let file = self.dir.path().join(name);
        std::fs::write(&file, content).unwrap();
        file
    }
}

fn line_value<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {stdout}"))
}

#[test]
fn keygen_out_writes_a_private_pkcs8_key_0600_prints_its_public_key_and_never_overwrites() {
    let fixture = Fixture::new();
    let out = &fixture.keygen_stdout;
    let pem = std::fs::read_to_string(&fixture.key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"), "{pem}");
    assert!(
        !out.contains(pem.lines().nth(1).unwrap()),
        "no private key on stdout"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&fixture.key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The public key: in the file, on stdout, and what openssl derives from the private key.
    let public_pem = std::fs::read_to_string(&fixture.public).unwrap();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(out.ends_with(&public_pem), "{out}");
    let from_openssl = openssl(&["pkey", "-in", "key.pem", "-pubout"], fixture.dir.path());
    assert_eq!(String::from_utf8(from_openssl).unwrap(), public_pem);

    // Thumbprint and JWK are the core's for this key.
    let info = PublicKeyInfo::from_spki(public_pem.as_bytes()).unwrap();
    let thumbprint = line_value(out, "thumbprint: ");
    assert_eq!(thumbprint, info.thumbprint);
    assert_eq!(thumbprint.len(), 43, "base64url SHA-256");
    assert_eq!(line_value(out, "jwk: "), info.jwk);
    let key = SoftwareKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(key.public_key(), info);
    assert!(out.starts_with(&format!(
        "wrote a new P-256 signing key {} (PKCS#8 PEM, mode 0600)\n",
        fixture.key.display()
    )));

    // Never overwrites: not the key, and nothing at all when the public file exists.
    let output = rukasec(&["keygen", "--out", path(&fixture.key)]);
    assert!(assert_error(&output, 1, "invalid-input").contains("never overwritten"));
    assert_eq!(std::fs::read_to_string(&fixture.key).unwrap(), pem);
    let fresh = fixture.dir.path().join("fresh.pem");
    let output = rukasec(&[
        "keygen",
        "--out",
        path(&fresh),
        "--public-out",
        path(&fixture.public),
    ]);
    assert_error(&output, 1, "invalid-input");
    assert!(
        !fresh.exists(),
        "no key written when its public file exists"
    );

    // `keygen FILE` still makes a 32-byte vault key file; both forms at once, or none, is usage.
    let vault_key = fixture.dir.path().join("vault.key");
    assert_ok(&rukasec(&["keygen", path(&vault_key)]));
    assert_eq!(std::fs::read(&vault_key).unwrap().len(), 32);
    let other = fixture.dir.path().join("other.pem");
    assert_eq!(
        rukasec(&["keygen", path(&vault_key), "--out", path(&other)])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(rukasec(&["keygen"]).status.code(), Some(2));
    assert_eq!(
        rukasec(&["keygen", "--public-out", path(&other)])
            .status
            .code(),
        Some(2)
    );
    assert!(!other.exists());
}

#[test]
fn sign_then_verify_round_trip() {
    let fixture = Fixture::new();
    let lines = fixture.sign(&["--random-nonce", "--expires-in", "60", "--tag", "rukapay"]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("Content-Digest: sha-256=:"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with(
            "Signature-Input: sig1=(\"@method\" \"@target-uri\" \"content-digest\" \
             \"content-type\");created="
        ),
        "{lines:?}"
    );
    assert!(lines[1].contains(";alg=\"ecdsa-p256-sha256\";keyid=\"device-1\";tag=\"rukapay\""));
    assert!(lines[1].contains(";nonce=\""), "{lines:?}");
    assert!(lines[2].starts_with("Signature: sig1=:") && lines[2].ends_with(':'));

    let mut headers = vec![CONTENT_TYPE.to_owned()];
    headers.extend(lines);
    let output = fixture.verify("POST", URL, &headers, Some(&fixture.body), &[]);
    let out = assert_ok(&output);
    assert!(
        out.starts_with(
            "valid: label=sig1, keyid=device-1, covered=(\"@method\" \"@target-uri\" \
             \"content-digest\" \"content-type\"), created="
        ),
        "{out}"
    );
    assert!(
        out.contains(", nonce=") && out.ends_with(", tag=rukapay\n"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);

    // The verifier's options: the right keyid and tag pass, nonces can be required.
    let output = fixture.verify(
        "POST",
        URL,
        &headers,
        Some(&fixture.body),
        &[
            "--key-id",
            "device-1",
            "--tag",
            "rukapay",
            "--require-nonce",
            "--label",
            "sig1",
        ],
    );
    assert_ok(&output);
    let output = fixture.verify("POST", URL, &headers, Some(&fixture.body), &["--tag", "x"]);
    assert_error(&output, 7, "missing-component");

    // A GET without a body, explicit components, another label and SHA-512.
    let output = rukasec(&[
        "sign",
        "--key",
        path(&fixture.key),
        "--key-id",
        "device-1",
        "-X",
        "GET",
        "--url",
        URL,
        "--components",
        "@method,@target-uri,@query-param;name=\"ref\",content-digest",
        "--label",
        "app",
        "--digest",
        "sha-512",
        "--nonce",
        "n-1",
    ]);
    let lines: Vec<String> = assert_ok(&output).lines().map(str::to_owned).collect();
    assert!(
        lines[0].starts_with("Content-Digest: sha-512=:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with(
        "Signature-Input: app=(\"@method\" \"@target-uri\" \"@query-param\";name=\"ref\" \
         \"content-digest\")"
    ));
    let output = fixture.verify("GET", URL, &lines, None, &[]);
    assert!(assert_ok(&output).contains("label=app, keyid=device-1, covered=("));
}

#[test]
fn openssl_keys_sign_and_verify_too() {
    let fixture = Fixture::new();
    let dir = fixture.dir.path();
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "sec1.pem",
        ],
        dir,
    );
    openssl(
        &[
            "ec", "-in", "sec1.pem", "-pubout", "-outform", "der", "-out", "sec1.der",
        ],
        dir,
    );
    let output = rukasec(&[
        "sign",
        "--key",
        path(&dir.join("sec1.pem")),
        "--key-id",
        "openssl",
        "-X",
        "DELETE",
        "--url",
        URL,
    ]);
    let lines: Vec<String> = assert_ok(&output).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "no body, no Content-Digest: {lines:?}");
    let output = rukasec(&[
        "verify",
        "--public-key",
        path(&dir.join("sec1.der")),
        "-X",
        "DELETE",
        "--url",
        URL,
        "-H",
        &lines[0],
        "-H",
        &lines[1],
    ]);
    assert!(assert_ok(&output).starts_with("valid: label=sig1, keyid=openssl, "));
}

#[test]
fn verify_refuses_altered_requests_with_exit_7_and_the_cause() {
    let fixture = Fixture::new();
    let headers = fixture.signed_headers(&[]);
    let body = Some(fixture.body.as_path());
    assert_ok(&fixture.verify("POST", URL, &headers, body, &[]));

    // The body.
    let altered = fixture.write("altered.json", r#"{"amount":"10000.00","currency":"EUR"}"#);
    let output = fixture.verify("POST", URL, &headers, Some(&altered), &[]);
    assert_error(&output, 7, "digest-mismatch");

    // A covered header, the method, the URL.
    let mut other_type = headers.clone();
    other_type[0] = "Content-Type: text/plain".to_owned();
    let output = fixture.verify("POST", URL, &other_type, body, &[]);
    assert_error(&output, 7, "bad-signature");
    let output = fixture.verify("PUT", URL, &headers, body, &[]);
    assert_error(&output, 7, "bad-signature");
    let output = fixture.verify(
        "POST",
        "https://api.rukapay.test/v1/payments?ref=43",
        &headers,
        body,
        &[],
    );
    assert_error(&output, 7, "bad-signature");

    // A covered header left out.
    let output = fixture.verify("POST", URL, &headers[1..], body, &[]);
    assert_error(&output, 7, "component-not-in-message");
    let without_digest: Vec<String> = headers
        .iter()
        .filter(|h| !h.starts_with("Content-Digest:"))
        .cloned()
        .collect();
    let output = fixture.verify("POST", URL, &without_digest, body, &[]);
    assert_error(&output, 7, "component-not-in-message");

    // A header that is not covered may change.
    let mut extra = headers.clone();
    extra.push("X-Trace: 1".to_owned());
    assert_ok(&fixture.verify("POST", URL, &extra, body, &[]));
}

#[test]
fn verify_with_another_key_or_keyid_is_refused() {
    let fixture = Fixture::new();
    let other = Fixture::new();
    let headers = fixture.signed_headers(&[]);
    let output = other.verify("POST", URL, &headers, Some(&fixture.body), &[]);
    assert_error(&output, 7, "bad-signature");
    let output = fixture.verify(
        "POST",
        URL,
        &headers,
        Some(&fixture.body),
        &["--key-id", "device-2"],
    );
    assert_error(&output, 7, "unknown-key");

    // A private key where the public key is expected is named as such.
    let output = rukasec(&[
        "verify",
        "--public-key",
        path(&fixture.key),
        "-X",
        "POST",
        "--url",
        URL,
    ]);
    assert!(assert_error(&output, 1, "invalid-input").contains("this is a private key"));
}

#[test]
fn verify_without_a_signature_or_with_a_broken_one_is_refused() {
    let fixture = Fixture::new();
    let headers = fixture.signed_headers(&[]);
    let body = Some(fixture.body.as_path());

    let no_signature: Vec<String> = headers
        .iter()
        .filter(|h| !h.starts_with("Signature:"))
        .cloned()
        .collect();
    let output = fixture.verify("POST", URL, &no_signature, body, &[]);
    assert_error(&output, 7, "missing-component");
    let output = fixture.verify("POST", URL, &[], None, &[]);
    assert_error(&output, 7, "missing-component");

    let mut broken = headers.clone();
    let last = broken.len() - 1;
    broken[last] = "Signature: sig1=:not base64!:".to_owned();
    let output = fixture.verify("POST", URL, &broken, body, &[]);
    assert_error(&output, 7, "malformed-signature");
    broken[last] = "Signature: sig2=:AAAA:".to_owned();
    let output = fixture.verify("POST", URL, &broken, body, &[]);
    assert_error(&output, 7, "malformed-signature");

    // A header argument without a colon is a usage error.
    let output = fixture.verify("POST", URL, &["Signature".to_owned()], None, &[]);
    assert_error(&output, 2, "usage");
}

#[test]
fn expired_signatures_are_refused() {
    let fixture = Fixture::new();
    let headers = fixture.signed_headers(&["--expires-in", "1"]);
    let body = Some(fixture.body.as_path());
    assert_ok(&fixture.verify("POST", URL, &headers, body, &["--clock-skew", "0"]));
    // `expires` is `created` + 1 in whole seconds: two seconds later it has passed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let output = fixture.verify("POST", URL, &headers, body, &["--clock-skew", "0"]);
    assert!(assert_error(&output, 7, "signature-expired").contains("has expired"));
    // Within the default 30 s of clock skew it still passes.
    assert_ok(&fixture.verify("POST", URL, &headers, body, &[]));

    // `--max-age`: older than allowed, whatever `expires` says.
    let headers = fixture.signed_headers(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let output = fixture.verify(
        "POST",
        URL,
        &headers,
        body,
        &["--max-age", "0", "--clock-skew", "0"],
    );
    assert!(assert_error(&output, 7, "signature-expired").contains("older than allowed"));
}

#[test]
fn sign_refuses_bad_input() {
    let fixture = Fixture::new();
    let key = path(&fixture.key);
    let base = [
        "sign", "--key", key, "--key-id", "d", "-X", "GET", "--url", URL,
    ];
    let run = |extra: &[&str]| rukasec(&[&base[..], extra].concat());

    assert_error(&run(&["--components", "@method,@bogus"]), 2, "usage");
    assert_error(&run(&["--components", ""]), 2, "usage");
    assert_error(
        &run(&["--components", "@method,x-absent"]),
        7,
        "component-not-in-message",
    );
    assert_error(
        &run(&[
            "-H",
            "Content-Digest: sha-256=:AAAA:",
            "--components",
            "content-digest",
        ]),
        7,
        "digest-mismatch",
    );
    assert_error(&run(&["--label", "Sig"]), 1, "invalid-input");
    assert_eq!(
        run(&["--nonce", "x", "--random-nonce"]).status.code(),
        Some(2),
        "--nonce or --random-nonce"
    );
    assert_eq!(
        rukasec(&["sign", "--key", key, "-X", "GET", "--url", URL])
            .status
            .code(),
        Some(2),
        "--key-id is required"
    );

    let output = rukasec(&[
        "sign",
        "--key",
        "/nonexistent/key.pem",
        "--key-id",
        "d",
        "-X",
        "GET",
        "--url",
        URL,
    ]);
    assert_error(&output, 1, "io");
    let output = rukasec(&[
        "sign",
        "--key",
        path(&fixture.public),
        "--key-id",
        "d",
        "-X",
        "GET",
        "--url",
        URL,
    ]);
    let stderr = assert_error(&output, 1, "invalid-input");
    assert!(stderr.contains("pub.pem"), "{stderr}");
    let output = rukasec(&[
        "sign",
        "--key",
        key,
        "--key-id",
        "d",
        "-X",
        "GET",
        "--url",
        "/relative",
    ]);
    assert_error(&output, 1, "invalid-input");
}

fn decode_json(part: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn dpop_prints_a_three_part_jwt_with_the_device_jwk() {
    let fixture = Fixture::new();
    let jwk = line_value(&fixture.keygen_stdout, "jwk: ").to_owned();
    let key = path(&fixture.key);
    let output = rukasec(&[
        "dpop",
        "--key",
        key,
        "-X",
        "POST",
        "--url",
        "https://API.rukapay.test:443/v1/payments?ref=42#top",
        "--access-token",
        "token-1",
        "--nonce",
        "server-nonce",
    ]);
    let out = assert_ok(&output);
    assert_eq!(out.lines().count(), 1, "{out}");
    let parts: Vec<&str> = out.trim_end().split('.').collect();
    assert_eq!(parts.len(), 3, "{out}");
    assert_eq!(
        decode_json(parts[0]),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#)
    );
    let claims = decode_json(parts[1]);
    assert!(claims.starts_with(r#"{"jti":""#), "{claims}");
    assert!(
        claims.contains(r#","htm":"POST","htu":"https://api.rukapay.test/v1/payments","iat":"#),
        "{claims}"
    );
    assert!(claims.ends_with(r#","nonce":"server-nonce"}"#), "{claims}");
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
    let ath = |claims: &str| {
        claims
            .split(r#""ath":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    let token_ath = ath(&claims).expect("ath with an access token");

    // The token from a file (its line break is not part of it) gives the same `ath`.
    let token_file = fixture.write("token.txt", "token-1\n");
    let output = rukasec(&[
        "dpop",
        "--key",
        key,
        "-X",
        "GET",
        "--url",
        URL,
        "--access-token-file",
        path(&token_file),
    ]);
    let out = assert_ok(&output);
    let claims = decode_json(out.trim_end().split('.').nth(1).unwrap());
    assert_eq!(ath(&claims), Some(token_ath));
    assert!(!claims.contains("nonce"), "{claims}");

    // Without a token, no `ath`; bad input is refused.
    let output = rukasec(&["dpop", "--key", key, "-X", "GET", "--url", URL]);
    let claims = decode_json(assert_ok(&output).trim_end().split('.').nth(1).unwrap());
    assert_eq!(ath(&claims), None, "{claims}");
    let output = rukasec(&["dpop", "--key", key, "-X", "G E T", "--url", URL]);
    assert_error(&output, 1, "invalid-input");
    let output = rukasec(&["dpop", "--key", key, "-X", "GET", "--url", "ftp://x/"]);
    assert_error(&output, 1, "invalid-input");
}

#[test]
fn demo_shows_signed_requests_verified_by_the_server() {
    let output = rukasec(&["demo"]);
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let step = out.split("\n[5] ").nth(1).expect("step [5]");
    for line in [
        "request signing: a device key signs API requests",
        "  device key: P-256 (software here; the platform keystore on a phone), JWK thumbprint \
         (RFC 7638, the keyid) ",
        "    Content-Digest: sha-256=:",
        "    Signature-Input: sig1=(\"@method\" \"@target-uri\" \"content-digest\" \"content-type\");created=",
        "    Signature: sig1=:",
        "    -> HTTP/2.0 200 OK \"signature valid: keyid=",
        "the same request, body changed after signing",
        "    -> HTTP/2.0 401 Unauthorized \"digest-mismatch: the Content-Digest sha-256 does not match the body\"",
        "signed by another key under the device's keyid:\n    -> HTTP/2.0 401 Unauthorized \"bad-signature: ",
        "sent again, unchanged (a replay):\n    -> HTTP/2.0 401 Unauthorized \"replayed-nonce: ",
        "    header: {\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"crv\":\"P-256\",\"kty\":\"EC\",",
        "    claims: {\"jti\":\"",
        ",\"htm\":\"POST\",\"htu\":\"https://pay.rukapay.test:",
        "    signature: 64 bytes (ES256 r||s) by the device key",
    ] {
        assert!(step.contains(line), "missing {line:?} in:\n{step}");
    }
    assert!(out.trim_end().ends_with("demo: ok"), "{out}");
}

#[test]
fn a_nonce_is_added_by_default_and_verify_refuses_a_post_without_one() {
    let fixture = Fixture::new();
    let body = Some(fixture.body.as_path());
    let with_nonce = fixture.signed_headers(&[]);
    assert!(
        with_nonce.iter().any(|line| line.contains(";nonce=\"")),
        "{with_nonce:?}"
    );
    assert_ok(&fixture.verify("POST", URL, &with_nonce, body, &[]));

    // --no-nonce: a captured POST could be replayed, so verify refuses it by default.
    let without = fixture.signed_headers(&["--no-nonce"]);
    assert!(
        !without.iter().any(|line| line.contains("nonce=")),
        "{without:?}"
    );
    assert_error(
        &fixture.verify("POST", URL, &without, body, &[]),
        7,
        "malformed-signature",
    );
    assert_ok(&fixture.verify("POST", URL, &without, body, &["--allow-no-nonce"]));
}
