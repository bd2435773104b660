//! The demo's pinned-TLS step: the core's HTTPS client against a local HTTPS server.
//!
//! The server ([`TestServer`], real TLS with rustls and hyper) serves a chain from a fresh
//! generated PKI; its root is handed to the client as an extra trust anchor, so the platform's
//! verification passes and what the step shows is the pinning on top of it: a pinned GET that
//! succeeds (leaf pin plus a backup pin, then a root pin), the same GET refused with
//! `pin-mismatch` when the pins name keys the server does not have, the same pins report-only
//! (allowed, with an event), and an `http://` URL refused before any connection. Everything
//! stays on 127.0.0.1: the host name `pay.rukapay.test` is resolved to the server by the client.
//! Every outcome is checked; an unexpected one stops the demo.

use std::io::Write;

use rcgen::{CertificateParams, KeyPair};
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions};
use rukasec_core::tls::{ClientOptions, DomainPolicy, HttpRequest, PinPolicy, SpkiPin, TlsOptions};
use rukasec_core::{Error, RukaSec, TlsFailure};

use crate::events::EventLog;
use crate::failure::{Failure, INTERNAL};
use crate::fetch::{runtime, status_line};

/// The name the server's certificate is issued for.
const HOST: &str = "pay.rukapay.test";

/// Runs the step, printing the security events after each request; the caller prints any
/// left.
pub fn run(core: &RukaSec, log: &EventLog, out: &mut impl Write) -> Result<(), Failure> {
    let pki = TestPki::new()?;
    let server = TestServer::start(
        &pki,
        TestServerOptions {
            hosts: vec![HOST.to_owned()],
            ..TestServerOptions::default()
        },
    )?;
    let port = server.addr().port();
    writeln!(
        out,
        "  server: {HOST} on {} (sends leaf + intermediate; the client trusts the test root as \
         an extra anchor)",
        server.addr()
    )?;

    let root = pki.root_der();
    let chain = server.chain_der();
    let (Some(leaf), Some(intermediate)) = (chain.first(), chain.get(1)) else {
        return Err(failed("the server's chain is not leaf + intermediate"));
    };
    let mut pins = Vec::new();
    for (role, der) in [
        ("leaf", leaf),
        ("intermediate", intermediate),
        ("root", &root),
    ] {
        let summary = core
            .certificates(der)?
            .into_iter()
            .next()
            .ok_or_else(|| failed("a certificate of the chain did not parse"))?;
        writeln!(out, "  {role:<12} {}  {}", summary.pin, summary.subject)?;
        pins.push(summary.pin);
    }
    let [leaf_pin, _, root_pin] = pins[..] else {
        return Err(failed("the chain has no three pins"));
    };
    let backup_pin = spare_pin(core, "backup")?;
    writeln!(
        out,
        "  backup       {backup_pin}  (a key kept offline, in no chain)"
    )?;

    let url = format!("https://{HOST}:{port}/");
    let options = ClientOptions {
        tls: TlsOptions {
            extra_roots: vec![root],
            ..TlsOptions::default()
        },
        resolve: vec![(HOST.to_owned(), server.addr())],
        ..ClientOptions::default()
    };
    let client = core.https_client(options, pinned(&[leaf_pin, backup_pin], true)?)?;
    let runtime = runtime()?;
    let get = || runtime.block_on(client.send(HttpRequest::get(url.clone())));

    let response = get()?;
    let body = String::from_utf8_lossy(&response.body);
    writeln!(
        out,
        "  GET {url} pinned to leaf + backup: {} \"{}\"",
        status_line(&response),
        body.trim_end()
    )?;
    log.print_new(core, out)?;

    client.set_policy(pinned(&[root_pin, backup_pin], true)?)?;
    let response = get()?;
    writeln!(
        out,
        "  pinned to root + backup (the root is not sent; the path is built to the anchor): {}",
        status_line(&response)
    )?;
    log.print_new(core, out)?;

    let wrong = [spare_pin(core, "other-1")?, spare_pin(core, "other-2")?];
    client.set_policy(pinned(&wrong, true)?)?;
    match get() {
        Err(Error::Tls {
            failure: TlsFailure::PinMismatch,
            reason,
        }) => writeln!(
            out,
            "  pinned to two keys the server does not have: refused: {}: {reason}",
            TlsFailure::PinMismatch.as_str()
        )?,
        Err(other) => {
            return Err(Failure::from(other).context("the mismatched GET failed otherwise"));
        }
        Ok(_) => return Err(failed("a GET whose pins do not match was not refused")),
    }
    log.print_new(core, out)?;

    client.set_policy(pinned(&wrong, false)?)?;
    let response = get()?;
    writeln!(
        out,
        "  the same pins, report-only: {} (allowed; the mismatch is an event)",
        status_line(&response)
    )?;
    log.print_new(core, out)?;

    let insecure = format!("http://{HOST}:{port}/");
    match runtime.block_on(client.send(HttpRequest::get(insecure.clone()))) {
        Err(Error::Tls {
            failure: TlsFailure::InsecureScheme,
            reason,
        }) => writeln!(
            out,
            "  GET {insecure}: refused before connecting: {}: {reason}",
            TlsFailure::InsecureScheme.as_str()
        )?,
        Err(other) => return Err(Failure::from(other).context("the http:// GET failed otherwise")),
        Ok(_) => return Err(failed("an http:// URL was not refused")),
    }

    let served = server.requests().len();
    if served != 3 {
        return Err(failed(&format!(
            "the server answered {served} requests, expected 3 (the refused ones must not arrive)"
        )));
    }
    writeln!(
        out,
        "  the server saw 3 requests: none from the refused GETs"
    )?;
    Ok(())
}

/// A policy pinning [`HOST`] (exactly) to `pins`, enforced or report-only.
pub fn pinned(pins: &[SpkiPin], enforced: bool) -> Result<PinPolicy, Failure> {
    let domain = DomainPolicy::new(HOST, false, pins.iter().copied())?;
    let domain = if enforced {
        domain
    } else {
        domain.report_only()
    };
    Ok(PinPolicy::new(vec![domain])?)
}

/// The pin of `server`'s leaf certificate.
pub fn leaf_pin(core: &RukaSec, server: &TestServer) -> Result<SpkiPin, Failure> {
    let chain = server.chain_der();
    let leaf = chain
        .first()
        .ok_or_else(|| failed("the server sends no certificate"))?;
    Ok(core.spki_sha256_pin(leaf)?)
}

/// The pin of a fresh key that no certificate of the server uses.
pub fn spare_pin(core: &RukaSec, name: &str) -> Result<SpkiPin, Failure> {
    let key = KeyPair::generate().map_err(|e| failed(&format!("{name} key: {e}")))?;
    let certificate = CertificateParams::new(vec![format!("{name}.rukapay.test")])
        .and_then(|params| params.self_signed(&key))
        .map_err(|e| failed(&format!("{name} certificate: {e}")))?;
    Ok(core.spki_sha256_pin(certificate.der())?)
}

fn failed(what: &str) -> Failure {
    Failure::new(INTERNAL, format!("TLS demo: {what}"))
}
