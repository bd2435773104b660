//! Device keys that need the user for each signature (an Android key with
//! `setUserAuthenticationParameters`, a Secure Enclave key with `.biometryCurrentSet`): the
//! platform prompts and signs in one step, the core's unlock gate decides, counts and locks out.
//! A scripted signer stands in for BiometricPrompt with a `CryptoObject`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rukasec_core::crypto::Crypto;
use rukasec_core::events::{EventBus, EventCollector, SecurityEventKind};
use rukasec_core::signing::{
    AuthBoundKey, AuthBoundSigner, DpopOptions, RequestSigner, SignOptions, SignatureVerifier,
    SoftwareKey, VerifierOptions,
};
use rukasec_core::tls::HttpRequest;
use rukasec_core::unlock::{
    AuthMethod, AuthOutcome, AuthRequest, AuthenticatedUse, AuthenticatedUseFuture,
    MemoryAttemptStore, UnlockClock, UnlockGate, UnlockPolicy,
};
use rukasec_core::vault::DataClass;
use rukasec_core::{Error, SignatureFailure};

/// What the scripted platform does for one signature.
#[derive(Clone, Copy)]
enum Step {
    /// The user authenticated with this method; the key signs.
    Sign(AuthMethod),
    /// The user authenticated, but the platform returns garbage bytes as the signature.
    SignGarbage,
    /// The prompt ended with this outcome, no signature.
    Refuse(AuthOutcome),
    /// The keystore failed (not the prompt).
    Fail,
}

/// A platform key that prompts (by script) and signs with a software key inside.
struct ScriptedSigner {
    key: SoftwareKey,
    script: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<AuthRequest>>,
}

impl ScriptedSigner {
    fn new(script: impl IntoIterator<Item = Step>) -> Arc<Self> {
        Arc::new(Self {
            key: SoftwareKey::generate().unwrap(),
            script: Mutex::new(script.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        })
    }

    fn prompts(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl AuthBoundSigner for ScriptedSigner {
    fn public_key(&self) -> rukasec_core::Result<Vec<u8>> {
        self.key.public_key_sec1()
    }

    fn sign(&self, message: Vec<u8>, request: AuthRequest) -> AuthenticatedUseFuture<'_, Vec<u8>> {
        self.requests.lock().unwrap().push(request);
        let step = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .expect("a prompt the test did not script");
        Box::pin(async move {
            match step {
                Step::Sign(method) => Ok(AuthenticatedUse::Done {
                    method,
                    value: self.key.sign_p1363(&message)?.to_vec(),
                }),
                Step::SignGarbage => Ok(AuthenticatedUse::Done {
                    method: AuthMethod::StrongBiometric,
                    value: vec![7; 64],
                }),
                Step::Refuse(outcome) => Ok(AuthenticatedUse::Refused(outcome)),
                Step::Fail => Err(Error::Signature {
                    failure: SignatureFailure::SignerFailed,
                    reason: "keystore failed".to_owned(),
                }),
            }
        })
    }
}

struct FixedClock(AtomicU64);

impl UnlockClock for FixedClock {
    fn monotonic_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn wall_ms(&self) -> i64 {
        1_800_000_000_000 + i64::try_from(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

struct World {
    gate: Arc<UnlockGate>,
    bus: Arc<EventBus>,
    events: Arc<EventCollector>,
}

impl World {
    fn new(policy: UnlockPolicy) -> Self {
        let events = Arc::new(EventCollector::new());
        let bus = Arc::new(EventBus::new(Some(events.clone())));
        let gate = UnlockGate::with_clock(
            policy,
            None,
            Arc::new(MemoryAttemptStore::default()),
            bus.clone(),
            Arc::new(FixedClock(AtomicU64::new(1_000))),
        )
        .unwrap();
        Self {
            gate: Arc::new(gate),
            bus,
            events,
        }
    }

    /// The events of `kind` delivered so far (delivery is on the bus's thread).
    fn events_of(&self, kind: SecurityEventKind) -> usize {
        assert!(self.bus.flush(Duration::from_secs(10)));
        self.events.of_kind(kind).len()
    }

    fn key(&self, signer: &Arc<ScriptedSigner>) -> AuthBoundKey {
        AuthBoundKey::new(signer.clone(), self.gate.clone()).unwrap()
    }
}

fn strong() -> Step {
    Step::Sign(AuthMethod::StrongBiometric)
}

fn request() -> HttpRequest {
    HttpRequest {
        method: "POST".to_owned(),
        url: "https://api.rukapay.test/v1/payments".to_owned(),
        headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body: br#"{"amount":5000}"#.to_vec(),
    }
}

fn verify(
    key: &AuthBoundKey,
    mut request: HttpRequest,
    headers: rukasec_core::signing::SignedRequestHeaders,
) {
    headers.apply(&mut request);
    let keys: HashMap<String, Vec<u8>> =
        HashMap::from([("device-1".to_owned(), key.public_key().sec1)]);
    let verifier = SignatureVerifier::new(Arc::new(keys), VerifierOptions::default());
    verifier
        .verify(&Crypto::get().unwrap(), &request, SystemTime::now())
        .expect("the prompted signature verifies");
}

#[tokio::test]
async fn a_prompted_signature_verifies_and_the_request_names_restricted_and_strong() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([strong()]);
    let key = world.key(&signer);
    let headers = key
        .sign_request(
            &request(),
            &SignOptions::new("device-1"),
            SystemTime::now(),
            "Confirm the payment",
        )
        .await
        .unwrap();
    verify(&key, request(), headers);
    let requests = signer.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].class, DataClass::Restricted);
    assert_eq!(requests[0].allowed, vec![AuthMethod::StrongBiometric]);
    assert_eq!(requests[0].reason, "Confirm the payment");
    assert_eq!(world.events_of(SecurityEventKind::UnlockSucceeded), 1);
}

#[tokio::test]
async fn every_signature_prompts_again() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([strong(), strong()]);
    let key = world.key(&signer);
    for _ in 0..2 {
        key.sign_p1363(b"message", "Sign").await.unwrap();
    }
    assert_eq!(signer.prompts(), 2);
}

#[tokio::test]
async fn a_cancelled_prompt_is_user_cancelled_and_not_counted() {
    let world = World::new(UnlockPolicy {
        max_failures: 1,
        ..UnlockPolicy::default()
    });
    let signer = ScriptedSigner::new([Step::Refuse(AuthOutcome::Cancelled), strong()]);
    let key = world.key(&signer);
    let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
    assert!(matches!(error, Error::UserCancelled), "{error:?}");
    assert_eq!(world.events_of(SecurityEventKind::UnlockCancelled), 1);
    // One failure would lock out: the cancel was not one.
    key.sign_p1363(b"m", "Sign").await.unwrap();
}

#[tokio::test]
async fn failures_count_to_a_lockout_that_refuses_before_prompting() {
    let world = World::new(UnlockPolicy {
        max_failures: 3,
        ..UnlockPolicy::default()
    });
    let failed = Step::Refuse(AuthOutcome::Failed);
    let signer = ScriptedSigner::new([failed, failed, failed]);
    let key = world.key(&signer);
    for remaining in [2, 1] {
        match key.sign_p1363(b"m", "Sign").await.unwrap_err() {
            Error::AuthenticationFailed { remaining_attempts } => {
                assert_eq!(remaining_attempts, remaining);
            }
            other => panic!("{other:?}"),
        }
    }
    let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
    assert!(matches!(error, Error::LockedOut { .. }), "{error:?}");
    assert_eq!(world.events_of(SecurityEventKind::UnlockFailed), 3);
    // Locked out: refused without asking the platform (the script is empty: a prompt panics).
    let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
    assert!(matches!(error, Error::LockedOut { .. }), "{error:?}");
    assert_eq!(signer.prompts(), 3);
    assert!(world.gate.locked_out_until().unwrap().is_some());
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let world = World::new(UnlockPolicy {
        max_failures: 3,
        ..UnlockPolicy::default()
    });
    let failed = Step::Refuse(AuthOutcome::Failed);
    let signer = ScriptedSigner::new([failed, failed, strong(), failed]);
    let key = world.key(&signer);
    for _ in 0..2 {
        key.sign_p1363(b"m", "Sign").await.unwrap_err();
    }
    key.sign_p1363(b"m", "Sign").await.unwrap();
    match key.sign_p1363(b"m", "Sign").await.unwrap_err() {
        Error::AuthenticationFailed { remaining_attempts } => assert_eq!(remaining_attempts, 2),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_method_the_policy_does_not_allow_discards_the_signature() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([Step::Sign(AuthMethod::DeviceCredential)]);
    let key = world.key(&signer);
    let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
    assert!(
        matches!(error, Error::UserAuthenticationRequired),
        "{error:?}"
    );
    assert_eq!(world.events_of(SecurityEventKind::UnlockSucceeded), 0);
}

#[tokio::test]
async fn the_platform_outcomes_map_to_typed_errors() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([
        Step::Refuse(AuthOutcome::KeyInvalidated),
        Step::Refuse(AuthOutcome::LockedOut {
            until_unix_ms: Some(1_900_000_000_000),
        }),
        Step::Refuse(AuthOutcome::NotEnrolled),
        // A success without a signature is not one.
        Step::Refuse(AuthOutcome::Success {
            method: AuthMethod::StrongBiometric,
        }),
    ]);
    let key = world.key(&signer);
    let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
    assert!(matches!(error, Error::KeyInvalidated), "{error:?}");
    assert_eq!(world.events_of(SecurityEventKind::VaultKeyInvalidated), 1);
    match key.sign_p1363(b"m", "Sign").await.unwrap_err() {
        Error::LockedOut { until_unix_ms } => assert_eq!(until_unix_ms, 1_900_000_000_000),
        other => panic!("{other:?}"),
    }
    for _ in 0..2 {
        let error = key.sign_p1363(b"m", "Sign").await.unwrap_err();
        assert!(
            matches!(error, Error::UserAuthenticationRequired),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_signature_that_does_not_verify_or_a_failing_keystore_is_signer_failed() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([Step::SignGarbage, Step::Fail]);
    let key = world.key(&signer);
    for _ in 0..2 {
        match key.sign_p1363(b"m", "Sign").await.unwrap_err() {
            Error::Signature { failure, .. } => assert_eq!(failure, SignatureFailure::SignerFailed),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_prompted_dpop_proof_verifies() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([strong()]);
    let key = world.key(&signer);
    let proof = key
        .dpop_proof(
            &DpopOptions {
                method: "GET",
                url: "https://api.rukapay.test/v1/balance",
                access_token: None,
                nonce: None,
            },
            SystemTime::now(),
            "Sign in",
        )
        .await
        .unwrap();
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    Crypto::get()
        .unwrap()
        .p256_sha256_verify(
            &key.public_key().sec1,
            signing_input.as_bytes(),
            &<[u8; 64]>::try_from(signature.as_slice()).unwrap(),
        )
        .expect("the proof's signature verifies");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .unwrap();
    assert!(
        String::from_utf8(header)
            .unwrap()
            .contains(&key.public_key().jwk)
    );
}

#[tokio::test]
async fn a_prompted_signature_opens_the_gate_for_restricted_reads_within_the_window() {
    let world = World::new(UnlockPolicy::default());
    let signer = ScriptedSigner::new([strong()]);
    let key = world.key(&signer);
    assert!(world.gate.check(DataClass::Restricted, None).is_err());
    key.sign_p1363(b"m", "Sign").await.unwrap();
    world.gate.check(DataClass::Restricted, None).unwrap();
    world.gate.lock();
    assert!(world.gate.check(DataClass::Restricted, None).is_err());
}
