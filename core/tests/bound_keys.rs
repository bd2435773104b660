//! Restricted data keys bound to the user by the keystore itself: accounts created while an
//! `AuthBoundKeyWrapper` is attached keep their Restricted data key wrapped by it (an Android
//! key with `setUserAuthenticationParameters`, a Secure Enclave key with `.biometryCurrentSet`),
//! and only `Vault::unlock_bound` (the platform prompts and unwraps in one step, under the
//! gate's policy) makes their Restricted items readable. A scripted in-memory wrapper stands in
//! for BiometricPrompt with a `CryptoObject`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::events::{EventBus, EventCollector, SecurityEventKind};
use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{
    AuthFuture, AuthMethod, AuthOutcome, AuthRequest, AuthenticatedUse, AuthenticatedUseFuture,
    Authenticator, ClassRequirement, UnlockClock, UnlockGate, UnlockPolicy,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{
    AuthBoundKeyWrapper, COUNTER_ACCOUNT, DATABASE_FILE, DataClass, KeyAuthRequirement, KeyWrapper,
    PutItem, Vault, VaultAttemptStore, WrapperError,
};

const WAIT: Duration = Duration::from_secs(10);
const ALICE: &str = "alice";
const BOUND_PURPOSE: i64 = 32 + 3;
const PLAIN_RESTRICTED_PURPOSE: i64 = 16 + 3;

/// Settable monotonic and wall clocks, in milliseconds.
struct TestClock {
    mono: AtomicU64,
    wall: AtomicI64,
}

impl TestClock {
    fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap();
        self.mono.fetch_add(ms, Ordering::SeqCst);
        self.wall
            .fetch_add(i64::try_from(ms).unwrap(), Ordering::SeqCst);
    }
}

impl UnlockClock for TestClock {
    fn monotonic_ms(&self) -> u64 {
        self.mono.load(Ordering::SeqCst)
    }
    fn wall_ms(&self) -> i64 {
        self.wall.load(Ordering::SeqCst)
    }
}

/// How the scripted platform ends one unwrap.
#[derive(Clone)]
enum Prompt {
    /// The user authenticated with this method; the key unwraps.
    Unwrap(AuthMethod),
    /// The prompt ended without the key being used.
    Refuse(AuthOutcome),
    /// The keystore failed.
    Fail(WrapperError),
}

const STRONG: Prompt = Prompt::Unwrap(AuthMethod::StrongBiometric);

/// An auth-bound keystore in memory: wraps without a prompt, unwraps by script (then
/// `STRONG`), and records every prompt, key creation and deletion.
#[derive(Default)]
struct ScriptedBound {
    inner: MemoryKeyWrapper,
    script: Mutex<VecDeque<Prompt>>,
    requests: Mutex<Vec<AuthRequest>>,
    created: Mutex<Vec<(String, KeyAuthRequirement)>>,
    refuse_deletes: AtomicBool,
}

impl ScriptedBound {
    fn prompts(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn script(&self, prompts: impl IntoIterator<Item = Prompt>) {
        self.script.lock().unwrap().extend(prompts);
    }
}

impl AuthBoundKeyWrapper for ScriptedBound {
    fn create_key(
        &self,
        alias: &str,
        requirement: &KeyAuthRequirement,
    ) -> Result<(), WrapperError> {
        self.created
            .lock()
            .unwrap()
            .push((alias.to_owned(), requirement.clone()));
        self.inner.create_key(alias)
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.inner.wrap(alias, key)
    }

    fn unwrap(
        &self,
        alias: &str,
        wrapped: Vec<u8>,
        request: AuthRequest,
    ) -> AuthenticatedUseFuture<'_, SecretBytes, WrapperError> {
        self.requests.lock().unwrap().push(request);
        let step = self.script.lock().unwrap().pop_front().unwrap_or(STRONG);
        let alias = alias.to_owned();
        Box::pin(async move {
            match step {
                Prompt::Unwrap(method) => Ok(AuthenticatedUse::Done {
                    method,
                    value: self.inner.unwrap(&alias, &wrapped)?,
                }),
                Prompt::Refuse(outcome) => Ok(AuthenticatedUse::Refused(outcome)),
                Prompt::Fail(error) => Err(error),
            }
        })
    }

    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        if self.refuse_deletes.load(Ordering::SeqCst) {
            return Err(WrapperError::Failed {
                reason: "refused".to_owned(),
            });
        }
        self.inner.delete_key(alias)
    }
}

/// The app's ordinary prompt (no keystore key): always a strong biometric, counted.
#[derive(Default)]
struct CountingAuthenticator {
    prompts: Mutex<usize>,
}

impl Authenticator for CountingAuthenticator {
    fn authenticate(&self, _request: AuthRequest) -> AuthFuture<'_> {
        *self.prompts.lock().unwrap() += 1;
        Box::pin(async {
            AuthOutcome::Success {
                method: AuthMethod::StrongBiometric,
            }
        })
    }
}

struct World {
    dir: tempfile::TempDir,
    wrapper: Arc<MemoryKeyWrapper>,
    bound: Arc<ScriptedBound>,
    authenticator: Arc<CountingAuthenticator>,
    clock: Arc<TestClock>,
    events: Arc<EventCollector>,
    bus: Arc<EventBus>,
}

impl World {
    fn new() -> Self {
        let events = Arc::new(EventCollector::new());
        Self {
            dir: tempfile::tempdir().unwrap(),
            wrapper: Arc::new(MemoryKeyWrapper::new()),
            bound: Arc::new(ScriptedBound::default()),
            authenticator: Arc::new(CountingAuthenticator::default()),
            clock: Arc::new(TestClock {
                mono: AtomicU64::new(1_000),
                wall: AtomicI64::new(1_800_000_000_000),
            }),
            bus: Arc::new(EventBus::new(Some(events.clone()))),
            events,
        }
    }

    fn open(&self) -> Arc<Vault> {
        Arc::new(Vault::open(self.dir.path(), self.wrapper.clone(), self.bus.clone()).unwrap())
    }

    fn gate(&self, vault: &Arc<Vault>, policy: UnlockPolicy) -> Arc<UnlockGate> {
        Arc::new(
            UnlockGate::with_clock(
                policy,
                Some(self.authenticator.clone()),
                Arc::new(VaultAttemptStore::new(vault)),
                self.bus.clone(),
                self.clock.clone(),
            )
            .unwrap(),
        )
    }

    /// A vault whose new accounts get bound Restricted keys, under a gate of `policy`.
    fn bound_vault(&self, policy: UnlockPolicy) -> (Arc<Vault>, Arc<UnlockGate>) {
        let vault = self.open();
        let gate = self.gate(&vault, policy);
        vault
            .attach_unlock_gate_with_bound_keys(gate.clone(), self.bound.clone())
            .unwrap();
        (vault, gate)
    }

    /// A vault with an ordinary gate only (no bound wrapper).
    fn plain_vault(&self) -> (Arc<Vault>, Arc<UnlockGate>) {
        let vault = self.open();
        let gate = self.gate(&vault, UnlockPolicy::default());
        vault.attach_unlock_gate(gate.clone()).unwrap();
        (vault, gate)
    }

    fn authenticator_prompts(&self) -> usize {
        *self.authenticator.prompts.lock().unwrap()
    }

    fn kinds(&self, kind: SecurityEventKind) -> usize {
        assert!(self.bus.flush(WAIT));
        self.events.of_kind(kind).len()
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join(DATABASE_FILE)).unwrap()
    }

    /// Every `keys` row: account tag, purpose, version, wrapped.
    fn key_rows(&self) -> Vec<(Vec<u8>, i64, i64, Vec<u8>)> {
        let db = self.db();
        let mut statement = db
            .prepare("SELECT account_tag, purpose, version, wrapped FROM keys")
            .unwrap();
        statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn retired_keks(&self) -> Vec<String> {
        let db = self.db();
        let mut statement = db.prepare("SELECT alias FROM retired_keks").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The aliases of bound KEKs the bound keystore holds.
    fn bound_keks(&self) -> Vec<String> {
        self.bound.inner.aliases()
    }
}

fn window(window: Duration) -> UnlockPolicy {
    let mut policy = UnlockPolicy::default();
    policy.classes[3].0 = ClassRequirement::Recent { window };
    policy
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One item per class for `account`.
fn fill(vault: &Vault, account: &str) {
    let items: Vec<PutItem> = DataClass::ALL
        .iter()
        .map(|class| PutItem {
            namespace: "ns".to_owned(),
            name: class.as_str().to_owned(),
            value: SecretBytes::from_slice(class.as_str().as_bytes()),
            class: *class,
            ttl: None,
        })
        .collect();
    vault.put_batch(account, &items).unwrap();
}

fn read(vault: &Vault, class: DataClass) -> Result<Vec<u8>, Error> {
    vault
        .get(ALICE, "ns", class.as_str())
        .map(|value| value.unwrap().expose_secret().to_vec())
}

fn unlock(rt: &tokio::runtime::Runtime, vault: &Vault) -> Result<(), Error> {
    rt.block_on(vault.unlock_bound(ALICE, DataClass::Restricted, "Show the card"))
        .map(|_| ())
}

#[test]
fn a_restricted_read_prompts_once_through_the_bound_wrapper_not_the_authenticator() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    assert!(vault.has_bound_key(ALICE, DataClass::Restricted).unwrap());
    assert!(!vault.has_bound_key(ALICE, DataClass::Confidential).unwrap());
    // The bound KEK was made with the gate's Restricted policy, without a prompt.
    let created = world.bound.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert!(
        created[0].0.starts_with("rukasec.bkek.v2."),
        "{}",
        created[0].0
    );
    assert!(created[0].0.ends_with(".3.1"), "{}", created[0].0);
    assert_eq!(
        created[0].1,
        KeyAuthRequirement {
            methods: vec![AuthMethod::StrongBiometric],
            validity: Duration::from_secs(10),
        }
    );
    assert_eq!(world.bound.prompts(), 0);
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );

    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    assert_eq!(world.bound.prompts(), 1);
    assert_eq!(world.authenticator_prompts(), 0);
    let request = world.bound.requests.lock().unwrap()[0].clone();
    assert_eq!(request.class, DataClass::Restricted);
    assert_eq!(request.allowed, vec![AuthMethod::StrongBiometric]);
    assert_eq!(request.account.as_deref(), Some(ALICE));
    assert_eq!(request.reason, "Show the card");
    assert_eq!(world.kinds(SecurityEventKind::UnlockSucceeded), 1);
    // Unlocking again within the window does not prompt.
    unlock(&rt, &vault).unwrap();
    assert_eq!(world.bound.prompts(), 1);
}

#[test]
fn a_blocking_read_needs_the_bound_key_even_after_an_authenticator_unlock() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = runtime();
    rt.block_on(gate.unlock(DataClass::Restricted, Some(ALICE), "Pay"))
        .unwrap();
    assert_eq!(world.authenticator_prompts(), 1);
    // The gate is open, the platform never released the key.
    gate.check(DataClass::Restricted, None).unwrap();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    assert_eq!(world.bound.prompts(), 0);
    // The other classes read as before.
    assert_eq!(read(&vault, DataClass::Public).unwrap(), b"public");
    assert_eq!(read(&vault, DataClass::Internal).unwrap(), b"internal");
    assert_eq!(
        read(&vault, DataClass::Confidential).unwrap(),
        b"confidential"
    );
}

#[test]
fn internal_and_confidential_items_of_a_bound_account_need_what_they_needed() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    assert_eq!(read(&vault, DataClass::Public).unwrap(), b"public");
    for class in [DataClass::Internal, DataClass::Confidential] {
        assert_eq!(read(&vault, class), Err(Error::UserAuthenticationRequired));
    }
    let rt = runtime();
    // A bound unlock is an authentication like a prompt: it opens the session too.
    unlock(&rt, &vault).unwrap();
    assert_eq!(read(&vault, DataClass::Internal).unwrap(), b"internal");
    assert_eq!(
        read(&vault, DataClass::Confidential).unwrap(),
        b"confidential"
    );
    gate.lock();
    rt.block_on(gate.unlock(DataClass::Confidential, Some(ALICE), "History"))
        .unwrap();
    assert_eq!(
        read(&vault, DataClass::Confidential).unwrap(),
        b"confidential"
    );
    // Writes of the other classes need nothing, as before.
    gate.lock();
    vault
        .put(ALICE, "ns", "more", b"x", DataClass::Confidential, None)
        .unwrap();
    assert_eq!(vault.list(ALICE, "ns").unwrap().len(), 5);
}

#[test]
fn a_zero_window_prompts_for_each_read() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(window(Duration::ZERO));
    fill(&vault, ALICE);
    assert_eq!(
        world.bound.created.lock().unwrap()[0].1.validity,
        Duration::ZERO
    );
    let rt = runtime();
    for round in 1..=3 {
        let grant = rt
            .block_on(vault.unlock_bound(ALICE, DataClass::Restricted, "Pay"))
            .unwrap();
        assert_eq!(
            vault
                .get_granted(&grant, ALICE, "ns", "restricted")
                .unwrap()
                .unwrap()
                .expose_secret(),
            b"restricted"
        );
        // The key served its one read.
        assert_eq!(
            vault
                .get_granted(&grant, ALICE, "ns", "restricted")
                .map(|v| v.is_some()),
            Err(Error::UserAuthenticationRequired)
        );
        assert_eq!(world.bound.prompts(), round);
    }
}

#[test]
fn within_the_window_reads_do_not_prompt_and_after_it_they_do() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    world.clock.advance(Duration::from_secs(10));
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    world.clock.advance(Duration::from_millis(1));
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    // A later ordinary prompt opens the gate, not the dropped key.
    rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    unlock(&rt, &vault).unwrap();
    assert_eq!(world.bound.prompts(), 2);
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
}

#[test]
fn a_bound_key_does_not_outlive_its_own_authentication_behind_a_later_one() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    // Another authenticated use 8 s later (a signature) keeps the gate open until 18 s; the
    // key's own authentication ends at 10 s.
    world.clock.advance(Duration::from_secs(8));
    rt.block_on(
        gate.authenticate_use(DataClass::Restricted, None, "Sign", |_| async {
            Ok(AuthenticatedUse::Done {
                method: AuthMethod::StrongBiometric,
                value: (),
            })
        }),
    )
    .unwrap();
    world.clock.advance(Duration::from_secs(4));
    gate.check(DataClass::Restricted, None).unwrap();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    assert_eq!(world.bound.prompts(), 1);
}

#[test]
fn a_lock_drops_the_bound_key() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    assert!(read(&vault, DataClass::Restricted).is_ok());
    gate.lock();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    unlock(&rt, &vault).unwrap();
    assert!(read(&vault, DataClass::Restricted).is_ok());
    gate.on_app_background();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    // Dropping the keys directly does it too.
    unlock(&rt, &vault).unwrap();
    vault.forget_keys();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    assert_eq!(world.bound.prompts(), 3);
}

#[test]
fn failures_count_to_a_lockout_that_refuses_without_calling_the_wrapper() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy {
        max_failures: 3,
        ..UnlockPolicy::default()
    });
    fill(&vault, ALICE);
    let failed = Prompt::Refuse(AuthOutcome::Failed);
    world.bound.script([failed.clone(), failed.clone(), failed]);
    let rt = runtime();
    for remaining in [2, 1] {
        assert_eq!(
            unlock(&rt, &vault),
            Err(Error::AuthenticationFailed {
                remaining_attempts: remaining
            })
        );
    }
    assert!(matches!(unlock(&rt, &vault), Err(Error::LockedOut { .. })));
    assert!(matches!(unlock(&rt, &vault), Err(Error::LockedOut { .. })));
    assert_eq!(
        world.bound.prompts(),
        3,
        "refused without calling the wrapper"
    );
    assert_eq!(world.kinds(SecurityEventKind::UnlockFailed), 3);
    assert!(matches!(
        read(&vault, DataClass::Restricted),
        Err(Error::LockedOut { .. })
    ));
    // After the lockout the next success unlocks the key.
    world.clock.advance(Duration::from_secs(31));
    unlock(&rt, &vault).unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    // The gate's counter account is not bound.
    assert!(
        !vault
            .has_bound_key(COUNTER_ACCOUNT, DataClass::Restricted)
            .unwrap()
    );
}

#[test]
fn platform_outcomes_are_typed_errors_and_leave_the_key_locked() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    world.bound.script([
        Prompt::Refuse(AuthOutcome::Cancelled),
        Prompt::Refuse(AuthOutcome::KeyInvalidated),
        Prompt::Fail(WrapperError::KeyInvalidated),
        // A method Restricted does not allow: the unwrapped key is discarded.
        Prompt::Unwrap(AuthMethod::DeviceCredential),
        Prompt::Fail(WrapperError::KeyNotFound),
    ]);
    let rt = runtime();
    assert_eq!(unlock(&rt, &vault), Err(Error::UserCancelled));
    assert_eq!(world.kinds(SecurityEventKind::UnlockCancelled), 1);
    assert_eq!(unlock(&rt, &vault), Err(Error::KeyInvalidated));
    assert_eq!(unlock(&rt, &vault), Err(Error::KeyInvalidated));
    assert_eq!(world.kinds(SecurityEventKind::VaultKeyInvalidated), 2);
    assert_eq!(unlock(&rt, &vault), Err(Error::UserAuthenticationRequired));
    assert_eq!(unlock(&rt, &vault), Err(Error::KeyUnavailable));
    assert_eq!(world.bound.prompts(), 5);
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    assert_eq!(world.kinds(SecurityEventKind::UnlockFailed), 0);
}

#[test]
fn no_plain_restricted_data_key_row_exists_for_a_bound_account() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rows = world.key_rows();
    let purposes: BTreeSet<i64> = rows.iter().map(|row| row.1).collect();
    assert_eq!(purposes, BTreeSet::from([1, 2, 16, 17, 18, BOUND_PURPOSE]));
    // The row holds the bound wrapper's output over the key payload naming its row.
    let (tag, _, version, wrapped) = rows.iter().find(|row| row.1 == BOUND_PURPOSE).unwrap();
    let alias = format!("rukasec.bkek.v2.{}.3.{version}", hex::encode(&tag[..16]));
    let payload = world.bound.inner.unwrap(&alias, wrapped).unwrap();
    let payload = payload.expose_secret();
    assert_eq!(payload.len(), 74);
    assert_eq!(&payload[..6], b"RKSK\x02\x23");
    assert_eq!(&payload[6..10], &1u32.to_be_bytes());
    assert_eq!(&payload[10..42], tag.as_slice());
    // Nothing the account KEK holds opens it.
    let kek = format!("rukasec.kek.v2.{}.1", hex::encode(&tag[..16]));
    assert!(world.wrapper.unwrap(&kek, wrapped).is_err());

    // An account made without a bound wrapper has the plain row (the control).
    let other = World::new();
    let (plain, _gate) = other.plain_vault();
    fill(&plain, ALICE);
    assert!(
        other
            .key_rows()
            .iter()
            .any(|row| row.1 == PLAIN_RESTRICTED_PURPOSE)
    );
    assert!(!plain.has_bound_key(ALICE, DataClass::Restricted).unwrap());
}

#[test]
fn a_removed_or_tampered_bound_row_is_an_integrity_failure() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = runtime();
    // Tampered: the bound wrapper rejects it.
    let (_, _, _, mut wrapped) = world
        .key_rows()
        .into_iter()
        .find(|row| row.1 == BOUND_PURPOSE)
        .unwrap();
    let last = wrapped.len() - 1;
    wrapped[last] ^= 1;
    world
        .db()
        .execute(
            "UPDATE keys SET wrapped = ?1 WHERE purpose = ?2",
            rusqlite::params![wrapped, BOUND_PURPOSE],
        )
        .unwrap();
    assert_eq!(unlock(&rt, &vault), Err(Error::Integrity));
    assert!(world.bus.flush(WAIT));
    let failures = world
        .events
        .of_kind(SecurityEventKind::VaultIntegrityFailure);
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].details.get("what").map(String::as_str),
        Some("wrapped_key")
    );
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    // Removed: the class has no key left, and no plain key takes its place.
    world
        .db()
        .execute("DELETE FROM keys WHERE purpose = ?1", [BOUND_PURPOSE])
        .unwrap();
    assert_eq!(read(&vault, DataClass::Public), Err(Error::Integrity));
}

#[test]
fn a_bound_key_that_unwraps_to_another_rows_payload_is_an_integrity_failure() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    fill(&vault, "bob");
    // Bob's bound row, re-wrapped by the keystore under Alice's alias: it opens, but its
    // payload names Bob.
    let rows = world.key_rows();
    let bound: Vec<_> = rows.iter().filter(|row| row.1 == BOUND_PURPOSE).collect();
    assert_eq!(bound.len(), 2);
    let alias = |tag: &[u8]| format!("rukasec.bkek.v2.{}.3.1", hex::encode(&tag[..16]));
    let payload = world
        .bound
        .inner
        .unwrap(&alias(&bound[1].0), &bound[1].3)
        .unwrap();
    let moved = world
        .bound
        .inner
        .wrap(&alias(&bound[0].0), &payload)
        .unwrap();
    world
        .db()
        .execute(
            "UPDATE keys SET wrapped = ?1 WHERE account_tag = ?2 AND purpose = ?3",
            rusqlite::params![moved, bound[0].0, BOUND_PURPOSE],
        )
        .unwrap();
    let rt = runtime();
    let outcomes: Vec<_> = [ALICE, "bob"]
        .iter()
        .map(|account| {
            rt.block_on(vault.unlock_bound(account, DataClass::Restricted, "x"))
                .map(|_| ())
        })
        .collect();
    assert!(outcomes.contains(&Err(Error::Integrity)), "{outcomes:?}");
    assert!(outcomes.contains(&Ok(())), "{outcomes:?}");
}

#[test]
fn writes_of_restricted_items_need_the_key_except_in_the_call_that_creates_the_account() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    // The creating call seals with the key it made.
    vault
        .put_batch(
            ALICE,
            &[
                PutItem {
                    namespace: "tokens".to_owned(),
                    name: "access".to_owned(),
                    value: SecretBytes::from_slice(b"a1"),
                    class: DataClass::Restricted,
                    ttl: None,
                },
                PutItem {
                    namespace: "tokens".to_owned(),
                    name: "refresh".to_owned(),
                    value: SecretBytes::from_slice(b"r1"),
                    class: DataClass::Restricted,
                    ttl: None,
                },
            ],
        )
        .unwrap();
    // ...and does not keep it for reads.
    assert_eq!(
        vault.get(ALICE, "tokens", "access").map(|v| v.is_some()),
        Err(Error::UserAuthenticationRequired)
    );
    let put = |value: &[u8]| {
        vault.put(
            ALICE,
            "tokens",
            "access",
            value,
            DataClass::Restricted,
            None,
        )
    };
    assert_eq!(put(b"a2"), Err(Error::UserAuthenticationRequired));
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    put(b"a3").unwrap();
    let read = |name: &str| {
        vault
            .get(ALICE, "tokens", name)
            .unwrap()
            .unwrap()
            .expose_secret()
            .to_vec()
    };
    assert_eq!(read("access"), b"a3");
    assert_eq!(read("refresh"), b"r1");
    gate.lock();
    assert_eq!(put(b"a4"), Err(Error::UserAuthenticationRequired));
    assert_eq!(world.bound.prompts(), 1);
}

#[test]
fn rotate_dek_makes_the_new_version_bound_and_needs_the_old_one_unlocked() {
    let world = World::new();
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let before = world.key_rows();
    assert_eq!(
        vault.rotate_dek(ALICE, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    assert_eq!(world.key_rows(), before, "nothing written");
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    let progress = vault.rotate_dek(ALICE, DataClass::Restricted).unwrap();
    assert!(progress.complete);
    assert_eq!(progress.active_version, 2);
    assert_eq!(progress.reencrypted, 1);
    // Alice's Restricted rows (the gate's counter account has a plain one).
    let rows = world.key_rows();
    let alice = rows
        .iter()
        .find(|row| row.1 == BOUND_PURPOSE)
        .unwrap()
        .0
        .clone();
    let bound_rows: Vec<(i64, i64)> = rows
        .iter()
        .filter(|row| row.0 == alice)
        .filter(|row| row.1 == BOUND_PURPOSE || row.1 == PLAIN_RESTRICTED_PURPOSE)
        .map(|row| (row.1, row.2))
        .collect();
    assert_eq!(bound_rows, vec![(BOUND_PURPOSE, 2)]);
    // One KEK per version: version 1's is destroyed, version 2's made with the policy.
    let keks = world.bound_keks();
    assert_eq!(keks.len(), 1);
    assert!(keks[0].ends_with(".3.2"), "{keks:?}");
    assert!(world.retired_keks().is_empty());
    assert_eq!(world.bound.created.lock().unwrap().len(), 2);
    // The new key came with the authentication the rotation ran under: no prompt to read.
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    gate.lock();
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    unlock(&rt, &vault).unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    assert_eq!(world.bound.prompts(), 2);
    // Another class rotates as before, without the user.
    gate.lock();
    assert!(
        vault
            .rotate_dek(ALICE, DataClass::Confidential)
            .unwrap()
            .complete
    );
}

#[test]
fn rotate_dek_of_a_bound_class_without_items_needs_no_prompt() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    vault
        .put(ALICE, "ns", "internal", b"i", DataClass::Internal, None)
        .unwrap();
    let progress = vault.rotate_dek(ALICE, DataClass::Restricted).unwrap();
    assert!(progress.complete);
    assert_eq!(progress.active_version, 2);
    assert_eq!(world.bound.prompts(), 0);
    // The new version is bound: writing needs it unlocked.
    assert_eq!(
        vault.put(ALICE, "ns", "r", b"r", DataClass::Restricted, None),
        Err(Error::UserAuthenticationRequired)
    );
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    vault
        .put(ALICE, "ns", "r", b"r", DataClass::Restricted, None)
        .unwrap();
}

#[test]
fn rotate_kek_leaves_bound_rows_alone() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let bound_row = |world: &World| {
        world
            .key_rows()
            .into_iter()
            .find(|row| row.1 == BOUND_PURPOSE)
            .unwrap()
    };
    let before = bound_row(&world);
    let plain_before: Vec<_> = world
        .key_rows()
        .into_iter()
        .filter(|row| row.1 != BOUND_PURPOSE)
        .collect();
    vault.rotate_kek(ALICE).unwrap();
    assert_eq!(bound_row(&world), before);
    let plain_after: Vec<_> = world
        .key_rows()
        .into_iter()
        .filter(|row| row.1 != BOUND_PURPOSE)
        .collect();
    assert_ne!(plain_after, plain_before, "the other keys were re-wrapped");
    assert_eq!(world.bound_keks().len(), 1);
    let rt = runtime();
    unlock(&rt, &vault).unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    assert_eq!(read(&vault, DataClass::Public).unwrap(), b"public");
}

#[test]
fn delete_and_reset_destroy_the_bound_kek() {
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    fill(&vault, "bob");
    assert_eq!(world.bound_keks().len(), 2);

    // A keystore that refuses: nothing is deleted.
    world.bound.refuse_deletes.store(true, Ordering::SeqCst);
    assert!(matches!(
        vault.delete_account(ALICE),
        Err(Error::KeyWrapper { .. })
    ));
    assert!(vault.has_account(ALICE).unwrap());
    world.bound.refuse_deletes.store(false, Ordering::SeqCst);

    assert!(vault.delete_account(ALICE).unwrap());
    assert!(!vault.has_account(ALICE).unwrap());
    assert_eq!(world.bound_keks().len(), 1);
    assert!(vault.reset_account("bob").unwrap());
    assert!(world.bound_keks().is_empty());
    assert!(world.retired_keks().is_empty());
    assert!(world.key_rows().is_empty());
    assert!(world.bus.flush(WAIT));
    let deleted = world.events.of_kind(SecurityEventKind::VaultAccountDeleted);
    assert_eq!(deleted.len(), 2);
    assert!(
        deleted
            .iter()
            .all(|e| e.details.get("bound_keks_destroyed").map(String::as_str) == Some("true"))
    );
}

#[test]
fn a_bound_kek_deleted_without_the_bound_wrapper_is_destroyed_once_it_is_attached() {
    let world = World::new();
    {
        let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
        fill(&vault, ALICE);
    }
    // Opened without the bound wrapper: the account still deletes; its bound KEK waits.
    {
        let (vault, _gate) = world.plain_vault();
        assert!(vault.has_bound_key(ALICE, DataClass::Restricted).unwrap());
        let rt = runtime();
        assert_eq!(unlock(&rt, &vault), Err(Error::KeyUnavailable));
        assert!(vault.delete_account(ALICE).unwrap());
        assert_eq!(world.bound_keks().len(), 1);
        let retired = world.retired_keks();
        assert_eq!(retired.len(), 1);
        assert!(retired[0].starts_with("rukasec.bkek.v2."), "{retired:?}");
    }
    let (_vault, _gate) = world.bound_vault(UnlockPolicy::default());
    assert!(world.bound_keks().is_empty());
    assert!(world.retired_keks().is_empty());
}

#[test]
fn accounts_that_existed_before_stay_unbound_and_new_ones_are_bound() {
    let world = World::new();
    {
        let (vault, _gate) = world.plain_vault();
        fill(&vault, ALICE);
    }
    let (vault, gate) = world.bound_vault(UnlockPolicy::default());
    assert!(!vault.has_bound_key(ALICE, DataClass::Restricted).unwrap());
    let rt = runtime();
    assert!(matches!(
        rt.block_on(vault.unlock_bound(ALICE, DataClass::Restricted, "x")),
        Err(Error::InvalidInput { .. })
    ));
    rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    fill(&vault, "bob");
    assert!(vault.has_bound_key("bob", DataClass::Restricted).unwrap());
    assert_eq!(world.bound.prompts(), 0);
}

#[test]
fn bound_keys_need_a_windowed_restricted_policy_and_one_gate() {
    let world = World::new();
    let vault = world.open();
    let mut session = UnlockPolicy::default();
    session.classes[3].0 = ClassRequirement::Session {
        idle_timeout: Duration::from_secs(60),
    };
    let gate = world.gate(&vault, session);
    assert!(matches!(
        vault.attach_unlock_gate_with_bound_keys(gate, world.bound.clone()),
        Err(Error::InvalidInput { .. })
    ));
    let gate = world.gate(&vault, UnlockPolicy::default());
    vault
        .attach_unlock_gate_with_bound_keys(gate.clone(), world.bound.clone())
        .unwrap();
    assert!(matches!(
        vault.attach_unlock_gate_with_bound_keys(gate.clone(), world.bound.clone()),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        vault.attach_unlock_gate(gate),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn unlock_bound_runs_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let world = World::new();
    let (vault, _gate) = world.bound_vault(UnlockPolicy::default());
    fill(&vault, ALICE);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let unlocking = {
        let vault = vault.clone();
        async move {
            vault
                .unlock_bound(ALICE, DataClass::Restricted, "x")
                .await
                .map(|_| ())
        }
    };
    assert_send(&unlocking);
    rt.block_on(rt.spawn(unlocking)).unwrap().unwrap();
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
}
