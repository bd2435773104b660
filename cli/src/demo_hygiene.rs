//! The demo's API-hygiene step: what Rukapay's guide asks of API users, done by the core.
//!
//! A TOTP code (RFC 6238's first test value) and a refused replay of it; API credentials kept
//! in the vault per environment, a sandbox key refused for a production host; the client-side
//! rate limit and the server's `Retry-After`; 401 answers raising an anomaly alert; the device
//! clock's skew measured from the server's `Date`; and the vault's event journal keeping it all
//! for upload. Everything stays on 127.0.0.1 against the same kind of local server as the TLS
//! step. Every outcome is checked; an unexpected one stops the demo.

use std::io::Write;
use std::sync::Arc;

use rukasec_core::events::AnomalyRules;
use rukasec_core::monitor::{
    CredentialSpec, CredentialStore, Environment, HostEnvironments, RateLimit, RateLimitMode,
};
use rukasec_core::otp::{OtpAlgorithm, OtpReplayGuard, OtpVerdict, Totp};
use rukasec_core::secret::SecretBytes;
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions};
use rukasec_core::tls::{ClientOptions, HostPattern, HttpRequest, TlsOptions};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::{Error, RukaSec};

use crate::demo_tls::{pinned, spare_pin};
use crate::events::EventLog;
use crate::failure::{Failure, INTERNAL};
use crate::fetch::{runtime, status_line};

/// The host of the demo's production API (the TLS step's server name).
const HOST: &str = "pay.rukapay.test";

/// Runs the step, printing the security events as they come.
pub fn run(core: &RukaSec, log: &EventLog, out: &mut impl Write) -> Result<(), Failure> {
    totp(out)?;

    let temp = tempfile::Builder::new()
        .prefix("rukasec-demo-")
        .tempdir()
        .map_err(|e| Failure::from(e).context("making the demo's temporary directory"))?;
    let vault = Arc::new(core.open_vault(
        &temp.path().join("vault"),
        Arc::new(MemoryKeyWrapper::new()),
    )?);
    let journal = vault.event_journal(100);
    core.enable_anomaly_detection(AnomalyRules {
        auth_failure_limit: 3,
        ..AnomalyRules::default()
    });

    let environments = HostEnvironments::new()
        .declare(HostPattern::parse(HOST, false)?, Environment::Production)?;
    let store = CredentialStore::new(Arc::clone(&vault), "merchant-7", environments);
    let hosts = || -> Result<Vec<HostPattern>, Failure> {
        Ok(vec![
            HostPattern::parse(HOST, false)?,
            HostPattern::parse("sandbox.rukapay.test", false)?,
        ])
    };
    for (id, environment, secret) in [
        (
            "payments-live",
            Environment::Production,
            "demo-live-key-0001",
        ),
        ("payments-test", Environment::Sandbox, "demo-test-key-0002"),
        (
            "reports-live",
            Environment::Production,
            "demo-live-key-0003",
        ),
        ("legacy-live", Environment::Production, "demo-live-key-0004"),
    ] {
        store.put(
            id,
            SecretBytes::from_slice(secret.as_bytes()),
            CredentialSpec::new(environment, hosts()?),
        )?;
    }
    let listed: Vec<String> = store
        .list()?
        .iter()
        .map(|m| format!("{} ({})", m.id, m.environment.as_str()))
        .collect();
    writeln!(
        out,
        "  credentials in the vault (restricted items, never printed): {}",
        listed.join(", ")
    )?;

    let pki = TestPki::new()?;
    let server = TestServer::start(
        &pki,
        TestServerOptions {
            hosts: vec![HOST.to_owned()],
            ..TestServerOptions::default()
        },
    )?;
    let leaf = crate::demo_tls::leaf_pin(core, &server)?;
    let options = ClientOptions {
        tls: TlsOptions {
            extra_roots: vec![pki.root_der()],
            ..TlsOptions::default()
        },
        resolve: vec![(HOST.to_owned(), server.addr())],
        rate_limit: Some(RateLimit::new(3, 0.2)?),
        ..ClientOptions::default()
    };
    let client = core.https_client(options, pinned(&[leaf, spare_pin(core, "backup")?], true)?)?;
    let runtime = runtime()?;
    let url = |path: &str| format!("https://{HOST}:{}{path}", server.addr().port());
    let send = |id: &str, path: &str| {
        runtime.block_on(client.send_with_credential(
            HttpRequest::get(url(path)),
            &store,
            id,
            RateLimitMode::Fail,
            None,
        ))
    };

    match send("payments-test", "/v1/balance") {
        Err(Error::CredentialEnvironmentMismatch { reason }) => writeln!(
            out,
            "  the sandbox key to the production host: refused before sending: {reason}"
        )?,
        other => return Err(unexpected("the sandbox key to production", other)),
    }
    for n in 1..=3 {
        let response = send("payments-live", "/v1/balance")?;
        writeln!(
            out,
            "  GET /v1/balance with payments-live ({n} of 3 the limit allows at once): {}",
            status_line(&response)
        )?;
    }
    match send("payments-live", "/v1/balance") {
        Err(Error::RateLimited { retry_after }) => writeln!(
            out,
            "  a 4th at once: refused by the client-side limit, retry after {} ms",
            retry_after.as_millis()
        )?,
        other => return Err(unexpected("the 4th request", other)),
    }
    let response = send("reports-live", "/status/429?retry-after=30")?;
    writeln!(
        out,
        "  reports-live: the server answers {} with Retry-After: 30",
        status_line(&response)
    )?;
    match send("reports-live", "/v1/report") {
        Err(Error::RateLimited { retry_after }) => writeln!(
            out,
            "  reports-live again: paused, not sent (retry after {} s)",
            retry_after.as_secs()
        )?,
        other => return Err(unexpected("the paused credential", other)),
    }
    log.print_new(core, out)?;

    for _ in 0..3 {
        let response = send("legacy-live", "/status/401")?;
        if response.status != 401 {
            return Err(failed("the 401 route did not answer 401"));
        }
    }
    writeln!(
        out,
        "  legacy-live: three 401 answers in a row (an anomaly rule watches for bursts)"
    )?;
    log.print_new(core, out)?;

    // The skew is the median of the last five responses: three from the slow clock outvote two.
    for _ in 0..3 {
        runtime.block_on(client.send(HttpRequest::get(url("/date?offset=-600"))))?;
    }
    let skew = client
        .clock_skew_ms()
        .filter(|skew| (-602_000..=-598_000).contains(skew))
        .ok_or_else(|| failed("the clock skew was not measured as 10 min"))?;
    writeln!(
        out,
        "  a server whose clock is 10 min behind: skew {} s; signatures use the server's time",
        skew / 1_000
    )?;
    log.print_new(core, out)?;

    let served = server.requests().len();
    if served != 10 {
        return Err(failed(&format!(
            "the server answered {served} requests, expected 10 (refused ones must not arrive)"
        )));
    }
    writeln!(
        out,
        "  the server saw 10 requests: none of the refused ones"
    )?;
    for id in ["payments-test", "legacy-live"] {
        store.revoke(id)?;
    }
    writeln!(
        out,
        "  revoked payments-test and legacy-live: {} credentials left",
        store.list()?.len()
    )?;
    if !core.events().flush(std::time::Duration::from_secs(5)) {
        return Err(failed("the events were not delivered"));
    }
    writeln!(
        out,
        "  event journal: {} events kept in the vault for upload (`rukasec events`)",
        journal.entries()?.len()
    )?;
    Ok(())
}

/// RFC 6238's first test value, and the same code refused as a replay.
fn totp(out: &mut impl Write) -> Result<(), Failure> {
    let totp = Totp::new(
        SecretBytes::from_slice(b"12345678901234567890"),
        OtpAlgorithm::Sha1,
        8,
        30,
    )?;
    let code = totp.code_at(59)?;
    // The demo shows a published test value, not a customer's code.
    let shown = code.expose_secret().to_owned();
    let mut guard = OtpReplayGuard::new();
    let first = totp.verify(&shown, 59, 1, &mut guard)?;
    let again = totp.verify(&shown, 59, 1, &mut guard)?;
    if shown != "94287082"
        || first != (OtpVerdict::Accepted { step: 1 })
        || again != OtpVerdict::Replayed
    {
        return Err(failed("the TOTP code or its check is not RFC 6238's"));
    }
    writeln!(
        out,
        "  TOTP (RFC 6238, SHA-1, 8 digits) at t=59: {shown}; verified: accepted (step 1); \
         the same code again: replayed, refused"
    )?;
    Ok(())
}

fn unexpected<T: std::fmt::Debug>(what: &str, outcome: Result<T, Error>) -> Failure {
    match outcome {
        Err(error) => Failure::from(error).context(what),
        Ok(value) => failed(&format!("{what}: not refused ({value:?})")),
    }
}

fn failed(what: &str) -> Failure {
    Failure::new(INTERNAL, format!("API hygiene demo: {what}"))
}
