//! The lock state and the one place that decides whether a class may be read now.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::attempts::{AttemptRecord, AttemptStore};
use super::authenticator::{AuthOutcome, AuthRequest, AuthenticatedUse, Authenticator};
use super::policy::{AuthMethod, ClassRequirement, UnlockPolicy};
use crate::error::{Error, Result};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};
use crate::vault::DataClass;

/// The gate's clocks: a monotonic one for sessions and windows (a changed wall clock does not
/// open or close them) and the wall clock for lockouts that must survive a restart.
pub trait UnlockClock: Send + Sync {
    /// Milliseconds on a clock that never goes back (any origin).
    fn monotonic_ms(&self) -> u64;
    /// Milliseconds since the Unix epoch.
    fn wall_ms(&self) -> i64;
}

/// The system's clocks.
pub struct SystemUnlockClock {
    origin: Instant,
}

impl Default for SystemUnlockClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl UnlockClock for SystemUnlockClock {
    fn monotonic_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn wall_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// Why the gate locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// [`UnlockGate::lock`].
    Explicit,
    /// [`UnlockGate::on_app_background`] with `lock_on_background`.
    Background,
    /// The session's idle timeout passed.
    Idle,
}

impl LockReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Explicit => "lock",
            Self::Background => "background",
            Self::Idle => "idle",
        }
    }
}

/// Proof of one successful authentication, for one read of a class whose requirement is a
/// fresh authentication ([`ClassRequirement::Recent`] with a zero window). Handed to the read by
/// value, so it serves once.
#[derive(Debug)]
pub struct UnlockGrant {
    method: AuthMethod,
    at_ms: u64,
    epoch: u64,
}

impl UnlockGrant {
    /// Another grant for the same authentication (a key that inherits another's lifetime).
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            method: self.method,
            at_ms: self.at_ms,
            epoch: self.epoch,
        }
    }
}

/// What runs on every lock (an attached vault dropping its keys).
pub type LockHook = Box<dyn Fn(LockReason) + Send + Sync>;

/// What a shared prompt ended with: the method used, or the error every waiter gets.
type PromptResult = std::result::Result<AuthMethod, Error>;

#[derive(Default)]
struct Session {
    /// Since the gate was made, some unlock succeeded.
    first_unlocked: bool,
    /// The session (Confidential): the method and the last use, on the monotonic clock.
    session: Option<(AuthMethod, u64)>,
    /// The latest authentication per method, on the monotonic clock.
    latest: Vec<(AuthMethod, u64)>,
    /// A lockout seen in this process, on the monotonic clock (a wall clock set forward does
    /// not end it early).
    locked_until_mono: Option<u64>,
}

/// Decides whether each data class may be read now, asks the app's [`Authenticator`] when it
/// may not, counts failures and locks out, and locks again on request, on backgrounding and
/// after the idle timeout. Every vault attached to it drops its unwrapped keys when it locks.
pub struct UnlockGate {
    policy: UnlockPolicy,
    authenticator: Option<Arc<dyn Authenticator>>,
    attempts: Arc<dyn AttemptStore>,
    /// The counter as last loaded or saved: read once, so a read of the vault does not read
    /// the counter again each time.
    record: Mutex<Option<AttemptRecord>>,
    events: Arc<EventBus>,
    clock: Arc<dyn UnlockClock>,
    state: Mutex<Session>,
    /// The prompt in flight, which concurrent unlocks join instead of prompting again.
    in_flight: Mutex<Option<watch::Receiver<Option<PromptResult>>>>,
    /// Bumped by every lock: a grant from before a lock no longer serves.
    epoch: AtomicU64,
    on_lock: Mutex<Vec<LockHook>>,
}

impl UnlockGate {
    /// A gate enforcing `policy`, prompting through `authenticator` (without one, only classes
    /// that need nothing can be read), keeping its failure counter in `attempts`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unusable policy.
    pub fn new(
        policy: UnlockPolicy,
        authenticator: Option<Arc<dyn Authenticator>>,
        attempts: Arc<dyn AttemptStore>,
        events: Arc<EventBus>,
    ) -> Result<Self> {
        Self::with_clock(
            policy,
            authenticator,
            attempts,
            events,
            Arc::new(SystemUnlockClock::default()),
        )
    }

    /// [`UnlockGate::new`] with other clocks (tests).
    ///
    /// # Errors
    /// As [`UnlockGate::new`].
    pub fn with_clock(
        policy: UnlockPolicy,
        authenticator: Option<Arc<dyn Authenticator>>,
        attempts: Arc<dyn AttemptStore>,
        events: Arc<EventBus>,
        clock: Arc<dyn UnlockClock>,
    ) -> Result<Self> {
        policy.validate()?;
        Ok(Self {
            policy,
            authenticator,
            attempts,
            record: Mutex::new(None),
            events,
            clock,
            state: Mutex::new(Session::default()),
            in_flight: Mutex::new(None),
            epoch: AtomicU64::new(0),
            on_lock: Mutex::new(Vec::new()),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &UnlockPolicy {
        &self.policy
    }

    /// Whether `class` may be read now without a prompt. Never prompts; a read of a class that
    /// needs the session counts as its use (the idle timeout starts again).
    ///
    /// # Errors
    /// [`Error::LockedOut`] while locked out; [`Error::UserAuthenticationRequired`] when an
    /// unlock is needed (an async call can prompt for it).
    pub fn check(&self, class: DataClass, grant: Option<&UnlockGrant>) -> Result<()> {
        if *self.policy.requirement(class) == ClassRequirement::Nothing {
            return Ok(());
        }
        self.refuse_if_locked_out()?;
        if self.is_open(class, grant) {
            Ok(())
        } else {
            Err(Error::UserAuthenticationRequired)
        }
    }

    /// Makes `class` readable: at once when it already is, else by asking the app's
    /// authenticator (one prompt for every concurrent caller). `reason` is shown to the user.
    /// Returns a grant for the read that follows.
    ///
    /// # Errors
    /// [`Error::UserCancelled`] when the prompt was cancelled (for every caller waiting on it),
    /// [`Error::AuthenticationFailed`] for a failed attempt, [`Error::LockedOut`] when locked
    /// out (by RukaSec's counter or the platform), [`Error::KeyInvalidated`],
    /// [`Error::UserAuthenticationRequired`] when no authenticator can prompt (none given, none
    /// enrolled, unavailable); [`Error::Integrity`] is never returned: a tampered counter is a
    /// lockout.
    pub async fn unlock(
        &self,
        class: DataClass,
        account: Option<&str>,
        reason: &str,
    ) -> Result<UnlockGrant> {
        loop {
            if let Some(grant) = self.grant_if_open(class) {
                return Ok(grant);
            }
            self.refuse_if_locked_out()?;
            let role = {
                let mut in_flight = lock(&self.in_flight);
                match in_flight.as_ref() {
                    Some(receiver) => Role::Join(receiver.clone()),
                    None => {
                        let (sender, receiver) = watch::channel(None);
                        *in_flight = Some(receiver);
                        Role::Lead(sender)
                    }
                }
            };
            let mut receiver = match role {
                Role::Lead(sender) => {
                    // Cleared however this future ends, cancelled included: waiters then see
                    // the channel closed and one of them prompts.
                    let clear = ClearOnDrop(&self.in_flight);
                    let result = self.prompt(class, account, reason).await;
                    let _ = sender.send(Some(result.clone()));
                    drop(clear);
                    let method = result?;
                    return self.grant_after(class, method);
                }
                Role::Join(receiver) => receiver,
            };
            let result = loop {
                if let Some(result) = receiver.borrow().clone() {
                    break Some(result);
                }
                if receiver.changed().await.is_err() {
                    // The prompting caller was dropped (its future cancelled): prompt again.
                    break None;
                }
            };
            match result {
                Some(Ok(method)) => match self.grant_after(class, method) {
                    Ok(grant) => return Ok(grant),
                    // A method too weak for this class: prompt for it.
                    Err(_) => continue,
                },
                Some(Err(error)) => return Err(error),
                None => continue,
            }
        }
    }

    /// Locks: closes the session and every recent authentication, and makes every attached
    /// vault drop its unwrapped keys. Internal stays readable (first unlock since start).
    pub fn lock(&self) {
        self.lock_because(LockReason::Explicit);
    }

    /// The app went to the background: locks at once when the policy says so.
    pub fn on_app_background(&self) {
        if self.policy.lock_on_background {
            self.lock_because(LockReason::Background);
        }
    }

    /// Runs `hook` on every lock (vaults drop their keys).
    pub fn on_lock(&self, hook: LockHook) {
        lock(&self.on_lock).push(hook);
    }

    /// Until when unlocking is locked out (Unix ms), if it is.
    ///
    /// # Errors
    /// Storage errors of the counter.
    pub fn locked_out_until(&self) -> Result<Option<i64>> {
        match self.refuse_if_locked_out() {
            Err(Error::LockedOut { until_unix_ms }) => Ok(Some(until_unix_ms)),
            Err(other) => Err(other),
            Ok(()) => Ok(None),
        }
    }

    fn lock_because(&self, why: LockReason) {
        {
            let mut state = lock(&self.state);
            state.session = None;
            state.latest.clear();
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for hook in lock(&self.on_lock).iter() {
            hook(why);
        }
        tracing::info!(why = why.as_str(), "locked");
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultLocked).with_detail("why", why.as_str()),
        );
    }

    /// Whether `class` is open now (a session read refreshes the session's idle timer; an idle
    /// session found expired locks).
    fn is_open(&self, class: DataClass, grant: Option<&UnlockGrant>) -> bool {
        let now = self.clock.monotonic_ms();
        let allowed = self.policy.methods(class);
        let mut expired = false;
        let open = {
            let mut state = lock(&self.state);
            match self.policy.requirement(class) {
                ClassRequirement::Nothing => true,
                ClassRequirement::FirstUnlock => state.first_unlocked,
                ClassRequirement::Session { idle_timeout } => match state.session {
                    Some((method, last_use)) if method.satisfies(allowed) => {
                        if now.saturating_sub(last_use) <= millis(*idle_timeout) {
                            state.session = Some((method, now));
                            true
                        } else {
                            expired = true;
                            false
                        }
                    }
                    _ => false,
                },
                ClassRequirement::Recent { window } => {
                    let recent = state.latest.iter().any(|(method, at)| {
                        method.satisfies(allowed)
                            && !window.is_zero()
                            && now.saturating_sub(*at) <= millis(*window)
                    });
                    recent
                        || grant.is_some_and(|grant| {
                            grant.method.satisfies(allowed)
                                && grant.epoch == self.epoch.load(Ordering::SeqCst)
                                && now.saturating_sub(grant.at_ms)
                                    <= millis(*window).max(GRANT_USE_MS)
                        })
                }
            }
        };
        if expired {
            self.lock_because(LockReason::Idle);
        }
        open
    }

    /// A grant for `class` when it is open now (no prompt), else `None`.
    pub(crate) fn grant_if_open(&self, class: DataClass) -> Option<UnlockGrant> {
        if !self.is_open(class, None) {
            return None;
        }
        Some(UnlockGrant {
            // A class that needs nothing allows no method, and checks no grant.
            method: self
                .policy
                .methods(class)
                .first()
                .copied()
                .unwrap_or(AuthMethod::DeviceCredential),
            at_ms: self.clock.monotonic_ms(),
            epoch: self.epoch.load(Ordering::SeqCst),
        })
    }

    /// Whether `grant` still stands for `class` on its own: made by a method `class` allows,
    /// before no lock since, and within `class`'s [`ClassRequirement::Recent`] window (a zero
    /// window: within the time a per-use grant serves its read). Unlike [`UnlockGate::check`], a
    /// later authentication does not extend it: a key unwrapped by the platform for this grant
    /// lives no longer than the platform's own authentication would. Other requirements: never.
    pub(crate) fn grant_is_current(&self, class: DataClass, grant: &UnlockGrant) -> bool {
        let ClassRequirement::Recent { window } = self.policy.requirement(class) else {
            return false;
        };
        grant.method.satisfies(self.policy.methods(class))
            && grant.epoch == self.epoch.load(Ordering::SeqCst)
            && self.clock.monotonic_ms().saturating_sub(grant.at_ms)
                <= millis(*window).max(GRANT_USE_MS)
    }

    /// The grant for `class` after a prompt that succeeded with `method`.
    fn grant_after(&self, class: DataClass, method: AuthMethod) -> Result<UnlockGrant> {
        if *self.policy.requirement(class) != ClassRequirement::Nothing
            && !method.satisfies(self.policy.methods(class))
        {
            return Err(Error::UserAuthenticationRequired);
        }
        Ok(UnlockGrant {
            method,
            at_ms: self.clock.monotonic_ms(),
            epoch: self.epoch.load(Ordering::SeqCst),
        })
    }

    /// Runs `step`, a keystore operation that prompts and uses the key in one step (a signature
    /// with an auth-bound Android key through BiometricPrompt's `CryptoObject`, a Secure Enclave
    /// key with `.biometryCurrentSet`), under this gate's policy for `class`: refused while
    /// locked out, its outcome counted and reported as a prompt's, a method `class` does not
    /// allow refused (the value is then discarded). Each call runs its own step: the platform
    /// needs one authentication per operation of a per-use key, so concurrent calls are not
    /// joined. A success opens the gate as a prompt through the [`Authenticator`] would.
    ///
    /// Returns what the key produced and the grant of the authentication (for a read that
    /// follows, as [`UnlockGate::unlock`]'s).
    ///
    /// # Errors
    /// As [`UnlockGate::unlock`]; the error of `step` itself (the key failed) unchanged.
    pub async fn authenticate_use<T, F, Fut>(
        &self,
        class: DataClass,
        account: Option<&str>,
        reason: &str,
        step: F,
    ) -> Result<(T, UnlockGrant)>
    where
        F: FnOnce(AuthRequest) -> Fut,
        Fut: std::future::Future<Output = Result<AuthenticatedUse<T>>>,
    {
        self.refuse_if_locked_out()?;
        let request = self.request(class, account, reason);
        let allowed = request.allowed.clone();
        match step(request).await? {
            AuthenticatedUse::Done { method, value } => {
                let method =
                    self.apply_outcome(class, &allowed, AuthOutcome::Success { method })?;
                Ok((value, self.grant_after(class, method)?))
            }
            AuthenticatedUse::Refused(outcome) => {
                let outcome = match outcome {
                    AuthOutcome::Success { .. } => AuthOutcome::Unavailable,
                    other => other,
                };
                self.apply_outcome(class, &allowed, outcome)?;
                // Every outcome but a success is an error above.
                Err(Error::UserAuthenticationRequired)
            }
        }
    }

    fn request(&self, class: DataClass, account: Option<&str>, reason: &str) -> AuthRequest {
        AuthRequest {
            reason: reason.to_owned(),
            account: account.map(str::to_owned),
            class,
            allowed: self.policy.methods(class).to_vec(),
        }
    }

    /// Shows one prompt and applies its outcome to the state and the counter.
    async fn prompt(&self, class: DataClass, account: Option<&str>, reason: &str) -> PromptResult {
        let Some(authenticator) = &self.authenticator else {
            return Err(Error::UserAuthenticationRequired);
        };
        let request = self.request(class, account, reason);
        let allowed = request.allowed.clone();
        let outcome = authenticator.authenticate(request).await;
        self.apply_outcome(class, &allowed, outcome)
    }

    /// Applies how a prompt ended to the state and the counter, and reports it.
    fn apply_outcome(
        &self,
        class: DataClass,
        allowed: &[AuthMethod],
        outcome: AuthOutcome,
    ) -> PromptResult {
        let event = |kind| SecurityEvent::new(kind).with_detail("class", class.as_str());
        match outcome {
            AuthOutcome::Success { method } if method.satisfies(allowed) => {
                self.record(|record| {
                    record.failures = 0;
                    record.lockouts = 0;
                    record.locked_until_ms = 0;
                })?;
                let now = self.clock.monotonic_ms();
                {
                    let mut state = lock(&self.state);
                    state.first_unlocked = true;
                    state.locked_until_mono = None;
                    if matches!(
                        self.policy.requirement(DataClass::Confidential),
                        ClassRequirement::Session { .. }
                    ) && method.satisfies(self.policy.methods(DataClass::Confidential))
                    {
                        state.session = Some((method, now));
                    }
                    state.latest.retain(|(m, _)| *m != method);
                    state.latest.push((method, now));
                }
                tracing::info!(class = class.as_str(), method = method.as_str(), "unlocked");
                self.events.emit(
                    event(SecurityEventKind::UnlockSucceeded)
                        .with_detail("method", method.as_str()),
                );
                Ok(method)
            }
            // A method the request did not allow: the app's prompt is misconfigured.
            AuthOutcome::Success { .. } | AuthOutcome::NotEnrolled | AuthOutcome::Unavailable => {
                Err(Error::UserAuthenticationRequired)
            }
            AuthOutcome::Cancelled => {
                self.events.emit(event(SecurityEventKind::UnlockCancelled));
                Err(Error::UserCancelled)
            }
            AuthOutcome::Failed => self.count_failure(class),
            AuthOutcome::LockedOut { until_unix_ms } => {
                let until = until_unix_ms.unwrap_or_else(|| {
                    self.clock
                        .wall_ms()
                        .saturating_add(duration_ms(self.policy.lockout))
                });
                self.events.emit(
                    event(SecurityEventKind::UnlockLockedOut)
                        .with_detail("until_ms", until.to_string())
                        .with_detail("by", "platform"),
                );
                Err(Error::LockedOut {
                    until_unix_ms: until,
                })
            }
            AuthOutcome::KeyInvalidated => {
                self.events
                    .emit(event(SecurityEventKind::VaultKeyInvalidated));
                Err(Error::KeyInvalidated)
            }
        }
    }

    /// Counts a failed attempt; the limit reached starts a lockout.
    fn count_failure(&self, class: DataClass) -> PromptResult {
        let limit = self.policy.max_failures;
        let wall = self.clock.wall_ms();
        let mut failures = 0;
        let mut lockout = None;
        self.record(|record| {
            failures = record.failures.saturating_add(1);
            record.failures = failures;
            if failures >= limit {
                let length = self.policy.lockout_length(record.lockouts);
                record.locked_until_ms = wall.saturating_add(duration_ms(length));
                record.lockouts = record.lockouts.saturating_add(1);
                record.failures = 0;
                lockout = Some((record.locked_until_ms, length));
            }
        })?;
        // Reported once the count is saved.
        tracing::warn!(class = class.as_str(), failures, limit, "unlock failed");
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::UnlockFailed)
                .with_detail("class", class.as_str())
                .with_detail("failures", failures.to_string())
                .with_detail("limit", limit.to_string()),
        );
        let Some((until, length)) = lockout else {
            return Err(Error::AuthenticationFailed {
                remaining_attempts: limit - failures,
            });
        };
        let deadline = self.clock.monotonic_ms().saturating_add(millis(length));
        lock(&self.state).locked_until_mono = Some(deadline);
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::UnlockLockedOut)
                .with_detail("until_ms", until.to_string())
                .with_detail("by", "rukasec"),
        );
        Err(Error::LockedOut {
            until_unix_ms: until,
        })
    }

    /// Loads the counter (a tampered one is a lockout), applies `change`, saves it.
    fn record(&self, change: impl FnOnce(&mut AttemptRecord)) -> Result<()> {
        let mut record = self.load_record()?;
        change(&mut record);
        self.attempts.save(&record)?;
        *lock(&self.record) = Some(record);
        Ok(())
    }

    fn load_record(&self) -> Result<AttemptRecord> {
        if let Some(record) = *lock(&self.record) {
            return Ok(record);
        }
        match self.attempts.load() {
            Ok(record) => {
                let record = record.unwrap_or_default();
                *lock(&self.record) = Some(record);
                Ok(record)
            }
            Err(Error::Integrity) => {
                self.events.emit(
                    SecurityEvent::new(SecurityEventKind::UnlockCounterTampered)
                        .with_detail("what", "attempt_counter"),
                );
                let until = self
                    .clock
                    .wall_ms()
                    .saturating_add(duration_ms(self.policy.max_lockout));
                Err(Error::LockedOut {
                    until_unix_ms: until,
                })
            }
            Err(other) => Err(other),
        }
    }

    /// Fails with [`Error::LockedOut`] while a lockout runs: the stored one (an absolute wall
    /// time: a clock set back only lengthens it) or, within this process, the monotonic one (a
    /// wall clock set forward does not end it early).
    fn refuse_if_locked_out(&self) -> Result<()> {
        let record = self.load_record()?;
        if record.locked_until_ms > self.clock.wall_ms() {
            return Err(Error::LockedOut {
                until_unix_ms: record.locked_until_ms,
            });
        }
        let mono = self.clock.monotonic_ms();
        if let Some(deadline) = lock(&self.state).locked_until_mono
            && deadline > mono
        {
            let remaining = i64::try_from(deadline - mono).unwrap_or(i64::MAX);
            return Err(Error::LockedOut {
                until_unix_ms: self.clock.wall_ms().saturating_add(remaining),
            });
        }
        Ok(())
    }
}

/// How long a grant for a per-use class serves the read it was made for.
const GRANT_USE_MS: u64 = 5_000;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Whether an unlock shows the prompt or waits for the one in flight.
enum Role {
    Lead(watch::Sender<Option<PromptResult>>),
    Join(watch::Receiver<Option<PromptResult>>),
}

/// Clears the in-flight prompt when dropped.
struct ClearOnDrop<'a>(&'a Mutex<Option<watch::Receiver<Option<PromptResult>>>>);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        *lock(self.0) = None;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded state stays consistent whatever a panicking holder did (plain assignments).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
