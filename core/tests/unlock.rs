//! Unlocking: the policy per data class, one prompt for concurrent requests, cancellation,
//! failure counting to a lockout that survives a restart and a clock set back, a tampered
//! counter, window and idle expiry, background locking, and keys really dropped on lock, all
//! with a scripted authenticator standing in for BiometricPrompt / LocalAuthentication.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::events::{EventBus, EventCollector, SecurityEventKind};
use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{
    AttemptStore, AuthFuture, AuthMethod, AuthOutcome, AuthRequest, Authenticator,
    ClassRequirement, MemoryAttemptStore, UnlockClock, UnlockGate, UnlockPolicy,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{
    DATABASE_FILE, DataClass, KeyWrapper, Vault, VaultAttemptStore, WrapperError,
};
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(10);
const ALICE: &str = "alice";

/// Settable clocks: monotonic and wall, in milliseconds.
struct TestClock {
    mono: AtomicU64,
    wall: AtomicI64,
}

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            mono: AtomicU64::new(1_000),
            wall: AtomicI64::new(1_800_000_000_000),
        })
    }

    fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap();
        self.mono.fetch_add(ms, Ordering::SeqCst);
        self.wall
            .fetch_add(i64::try_from(ms).unwrap(), Ordering::SeqCst);
    }

    fn set_wall(&self, ms: i64) {
        self.wall.store(ms, Ordering::SeqCst);
    }

    fn wall(&self) -> i64 {
        self.wall.load(Ordering::SeqCst)
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

/// Answers prompts from a script (then `fallback`), optionally holding each until released,
/// and records every request.
struct Scripted {
    script: Mutex<VecDeque<AuthOutcome>>,
    fallback: AuthOutcome,
    requests: Mutex<Vec<AuthRequest>>,
    hold: Option<Arc<Notify>>,
}

impl Scripted {
    fn new(script: impl IntoIterator<Item = AuthOutcome>, fallback: AuthOutcome) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into_iter().collect()),
            fallback,
            requests: Mutex::new(Vec::new()),
            hold: None,
        })
    }

    fn held(outcome: AuthOutcome, release: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(VecDeque::new()),
            fallback: outcome,
            requests: Mutex::new(Vec::new()),
            hold: Some(release),
        })
    }

    fn prompts(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Authenticator for Scripted {
    fn authenticate(&self, request: AuthRequest) -> AuthFuture<'_> {
        self.requests.lock().unwrap().push(request);
        let outcome = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(self.fallback);
        let hold = self.hold.clone();
        Box::pin(async move {
            if let Some(hold) = hold {
                hold.notified().await;
            }
            outcome
        })
    }
}

const STRONG: AuthOutcome = AuthOutcome::Success {
    method: AuthMethod::StrongBiometric,
};
const PASSCODE: AuthOutcome = AuthOutcome::Success {
    method: AuthMethod::DeviceCredential,
};

/// Counts unwraps, so a test can see keys being unwrapped again after a lock.
struct CountingWrapper {
    inner: MemoryKeyWrapper,
    unwraps: AtomicUsize,
}

impl KeyWrapper for CountingWrapper {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.inner.wrap(alias, key)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        self.unwraps.fetch_add(1, Ordering::SeqCst);
        self.inner.unwrap(alias, wrapped)
    }
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.delete_key(alias)
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

struct World {
    dir: tempfile::TempDir,
    wrapper: Arc<CountingWrapper>,
    events: Arc<EventCollector>,
    bus: Arc<EventBus>,
    clock: Arc<TestClock>,
}

impl World {
    fn new() -> Self {
        let events = Arc::new(EventCollector::new());
        Self {
            dir: tempfile::tempdir().unwrap(),
            wrapper: Arc::new(CountingWrapper {
                inner: MemoryKeyWrapper::new(),
                unwraps: AtomicUsize::new(0),
            }),
            bus: Arc::new(EventBus::new(Some(events.clone()))),
            events,
            clock: TestClock::new(),
        }
    }

    fn vault(&self) -> Arc<Vault> {
        Arc::new(Vault::open(self.dir.path(), self.wrapper.clone(), self.bus.clone()).unwrap())
    }

    /// A vault with a gate of `policy` asking `authenticator`, its counter in the vault.
    fn gated(
        &self,
        policy: UnlockPolicy,
        authenticator: Arc<Scripted>,
    ) -> (Arc<Vault>, Arc<UnlockGate>) {
        let vault = self.vault();
        let gate = self.gate(
            policy,
            authenticator,
            Arc::new(VaultAttemptStore::new(&vault)),
        );
        vault.attach_unlock_gate(gate.clone()).unwrap();
        (vault, gate)
    }

    fn gate(
        &self,
        policy: UnlockPolicy,
        authenticator: Arc<Scripted>,
        attempts: Arc<dyn AttemptStore>,
    ) -> Arc<UnlockGate> {
        Arc::new(
            UnlockGate::with_clock(
                policy,
                Some(authenticator),
                attempts,
                self.bus.clone(),
                self.clock.clone(),
            )
            .unwrap(),
        )
    }

    fn kinds(&self, kind: SecurityEventKind) -> usize {
        assert!(self.bus.flush(WAIT));
        self.events.of_kind(kind).len()
    }
}

/// One item per class, written before any unlock (writes need none).
fn fill(vault: &Vault) {
    for class in DataClass::ALL {
        vault
            .put(
                ALICE,
                "ns",
                class.as_str(),
                class.as_str().as_bytes(),
                class,
                None,
            )
            .unwrap();
    }
}

fn read(vault: &Vault, class: DataClass) -> Result<Vec<u8>, Error> {
    vault
        .get(ALICE, "ns", class.as_str())
        .map(|value| value.unwrap().expose_secret().to_vec())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn each_class_needs_what_the_default_policy_says() {
    let world = World::new();
    let prompter = Scripted::new([PASSCODE, STRONG], AuthOutcome::Cancelled);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);

    // Before any unlock only Public reads; a blocking read never prompts.
    assert_eq!(read(&vault, DataClass::Public).unwrap(), b"public");
    for class in [
        DataClass::Internal,
        DataClass::Confidential,
        DataClass::Restricted,
    ] {
        assert_eq!(
            read(&vault, class),
            Err(Error::UserAuthenticationRequired),
            "{class}"
        );
    }
    assert_eq!(prompter.prompts(), 0);

    // The device credential opens the session: Internal and Confidential, not Restricted.
    let rt = runtime();
    rt.block_on(gate.unlock(DataClass::Confidential, Some(ALICE), "Show your history"))
        .unwrap();
    assert_eq!(read(&vault, DataClass::Internal).unwrap(), b"internal");
    assert_eq!(
        read(&vault, DataClass::Confidential).unwrap(),
        b"confidential"
    );
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    let request = prompter.requests.lock().unwrap()[0].clone();
    assert_eq!(request.class, DataClass::Confidential);
    assert_eq!(request.account.as_deref(), Some(ALICE));
    assert_eq!(request.reason, "Show your history");
    assert_eq!(
        request.allowed,
        vec![AuthMethod::StrongBiometric, AuthMethod::DeviceCredential]
    );

    // Restricted asks for a strong biometric only, and serves for its window.
    rt.block_on(gate.unlock(DataClass::Restricted, Some(ALICE), "Pay"))
        .unwrap();
    assert_eq!(
        prompter.requests.lock().unwrap()[1].allowed,
        vec![AuthMethod::StrongBiometric]
    );
    assert_eq!(read(&vault, DataClass::Restricted).unwrap(), b"restricted");
    assert_eq!(world.kinds(SecurityEventKind::UnlockSucceeded), 2);
}

#[test]
fn a_restricted_window_expires_and_the_next_unlock_prompts_again() {
    let world = World::new();
    let prompter = Scripted::new([], STRONG);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);
    let rt = runtime();
    rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    world.clock.advance(Duration::from_secs(10));
    assert!(
        read(&vault, DataClass::Restricted).is_ok(),
        "inside the 10 s window"
    );
    world.clock.advance(Duration::from_millis(1));
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    // Unlocking while the window is open does not prompt; after it, it does.
    rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    assert_eq!(prompter.prompts(), 2);
    rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    assert_eq!(prompter.prompts(), 2);
}

#[test]
fn a_per_use_class_reads_once_per_grant() {
    let world = World::new();
    let mut policy = UnlockPolicy::default();
    policy.classes[3].0 = ClassRequirement::Recent {
        window: Duration::ZERO,
    };
    let prompter = Scripted::new([], STRONG);
    let (vault, gate) = world.gated(policy, prompter.clone());
    fill(&vault);
    let rt = runtime();
    let grant = rt
        .block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    // Even right after the prompt, a read without the grant is refused.
    assert_eq!(
        read(&vault, DataClass::Restricted),
        Err(Error::UserAuthenticationRequired)
    );
    let value = vault
        .get_granted(&grant, ALICE, "ns", "restricted")
        .unwrap()
        .unwrap();
    assert_eq!(value.expose_secret(), b"restricted");
    // The next use prompts again; a lock voids a grant not yet used.
    let grant = rt
        .block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
        .unwrap();
    assert_eq!(prompter.prompts(), 2);
    gate.lock();
    assert_eq!(
        vault
            .get_granted(&grant, ALICE, "ns", "restricted")
            .map(|v| v.is_some()),
        Err(Error::UserAuthenticationRequired)
    );
}

#[test]
fn a_cancelled_prompt_is_user_cancelled_and_not_a_failure() {
    let world = World::new();
    let prompter = Scripted::new([], AuthOutcome::Cancelled);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);
    let rt = runtime();
    for _ in 0..10 {
        assert_eq!(
            rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
                .err(),
            Some(Error::UserCancelled)
        );
    }
    // Ten cancels are no lockout.
    assert_eq!(gate.locked_out_until().unwrap(), None);
    assert_eq!(world.kinds(SecurityEventKind::UnlockCancelled), 10);
    assert_eq!(world.kinds(SecurityEventKind::UnlockFailed), 0);
    assert_eq!(
        read(&vault, DataClass::Confidential),
        Err(Error::UserAuthenticationRequired)
    );
}

#[test]
fn failures_count_down_to_a_lockout_that_refuses_without_prompting() {
    let world = World::new();
    let prompter = Scripted::new([], AuthOutcome::Failed);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);
    let rt = runtime();
    let unlock = || {
        rt.block_on(gate.unlock(DataClass::Restricted, None, "Pay"))
            .err()
    };
    for remaining in (1..5).rev() {
        assert_eq!(
            unlock(),
            Some(Error::AuthenticationFailed {
                remaining_attempts: remaining
            })
        );
    }
    let until = world.clock.wall() + 30_000;
    assert_eq!(
        unlock(),
        Some(Error::LockedOut {
            until_unix_ms: until
        })
    );
    assert_eq!(prompter.prompts(), 5);
    // Locked out: refused at once, without a prompt, for every class that needs an unlock.
    assert_eq!(
        unlock(),
        Some(Error::LockedOut {
            until_unix_ms: until
        })
    );
    assert_eq!(
        read(&vault, DataClass::Internal),
        Err(Error::LockedOut {
            until_unix_ms: until
        })
    );
    assert_eq!(prompter.prompts(), 5);
    assert!(read(&vault, DataClass::Public).is_ok());
    assert_eq!(world.kinds(SecurityEventKind::UnlockFailed), 5);
    assert_eq!(world.kinds(SecurityEventKind::UnlockLockedOut), 1);
    // A wall clock set forward does not end it within this process (the monotonic clock runs).
    world.clock.set_wall(until + 1);
    assert!(matches!(unlock(), Some(Error::LockedOut { .. })));
    assert_eq!(prompter.prompts(), 5);
    world.clock.set_wall(until - 30_000);

    // After it, five more failures lock out twice as long.
    world.clock.advance(Duration::from_secs(30));
    for _ in 0..4 {
        assert!(matches!(unlock(), Some(Error::AuthenticationFailed { .. })));
    }
    assert_eq!(
        unlock(),
        Some(Error::LockedOut {
            until_unix_ms: world.clock.wall() + 60_000
        })
    );
}

#[test]
fn a_lockout_survives_a_restart_and_a_clock_set_back() {
    let world = World::new();
    let until = {
        let (vault, gate) = world.gated(
            UnlockPolicy::default(),
            Scripted::new([], AuthOutcome::Failed),
        );
        fill(&vault);
        let rt = runtime();
        let mut last = None;
        for _ in 0..5 {
            last = rt
                .block_on(gate.unlock(DataClass::Confidential, None, "x"))
                .err();
        }
        match last {
            Some(Error::LockedOut { until_unix_ms }) => until_unix_ms,
            other => panic!("{other:?}"),
        }
    };
    // The app restarts: a new vault instance and gate, the same directory.
    let prompter = Scripted::new([], STRONG);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    let rt = runtime();
    assert_eq!(
        rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
            .err(),
        Some(Error::LockedOut {
            until_unix_ms: until
        })
    );
    // Setting the clock back does not end it early (nor does it start it again).
    world.clock.set_wall(world.clock.wall() - 3_600_000);
    assert_eq!(
        rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
            .err(),
        Some(Error::LockedOut {
            until_unix_ms: until
        })
    );
    assert_eq!(prompter.prompts(), 0);
    // Once the time has come, a success resets the counter.
    world.clock.set_wall(until + 1);
    rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
        .unwrap();
    assert_eq!(
        read(&vault, DataClass::Confidential).unwrap(),
        b"confidential"
    );
}

#[test]
fn a_tampered_counter_is_detected_and_locks_out() {
    let world = World::new();
    {
        let (vault, gate) = world.gated(
            UnlockPolicy::default(),
            Scripted::new([], AuthOutcome::Failed),
        );
        let rt = runtime();
        for _ in 0..3 {
            let _ = rt.block_on(gate.unlock(DataClass::Confidential, None, "x"));
        }
        drop((vault, gate));
    }
    // Someone with the app's files resets the counter: edit the only item's ciphertext.
    let conn = rusqlite::Connection::open(world.dir.path().join(DATABASE_FILE)).unwrap();
    let edited = conn
        .execute(
            "UPDATE items SET value = substr(value, 1, length(value) - 1) || x'00'",
            [],
        )
        .unwrap();
    assert_eq!(edited, 1, "the counter is the vault's only item");
    drop(conn);

    let prompter = Scripted::new([], STRONG);
    let (_vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    let rt = runtime();
    assert!(matches!(
        rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
            .err(),
        Some(Error::LockedOut { .. })
    ));
    assert_eq!(prompter.prompts(), 0);
    assert!(world.kinds(SecurityEventKind::UnlockCounterTampered) >= 1);
}

/// Waits for the first prompt, gives every other caller time to join it, then ends it.
fn release_once_all_joined(rt: &tokio::runtime::Runtime, prompter: &Scripted, release: &Notify) {
    rt.block_on(async {
        let prompted = tokio::time::timeout(WAIT, async {
            while prompter.prompts() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(prompted.await.is_ok(), "no prompt was shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.notify_one();
    });
}

#[test]
fn concurrent_unlocks_share_one_prompt_and_its_cancellation() {
    let world = World::new();
    let release = Arc::new(Notify::new());
    let prompter = Scripted::held(AuthOutcome::Cancelled, release.clone());
    let (_vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    let rt = runtime();
    let waiting: Vec<_> = (0..8)
        .map(|i| {
            let gate = gate.clone();
            let class = if i % 2 == 0 {
                DataClass::Confidential
            } else {
                DataClass::Internal
            };
            rt.spawn(async move { gate.unlock(class, None, "x").await.err() })
        })
        .collect();
    release_once_all_joined(&rt, &prompter, &release);
    for task in waiting {
        assert_eq!(rt.block_on(task).unwrap(), Some(Error::UserCancelled));
    }
    assert_eq!(prompter.prompts(), 1);
}

#[test]
fn concurrent_unlocks_share_one_successful_prompt() {
    let world = World::new();
    let release = Arc::new(Notify::new());
    let prompter = Scripted::held(STRONG, release.clone());
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);
    let rt = runtime();
    let waiting: Vec<_> = (0..6)
        .map(|_| {
            let gate = gate.clone();
            let vault = vault.clone();
            rt.spawn(async move {
                let grant = gate.unlock(DataClass::Restricted, None, "Pay").await?;
                vault
                    .get_granted(&grant, ALICE, "ns", "restricted")
                    .map(|value| value.unwrap().expose_secret().to_vec())
            })
        })
        .collect();
    release_once_all_joined(&rt, &prompter, &release);
    for task in waiting {
        assert_eq!(rt.block_on(task).unwrap().unwrap(), b"restricted");
    }
    assert_eq!(prompter.prompts(), 1);
}

#[test]
fn a_prompt_whose_caller_went_away_leaves_no_waiter_hanging() {
    let world = World::new();
    let release = Arc::new(Notify::new());
    let prompter = Scripted::held(STRONG, release.clone());
    let (_vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    let rt = runtime();
    let first = {
        let gate = gate.clone();
        rt.spawn(async move { gate.unlock(DataClass::Confidential, None, "x").await.err() })
    };
    rt.block_on(async {
        while prompter.prompts() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let second = {
        let gate = gate.clone();
        rt.spawn(async move { gate.unlock(DataClass::Confidential, None, "x").await.err() })
    };
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The first caller's future is dropped mid-prompt (a cancelled coroutine or Task).
        first.abort();
        let _ = first.await;
        // The second prompts itself; release that prompt.
        let reprompted = tokio::time::timeout(WAIT, async {
            while prompter.prompts() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(
            reprompted.await.is_ok(),
            "the waiter never prompted after the first caller left"
        );
        release.notify_one();
    });
    assert_eq!(
        rt.block_on(async { tokio::time::timeout(WAIT, second).await })
            .unwrap()
            .unwrap(),
        None
    );
}

#[test]
fn lock_idle_and_background_close_the_session_and_drop_the_keys() {
    let world = World::new();
    let prompter = Scripted::new([], PASSCODE);
    let (vault, gate) = world.gated(UnlockPolicy::default(), prompter.clone());
    fill(&vault);
    let rt = runtime();
    let unlock = || {
        rt.block_on(gate.unlock(DataClass::Confidential, None, "x"))
            .unwrap()
    };

    unlock();
    assert!(read(&vault, DataClass::Confidential).is_ok());
    let unwraps = world.wrapper.unwraps.load(Ordering::SeqCst);
    assert!(read(&vault, DataClass::Confidential).is_ok());
    assert_eq!(
        world.wrapper.unwraps.load(Ordering::SeqCst),
        unwraps,
        "keys are cached"
    );

    // An explicit lock: the session closes, Internal stays open, keys are unwrapped again.
    gate.lock();
    assert_eq!(
        read(&vault, DataClass::Confidential),
        Err(Error::UserAuthenticationRequired)
    );
    assert!(read(&vault, DataClass::Internal).is_ok());
    assert!(
        world.wrapper.unwraps.load(Ordering::SeqCst) > unwraps,
        "the vault still held its unwrapped keys after the lock"
    );

    // Idle: each read restarts the 5-minute timer; 5 minutes without one closes it.
    unlock();
    world.clock.advance(Duration::from_secs(299));
    assert!(read(&vault, DataClass::Confidential).is_ok());
    world.clock.advance(Duration::from_secs(299));
    assert!(read(&vault, DataClass::Confidential).is_ok());
    world.clock.advance(Duration::from_secs(301));
    assert_eq!(
        read(&vault, DataClass::Confidential),
        Err(Error::UserAuthenticationRequired)
    );

    // Background, with lock_on_background (the default).
    unlock();
    gate.on_app_background();
    assert_eq!(
        read(&vault, DataClass::Confidential),
        Err(Error::UserAuthenticationRequired)
    );
    assert!(world.kinds(SecurityEventKind::VaultLocked) >= 3);
}

#[test]
fn without_lock_on_background_backgrounding_keeps_the_session() {
    let world = World::new();
    let policy = UnlockPolicy {
        lock_on_background: false,
        ..UnlockPolicy::default()
    };
    let (vault, gate) = world.gated(policy, Scripted::new([], PASSCODE));
    fill(&vault);
    runtime()
        .block_on(gate.unlock(DataClass::Confidential, None, "x"))
        .unwrap();
    gate.on_app_background();
    assert!(read(&vault, DataClass::Confidential).is_ok());
}

#[test]
fn platform_lockout_invalidation_and_missing_enrolment_are_their_own_errors() {
    let world = World::new();
    let prompter = Scripted::new(
        [
            AuthOutcome::LockedOut {
                until_unix_ms: Some(1_900_000_000_000),
            },
            AuthOutcome::KeyInvalidated,
            AuthOutcome::NotEnrolled,
            AuthOutcome::Unavailable,
            // A method the request did not allow (a misconfigured prompt) does not unlock.
            AuthOutcome::Success {
                method: AuthMethod::AnyBiometric,
            },
        ],
        AuthOutcome::Cancelled,
    );
    let gate = world.gate(
        UnlockPolicy::default(),
        prompter,
        Arc::new(MemoryAttemptStore::default()),
    );
    let rt = runtime();
    let unlock = || {
        rt.block_on(gate.unlock(DataClass::Restricted, None, "x"))
            .err()
    };
    assert_eq!(
        unlock(),
        Some(Error::LockedOut {
            until_unix_ms: 1_900_000_000_000
        })
    );
    assert_eq!(unlock(), Some(Error::KeyInvalidated));
    assert_eq!(unlock(), Some(Error::UserAuthenticationRequired));
    assert_eq!(unlock(), Some(Error::UserAuthenticationRequired));
    assert_eq!(unlock(), Some(Error::UserAuthenticationRequired));
    assert_eq!(world.kinds(SecurityEventKind::VaultKeyInvalidated), 1);
}

#[test]
fn a_gate_without_an_authenticator_only_opens_what_needs_nothing() {
    let world = World::new();
    let vault = world.vault();
    let gate = Arc::new(
        UnlockGate::new(
            UnlockPolicy::default(),
            None,
            Arc::new(MemoryAttemptStore::default()),
            world.bus.clone(),
        )
        .unwrap(),
    );
    vault.attach_unlock_gate(gate.clone()).unwrap();
    assert!(
        vault.attach_unlock_gate(gate.clone()).is_err(),
        "one gate per vault"
    );
    fill(&vault);
    assert!(read(&vault, DataClass::Public).is_ok());
    assert_eq!(
        runtime()
            .block_on(gate.unlock(DataClass::Internal, None, "x"))
            .err(),
        Some(Error::UserAuthenticationRequired)
    );
}

#[test]
fn the_class_of_an_item_is_known_before_it_is_read() {
    let world = World::new();
    let (vault, _gate) = world.gated(UnlockPolicy::default(), Scripted::new([], STRONG));
    fill(&vault);
    assert_eq!(
        vault.class_of(ALICE, "ns", "restricted").unwrap(),
        Some(DataClass::Restricted)
    );
    assert_eq!(vault.class_of(ALICE, "ns", "missing").unwrap(), None);
}

#[test]
fn a_key_the_platform_invalidated_is_key_invalidated_with_an_event() {
    struct Invalidated;
    impl KeyWrapper for Invalidated {
        fn create_key(&self, _alias: &str) -> Result<(), WrapperError> {
            Err(WrapperError::KeyInvalidated)
        }
        fn wrap(&self, _alias: &str, _key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
            Err(WrapperError::KeyInvalidated)
        }
        fn unwrap(&self, _alias: &str, _wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
            Err(WrapperError::KeyInvalidated)
        }
        fn delete_key(&self, _alias: &str) -> Result<(), WrapperError> {
            Ok(())
        }
        fn is_hardware_backed(&self) -> bool {
            true
        }
    }
    let world = World::new();
    let vault = Vault::open(world.dir.path(), Arc::new(Invalidated), world.bus.clone()).unwrap();
    assert_eq!(
        vault.put(ALICE, "ns", "n", b"v", DataClass::Restricted, None),
        Err(Error::KeyInvalidated)
    );
    assert_eq!(world.kinds(SecurityEventKind::VaultKeyInvalidated), 1);
}
