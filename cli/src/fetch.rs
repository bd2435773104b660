//! `rukasec fetch URL`: one HTTPS request through the core's pinned client, a small curl that
//! refuses what the app would refuse.
//!
//! Why a CLI request at all: before a pin set ships in an app, an operator can try it against
//! the real server with the very code the app runs (platform verification, then pins, TLS 1.3
//! only, `https://` only) and see the exact refusal the app would get, named by the core's
//! [`TlsFailure`](rukasec_core::TlsFailure) as the error kind (exit code 6). Pins come from
//! `--pin` (an exact pin set for the URL's host; enforced sets need a backup pin, as in the
//! app) or from a policy document (`--policy`). Report-only mismatches and expired pin sets do
//! not stop the request; they are printed as `warning:` lines on stderr, as the app would see
//! them as security events.
//!
//! The status line and the body go to stdout; any HTTP status counts as success (exit 0), as
//! with curl: the TLS and pinning verdict is what this command is about.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rukasec_core::RukaSec;
use rukasec_core::events::{SecurityEvent, SecurityEventKind};
use rukasec_core::tls::{
    ClientOptions, DomainPolicy, HttpRequest, HttpResponse, PinPolicy, SpkiPin, TlsOptions,
};

use crate::events::EventLog;
use crate::failure::{Failure, INVALID_INPUT, USAGE};

/// Longest connect timeout, whatever `--timeout` says (the rest is for the response).
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `rukasec fetch URL [options]`.
#[derive(Args)]
pub struct FetchArgs {
    /// The https:// URL to request (any other scheme is refused before connecting).
    url: String,
    /// A pin for the URL's host (`sha256/<base64>`, as `rukasec pin` prints it). Repeat it:
    /// enforced pins need two, the second being a backup pin.
    #[arg(long = "pin", value_name = "PIN", value_parser = parse_pin)]
    pins: Vec<SpkiPin>,
    /// A pin-policy JSON document (docs/FORMAT.md, "Pin policy document") instead of --pin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pins", "report_only"])]
    policy: Option<PathBuf>,
    /// Extra trust anchors, trusted beside the platform's roots: a PEM bundle (or one DER
    /// certificate). Repeat for more files.
    #[arg(long = "ca", value_name = "PEM")]
    ca: Vec<PathBuf>,
    /// Also accept TLS 1.2 (ECDHE with AEAD ciphers only); TLS 1.3 only without it.
    #[arg(long)]
    allow_tls12: bool,
    /// The --pin set only warns on a mismatch instead of refusing; one pin is then enough.
    #[arg(long, requires = "pins")]
    report_only: bool,
    /// The request method [default: GET, or POST with --data-file].
    #[arg(long, short = 'X', value_name = "METHOD")]
    method: Option<String>,
    /// A request header, 'Name: value'. Repeat for more.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Send FILE's contents as the request body.
    #[arg(long, value_name = "FILE")]
    data_file: Option<PathBuf>,
    /// Connect to ADDR for HOST instead of resolving it, like curl's --resolve (the certificate
    /// is still verified for HOST). For the URL's host, PORT must be the URL's port. Repeat for
    /// more hosts.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR", value_parser = parse_resolve)]
    resolve: Vec<Resolve>,
    /// Give up after SECONDS for the whole request (connecting gets at most 10 of them).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    timeout: u64,
}

/// One `--resolve HOST:PORT:ADDR`.
#[derive(Debug, Clone)]
struct Resolve {
    host: String,
    port: u16,
    addr: IpAddr,
}

fn parse_pin(text: &str) -> Result<SpkiPin, String> {
    text.parse().map_err(|e: rukasec_core::Error| e.reason())
}

fn parse_resolve(text: &str) -> Result<Resolve, String> {
    let mut parts = text.splitn(3, ':');
    let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected HOST:PORT:ADDR".to_owned());
    };
    if host.is_empty() {
        return Err("HOST is empty".to_owned());
    }
    let port = port
        .parse()
        .map_err(|_| "PORT is not a number from 0 to 65535".to_owned())?;
    let bare = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let addr = bare
        .parse()
        .map_err(|_| "ADDR is not an IPv4 or IPv6 address".to_owned())?;
    Ok(Resolve {
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        port,
        addr,
    })
}

/// Runs `rukasec fetch`: the response to `out`, warnings to `err`.
pub fn run(args: FetchArgs, out: &mut impl Write, err: &mut impl Write) -> Result<(), Failure> {
    let url = url::Url::parse(&args.url).map_err(|e| {
        Failure::new(
            INVALID_INPUT,
            format!("the URL is not an absolute URL ({e})"),
        )
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::new(INVALID_INPUT, "the URL has no host"))?
        .to_owned();

    let log = Arc::new(EventLog::default());
    let core = RukaSec::new(Some(log.clone()));
    let policy = policy(&args, &host, err)?;
    let reports = policy
        .find(&host)
        .is_some_and(|domain| domain.report_uri().is_some());
    let options = ClientOptions {
        tls: TlsOptions {
            allow_tls12: args.allow_tls12,
            extra_roots: extra_roots(&core, &args.ca)?,
            ..TlsOptions::default()
        },
        connect_timeout: Duration::from_secs(args.timeout).min(MAX_CONNECT_TIMEOUT),
        request_timeout: Duration::from_secs(args.timeout),
        resolve: resolve(&args.resolve, &url, &host)?,
        ..ClientOptions::default()
    };
    let request = request(&args, url.as_str())?;
    let client = core.https_client(options, policy)?;

    let runtime = runtime()?;
    let result = runtime.block_on(client.send(request));
    // Events from the handshake (a report-only mismatch, an expired pin set); the self-test's
    // own event is not news here.
    let mut events = new_events(&log, &core, err)?;
    if reports && events.iter().any(is_mismatch) {
        // The client queues a pin-failure report; send it (or wait for the background send)
        // before the runtime ends with the process.
        let _sent = runtime.block_on(client.flush_reports());
        events.extend(new_events(&log, &core, err)?);
    }
    for line in events.iter().filter_map(warning) {
        writeln!(err, "warning: {line}")?;
    }
    let response = result?;
    writeln!(out, "{}", status_line(&response))?;
    out.write_all(&response.body)?;
    Ok(())
}

/// The events so far. Events only add warnings, so one the core could not deliver in time is
/// a warning itself rather than a failure of a request that may well have succeeded.
fn new_events(
    log: &EventLog,
    core: &RukaSec,
    err: &mut impl Write,
) -> Result<Vec<SecurityEvent>, Failure> {
    match log.take_new(core) {
        Ok(events) => Ok(events),
        Err(failure) => {
            writeln!(err, "warning: {failure}")?;
            Ok(Vec::new())
        }
    }
}

/// The pin policy from `--pin` or `--policy` (an empty one without either).
fn policy(args: &FetchArgs, host: &str, err: &mut impl Write) -> Result<PinPolicy, Failure> {
    if let Some(file) = &args.policy {
        let text =
            std::fs::read_to_string(file).map_err(|e| Failure::from(e).context(file.display()))?;
        let policy =
            PinPolicy::from_json(&text).map_err(|e| Failure::from(e).context(file.display()))?;
        if policy.find(host).is_none() {
            writeln!(
                err,
                "warning: unpinned: {} has no pins for {host}; only the platform's verification applies",
                file.display()
            )?;
        }
        return Ok(policy);
    }
    if args.pins.is_empty() {
        return Ok(PinPolicy::empty());
    }
    if args.pins.len() < 2 && !args.report_only {
        return Err(Failure::new(
            USAGE,
            "one --pin is not enough for enforced pins: give a backup pin (a second --pin, for a \
             key kept offline), or add --report-only",
        ));
    }
    let domain =
        DomainPolicy::new(host, false, args.pins.iter().copied()).map_err(|e| pin_failure(&e))?;
    let domain = if args.report_only {
        domain.report_only()
    } else {
        domain
    };
    PinPolicy::new(vec![domain]).map_err(|e| pin_failure(&e))
}

fn pin_failure(error: &rukasec_core::Error) -> Failure {
    Failure::new(INVALID_INPUT, format!("--pin: {}", error.reason()))
}

/// The DER certificates of every `--ca` file.
fn extra_roots(core: &RukaSec, files: &[PathBuf]) -> Result<Vec<Vec<u8>>, Failure> {
    let mut roots = Vec::new();
    for file in files {
        roots.extend(read_certificates(core, file)?);
    }
    Ok(roots)
}

/// The DER certificates of a PEM bundle or DER file, for `--ca`.
pub fn read_certificates(core: &RukaSec, file: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    let bytes = std::fs::read(file).map_err(|e| Failure::from(e).context(file.display()))?;
    let certificates = core
        .certificates(&bytes)
        .map_err(|e| Failure::from(e).context(file.display()))?;
    Ok(certificates.into_iter().map(|c| c.der).collect())
}

/// The client's address overrides; an entry for the URL's host must name the URL's port.
fn resolve(
    entries: &[Resolve],
    url: &url::Url,
    host: &str,
) -> Result<Vec<(String, SocketAddr)>, Failure> {
    let url_port = url.port_or_known_default();
    let url_host = host.trim_end_matches('.').to_ascii_lowercase();
    entries
        .iter()
        .map(|entry| {
            if let Some(url_port) = url_port
                && entry.host == url_host
                && entry.port != url_port
            {
                return Err(Failure::new(
                    USAGE,
                    format!(
                        "--resolve {}:{}:...: the URL's port is {url_port}",
                        entry.host, entry.port
                    ),
                ));
            }
            Ok((entry.host.clone(), SocketAddr::new(entry.addr, entry.port)))
        })
        .collect()
}

/// The request: method, headers and body from the arguments.
fn request(args: &FetchArgs, url: &str) -> Result<HttpRequest, Failure> {
    let headers = parse_headers(&args.headers)?;
    let body = match &args.data_file {
        Some(file) => std::fs::read(file).map_err(|e| Failure::from(e).context(file.display()))?,
        None => Vec::new(),
    };
    let method = args.method.clone().unwrap_or_else(|| {
        if args.data_file.is_some() {
            "POST"
        } else {
            "GET"
        }
        .to_owned()
    });
    Ok(HttpRequest {
        method,
        url: url.to_owned(),
        headers,
        body,
    })
}

/// `--header 'Name: value'` arguments as (name, value) pairs, in order, both trimmed (a
/// value may contain colons: only the first one separates).
pub fn parse_headers(headers: &[String]) -> Result<Vec<(String, String)>, Failure> {
    headers
        .iter()
        .map(|header| {
            let (name, value) = header
                .split_once(':')
                .filter(|(name, _)| !name.trim().is_empty())
                .ok_or_else(|| {
                    Failure::new(USAGE, "--header: expected 'Name: value' (a name, a colon)")
                })?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// An async runtime for the core's HTTPS client (one worker: one request at a time).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure::from(e).context("starting the async runtime"))
}

/// `HTTP/1.1 200 OK`: the version, the status code and its canonical reason if it has one.
pub fn status_line(response: &HttpResponse) -> String {
    let reason = http::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|status| status.canonical_reason());
    match reason {
        Some(reason) => format!("{} {} {reason}", response.version, response.status),
        None => format!("{} {}", response.version, response.status),
    }
}

fn is_mismatch(event: &SecurityEvent) -> bool {
    matches!(
        event.kind,
        SecurityEventKind::PinMismatch | SecurityEventKind::PinMismatchReportOnly
    )
}

/// The `warning:` text for a pin event that did not stop the request (an enforced mismatch
/// is the error itself, so it is not repeated).
fn warning(event: &SecurityEvent) -> Option<String> {
    let detail = |key: &str| event.details.get(key).map_or("?", String::as_str);
    let kind = event.kind.as_str().replace('_', "-");
    let text = match event.kind {
        SecurityEventKind::PinMismatchReportOnly => format!(
            "the certificate chain of {} matches none of the pins for {}; allowed because they \
             are report-only (presented: {})",
            detail("host"),
            detail("pattern"),
            detail("presented")
        ),
        SecurityEventKind::PinSetExpired => format!(
            "the pins for {} expired at {}; {} was verified without pins",
            detail("pattern"),
            detail("expired_at"),
            detail("host")
        ),
        SecurityEventKind::PinReportSent => format!(
            "a pin-failure report for {} was sent (HTTP status {})",
            detail("host"),
            detail("status")
        ),
        SecurityEventKind::PinReportFailed => format!(
            "the pin-failure report for {} could not be sent ({})",
            detail("host"),
            detail("failure")
        ),
        _ => return None,
    };
    Some(format!("{kind}: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_parse_like_curl() {
        let entry = parse_resolve("Pay.Rukapay.Test:8443:127.0.0.1").unwrap();
        assert_eq!(
            (entry.host.as_str(), entry.port, entry.addr.to_string()),
            ("pay.rukapay.test", 8443, "127.0.0.1".to_owned())
        );
        let entry = parse_resolve("pay.rukapay.test:443:[::1]").unwrap();
        assert_eq!(entry.addr.to_string(), "::1");
        let entry = parse_resolve("pay.rukapay.test:443:::1").unwrap();
        assert_eq!(entry.addr.to_string(), "::1");
        for bad in [
            "pay.rukapay.test",
            "pay.rukapay.test:443",
            ":443:127.0.0.1",
            "pay.rukapay.test:https:127.0.0.1",
            "pay.rukapay.test:70000:127.0.0.1",
            "pay.rukapay.test:443:localhost",
        ] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_port_must_match_the_url() {
        let url = url::Url::parse("https://pay.rukapay.test/").unwrap();
        let ok = [parse_resolve("pay.rukapay.test:443:127.0.0.1").unwrap()];
        assert_eq!(
            resolve(&ok, &url, "pay.rukapay.test").unwrap(),
            vec![(
                "pay.rukapay.test".to_owned(),
                "127.0.0.1:443".parse().unwrap()
            )]
        );
        let wrong = [parse_resolve("pay.rukapay.test:8443:127.0.0.1").unwrap()];
        let failure = resolve(&wrong, &url, "pay.rukapay.test").unwrap_err();
        assert!(failure.to_string().starts_with("usage: "), "{failure}");
        assert_eq!(failure.exit_code(), 2);
        // Other hosts (redirect targets) keep their own port.
        let other = [parse_resolve("cdn.rukapay.test:8443:127.0.0.1").unwrap()];
        assert!(resolve(&other, &url, "pay.rukapay.test").is_ok());
    }

    #[test]
    fn status_lines_carry_the_canonical_reason_when_there_is_one() {
        let response = |status, version: &str| HttpResponse {
            status,
            url: String::new(),
            version: version.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(status_line(&response(200, "HTTP/1.1")), "HTTP/1.1 200 OK");
        assert_eq!(
            status_line(&response(404, "HTTP/2.0")),
            "HTTP/2.0 404 Not Found"
        );
        assert_eq!(status_line(&response(599, "HTTP/1.1")), "HTTP/1.1 599");
    }
}
