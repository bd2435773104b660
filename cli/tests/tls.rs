//! `rukasec fetch` and `rukasec pin --connect` end to end: the real binary against the core's
//! local HTTPS test server (a fresh PKI per test, its root given with `--ca`), so the system's
//! roots never matter. Refusals exit 6 with the cause as the error kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use base64::Engine as _;
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions, pin_of};

mod support;
use support::{rukasec, stderr, stdout};

const HOST: &str = "pay.rukapay.test";
const BODY: &str = "hello from the rukasec test server\n";

/// A server with a fresh PKI, its root as a PEM file, and the arguments that reach it.
struct Fixture {
    server: TestServer,
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let pki = TestPki::new().unwrap();
        let server = TestServer::start(
            &pki,
            TestServerOptions {
                hosts: vec![HOST.to_owned()],
                handler: Some(Arc::new(|request| {
                    (request.target == "/missing").then(|| (404, b"no such page\n".to_vec()))
                })),
                ..TestServerOptions::default()
            },
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = write_pem(dir.path(), "root.pem", &pki.root_der());
        Self { server, dir, ca }
    }

    fn port(&self) -> u16 {
        self.server.addr().port()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.port())
    }

    fn resolve(&self) -> String {
        format!("{HOST}:{}:127.0.0.1", self.port())
    }

    /// The pins of the chain the server sends: leaf, intermediate.
    fn chain_pins(&self) -> Vec<String> {
        self.server
            .chain_der()
            .iter()
            .map(|der| pin_of(der).unwrap().to_string())
            .collect()
    }

    /// `rukasec fetch <url> --ca <root> --resolve <host:port:127.0.0.1> args...`
    fn fetch(&self, path: &str, args: &[&str]) -> Output {
        let url = self.url(path);
        let resolve = self.resolve();
        let mut all = vec![
            "fetch",
            url.as_str(),
            "--ca",
            self.ca.to_str().unwrap(),
            "--resolve",
            resolve.as_str(),
        ];
        all.extend_from_slice(args);
        rukasec(&all)
    }
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// Two well-formed pins of keys no test server has.
const WRONG_1: &str = "sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const WRONG_2: &str = "sha256/AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// Asserts a one-line error `error: <kind>: ...` with exit `code`, and nothing on stdout.
fn assert_error(output: &Output, code: i32, kind: &str) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    let prefix = format!("error: {kind}: ");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with(&prefix), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", self::stdout(output));
    stderr
}

#[test]
fn fetch_with_a_leaf_pin_and_a_backup_pin_prints_the_status_line_and_body() {
    let fixture = Fixture::new();
    let leaf = &fixture.chain_pins()[0];
    let output = fixture.fetch("/", &["--pin", leaf, "--pin", WRONG_1]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("HTTP/2.0 200 OK\n{BODY}"));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    // The intermediate's pin matches too; method, headers and body reach the server.
    let intermediate = &fixture.chain_pins()[1];
    let body = fixture.dir.path().join("body.json");
    std::fs::write(&body, br#"{"amount":"1250.00"}"#).unwrap();
    let output = fixture.fetch(
        "/pay",
        &[
            "--pin",
            WRONG_2,
            "--pin",
            intermediate,
            "-H",
            "X-Request-Id: 42",
            "--data-file",
            body.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = fixture.server.requests();
    let last = seen.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("POST", "/pay")
    );
    assert_eq!(last.body, br#"{"amount":"1250.00"}"#);
    assert!(
        last.headers
            .iter()
            .any(|(name, value)| name == "x-request-id" && value == "42"),
        "{:?}",
        last.headers
    );

    // Any HTTP status is a completed request (exit 0), with its reason phrase.
    let output = fixture.fetch("/missing", &["--pin", leaf, "--pin", WRONG_1]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "HTTP/2.0 404 Not Found\nno such page\n");

    // Redirects are followed (each hop pinned).
    let output = fixture.fetch(
        "/redirect?to=/elsewhere",
        &["--pin", leaf, "--pin", WRONG_1],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("HTTP/2.0 200 OK\n{BODY}"));
    assert_eq!(
        fixture.server.requests().last().unwrap().target,
        "/elsewhere"
    );
}

#[test]
fn fetch_refuses_a_pin_mismatch_with_exit_6_and_sends_nothing() {
    let fixture = Fixture::new();
    let output = fixture.fetch("/", &["--pin", WRONG_1, "--pin", WRONG_2]);
    let stderr = assert_error(&output, 6, "pin-mismatch");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(HOST), "{stderr}");
    assert!(fixture.server.requests().is_empty());
}

#[test]
fn fetch_report_only_mismatch_goes_ahead_with_a_warning() {
    let fixture = Fixture::new();
    let output = fixture.fetch("/", &["--pin", WRONG_1, "--report-only"]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout(&output), format!("HTTP/2.0 200 OK\n{BODY}"));
    assert!(
        stderr.starts_with(&format!(
            "warning: pin-mismatch-report-only: the certificate chain of {HOST} matches none"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&fixture.chain_pins()[0]), "{stderr}");
    assert_eq!(fixture.server.requests().len(), 1);
}

#[test]
fn fetch_refuses_http_before_connecting() {
    let fixture = Fixture::new();
    let url = format!("http://{HOST}:{}/", fixture.port());
    let resolve = fixture.resolve();
    let output = rukasec(&["fetch", &url, "--resolve", &resolve]);
    let stderr = assert_error(&output, 6, "insecure-scheme");
    assert!(
        stderr.contains("only https:// URLs are allowed"),
        "{stderr}"
    );
}

#[test]
fn fetch_needs_a_backup_pin_unless_report_only() {
    let fixture = Fixture::new();
    let leaf = &fixture.chain_pins()[0];
    let output = fixture.fetch("/", &["--pin", leaf]);
    let stderr = assert_error(&output, 2, "usage");
    assert!(stderr.contains("give a backup pin"), "{stderr}");
    assert!(fixture.server.requests().is_empty());

    // Usage errors clap finds itself: a malformed pin, --pin with --policy, --report-only
    // without pins, a --resolve port that is not the URL's.
    let policy = fixture.dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"domains": []}"#).unwrap();
    for args in [
        vec!["--pin", "sha1/AAAA"],
        vec!["--pin", leaf, "--policy", policy.to_str().unwrap()],
        vec!["--report-only"],
    ] {
        let output = fixture.fetch("/", &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            self::stderr(&output)
        );
    }
    let url = fixture.url("/");
    let output = rukasec(&["fetch", &url, "--resolve", &format!("{HOST}:1:127.0.0.1")]);
    assert_error(&output, 2, "usage");
}

#[test]
fn fetch_with_a_policy_file() {
    let fixture = Fixture::new();
    let pins = fixture.chain_pins();
    let policy = fixture.dir.path().join("policy.json");
    let write = |pins: &[&str], enforce: bool| {
        let pins: Vec<String> = pins.iter().map(|p| format!("\"{p}\"")).collect();
        std::fs::write(
            &policy,
            format!(
                r#"{{"domains": [{{"pattern": "rukapay.test", "include_subdomains": true,
                    "pins": [{}], "enforce": {enforce}}}]}}"#,
                pins.join(", ")
            ),
        )
        .unwrap();
    };
    let policy_arg = policy.to_str().unwrap();

    write(&[WRONG_1, &pins[1]], true);
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("HTTP/2.0 200 OK\n{BODY}"));

    write(&[WRONG_1, WRONG_2], true);
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_error(&output, 6, "pin-mismatch");

    write(&[WRONG_1], false);
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("warning: pin-mismatch-report-only: "),
        "{}",
        stderr(&output)
    );

    // An expired pin set: only the platform's verification applies, with a warning.
    std::fs::write(
        &policy,
        format!(
            r#"{{"domains": [{{"pattern": "{HOST}", "pins": ["{WRONG_1}", "{WRONG_2}"],
                "expires": "2020-01-01"}}]}}"#
        ),
    )
    .unwrap();
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "warning: pin-set-expired: the pins for {HOST} expired at 2020-01-02T00:00:00Z; \
             {HOST} was verified without pins\n"
        )
    );

    // A report-only mismatch with a report URI: the report goes out before the command ends.
    std::fs::write(
        &policy,
        format!(
            r#"{{"domains": [{{"pattern": "{HOST}", "pins": ["{WRONG_1}"], "enforce": false,
                "report_uri": "{}"}}]}}"#,
            fixture.url("/pin-report")
        ),
    )
    .unwrap();
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warnings = stderr(&output);
    assert!(
        warnings.contains(&format!(
            "warning: pin-report-sent: a pin-failure report for {HOST} was sent (HTTP status 200)"
        )),
        "{warnings}"
    );
    let report = fixture.server.requests().pop().unwrap();
    assert_eq!(
        (report.method.as_str(), report.target.as_str()),
        ("POST", "/pin-report")
    );
    let report = String::from_utf8(report.body).unwrap();
    assert!(
        report.contains(&format!("\"hostname\":\"{HOST}\""))
            && report.contains(WRONG_1.trim_start_matches("sha256/")),
        "a TrustKit report naming the host and its pins: {report}"
    );

    // A policy that does not cover the host: a warning, then platform verification only.
    std::fs::write(
        &policy,
        format!(r#"{{"domains": [{{"pattern": "api.rukapay.com", "pins": ["{WRONG_1}", "{WRONG_2}"]}}]}}"#),
    )
    .unwrap();
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("warning: unpinned: "),
        "{}",
        stderr(&output)
    );

    // A policy the core refuses: an enforced domain with one pin.
    write(&[&pins[0]], true);
    let output = fixture.fetch("/", &["--policy", policy_arg]);
    let stderr = assert_error(&output, 1, "invalid-input");
    assert!(stderr.contains("policy.json"), "{stderr}");
    assert!(stderr.contains("backup pin"), "{stderr}");
}

#[test]
fn fetch_without_the_root_is_untrusted() {
    let fixture = Fixture::new();
    let other = TestPki::new().unwrap();
    let other_ca = write_pem(fixture.dir.path(), "other.pem", &other.root_der());
    let url = fixture.url("/");
    let resolve = fixture.resolve();
    let output = rukasec(&[
        "fetch",
        &url,
        "--ca",
        other_ca.to_str().unwrap(),
        "--resolve",
        &resolve,
    ]);
    assert_error(&output, 6, "untrusted-certificate");
}

#[test]
fn pin_connect_prints_the_chain_protocol_and_verdict() {
    let fixture = Fixture::new();
    let pins = fixture.chain_pins();
    let connect = format!("{HOST}:{}", fixture.port());

    let output = rukasec(&[
        "pin",
        "--connect",
        &connect,
        "--resolve",
        "127.0.0.1",
        "--ca",
        fixture.ca.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = stdout(&output);
    assert_eq!(
        stdout,
        format!(
            "{}  CN={HOST}\n{}  CN=RukaSec Test Intermediate\nprotocol: TLSv1.3\ntrusted: yes\n",
            pins[0], pins[1]
        )
    );

    // Another PKI's root as the only extra anchor: still exit 0, with the verdict.
    let other = TestPki::new().unwrap();
    let other_ca = write_pem(fixture.dir.path(), "other.pem", &other.root_der());
    let output = rukasec(&[
        "pin",
        "--connect",
        &connect,
        "--resolve",
        "127.0.0.1",
        "--ca",
        other_ca.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = self::stdout(&output);
    assert!(stdout.starts_with(&pins[0]), "{stdout}");
    let verdict = stdout.lines().last().unwrap();
    assert!(
        verdict.starts_with("trusted: no (untrusted-certificate: "),
        "{stdout}"
    );

    // Verified for the name asked about: another name is a hostname mismatch.
    let output = rukasec(&[
        "pin",
        "--connect",
        &format!("api.rukapay.test:{}", fixture.port()),
        "--resolve",
        "127.0.0.1",
        "--ca",
        fixture.ca.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = self::stdout(&output);
    assert!(stdout.starts_with(&pins[0]), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("trusted: no (hostname-mismatch: "),
        "{stdout}"
    );
    assert!(
        fixture.server.requests().is_empty(),
        "nothing but handshakes"
    );
}

#[test]
fn pin_connect_fails_cleanly_when_nothing_listens() {
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = rukasec(&["pin", "--connect", &format!("127.0.0.1:{port}")]);
    assert_error(&output, 6, "connection");

    let output = rukasec(&["pin", "--connect", "no-port:"]);
    assert_error(&output, 2, "usage");
    let output = rukasec(&["pin", "--ca", "x.pem"]);
    assert_eq!(output.status.code(), Some(2), "--ca needs --connect");
}
