//! API credentials in a real vault (round trip, environment and host checks, rotation under a
//! fake vault clock, no secret in any Debug, error or event) and the HTTPS client's use of
//! them against the local test server: client-side rate limits, the server's `Retry-After`
//! (both forms, garbage, the cap), 401/403 events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rukasec_core::Error;
use rukasec_core::events::{EventBus, EventCollector, SecurityEvent, SecurityEventKind};
use rukasec_core::monitor::{
    AuthHeader, CredentialSpec, CredentialStore, DEFAULT_ROTATE_AFTER, Environment,
    HostEnvironments, MAX_RETRY_AFTER, METADATA_NAMESPACE, NAMESPACE, RateLimit, RateLimitMode,
};
use rukasec_core::secret::SecretBytes;
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions};
use rukasec_core::tls::{
    ClientOptions, HostPattern, HttpRequest, HttpResponse, HttpsClient, PinPolicy, TlsOptions,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{Clock, DATABASE_FILE, Vault};

const ACCOUNT: &str = "customer-1";
const HOST: &str = "pay.rukapay.test";
const CANARY: &str = "CANARY-sk_live_9f2c7e-do-not-log";
const SANDBOX_KEY: &str = "sk_test_5b1d";
const DAY: i64 = 86_400;
const WAIT: Duration = Duration::from_secs(10);

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    events: Arc<EventCollector>,
    bus: Arc<EventBus>,
    clock: Arc<TestClock>,
    vault: Arc<Vault>,
    store: CredentialStore,
}

fn pattern(text: &str) -> HostPattern {
    HostPattern::parse(text, false).unwrap()
}

/// `**.rukapay.test` is production, `**.sandbox.rukapay.test` sandbox; nothing else declared.
fn environments() -> HostEnvironments {
    HostEnvironments::new()
        .declare(pattern("**.rukapay.test"), Environment::Production)
        .unwrap()
        .declare(pattern("**.sandbox.rukapay.test"), Environment::Sandbox)
        .unwrap()
}

impl Fixture {
    fn new() -> Self {
        let events = Arc::new(EventCollector::new());
        let bus = Arc::new(EventBus::new(Some(events.clone())));
        let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000)));
        let dir = tempfile::tempdir().unwrap();
        let vault = Arc::new(
            Vault::open_with_clock(
                dir.path(),
                Arc::new(MemoryKeyWrapper::new()),
                bus.clone(),
                clock.clone(),
            )
            .unwrap(),
        );
        let store = CredentialStore::new(vault.clone(), ACCOUNT, environments());
        Self {
            dir,
            events,
            bus,
            clock,
            vault,
            store,
        }
    }

    /// A production key and a sandbox key, both for every host under `rukapay.test` (so only
    /// the environment check tells them apart).
    fn with_both() -> Self {
        let fixture = Self::new();
        let mut production =
            CredentialSpec::new(Environment::Production, vec![pattern("**.rukapay.test")]);
        production.label = "payments (live)".to_owned();
        fixture
            .store
            .put("payments-prod", secret(CANARY), production)
            .unwrap();
        let mut sandbox =
            CredentialSpec::new(Environment::Sandbox, vec![pattern("**.rukapay.test")]);
        sandbox.header = AuthHeader::Named("x-api-key".to_owned());
        fixture
            .store
            .put("payments-sandbox", secret(SANDBOX_KEY), sandbox)
            .unwrap();
        fixture
    }

    fn advance_days(&self, days: i64) {
        self.clock.0.fetch_add(days * DAY, Ordering::SeqCst);
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

fn secret(text: &str) -> SecretBytes {
    SecretBytes::from_slice(text.as_bytes())
}

fn exposed(credential: &rukasec_core::monitor::Credential) -> String {
    // Test: what was stored is what comes back.
    String::from_utf8(credential.secret().expose_secret().to_vec()).unwrap()
}

#[test]
fn store_get_list_and_revoke_round_trip() {
    let fixture = Fixture::with_both();
    let store = &fixture.store;

    let listed = store.list().unwrap();
    let ids: Vec<_> = listed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["payments-prod", "payments-sandbox"]);
    let production = &listed[0];
    assert_eq!(production.label, "payments (live)");
    assert_eq!(production.environment, Environment::Production);
    assert_eq!(production.hosts, vec![pattern("**.rukapay.test")]);
    assert_eq!(production.header, AuthHeader::Bearer);
    assert_eq!(production.created_at, 1_800_000_000);
    assert_eq!(production.rotate_after, DEFAULT_ROTATE_AFTER);
    assert_eq!(listed[1].header, AuthHeader::Named("x-api-key".to_owned()));

    let credential = store
        .credential_for("payments-prod", "https://pay.rukapay.test/v1/charges")
        .unwrap();
    assert_eq!(exposed(&credential), CANARY);
    assert_eq!(credential.metadata(), production);
    assert_eq!(
        credential.header(),
        ("authorization".to_owned(), format!("Bearer {CANARY}"))
    );
    let sandbox = store
        .credential_for("payments-sandbox", "https://api.sandbox.rukapay.test/v1")
        .unwrap();
    assert_eq!(
        sandbox.header(),
        ("x-api-key".to_owned(), SANDBOX_KEY.to_owned())
    );

    // Stored as two items: the secret Restricted, the metadata apart from it.
    assert!(
        fixture
            .vault
            .contains(ACCOUNT, NAMESPACE, "payments-prod")
            .unwrap()
    );
    assert!(
        fixture
            .vault
            .contains(ACCOUNT, METADATA_NAMESPACE, "payments-prod")
            .unwrap()
    );

    // Another store on the same vault sees the same credentials (nothing lives in the store).
    let again = CredentialStore::new(fixture.vault.clone(), ACCOUNT, environments());
    assert_eq!(again.list().unwrap(), listed);

    assert!(store.revoke("payments-prod").unwrap());
    assert!(!store.revoke("payments-prod").unwrap());
    for reader in [store, &again] {
        assert_eq!(
            reader
                .credential_for("payments-prod", "https://pay.rukapay.test/")
                .unwrap_err(),
            Error::CredentialNotFound
        );
        assert_eq!(reader.metadata("payments-prod").unwrap(), None);
    }
    assert!(
        !fixture
            .vault
            .contains(ACCOUNT, NAMESPACE, "payments-prod")
            .unwrap()
    );
    assert!(
        !fixture
            .vault
            .contains(ACCOUNT, METADATA_NAMESPACE, "payments-prod")
            .unwrap()
    );
    let ids: Vec<_> = store.list().unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["payments-sandbox"]);

    // Another account holds none of them.
    let other = CredentialStore::new(fixture.vault.clone(), "customer-2", environments());
    assert!(other.list().unwrap().is_empty());
}

#[test]
fn put_replaces_and_refuses_bad_input() {
    let fixture = Fixture::new();
    let store = &fixture.store;
    let spec = CredentialSpec::new(Environment::Production, vec![pattern(HOST)]);
    store.put("k", secret("first"), spec.clone()).unwrap();
    fixture.advance_days(1);
    let replaced = store.put("k", secret("second"), spec.clone()).unwrap();
    assert_eq!(replaced.created_at, 1_800_000_000 + DAY);
    let credential = store
        .credential_for("k", "https://pay.rukapay.test/")
        .unwrap();
    assert_eq!(exposed(&credential), "second");

    let invalid = |result: Result<_, Error>| {
        assert!(
            matches!(result, Err(Error::InvalidInput { .. })),
            "{result:?}"
        );
    };
    invalid(store.put("", secret("x"), spec.clone()));
    invalid(store.put("a/b", secret("x"), spec.clone()));
    invalid(store.put("k", secret(""), spec.clone()));
    invalid(store.put("k", secret("has space"), spec.clone()));
    let mut no_hosts = spec.clone();
    no_hosts.hosts.clear();
    invalid(store.put("k", secret("x"), no_hosts));
    let mut bad_header = spec.clone();
    bad_header.header = AuthHeader::Named("x-request-id".to_owned());
    invalid(store.put("k", secret("x"), bad_header));
    let mut zero = spec.clone();
    zero.rotate_after = Duration::ZERO;
    invalid(store.put("k", secret("x"), zero));
    let mut bad_env = spec;
    bad_env.environment = Environment::Other("Prod".to_owned());
    invalid(store.put("k", secret("x"), bad_env));
    // The refused puts changed nothing.
    let credential = store
        .credential_for("k", "https://pay.rukapay.test/")
        .unwrap();
    assert_eq!(exposed(&credential), "second");
}

fn environment_mismatch(result: Result<rukasec_core::monitor::Credential, Error>) -> String {
    match result {
        Err(Error::CredentialEnvironmentMismatch { reason }) => reason,
        other => panic!("expected CredentialEnvironmentMismatch, got {other:?}"),
    }
}

#[test]
fn environment_mix_ups_are_refused_both_ways() {
    let fixture = Fixture::with_both();
    let store = &fixture.store;
    // A sandbox key for a production host.
    let reason = environment_mismatch(
        store.credential_for("payments-sandbox", "https://pay.rukapay.test/v1/charges"),
    );
    assert_eq!(
        reason,
        "a sandbox credential cannot be sent to a production host"
    );
    // A production key for a sandbox host.
    let reason = environment_mismatch(store.credential_for(
        "payments-prod",
        "https://api.sandbox.rukapay.test/v1/charges",
    ));
    assert_eq!(
        reason,
        "a production credential cannot be sent to a sandbox host"
    );
    // The right pairs go through.
    store
        .credential_for("payments-prod", "https://pay.rukapay.test/")
        .unwrap();
    store
        .credential_for("payments-sandbox", "https://API.Sandbox.rukapay.test./")
        .unwrap();
    // check_url gives the same answers without reading a secret.
    assert!(matches!(
        store.check_url("payments-sandbox", "https://pay.rukapay.test/"),
        Err(Error::CredentialEnvironmentMismatch { .. })
    ));

    // A host with no declared environment refuses every credential, even one whose own
    // patterns cover it.
    let fixture = Fixture::new();
    fixture
        .store
        .put(
            "partner",
            secret("pk_1"),
            CredentialSpec::new(
                Environment::Production,
                vec![pattern("api.partner.example")],
            ),
        )
        .unwrap();
    let reason = environment_mismatch(
        fixture
            .store
            .credential_for("partner", "https://api.partner.example/"),
    );
    assert!(reason.contains("no declared environment"), "{reason}");
    // Declared, it goes through; declared as another named environment, it does not.
    let declared = |environment| {
        CredentialStore::new(
            fixture.vault.clone(),
            ACCOUNT,
            HostEnvironments::new()
                .declare(pattern("api.partner.example"), environment)
                .unwrap(),
        )
    };
    declared(Environment::Production)
        .credential_for("partner", "https://api.partner.example/")
        .unwrap();
    environment_mismatch(
        declared(Environment::Other("staging".to_owned()))
            .credential_for("partner", "https://api.partner.example/"),
    );
}

#[test]
fn hosts_outside_the_credential_are_refused() {
    let fixture = Fixture::new();
    let store = &fixture.store;
    store
        .put(
            "payments",
            secret(CANARY),
            CredentialSpec::new(Environment::Production, vec![pattern(HOST)]),
        )
        .unwrap();
    // Production hosts, but not the credential's.
    for url in [
        "https://api.rukapay.test/",
        "https://evil-pay.rukapay.test/",
        "https://pay.rukapay.test.evil.example/",
        "https://127.0.0.1/",
        "https://[::1]/",
    ] {
        assert_eq!(
            store.credential_for("payments", url).unwrap_err(),
            Error::CredentialHostMismatch,
            "{url}"
        );
    }
    assert!(matches!(
        store.credential_for("payments", "http://pay.rukapay.test/"),
        Err(Error::Tls { .. })
    ));
    assert!(matches!(
        store.credential_for("payments", "not a url"),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(
        store
            .credential_for("missing", "https://pay.rukapay.test/")
            .unwrap_err(),
        Error::CredentialNotFound
    );
    store
        .credential_for("payments", "https://PAY.rukapay.test:8443/x?y=1")
        .unwrap();
}

#[test]
fn rotation_is_due_after_ninety_days() {
    let fixture = Fixture::new();
    let store = &fixture.store;
    let spec = CredentialSpec::new(Environment::Production, vec![pattern(HOST)]);
    store.put("payments", secret(CANARY), spec.clone()).unwrap();
    let mut weekly = spec;
    weekly.rotate_after = Duration::from_secs(7 * DAY as u64);
    store.put("weekly", secret("wk_1"), weekly).unwrap();
    let url = "https://pay.rukapay.test/";

    fixture.advance_days(8);
    let due: Vec<_> = store
        .check_rotation()
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, ["weekly"]);

    fixture.advance_days(90 - 8);
    // Exactly 90 days old: not yet due.
    store.credential_for("payments", url).unwrap();
    assert!(
        fixture
            .events_of(SecurityEventKind::CredentialRotationDue)
            .iter()
            .all(|e| e.details["credential"] != "payments")
    );

    fixture.clock.0.fetch_add(1, Ordering::SeqCst);
    // Due: still handed out, with one event per store however often it is used.
    store.credential_for("payments", url).unwrap();
    store.credential_for("payments", url).unwrap();
    let on_use: Vec<_> = fixture
        .events_of(SecurityEventKind::CredentialRotationDue)
        .into_iter()
        .filter(|e| e.details["credential"] == "payments")
        .collect();
    assert_eq!(on_use.len(), 1);
    let event = &on_use[0];
    assert_eq!(event.severity, rukasec_core::events::Severity::Warning);
    assert_eq!(event.details["environment"], "production");
    assert_eq!(event.details["age_days"], "90");
    assert_eq!(event.details["rotate_after_days"], "90");

    // The explicit check reports every due credential each time.
    let before = fixture
        .events_of(SecurityEventKind::CredentialRotationDue)
        .len();
    let due: Vec<_> = store
        .check_rotation()
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, ["payments", "weekly"]);
    assert_eq!(
        fixture
            .events_of(SecurityEventKind::CredentialRotationDue)
            .len(),
        before + 2
    );

    // Rotating replaces the value and starts the age again.
    let rotated = store.rotate("payments", secret("sk_live_new")).unwrap();
    assert_eq!(rotated.created_at, fixture.clock.now());
    assert_eq!(rotated.hosts, vec![pattern(HOST)]);
    let credential = store.credential_for("payments", url).unwrap();
    assert_eq!(exposed(&credential), "sk_live_new");
    let due: Vec<_> = store
        .check_rotation()
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, ["weekly"]);
    assert_eq!(
        store.rotate("missing", secret("x")).unwrap_err(),
        Error::CredentialNotFound
    );
    // Due again 90 days later: the event comes again on use.
    fixture.advance_days(91);
    let before = fixture
        .events_of(SecurityEventKind::CredentialRotationDue)
        .len();
    store.credential_for("payments", url).unwrap();
    assert_eq!(
        fixture
            .events_of(SecurityEventKind::CredentialRotationDue)
            .len(),
        before + 1
    );
}

#[test]
fn the_secret_is_in_no_debug_error_event_or_database_byte() {
    let fixture = Fixture::with_both();
    let store = &fixture.store;
    let mut printed = Vec::new();
    let credential = store
        .credential_for("payments-prod", "https://pay.rukapay.test/")
        .unwrap();
    printed.push(format!("{credential:?} {credential:#?} {store:?}"));
    printed.push(format!("{:?}", store.list().unwrap()));
    for (id, url) in [
        ("payments-prod", "https://api.sandbox.rukapay.test/"),
        ("payments-prod", "https://127.0.0.1/"),
        ("payments-prod", "http://pay.rukapay.test/"),
        ("missing", "https://pay.rukapay.test/"),
    ] {
        let error = store.credential_for(id, url).unwrap_err();
        printed.push(format!("{error} {error:?} {}", error.reason()));
    }
    fixture.advance_days(100);
    store.check_rotation().unwrap();
    store
        .credential_for("payments-prod", "https://pay.rukapay.test/")
        .unwrap();
    let events = fixture.events();
    assert!(!events.is_empty());
    printed.push(format!("{events:?}"));
    for text in &printed {
        assert!(!text.contains(CANARY), "{text}");
        assert!(!text.contains("9f2c7e"), "{text}");
    }
    // The test can fail: the secret is what the credential holds.
    assert!(exposed(&credential).contains("9f2c7e"));
    drop(credential);
    // Sealed on disk: no file of the vault holds it.
    for entry in std::fs::read_dir(fixture.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
            "the secret is in {DATABASE_FILE} or its WAL"
        );
    }
}

// ----- The HTTPS client against the local test server -----

struct World {
    fixture: Fixture,
    pki: TestPki,
    server: TestServer,
}

impl World {
    fn new() -> Self {
        let pki = TestPki::new().unwrap();
        let server = TestServer::start(&pki, TestServerOptions::default()).unwrap();
        Self {
            fixture: Fixture::with_both(),
            pki,
            server,
        }
    }

    fn client(&self, rate_limit: Option<RateLimit>) -> HttpsClient {
        let options = ClientOptions {
            tls: TlsOptions {
                extra_roots: vec![self.pki.root_der()],
                ..TlsOptions::default()
            },
            resolve: vec![(HOST.to_owned(), self.server.addr())],
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            rate_limit,
            ..ClientOptions::default()
        };
        HttpsClient::new(options, PinPolicy::empty(), self.fixture.bus.clone()).unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.server.addr().port())
    }

    fn hits(&self) -> usize {
        self.server.requests().len()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn send(
    runtime: &tokio::runtime::Runtime,
    client: &HttpsClient,
    world: &World,
    id: &str,
    path: &str,
    mode: RateLimitMode,
) -> Result<HttpResponse, Error> {
    runtime.block_on(client.send_with_credential(
        HttpRequest::get(world.url(path)),
        &world.fixture.store,
        id,
        mode,
        None,
    ))
}

fn retry_after(result: Result<HttpResponse, Error>) -> Duration {
    match result {
        Err(Error::RateLimited { retry_after }) => retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[test]
fn the_credential_goes_in_its_header_and_only_to_its_environment() {
    let world = World::new();
    let runtime = runtime();
    let client = world.client(None);
    let response = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/v1",
        RateLimitMode::Fail,
    )
    .unwrap();
    assert_eq!(response.status, 200);
    let seen = world.server.requests();
    let authorization: Vec<_> = seen[0]
        .headers
        .iter()
        .filter(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(authorization, [format!("Bearer {CANARY}").as_str()]);

    // A sandbox key is not sent to this production host: nothing reaches the server.
    let error = send(
        &runtime,
        &client,
        &world,
        "payments-sandbox",
        "/v1",
        RateLimitMode::Fail,
    )
    .unwrap_err();
    assert!(
        matches!(error, Error::CredentialEnvironmentMismatch { .. }),
        "{error:?}"
    );
    assert_eq!(world.hits(), 1);
    // Nor is the production key, through a redirect, to another origin.
    let error = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/redirect?to=https://other.rukapay.test/",
        RateLimitMode::Fail,
    )
    .unwrap_err();
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains(CANARY));
}

#[test]
fn the_client_side_bucket_refuses_or_waits() {
    let world = World::new();
    let runtime = runtime();
    // A token every 4 s: the two sends below take far less, even under qemu on a loaded machine
    // (scripts/test-arm.sh), so the third is refused on any machine.
    let client = world.client(Some(RateLimit::new(2, 0.25).unwrap()));
    for _ in 0..2 {
        send(
            &runtime,
            &client,
            &world,
            "payments-prod",
            "/",
            RateLimitMode::Fail,
        )
        .unwrap();
    }
    // The refusal's retry-after is counted from a moment after this one.
    let before_refusal = Instant::now();
    let wait = retry_after(send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/",
        RateLimitMode::Fail,
    ));
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(4),
        "{wait:?}"
    );
    assert_eq!(world.hits(), 2);
    let refused = world.fixture.events_of(SecurityEventKind::RateLimited);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].details["credential"], "payments-prod");
    assert_eq!(refused[0].details["outcome"], "refused");

    // Wait mode goes out once a token is there: not before the refusal's retry-after (however
    // slow the machine, so this holds under emulation too).
    send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/",
        RateLimitMode::Wait,
    )
    .unwrap();
    assert!(
        before_refusal.elapsed() >= wait,
        "{:?} < {wait:?}",
        before_refusal.elapsed()
    );
    assert_eq!(world.hits(), 3);
}

#[test]
fn retry_after_seconds_pauses_the_credential_until_then() {
    let world = World::new();
    let runtime = runtime();
    let client = world.client(None);
    let before = Instant::now();
    let response = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/status/429?retry-after=2",
        RateLimitMode::Fail,
    )
    .unwrap();
    assert_eq!(response.status, 429);
    let paused = client.rate_limiter().paused_for("payments-prod").unwrap();
    // Two seconds from the answer, which came after `before`.
    let spent = before.elapsed();
    assert!(
        paused + spent >= Duration::from_secs(2) && paused <= Duration::from_secs(2),
        "{paused:?} after {spent:?}"
    );

    // Refused without contacting the server; another credential is not paused.
    let wait = retry_after(send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/",
        RateLimitMode::Fail,
    ));
    assert!(
        wait > Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    assert_eq!(world.hits(), 1);
    assert!(
        client
            .rate_limiter()
            .paused_for("payments-sandbox")
            .is_none()
    );

    let events = world.fixture.events_of(SecurityEventKind::RateLimited);
    let outcomes: Vec<_> = events
        .iter()
        .map(|e| e.details["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["paused", "refused"]);
    assert_eq!(events[0].details["status"], "429");
    assert_eq!(events[0].details["retry_after_ms"], "2000");
    assert_eq!(events[0].details["host"], HOST);
    assert!(!format!("{events:?}").contains(CANARY));

    // Wait mode sends once the pause is over.
    let start = Instant::now();
    let response = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/",
        RateLimitMode::Wait,
    )
    .unwrap();
    assert_eq!(response.status, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(world.hits(), 2);
}

#[test]
fn retry_after_http_date_garbage_and_cap() {
    let world = World::new();
    let runtime = runtime();
    let client = world.client(None);
    let limiter = client.rate_limiter();

    let before = Instant::now();
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    let path = format!("/status/503?retry-after={}", date.replace(' ', "%20"));
    let response = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        &path,
        RateLimitMode::Fail,
    )
    .unwrap();
    assert_eq!(response.status, 503);
    let paused = limiter.paused_for("payments-prod").unwrap();
    // Until the date, in whole seconds: more than 4 s after `before` (the date is rounded down),
    // less the time the request took (long under qemu on a loaded machine), and at most 5 s.
    let spent = before.elapsed();
    assert!(
        paused + spent > Duration::from_secs(4) && paused <= Duration::from_secs(5),
        "{paused:?} after {spent:?}"
    );
    limiter.forget("payments-prod");

    // Garbage is ignored: no pause.
    for value in [
        "soon",
        "-5",
        "1.5",
        "Sun,%2032%20Nov%201994%2008:49:37%20GMT",
    ] {
        send(
            &runtime,
            &client,
            &world,
            "payments-prod",
            &format!("/status/429?retry-after={value}"),
            RateLimitMode::Fail,
        )
        .unwrap();
        assert_eq!(limiter.paused_for("payments-prod"), None, "{value}");
    }
    // A 429 without Retry-After, or another status with one, pauses nothing either.
    send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/status/429",
        RateLimitMode::Fail,
    )
    .unwrap();
    send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/status/500?retry-after=60",
        RateLimitMode::Fail,
    )
    .unwrap();
    assert_eq!(limiter.paused_for("payments-prod"), None);

    // A day is capped at an hour.
    send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/status/429?retry-after=86400",
        RateLimitMode::Fail,
    )
    .unwrap();
    let paused = limiter.paused_for("payments-prod").unwrap();
    assert!(paused <= MAX_RETRY_AFTER && paused > MAX_RETRY_AFTER - Duration::from_secs(5));
    // A plain send (no credential) is not held by the pause.
    let response = runtime
        .block_on(client.send(HttpRequest::get(world.url("/"))))
        .unwrap();
    assert_eq!(response.status, 200);
}

#[test]
fn unauthorised_and_forbidden_responses_are_events() {
    let world = World::new();
    let runtime = runtime();
    let client = world.client(None);
    let response = send(
        &runtime,
        &client,
        &world,
        "payments-prod",
        "/status/401",
        RateLimitMode::Fail,
    )
    .unwrap();
    assert_eq!(response.status, 401);
    runtime
        .block_on(client.send(HttpRequest::get(world.url("/status/403"))))
        .unwrap();
    runtime
        .block_on(client.send(HttpRequest::get(world.url("/status/404"))))
        .unwrap();
    let events = world
        .fixture
        .events_of(SecurityEventKind::AuthenticationRejected);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].severity, rukasec_core::events::Severity::Warning);
    assert_eq!(events[0].details["status"], "401");
    assert_eq!(events[0].details["host"], HOST);
    assert_eq!(events[0].details["credential"], "payments-prod");
    assert_eq!(events[1].details["status"], "403");
    assert!(!events[1].details.contains_key("credential"));
    assert!(!format!("{events:?}").contains(CANARY));
}
