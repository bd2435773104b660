//! The pinned HTTPS client against a local rustls server with a generated chain (root,
//! intermediate, leaf): pins at each level, enforce and report-only, expiry, every refusal
//! cause, redirects, policy changes, HSTS, limits, and `check_chain` for native stacks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rukasec_core::events::{
    EventBus, EventCollector, SecurityEvent, SecurityEventKind, SecurityEventListener,
};
use rukasec_core::tls::test_server::{SeenRequest, TestPki, TestServer, TestServerOptions, pin_of};
use rukasec_core::tls::{
    ClientOptions, DomainPolicy, HttpRequest, HttpsClient, PinChecker, PinOutcome, PinPolicy,
    ReportContext, SpkiPin, TlsOptions, probe_chain,
};
use rukasec_core::{Error, TlsFailure};

const HOST: &str = "pay.rukapay.test";
const OTHER: &str = "other.rukapay.test";
const WAIT: Duration = Duration::from_secs(10);

struct World {
    pki: TestPki,
    server: TestServer,
    events: Arc<EventCollector>,
    bus: Arc<EventBus>,
}

impl World {
    fn new() -> Self {
        Self::with(TestServerOptions::default())
    }

    fn with(options: TestServerOptions) -> Self {
        let pki = TestPki::new().unwrap();
        let server = TestServer::start(&pki, options).unwrap();
        let events = Arc::new(EventCollector::new());
        let bus = Arc::new(EventBus::new(Some(
            events.clone() as Arc<dyn SecurityEventListener>
        )));
        Self {
            pki,
            server,
            events,
            bus,
        }
    }

    fn leaf_pin(&self) -> SpkiPin {
        pin_of(&self.server.chain_der()[0]).unwrap()
    }

    fn intermediate_pin(&self) -> SpkiPin {
        pin_of(&self.pki.intermediate_der()).unwrap()
    }

    fn root_pin(&self) -> SpkiPin {
        pin_of(&self.pki.root_der()).unwrap()
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            tls: TlsOptions {
                extra_roots: vec![self.pki.root_der()],
                ..TlsOptions::default()
            },
            resolve: vec![(HOST.to_owned(), self.server.addr())],
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        }
    }

    fn client(&self, policy: PinPolicy) -> HttpsClient {
        HttpsClient::new(self.options(), policy, self.bus.clone()).unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.server.addr().port())
    }

    fn events(&self) -> Vec<SecurityEvent> {
        assert!(self.bus.flush(WAIT));
        self.events.events()
    }

    fn events_of(&self, kind: SecurityEventKind) -> Vec<SecurityEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }
}

/// A pin nobody has: the backup of every test policy.
fn backup_pin() -> SpkiPin {
    format!("sha256/{}", "B".repeat(42) + "A=").parse().unwrap()
}

fn wrong_pin() -> SpkiPin {
    format!("sha256/{}", "W".repeat(42) + "A=").parse().unwrap()
}

fn pinned(pattern: &str, pin: SpkiPin) -> PinPolicy {
    PinPolicy::new(vec![
        DomainPolicy::new(pattern, false, [pin, backup_pin()]).unwrap(),
    ])
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn get(client: &HttpsClient, url: &str) -> Result<rukasec_core::tls::HttpResponse, Error> {
    runtime().block_on(client.send(HttpRequest::get(url)))
}

fn failure(result: Result<rukasec_core::tls::HttpResponse, Error>) -> (TlsFailure, String) {
    match result {
        Err(Error::Tls { failure, reason }) => (failure, reason),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn leaf_intermediate_and_root_pins_each_allow_the_connection() {
    let world = World::new();
    for pin in [world.leaf_pin(), world.intermediate_pin(), world.root_pin()] {
        let client = world.client(pinned(HOST, pin));
        let response = get(&client, &world.url("/")).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello from the rukasec test server\n");
    }
    assert!(world.events_of(SecurityEventKind::PinMismatch).is_empty());
}

#[test]
fn an_enforced_mismatch_is_refused_and_reported_as_an_event() {
    let world = World::new();
    let client = world.client(pinned(HOST, wrong_pin()));
    let (cause, reason) = failure(get(&client, &world.url("/")));
    assert_eq!(cause, TlsFailure::PinMismatch);
    assert!(reason.contains(HOST), "{reason}");
    assert!(
        world.server.requests().is_empty(),
        "no request may reach the server"
    );
    let events = world.events_of(SecurityEventKind::PinMismatch);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["host"], HOST);
    assert_eq!(events[0].details["enforced"], "true");
    let presented = &events[0].details["presented"];
    for pin in [world.leaf_pin(), world.intermediate_pin(), world.root_pin()] {
        assert!(presented.contains(&pin.to_string()), "{presented}");
    }
}

#[test]
fn a_report_only_mismatch_is_allowed_with_an_event_and_one_trustkit_report_a_day() {
    let world = World::new();
    let report_uri = world.url("/report");
    let domain = DomainPolicy::new(HOST, false, [wrong_pin()])
        .unwrap()
        .report_only()
        .with_report_uri(&report_uri)
        .unwrap();
    let mut options = world.options();
    options.report_context = ReportContext {
        app_id: "com.rukapay.test".to_owned(),
        app_version: "1.2.3".to_owned(),
    };
    let client = HttpsClient::new(
        options,
        PinPolicy::new(vec![domain]).unwrap(),
        world.bus.clone(),
    )
    .unwrap();
    let rt = runtime();
    let response = rt
        .block_on(client.send(HttpRequest::get(world.url("/"))))
        .unwrap();
    assert_eq!(response.status, 200);
    let events = world.events_of(SecurityEventKind::PinMismatchReportOnly);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["enforced"], "false");

    // The report goes out through the pinned client; identical reports are suppressed.
    rt.block_on(client.flush_reports());
    let reports = wait_for_requests(&world, "/report", 1);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].method, "POST");
    let report: serde_json::Value = serde_json::from_slice(&reports[0].body).unwrap();
    assert_eq!(report["hostname"], HOST);
    assert_eq!(report["port"], world.server.addr().port());
    assert_eq!(report["noted-hostname"], HOST);
    assert_eq!(report["enforce-pinning"], false);
    assert_eq!(report["validation-result"], 1);
    assert_eq!(report["app-bundle-id"], "com.rukapay.test");
    assert_eq!(
        report["known-pins"][0],
        format!("pin-sha256=\"{}\"", &wrong_pin().to_string()[7..])
    );
    assert!(
        report["validated-certificate-chain"][0]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        report.get("app-vendor-id").is_none(),
        "no device identifier"
    );

    rt.block_on(client.send(HttpRequest::get(world.url("/"))))
        .unwrap();
    assert_eq!(
        rt.block_on(client.flush_reports()),
        0,
        "identical report within a day"
    );
    let sent = world.events_of(SecurityEventKind::PinReportSent);
    assert_eq!(sent.len(), 1);
}

#[test]
fn an_expired_pin_set_falls_back_to_normal_verification_and_says_so() {
    let world = World::new();
    let expired = DomainPolicy::new(HOST, false, [wrong_pin(), backup_pin()])
        .unwrap()
        .with_expiry(SystemTime::now() - Duration::from_secs(60));
    let client = world.client(PinPolicy::new(vec![expired]).unwrap());
    assert_eq!(get(&client, &world.url("/")).unwrap().status, 200);
    let events = world.events_of(SecurityEventKind::PinSetExpired);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["host"], HOST);
}

#[test]
fn a_certificate_for_another_name_is_a_hostname_mismatch() {
    let world = World::with(TestServerOptions {
        hosts: vec![OTHER.to_owned()],
        ..TestServerOptions::default()
    });
    let client = world.client(PinPolicy::empty());
    let (cause, _) = failure(get(&client, &world.url("/")));
    assert_eq!(cause, TlsFailure::HostnameMismatch);
    let events = world.events_of(SecurityEventKind::TlsVerificationFailed);
    assert_eq!(events[0].details["failure"], "hostname-mismatch");
}

#[test]
fn an_expired_leaf_is_refused_even_when_pinned() {
    let world = World::with(TestServerOptions {
        expired: true,
        ..TestServerOptions::default()
    });
    let client = world.client(pinned(HOST, world.leaf_pin()));
    assert_eq!(
        failure(get(&client, &world.url("/"))).0,
        TlsFailure::ExpiredCertificate
    );
}

#[test]
fn an_untrusted_root_is_refused_even_when_pinned() {
    let world = World::new();
    let stranger = TestPki::new().unwrap();
    let mut options = world.options();
    options.tls.extra_roots = vec![stranger.root_der()];
    let client =
        HttpsClient::new(options, pinned(HOST, world.leaf_pin()), world.bus.clone()).unwrap();
    assert_eq!(
        failure(get(&client, &world.url("/"))).0,
        TlsFailure::UntrustedCertificate
    );
}

#[test]
fn a_server_demanding_a_client_certificate_is_a_handshake_failure() {
    // TLS 1.2: the server refuses before its Finished, inside the client's handshake. (Under
    // TLS 1.3 the client has finished by then and sees only a closed connection.)
    let world = World::with(TestServerOptions {
        client_auth: true,
        tls12_only: true,
        ..TestServerOptions::default()
    });
    let mut options = world.options();
    options.tls.allow_tls12 = true;
    let client =
        HttpsClient::new(options, pinned(HOST, world.leaf_pin()), world.bus.clone()).unwrap();
    let (cause, reason) = failure(get(&client, &world.url("/")));
    assert_eq!(cause, TlsFailure::Handshake, "{reason}");
    assert_eq!(world.server.requests().len(), 0);
}

#[test]
fn a_response_cut_off_inside_its_body_is_a_protocol_failure() {
    let world = World::new();
    let client = world.client(pinned(HOST, world.leaf_pin()));
    let (cause, reason) = failure(get(&client, &world.url("/truncated")));
    assert_eq!(cause, TlsFailure::Protocol, "{reason}");
    assert!(!reason.contains("only part"), "{reason}");
}

#[test]
fn a_tls12_only_server_is_refused_unless_tls12_is_allowed() {
    let world = World::with(TestServerOptions {
        tls12_only: true,
        ..TestServerOptions::default()
    });
    let client = world.client(pinned(HOST, world.leaf_pin()));
    assert_eq!(
        failure(get(&client, &world.url("/"))).0,
        TlsFailure::ProtocolVersion
    );

    let mut options = world.options();
    options.tls.allow_tls12 = true;
    let client =
        HttpsClient::new(options, pinned(HOST, world.leaf_pin()), world.bus.clone()).unwrap();
    assert_eq!(get(&client, &world.url("/")).unwrap().status, 200);
}

/// A second server, for `OTHER`, and a client that resolves both and pins `HOST` to its leaf
/// and `OTHER` to what `other_pin` picks from the other server's chain.
fn with_other_origin(
    world: &World,
    other_pin: impl FnOnce(&TestServer) -> SpkiPin,
) -> (TestServer, HttpsClient) {
    let other = TestServer::start(
        &world.pki,
        TestServerOptions {
            hosts: vec![OTHER.to_owned()],
            ..TestServerOptions::default()
        },
    )
    .unwrap();
    let policy = PinPolicy::new(vec![
        DomainPolicy::new(HOST, false, [world.leaf_pin(), backup_pin()]).unwrap(),
        DomainPolicy::new(OTHER, false, [other_pin(&other), backup_pin()]).unwrap(),
    ])
    .unwrap();
    let mut options = world.options();
    options.resolve.push((OTHER.to_owned(), other.addr()));
    let client = HttpsClient::new(options, policy, world.bus.clone()).unwrap();
    (other, client)
}

#[test]
fn each_redirect_hop_is_pinned() {
    let world = World::new();
    let (other, client) = with_other_origin(&world, |_| wrong_pin());
    let target = format!("https://{OTHER}:{}/", other.addr().port());
    let (cause, reason) = failure(get(&client, &world.url(&format!("/redirect?to={target}"))));
    assert_eq!(cause, TlsFailure::PinMismatch);
    assert!(reason.contains(OTHER), "{reason}");
    assert!(other.requests().is_empty());
    assert_eq!(world.server.requests().len(), 1, "the first hop was served");
}

#[test]
fn insecure_urls_and_redirects_are_refused() {
    let world = World::new();
    let client = world.client(PinPolicy::empty());
    // Port 9 (discard): were a connection attempted, the error would be a connection failure.
    let (cause, _) = failure(get(&client, "http://127.0.0.1:9/"));
    assert_eq!(cause, TlsFailure::InsecureScheme);
    let (cause, _) = failure(get(
        &client,
        &world.url("/redirect?to=http://pay.rukapay.test/"),
    ));
    assert_eq!(cause, TlsFailure::Redirect);
}

#[test]
fn too_many_redirects_are_refused() {
    let world = World::new();
    let mut options = world.options();
    options.max_redirects = 2;
    let client = HttpsClient::new(options, PinPolicy::empty(), world.bus.clone()).unwrap();
    let mut url = world.url("/");
    for _ in 0..3 {
        url = world.url(&format!("/redirect?to={}", url.replace('&', "%26")));
    }
    let (cause, _) = failure(get(&client, &url));
    assert_eq!(cause, TlsFailure::Redirect);
}

#[test]
fn a_new_policy_applies_to_the_next_request_despite_pooled_connections_and_sessions() {
    let world = World::new();
    let client = world.client(pinned(HOST, world.leaf_pin()));
    let rt = runtime();
    for _ in 0..3 {
        rt.block_on(client.send(HttpRequest::get(world.url("/"))))
            .unwrap();
    }
    client.set_policy(pinned(HOST, wrong_pin())).unwrap();
    let (cause, _) = failure(rt.block_on(client.send(HttpRequest::get(world.url("/")))));
    assert_eq!(cause, TlsFailure::PinMismatch);
    client
        .set_policy(pinned(HOST, world.intermediate_pin()))
        .unwrap();
    assert_eq!(
        rt.block_on(client.send(HttpRequest::get(world.url("/"))))
            .unwrap()
            .status,
        200
    );
}

#[test]
fn hsts_is_recorded_and_named_when_an_http_url_is_refused() {
    let world = World::new();
    let client = world.client(PinPolicy::empty());
    get(&client, &world.url("/hsts")).unwrap();
    assert_eq!(client.hsts_hosts(), vec![HOST.to_owned()]);
    let (cause, reason) = failure(get(&client, &format!("http://{HOST}/")));
    assert_eq!(cause, TlsFailure::InsecureScheme);
    assert!(reason.contains("HSTS"), "{reason}");
}

#[test]
fn responses_over_the_size_limit_are_refused() {
    let world = World::new();
    let mut options = world.options();
    options.max_response_bytes = 1000;
    let client = HttpsClient::new(options, PinPolicy::empty(), world.bus.clone()).unwrap();
    assert_eq!(
        get(&client, &world.url("/big?bytes=1000"))
            .unwrap()
            .body
            .len(),
        1000
    );
    assert_eq!(
        failure(get(&client, &world.url("/big?bytes=1001"))).0,
        TlsFailure::ResponseTooLarge
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let world = World::new();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = silent.local_addr().unwrap();
    let mut options = world.options();
    options.resolve = vec![(HOST.to_owned(), addr)];
    options.connect_timeout = Duration::from_millis(300);
    options.request_timeout = Duration::from_millis(600);
    let client = HttpsClient::new(options, PinPolicy::empty(), world.bus.clone()).unwrap();
    let url = format!("https://{HOST}:{}/", addr.port());
    assert_eq!(failure(get(&client, &url)).0, TlsFailure::Timeout);
    drop(silent);
}

#[test]
fn bad_requests_are_typed_errors() {
    let world = World::new();
    let client = world.client(PinPolicy::empty());
    for (method, url, headers) in [
        ("GET", "not a url", vec![]),
        ("BAD METHOD", "https://pay.rukapay.test/", vec![]),
        (
            "GET",
            "https://pay.rukapay.test/",
            vec![("bad header".to_owned(), "v".to_owned())],
        ),
        (
            "GET",
            "https://pay.rukapay.test/",
            vec![("x".to_owned(), "a\nb".to_owned())],
        ),
    ] {
        let request = HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers,
            body: Vec::new(),
        };
        let result = runtime().block_on(client.send(request));
        assert!(
            matches!(result, Err(Error::InvalidInput { .. })),
            "{method} {url}: {result:?}"
        );
    }
}

#[test]
fn check_chain_applies_the_policy_to_chains_other_stacks_verified() {
    let world = World::new();
    let chain = world.server.chain_der();
    let checker = PinChecker::new(
        pinned(HOST, world.intermediate_pin()),
        vec![world.pki.root_der()],
        world.bus.clone(),
    );
    assert_eq!(
        checker.check_chain(HOST, &chain).unwrap(),
        PinOutcome::Matched
    );
    assert_eq!(
        checker.check_chain("unpinned.test", &chain).unwrap(),
        PinOutcome::Unpinned
    );
    let root_pinned = PinChecker::new(
        pinned(HOST, world.root_pin()),
        vec![world.pki.root_der()],
        world.bus.clone(),
    );
    assert_eq!(
        root_pinned.check_chain(HOST, &chain).unwrap(),
        PinOutcome::Matched
    );

    let wrong = PinChecker::new(pinned(HOST, wrong_pin()), vec![], world.bus.clone());
    assert!(matches!(
        wrong.check_chain(HOST, &chain),
        Err(Error::Tls {
            failure: TlsFailure::PinMismatch,
            ..
        })
    ));
    assert!(matches!(
        wrong.check_chain(HOST, &[]),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        wrong.check_chain(HOST, &[b"junk".to_vec()]),
        Err(Error::InvalidInput { .. })
    ));
}

/// The server's requests to `target`, waiting (up to [`WAIT`]) until there are `count`.
fn wait_for_requests(world: &World, target: &str, count: usize) -> Vec<SeenRequest> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let seen: Vec<_> = world
            .server
            .requests()
            .into_iter()
            .filter(|r| r.target == target)
            .collect();
        if seen.len() >= count || std::time::Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_pin_checker_used_alone_sends_its_reports_like_the_client() {
    // The gap: an app pinning its own OkHttp or URLSession stack with `PinChecker` got the
    // events but never a report, so a pin rotation going wrong (or an interception) was
    // invisible to the platform team. Now the checker sends them itself, in the background,
    // without the app sending anything through a RukaSec client.
    let world = World::new();
    let report_uri = world.url("/report");
    let report_only = DomainPolicy::new(HOST, false, [wrong_pin()])
        .unwrap()
        .report_only()
        .with_report_uri(&report_uri)
        .unwrap();
    let enforced = DomainPolicy::new(OTHER, false, [wrong_pin(), backup_pin()])
        .unwrap()
        .with_report_uri(&report_uri)
        .unwrap();
    let mut options = world.options();
    options.report_context = ReportContext {
        app_id: "com.rukapay.own-stack".to_owned(),
        app_version: "7.0.0".to_owned(),
    };
    let client = HttpsClient::new(
        options,
        PinPolicy::new(vec![report_only, enforced]).unwrap(),
        world.bus.clone(),
    )
    .unwrap();
    let checker = client.pin_checker();
    drop(client); // the checker keeps what it needs
    let chain = world.server.chain_der();

    assert_eq!(
        checker.check_chain(HOST, &chain).unwrap(),
        PinOutcome::ReportOnlyMismatch
    );
    // No flush, no request of the app's: the report arrives on its own.
    let reports = wait_for_requests(&world, "/report", 1);
    assert_eq!(reports.len(), 1, "the checker sent no report");
    let report: serde_json::Value = serde_json::from_slice(&reports[0].body).unwrap();
    assert_eq!(report["hostname"], HOST);
    assert_eq!(report["enforce-pinning"], false);
    assert_eq!(report["app-bundle-id"], "com.rukapay.own-stack");

    // An enforced mismatch is refused and reported too.
    assert!(matches!(
        checker.check_chain(OTHER, &chain),
        Err(Error::Tls {
            failure: TlsFailure::PinMismatch,
            ..
        })
    ));
    // (The report's own connection to HOST is a report-only mismatch too, reported with the
    // port the client used: wait for the one about OTHER.)
    checker.flush_reports();
    let reports: Vec<serde_json::Value> = wait_for_requests(&world, "/report", 2)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let other: Vec<_> = reports.iter().filter(|r| r["hostname"] == OTHER).collect();
    assert_eq!(other.len(), 1, "no report for the enforced mismatch");
    assert_eq!(other[0]["enforce-pinning"], true);

    // Identical reports stay at one a day; flush_reports waits and says what it sent.
    // (Drain first: a report's own connection may have queued one more.)
    for _ in 0..5 {
        if checker.flush_reports() == 0 {
            break;
        }
    }
    let sent = world.events_of(SecurityEventKind::PinReportSent).len();
    checker.check_chain(HOST, &chain).unwrap();
    assert_eq!(checker.flush_reports(), 0, "identical report within a day");
    assert_eq!(
        world.events_of(SecurityEventKind::PinReportSent).len(),
        sent
    );
    // A checker made without a client sends nothing (and says so).
    let silent = PinChecker::new(pinned(HOST, wrong_pin()), vec![], world.bus.clone());
    assert_eq!(silent.flush_reports(), 0);
}

#[test]
fn a_pinned_intermediate_appended_to_a_foreign_chain_does_not_match() {
    // An attacker with a certificate from another CA appends our (public) pinned intermediate.
    let world = World::new();
    let attacker = TestPki::new().unwrap();
    let evil_leaf = attacker.leaf(&[HOST.to_owned()], false).unwrap();
    let chain = vec![
        evil_leaf.der,
        attacker.intermediate_der(),
        world.pki.intermediate_der(),
    ];
    let checker = PinChecker::new(
        pinned(HOST, world.intermediate_pin()),
        vec![world.pki.root_der(), attacker.root_der()],
        world.bus.clone(),
    );
    assert!(matches!(
        checker.check_chain(HOST, &chain),
        Err(Error::Tls {
            failure: TlsFailure::PinMismatch,
            ..
        })
    ));
}

#[test]
fn concurrent_requests_share_the_client() {
    let world = World::new();
    let client = Arc::new(world.client(pinned(HOST, world.leaf_pin())));
    let rt = runtime();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let client = client.clone();
                let url = world.url("/");
                tokio::spawn(async move { client.send(HttpRequest::get(url)).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap().unwrap().status);
        }
        statuses
    });
    assert_eq!(results, vec![200; 16]);
}

#[test]
fn probe_chain_shows_the_presented_pins_and_the_platform_verdict() {
    let world = World::new();
    let trusting = TlsOptions {
        extra_roots: vec![world.pki.root_der()],
        ..TlsOptions::default()
    };
    let probe = probe_chain(
        HOST,
        world.server.addr().port(),
        Some(world.server.addr()),
        &trusting,
        WAIT,
    )
    .unwrap();
    let pins: Vec<SpkiPin> = probe.certificates.iter().map(|c| c.pin).collect();
    assert_eq!(pins, vec![world.leaf_pin(), world.intermediate_pin()]);
    assert!(probe.verification.is_ok());
    assert_eq!(probe.protocol, "TLSv1_3");

    let stranger = TlsOptions {
        extra_roots: vec![TestPki::new().unwrap().root_der()],
        ..TlsOptions::default()
    };
    let probe = probe_chain(
        HOST,
        world.server.addr().port(),
        Some(world.server.addr()),
        &stranger,
        WAIT,
    )
    .unwrap();
    assert_eq!(probe.certificates.len(), 2);
    assert!(matches!(
        probe.verification,
        Err(Error::Tls {
            failure: TlsFailure::UntrustedCertificate,
            ..
        })
    ));
    assert!(world.server.requests().is_empty(), "no request is sent");
}

#[test]
fn a_signed_request_arrives_with_a_signature_the_server_verifies() {
    use std::collections::HashMap;

    use rukasec_core::crypto::Crypto;
    use rukasec_core::signing::{SignOptions, SignatureVerifier, SoftwareKey, VerifierOptions};

    let world = World::new();
    let client = world.client(pinned(HOST, world.leaf_pin()));
    let key = SoftwareKey::generate().unwrap();
    let request = HttpRequest {
        method: "POST".to_owned(),
        url: world.url("/payments"),
        headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body: br#"{"amount":1000,"currency":"UGX"}"#.to_vec(),
    };
    let options = SignOptions::new("device-1");
    let response = runtime()
        .block_on(client.send_signed(request.clone(), &key, &options))
        .unwrap();
    assert_eq!(response.status, 200);

    // What the server received verifies with the device's public key.
    let seen = world.server.requests().pop().unwrap();
    let received = HttpRequest {
        method: seen.method,
        url: world.url(&seen.target),
        headers: seen.headers,
        body: seen.body,
    };
    let keys: HashMap<String, Vec<u8>> =
        HashMap::from([("device-1".to_owned(), key.public_key().sec1)]);
    let verifier = SignatureVerifier::new(Arc::new(keys), VerifierOptions::default());
    let crypto = Crypto::get().unwrap();
    let verified = verifier
        .verify(&crypto, &received, SystemTime::now())
        .unwrap();
    assert_eq!(verified.keyid, "device-1");
    let covered: Vec<String> = verified
        .components
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        covered.iter().any(|c| c.contains("content-digest")),
        "{covered:?}"
    );
}

#[test]
fn a_signed_request_is_never_redirected_to_another_origin() {
    use rukasec_core::signing::{SignOptions, SoftwareKey};

    // The attack: a server (or a path an attacker controls on it) answers a signed payment
    // with a 307 to another host, which would receive the signature, the digest and the body
    // and could replay them to the API before the nonce is used.
    let world = World::new();
    let (other, client) = with_other_origin(&world, |other| pin_of(&other.chain_der()[0]).unwrap());
    let key = SoftwareKey::generate().unwrap();
    let payment = |url: String| HttpRequest {
        method: "POST".to_owned(),
        url,
        headers: vec![("Authorization".to_owned(), "Bearer canary-token".to_owned())],
        body: b"{\"amount\":1000}".to_vec(),
    };
    let elsewhere = format!("https://{OTHER}:{}/collect", other.addr().port());
    let redirect = world.url(&format!("/redirect?status=307&to={elsewhere}"));

    // Unsigned, the client follows (as before); signed, it refuses before connecting there.
    runtime()
        .block_on(client.send(HttpRequest::get(&redirect)))
        .unwrap();
    assert_eq!(
        other.requests().len(),
        1,
        "an unsigned redirect is followed"
    );
    let result = runtime().block_on(client.send_signed(
        payment(redirect.clone()),
        &key,
        &SignOptions::new("device-1"),
    ));
    let (cause, reason) = failure(result);
    assert_eq!(cause, TlsFailure::Redirect);
    assert!(reason.contains("another origin"), "{reason}");
    assert_eq!(
        other.requests().len(),
        1,
        "the signed request never arrived there"
    );

    // The same origin: followed, with the signature.
    let same = world.url(&format!(
        "/redirect?status=307&to={}",
        world.url("/payments")
    ));
    let response = runtime()
        .block_on(client.send_signed(payment(same), &key, &SignOptions::new("device-1")))
        .unwrap();
    assert_eq!(response.status, 200);
    let last = world.server.requests().pop().unwrap();
    assert_eq!(last.target, "/payments");
    assert!(last.headers.iter().any(|(name, _)| name == "signature"));
}

#[test]
fn check_chain_normalises_the_host_and_never_lets_a_variant_pass_unpinned() {
    // The attack: an app's own HTTP stack hands `check_chain` the host as it has it
    // (`PAY.rukapay.test`, `pay.rukapay.test.`, `pay.rukapay.test:443`, a Unicode name); before,
    // a variant the policy did not recognise came back Unpinned and a MITM chain was accepted.
    let world = World::new();
    let chain = world.server.chain_der();
    let wrong = PinChecker::new(pinned(HOST, wrong_pin()), vec![], world.bus.clone());
    for host in [
        "PAY.RukaPay.test",
        "pay.rukapay.test.",
        "pay.rukapay.test:443",
        " pay.rukapay.test ",
        "Pay.Rukapay.Test.:8443",
    ] {
        assert!(
            matches!(
                wrong.check_chain(host, &chain),
                Err(Error::Tls {
                    failure: TlsFailure::PinMismatch,
                    ..
                })
            ),
            "{host:?} must hit the pins"
        );
    }
    // A Unicode name is compared in its punycode form, as the policy stores it.
    let idn = PinChecker::new(
        pinned("xn--bcher-kva.example", wrong_pin()),
        vec![],
        world.bus.clone(),
    );
    for host in [
        "bücher.example",
        "BÜCHER.example.",
        "xn--bcher-kva.example:443",
    ] {
        assert!(
            matches!(idn.check_chain(host, &chain), Err(Error::Tls { .. })),
            "{host:?} must hit the pins"
        );
    }
    // What is not a host is an error, never Unpinned.
    for host in [
        "",
        ".",
        "pay.rukapay.test:",
        "pay.rukapay.test:https",
        "a b.test",
        "pay..test",
        "[::1",
    ] {
        assert!(
            matches!(
                wrong.check_chain(host, &chain),
                Err(Error::InvalidInput { .. })
            ),
            "{host:?}"
        );
    }
    // IP literals, with or without a port, are never pinned by a name pattern.
    for host in ["127.0.0.1", "127.0.0.1:443", "::1", "[::1]:443"] {
        assert_eq!(
            wrong.check_chain(host, &chain).unwrap(),
            PinOutcome::Unpinned,
            "{host:?}"
        );
    }
}

#[test]
fn a_server_clock_ten_minutes_behind_is_measured_reported_once_and_used_for_signatures() {
    let world = World::new();
    let client = world.client(pinned(HOST, world.leaf_pin()));
    assert_eq!(client.clock_skew_ms(), None);
    // A server in step: measured, not reported.
    get(&client, &world.url("/hello")).unwrap();
    assert!(client.clock_skew_ms().unwrap().abs() <= 2_000);
    for _ in 0..5 {
        get(&client, &world.url("/date?offset=-600")).unwrap();
    }
    let skew = client.clock_skew_ms().unwrap();
    assert!((-602_000..=-598_000).contains(&skew), "{skew}");
    let reports = world.events_of(SecurityEventKind::ClockSkewDetected);
    assert_eq!(reports.len(), 1, "{reports:?}");
    let reported: i64 = reports[0].details["skew_s"].parse().unwrap();
    assert!((-602..=-598).contains(&reported), "{reported}");
    assert_eq!(reports[0].details["host"], HOST);

    // A signed request is `created` at the servers' time, not the device's.
    let key = rukasec_core::signing::SoftwareKey::generate().unwrap();
    runtime()
        .block_on(client.send_signed(
            HttpRequest::get(world.url("/signed")),
            &key,
            &rukasec_core::signing::SignOptions::new("k1"),
        ))
        .unwrap();
    let seen = wait_for_requests(&world, "/signed", 1);
    let input = seen[0]
        .headers
        .iter()
        .find(|(name, _)| name == "signature-input")
        .map(|(_, value)| value.clone())
        .unwrap();
    let created: u64 = input
        .split(";created=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now - 603..=now - 597).contains(&created),
        "created {created}, now {now}"
    );
}
