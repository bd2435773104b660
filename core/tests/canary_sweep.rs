//! The canary sweep: a realistic session (a vault put and get, a request with a bearer token
//! through the pinned client, a refused request, a signed request with a device key, a failed
//! unlock, a lock) run with a logger at `Trace` and an event listener, with a canary in every
//! secret. Afterwards no canary may appear in any log line, event, error (`Display` and
//! `Debug`), `Debug` of the objects used, or panic message built from them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rukasec_core::RukaSec;
use rukasec_core::events::{EventCollector, SecurityEventListener};
use rukasec_core::logging::{LogLevel, LogRecord, Logger, LoggerError};
use rukasec_core::secret::SecretString;
use rukasec_core::signing::{SignOptions, SoftwareKey};
use rukasec_core::tls::test_server::{TestPki, TestServer, TestServerOptions, pin_of};
use rukasec_core::tls::{ClientOptions, DomainPolicy, HttpRequest, PinPolicy, SpkiPin, TlsOptions};
use rukasec_core::unlock::{
    AuthFuture, AuthOutcome, AuthRequest, Authenticator, MemoryAttemptStore, UnlockGate,
    UnlockPolicy,
};
use rukasec_core::vault::DataClass;
use rukasec_core::vault::wrappers::MemoryKeyWrapper;

const HOST: &str = "pay.rukapay.test";
const WAIT: Duration = Duration::from_secs(10);

const VAULT_VALUE: &str = "CANARY-vault-value-6b1d";
const VAULT_ACCOUNT: &str = "CANARY-account-256700";
const VAULT_NAME: &str = "CANARY-item-name-77aa";
const BEARER: &str = "CANARY-bearer-3f9c2e1d";
const QUERY: &str = "CANARY-query-8e8e";
const BODY: &str = "CANARY-body-4c4c";
const REASON: &str = "CANARY-reason-pay-jane";
const REGISTERED: &str = "CANARY-registered-0d0d";

#[derive(Default)]
struct Capture(Mutex<Vec<LogRecord>>);

impl Logger for Capture {
    fn log(&self, record: &LogRecord) -> Result<(), LoggerError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

struct Refusing;

impl Authenticator for Refusing {
    fn authenticate(&self, _request: AuthRequest) -> AuthFuture<'_> {
        Box::pin(async { AuthOutcome::Failed })
    }
}

fn policy(pin: SpkiPin) -> PinPolicy {
    let backup: SpkiPin = format!("sha256/{}", "B".repeat(42) + "A=").parse().unwrap();
    PinPolicy::new(vec![DomainPolicy::new(HOST, false, [pin, backup]).unwrap()]).unwrap()
}

#[test]
fn no_canary_leaves_through_logs_events_errors_debug_or_panics() {
    let events = Arc::new(EventCollector::new());
    let core = RukaSec::new(Some(events.clone() as Arc<dyn SecurityEventListener>));
    let logs = Arc::new(Capture::default());
    core.set_logger(Some(logs.clone()), LogLevel::Trace)
        .unwrap();
    let mut seen = String::new();
    let mut note = |text: String| {
        seen.push_str(&text);
        seen.push('\n');
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // A registered secret that a careless line writes out.
    let registered = SecretString::new(REGISTERED.to_owned());
    core.register_secret_text(&registered).unwrap();
    tracing::warn!(target: "rukasec_test", "a careless line with {REGISTERED}");

    // The vault: put and get of a canary value under canary names.
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(
        core.open_vault(dir.path(), Arc::new(MemoryKeyWrapper::new()))
            .unwrap(),
    );
    vault
        .put(
            VAULT_ACCOUNT,
            "tokens",
            VAULT_NAME,
            VAULT_VALUE.as_bytes(),
            DataClass::Confidential,
            None,
        )
        .unwrap();
    let value = vault
        .get(VAULT_ACCOUNT, "tokens", VAULT_NAME)
        .unwrap()
        .unwrap();
    // Test: the value read back must be the canary.
    assert_eq!(value.expose_secret(), VAULT_VALUE.as_bytes());
    note(format!("{value:?}"));
    vault.rotate_kek(VAULT_ACCOUNT).unwrap();
    let error = vault
        .rotate_kek(&format!("{VAULT_ACCOUNT}-missing"))
        .unwrap_err();
    note(format!("{error} {error:?}"));

    // A failed unlock (the gate on its own counter), then a lock.
    let gate = UnlockGate::new(
        UnlockPolicy::default(),
        Some(Arc::new(Refusing)),
        Arc::new(MemoryAttemptStore::default()),
        Arc::new(rukasec_core::events::EventBus::new(Some(
            events.clone() as Arc<dyn SecurityEventListener>
        ))),
    )
    .unwrap();
    let error = runtime
        .block_on(gate.unlock(DataClass::Restricted, Some(VAULT_ACCOUNT), REASON))
        .unwrap_err();
    note(format!("{error} {error:?}"));
    gate.lock();

    // Requests with a canary bearer token, query and body: one pinned and accepted, one signed
    // with a device key, one refused for its pin.
    let pki = TestPki::new().unwrap();
    let server = TestServer::start(&pki, TestServerOptions::default()).unwrap();
    let options = ClientOptions {
        tls: TlsOptions {
            extra_roots: vec![pki.root_der()],
            ..TlsOptions::default()
        },
        resolve: vec![(HOST.to_owned(), server.addr())],
        ..ClientOptions::default()
    };
    let request = HttpRequest {
        method: "POST".to_owned(),
        url: format!(
            "https://{HOST}:{}/pay?access_token={QUERY}",
            server.addr().port()
        ),
        headers: vec![
            ("Authorization".to_owned(), format!("Bearer {BEARER}")),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ],
        body: BODY.as_bytes().to_vec(),
    };
    note(format!("{request:?}"));
    let client = core
        .https_client(
            options.clone(),
            policy(pin_of(&server.chain_der()[0]).unwrap()),
        )
        .unwrap();
    let response = runtime.block_on(client.send(request.clone())).unwrap();
    assert_eq!(response.status, 200);
    note(format!("{response:?}"));

    let key = SoftwareKey::generate().unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    // Test: a line of the private key's base64 is a canary of its own.
    let key_canary = pem.expose_secret().lines().nth(1).unwrap().to_owned();
    note(format!("{key:?} {pem:?} {:?}", key.public_key()));
    let response = runtime
        .block_on(client.send_signed(request.clone(), &key, &SignOptions::new("device-1")))
        .unwrap();
    note(format!("{response:?}"));

    let wrong: SpkiPin = format!("sha256/{}", "W".repeat(42) + "A=").parse().unwrap();
    let refused = core.https_client(options, policy(wrong)).unwrap();
    let error = runtime.block_on(refused.send(request.clone())).unwrap_err();
    note(format!("{error} {error:?}"));

    // A panic whose message is built from the objects.
    let panic = std::panic::catch_unwind(|| {
        panic!("while paying: {request:?} {value:?} {pem:?}");
    })
    .unwrap_err();
    note(panic.downcast_ref::<String>().cloned().unwrap_or_default());

    assert!(core.events().flush(WAIT));
    assert!(core.flush_logs(WAIT));
    let records = logs.0.lock().unwrap().clone();
    let log_text: String = records
        .iter()
        .map(|r| format!("{} {} {}\n", r.level.as_str(), r.target, r.message))
        .collect();
    let event_text = format!("{:?}", events.events());

    // The session really went through logs and events.
    for expected in [
        "vault opened",
        "key rotated key=kek",
        "key rotation failed",
        "request started",
        "request finished",
        "request failed",
        "unlock failed",
        "locked",
        "[redacted]",
    ] {
        assert!(
            log_text.contains(expected),
            "no {expected:?} in the logs:\n{log_text}"
        );
    }
    for expected in [
        "PinMismatch",
        "UnlockFailed",
        "VaultLocked",
        "VaultKeyRotated",
    ] {
        assert!(
            event_text.contains(expected),
            "no {expected} event: {event_text}"
        );
    }

    let everything = format!("{log_text}\n{event_text}\n{seen}");
    for canary in [
        VAULT_VALUE,
        VAULT_ACCOUNT,
        VAULT_NAME,
        BEARER,
        QUERY,
        BODY,
        REASON,
        REGISTERED,
        &key_canary,
        "CANARY",
    ] {
        assert!(
            !everything.contains(canary),
            "{canary} leaked:\n{everything}"
        );
    }
}
