//! The verifier's replay store: a store shared by several verifiers (a server fleet) refuses a
//! nonce any of them accepted, concurrently too; a store that cannot answer refuses the request
//! (fails closed); and the Redis store (feature `redis`) against a real `redis-server` that
//! `scripts/test-redis.sh` starts on a loopback port (`RUKASEC_REDIS_URL`, and
//! `RUKASEC_REDIS_EVICTING_URL` for one configured to evict keys).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rukasec_core::crypto::Crypto;
use rukasec_core::signing::{
    MemoryReplayStore, NonceVerdict, ReplayStore, ReplayStoreUnavailable, RequestSigner as _,
    SignOptions, SignatureVerifier, SoftwareKey, VerifierOptions, sign_request,
};
use rukasec_core::tls::HttpRequest;
use rukasec_core::{Error, Result, SignatureFailure};

const NOW: u64 = 1_750_000_000;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn failure<T: std::fmt::Debug>(result: Result<T>) -> SignatureFailure {
    match result {
        Err(Error::Signature { failure, .. }) => failure,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

/// A device key and requests it signed (each with a fresh random nonce, the default).
struct Device {
    crypto: Crypto,
    key: SoftwareKey,
}

impl Device {
    fn new() -> Self {
        let crypto = Crypto::get().unwrap();
        let key = SoftwareKey::generate().unwrap();
        Self { crypto, key }
    }

    fn keys(&self) -> Arc<HashMap<String, Vec<u8>>> {
        Arc::new([("device-1".to_owned(), self.key.public_key_sec1().unwrap())].into())
    }

    fn payment(&self, now: u64) -> HttpRequest {
        let mut request = HttpRequest {
            method: "POST".to_owned(),
            url: "https://api.rukapay.example/v1/payments".to_owned(),
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: br#"{"to":"256700000000","amount":15000}"#.to_vec(),
        };
        let options = SignOptions::new("device-1");
        sign_request(&self.crypto, &self.key, &request, &options, at(now))
            .unwrap()
            .apply(&mut request);
        request
    }

    fn verifier(&self, store: Arc<dyn ReplayStore>) -> SignatureVerifier {
        SignatureVerifier::with_replay_store(self.keys(), VerifierOptions::default(), store)
    }
}

/// The fleet property for any store: what one verifier accepted, every verifier on the same
/// store refuses; a request accepted once is accepted exactly once however many race it.
fn fleet_refuses_each_others_replays(stores: [Arc<dyn ReplayStore>; 2]) {
    let device = Device::new();
    let [a, b] = stores.map(|store| device.verifier(store));
    let request = device.payment(NOW);
    a.verify(&device.crypto, &request, at(NOW)).unwrap();
    assert_eq!(
        failure(b.verify(&device.crypto, &request, at(NOW + 1))),
        SignatureFailure::Replayed,
        "instance B accepted a request instance A already accepted"
    );
    assert_eq!(
        failure(a.verify(&device.crypto, &request, at(NOW + 2))),
        SignatureFailure::Replayed
    );
    // A fresh request from the same device still passes on either instance.
    b.verify(&device.crypto, &device.payment(NOW), at(NOW))
        .unwrap();
}

fn fleet_lets_a_raced_request_through_once(stores: Vec<Arc<dyn ReplayStore>>) {
    let device = Arc::new(Device::new());
    let request = Arc::new(device.payment(NOW));
    let verifiers: Vec<_> = stores.into_iter().map(|s| device.verifier(s)).collect();
    let per_verifier = 3;
    let barrier = Arc::new(Barrier::new(verifiers.len() * per_verifier));
    let accepted = Arc::new(AtomicUsize::new(0));
    let verifiers = Arc::new(verifiers);
    let handles: Vec<_> = (0..verifiers.len() * per_verifier)
        .map(|i| {
            let (device, request, barrier, accepted, verifiers) = (
                Arc::clone(&device),
                Arc::clone(&request),
                Arc::clone(&barrier),
                Arc::clone(&accepted),
                Arc::clone(&verifiers),
            );
            thread::spawn(move || {
                let verifier = &verifiers[i % verifiers.len()];
                barrier.wait();
                match verifier.verify(&device.crypto, &request, at(NOW)) {
                    Ok(_) => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => assert_eq!(failure::<()>(Err(error)), SignatureFailure::Replayed),
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn verifiers_sharing_a_memory_store_refuse_each_others_replays() {
    let shared: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new(100, 10));
    fleet_refuses_each_others_replays([Arc::clone(&shared), shared]);
}

#[test]
fn verifiers_with_their_own_memory_stores_do_not_share() {
    // What the shared store is for: two instances each with its own memory accept the same
    // captured payment once each. If this ever fails, the fleet test above proves nothing.
    let device = Device::new();
    let request = device.payment(NOW);
    for _ in 0..2 {
        let verifier = device.verifier(Arc::new(MemoryReplayStore::new(100, 10)));
        verifier.verify(&device.crypto, &request, at(NOW)).unwrap();
    }
}

#[test]
fn a_raced_request_passes_once_on_a_shared_memory_store() {
    let shared: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new(100, 10));
    fleet_lets_a_raced_request_through_once(vec![Arc::clone(&shared), shared]);
}

/// A store that cannot answer, remembering that it was asked.
#[derive(Default)]
struct DownStore {
    asked: AtomicUsize,
}

impl ReplayStore for DownStore {
    fn check_and_remember(
        &self,
        _keyid: &str,
        _nonce: &str,
        _valid_until: u64,
        _now: u64,
    ) -> std::result::Result<NonceVerdict, ReplayStoreUnavailable> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Err(ReplayStoreUnavailable::new("test store down"))
    }
}

#[test]
fn a_store_that_cannot_answer_refuses_the_request() {
    let device = Device::new();
    let store = Arc::new(DownStore::default());
    let verifier = device.verifier(Arc::clone(&store) as Arc<dyn ReplayStore>);
    let result = verifier.verify(&device.crypto, &device.payment(NOW), at(NOW));
    assert_eq!(failure(result), SignatureFailure::ReplayStoreUnavailable);
    assert_eq!(store.asked.load(Ordering::SeqCst), 1);
    assert_eq!(
        SignatureFailure::ReplayStoreUnavailable.as_str(),
        "replay-store-unavailable"
    );
}

#[test]
fn the_store_is_asked_only_after_the_signature_verified() {
    // A forged request must not reach the (shared, remote) store: it could fill it, or learn
    // from its latency.
    let device = Device::new();
    let store = Arc::new(DownStore::default());
    let verifier = device.verifier(Arc::clone(&store) as Arc<dyn ReplayStore>);
    let mut forged = device.payment(NOW);
    forged.body = br#"{"to":"256799999999","amount":15000000}"#.to_vec();
    assert_eq!(
        failure(verifier.verify(&device.crypto, &forged, at(NOW))),
        SignatureFailure::DigestMismatch
    );
    assert_eq!(store.asked.load(Ordering::SeqCst), 0);
}

#[cfg(feature = "redis")]
mod redis {
    use std::net::TcpListener;

    use rukasec_core::signing::RedisReplayStore;

    use super::*;

    fn url(variable: &str) -> String {
        std::env::var(variable).unwrap_or_else(|_| {
            panic!("{variable} is not set: run these tests with scripts/test-redis.sh")
        })
    }

    /// A store on the test server with keys under a prefix of this test's own.
    fn store(variable: &str, test: &str) -> Arc<dyn ReplayStore> {
        let prefix = format!("rukasec-test:{test}:{}:", std::process::id());
        Arc::new(RedisReplayStore::open(&url(variable), &prefix, Duration::from_secs(2)).unwrap())
    }

    /// A loopback port with nothing listening.
    fn dead_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[test]
    #[ignore = "needs redis-server: scripts/test-redis.sh"]
    fn verifiers_sharing_one_redis_refuse_each_others_replays() {
        // Two stores, two connections pools: what two server instances have.
        let name = "fleet";
        fleet_refuses_each_others_replays([
            store("RUKASEC_REDIS_URL", name),
            store("RUKASEC_REDIS_URL", name),
        ]);
    }

    #[test]
    #[ignore = "needs redis-server: scripts/test-redis.sh"]
    fn a_raced_request_passes_once_across_instances_on_one_redis() {
        let name = "race";
        fleet_lets_a_raced_request_through_once(
            (0..4).map(|_| store("RUKASEC_REDIS_URL", name)).collect(),
        );
    }

    #[test]
    #[ignore = "needs redis-server: scripts/test-redis.sh"]
    fn redis_keys_separate_key_ids_and_nonces_without_collisions() {
        let store = store("RUKASEC_REDIS_URL", "pairs");
        let fresh = |keyid: &str, nonce: &str| {
            store
                .check_and_remember(keyid, nonce, NOW + 60, NOW)
                .unwrap()
        };
        assert_eq!(fresh("a", "bc"), NonceVerdict::Fresh);
        assert_eq!(
            fresh("ab", "c"),
            NonceVerdict::Fresh,
            "(a, bc) collided with (ab, c)"
        );
        assert_eq!(
            fresh("b", "bc"),
            NonceVerdict::Fresh,
            "nonces are per key id"
        );
        assert_eq!(fresh("a", "bc"), NonceVerdict::Seen);
    }

    #[test]
    #[ignore = "needs redis-server: scripts/test-redis.sh"]
    fn redis_forgets_a_nonce_only_after_its_window() {
        let store = store("RUKASEC_REDIS_URL", "expiry");
        // Valid until NOW + 1 inclusive: Redis must keep it two seconds.
        assert_eq!(
            store.check_and_remember("k", "n", NOW + 1, NOW).unwrap(),
            NonceVerdict::Fresh
        );
        thread::sleep(Duration::from_millis(1_500));
        assert_eq!(
            store.check_and_remember("k", "n", NOW + 1, NOW).unwrap(),
            NonceVerdict::Seen,
            "forgotten before its window ended"
        );
        thread::sleep(Duration::from_millis(1_000));
        assert_eq!(
            store.check_and_remember("k", "n", NOW + 1, NOW).unwrap(),
            NonceVerdict::Fresh,
            "kept after its window (the store would grow without bound)"
        );
    }

    #[test]
    #[ignore = "needs redis-server: scripts/test-redis.sh"]
    fn a_redis_that_may_evict_nonces_is_refused() {
        // allkeys-lru (or any volatile-* policy: every nonce key has an expiry) would drop
        // nonces under memory pressure and let their requests replay.
        let device = Device::new();
        let verifier = device.verifier(store("RUKASEC_REDIS_EVICTING_URL", "evicting"));
        assert_eq!(
            failure(verifier.verify(&device.crypto, &device.payment(NOW), at(NOW))),
            SignatureFailure::ReplayStoreUnavailable
        );
    }

    #[test]
    fn an_unreachable_redis_fails_closed_without_leaking_the_password() {
        let canary = "canary-redis-password-5d1f";
        let url = format!("redis://rukasec:{canary}@127.0.0.1:{}/0", dead_port());
        let store = RedisReplayStore::open(&url, "rukasec:", Duration::from_millis(500)).unwrap();
        assert!(!format!("{store:?}").contains(canary));
        let device = Device::new();
        let verifier = device.verifier(Arc::new(store));
        let error = verifier
            .verify(&device.crypto, &device.payment(NOW), at(NOW))
            .unwrap_err();
        assert!(!format!("{error:?} {error}").contains(canary));
        assert_eq!(
            failure::<()>(Err(error)),
            SignatureFailure::ReplayStoreUnavailable
        );
    }

    #[test]
    fn a_bad_redis_url_is_invalid_input_without_echoing_it() {
        let canary = "canary-redis-password-77aa";
        let error = RedisReplayStore::open(
            &format!("http://user:{canary}@host/"),
            "p:",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }));
        assert!(!format!("{error:?}").contains(canary));
        assert!(matches!(
            RedisReplayStore::open("redis://127.0.0.1/", "p:", Duration::ZERO),
            Err(Error::InvalidInput { .. })
        ));
    }
}
