//! The demo's unlocking step: the core's [`UnlockGate`] in front of a vault, with a scripted
//! user at the prompt standing in for BiometricPrompt / LocalAuthentication.
//!
//! What a phone app would see: a restricted item is refused to a read that has not unlocked (a
//! blocking read never prompts); the user cancels the prompt (refused, not counted); the user
//! authenticates with a strong biometric and the item reads back, and the confidential session
//! opens with it; the app goes to the background and everything locks again (the vault drops
//! its keys); three failed attempts in a row lock out (a short policy, so the step needs no
//! waiting), a fourth try is refused without showing a prompt, and an app restart (a new vault
//! and gate on the same files) is still locked out, because the counter is an authenticated
//! vault item. The policy is the core's default with `max_failures` 3 and a 5 s lockout.
//! Values are never printed; an outcome other than the expected one stops the demo.
//!
//! The gate needs its event bus as an `Arc`, which `RukaSec` does not hand out, so this step
//! opens its vault and gate on a bus of its own with the demo's listener; the demo adds the
//! bus's counters to its totals.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::events::{EventBus, EventStats};
use rukasec_core::unlock::{
    AuthFuture, AuthMethod, AuthOutcome, AuthRequest, Authenticator, ClassRequirement, UnlockGate,
    UnlockGrant, UnlockPolicy,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DataClass, Vault, VaultAttemptStore};

use crate::events::EventLog;
use crate::failure::{Failure, INTERNAL};

const ALICE: &str = "alice";
/// A restricted item: what a payment needs.
const TOKEN: (&str, &str, &[u8]) = ("auth", "refresh-token", b"rt.alice.3f9c2e7d41b8a6055e1d");
/// A confidential item: opens with the session.
const HISTORY: (&str, &str, &[u8]) = (
    "history",
    "last-payment",
    b"KES 1,250.00 to Java House on 2026-11-28",
);
/// A public item: needs nothing.
const PROFILE: (&str, &str, &[u8]) = ("profile", "display-name", b"Alice Wanjiru");
/// What the prompt tells the user.
const REASON: &str = "Confirm the payment of KES 100.00 to acct-42";

const STRONG: AuthOutcome = AuthOutcome::Success {
    method: AuthMethod::StrongBiometric,
};

/// The user at the prompt: answers each prompt with the next scripted outcome.
struct ScriptedUser {
    answers: Mutex<VecDeque<AuthOutcome>>,
    prompts: Mutex<Vec<AuthRequest>>,
}

impl ScriptedUser {
    fn new(answers: impl IntoIterator<Item = AuthOutcome>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().collect()),
            prompts: Mutex::new(Vec::new()),
        })
    }

    fn prompts(&self) -> usize {
        self.prompts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The methods the latest prompt allowed, as text.
    fn last_allowed(&self) -> String {
        self.prompts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .map(|request| methods(&request.allowed))
            .unwrap_or_default()
    }
}

impl Authenticator for ScriptedUser {
    fn authenticate(&self, request: AuthRequest) -> AuthFuture<'_> {
        self.prompts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
        // A user who has run out of script walks away.
        let outcome = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
            .unwrap_or(AuthOutcome::Cancelled);
        Box::pin(async move { outcome })
    }
}

/// Runs the step and prints its events; returns its bus's counters.
pub fn run(log: &Arc<EventLog>, out: &mut impl Write) -> Result<EventStats, Failure> {
    let temp = tempfile::Builder::new()
        .prefix("rukasec-demo-unlock-")
        .tempdir()
        .map_err(|e| Failure::from(e).context("making the demo's temporary directory"))?;
    let dir = temp.path().join("vault");
    let keystore = Arc::new(MemoryKeyWrapper::new());
    let listener: Arc<EventLog> = Arc::clone(log);
    let bus = Arc::new(EventBus::new(Some(listener)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Failure::from(e).context("starting the async runtime"))?;

    let vault = Arc::new(Vault::open(&dir, keystore.clone(), Arc::clone(&bus))?);
    for ((namespace, name, value), class) in [
        (TOKEN, DataClass::Restricted),
        (HISTORY, DataClass::Confidential),
        (PROFILE, DataClass::Public),
    ] {
        vault.put(ALICE, namespace, name, value, class, None)?;
    }
    let policy = UnlockPolicy {
        max_failures: 3,
        lockout: Duration::from_secs(5),
        max_lockout: Duration::from_secs(60),
        ..UnlockPolicy::default()
    };
    writeln!(
        out,
        "  policy (the core's default with 3 failures and a short lockout, so the demo needs no \
         waiting):"
    )?;
    for line in describe(&policy) {
        writeln!(out, "    {line}")?;
    }
    let user = ScriptedUser::new([
        AuthOutcome::Cancelled,
        STRONG,
        AuthOutcome::Failed,
        AuthOutcome::Failed,
        AuthOutcome::Failed,
        STRONG,
    ]);
    let gate = Arc::new(UnlockGate::new(
        policy.clone(),
        Some(user.clone()),
        Arc::new(VaultAttemptStore::new(&vault)),
        Arc::clone(&bus),
    )?);
    vault.attach_unlock_gate(Arc::clone(&gate))?;
    let unlock = |gate: &UnlockGate| {
        runtime.block_on(gate.unlock(DataClass::Restricted, Some(ALICE), REASON))
    };

    // Without an unlock: public reads, restricted is refused.
    check(
        read(&vault, PROFILE, None)?,
        "the public item did not read back",
    )?;
    let refused = expect_refusal(
        vault.get(ALICE, TOKEN.0, TOKEN.1),
        "a read before any unlock",
    )?;
    check(
        matches!(refused, Error::UserAuthenticationRequired),
        "a read before any unlock was not user-authentication-required",
    )?;
    writeln!(
        out,
        "  alice profile/display-name (public): reads without an unlock"
    )?;
    writeln!(
        out,
        "  alice auth/refresh-token (restricted), no unlock yet: refused: {} (a blocking read \
         never prompts)",
        Failure::from(refused).kind()
    )?;

    // The user cancels the prompt.
    let cancelled = expect_refusal(unlock(&gate), "a cancelled prompt")?;
    check(
        matches!(cancelled, Error::UserCancelled),
        "a cancelled prompt was not user-cancelled",
    )?;
    writeln!(
        out,
        "  unlock restricted: the prompt asks for {} (\"{REASON}\"); the user cancels: {} (not \
         a failed attempt)",
        user.last_allowed(),
        Failure::from(cancelled).kind()
    )?;

    // The user authenticates.
    let grant = unlock(&gate)?;
    check(
        read(&vault, TOKEN, Some(&grant))?,
        "the restricted item did not read back after the unlock",
    )?;
    check(
        read(&vault, HISTORY, None)?,
        "the confidential session did not open with the unlock",
    )?;
    writeln!(
        out,
        "  unlock again, a strong biometric: granted; auth/refresh-token reads back (not \
         printed), and history/last-payment (confidential) now reads too: the session is open"
    )?;

    // Backgrounding locks.
    gate.on_app_background();
    let locked = expect_refusal(
        vault.get(ALICE, HISTORY.0, HISTORY.1),
        "a read after locking",
    )?;
    check(
        matches!(locked, Error::UserAuthenticationRequired),
        "the session survived backgrounding",
    )?;
    writeln!(
        out,
        "  the app goes to the background: locked, the vault dropped its keys; \
         history/last-payment -> {}",
        Failure::from(locked).kind()
    )?;

    // Three failed attempts lock out.
    let mut outcomes = Vec::new();
    for attempt in 1..=policy.max_failures {
        let error = expect_refusal(unlock(&gate), "a failed attempt")?;
        let expected = if attempt < policy.max_failures {
            matches!(error, Error::AuthenticationFailed { remaining_attempts }
                if remaining_attempts == policy.max_failures - attempt)
        } else {
            matches!(error, Error::LockedOut { .. })
        };
        check(expected, "a failed attempt had an unexpected outcome")?;
        outcomes.push(Failure::from(error).to_string());
    }
    writeln!(
        out,
        "  {} failed attempts in a row (the biometric not recognised):",
        policy.max_failures
    )?;
    for outcome in &outcomes {
        writeln!(out, "    refused: {outcome}")?;
    }

    // Locked out: no prompt at all, even for a user who would succeed.
    let prompts = user.prompts();
    let refused = expect_refusal(unlock(&gate), "an unlock while locked out")?;
    check(
        matches!(refused, Error::LockedOut { .. }) && user.prompts() == prompts,
        "an unlock while locked out was not refused before prompting",
    )?;
    writeln!(
        out,
        "  one more try while locked out: refused: {} before any prompt is shown",
        Failure::from(refused).kind()
    )?;

    // An app restart: a new vault and gate on the same files.
    let reopened = Arc::new(Vault::open(&dir, keystore, Arc::clone(&bus))?);
    let fresh_user = ScriptedUser::new([STRONG]);
    let restarted = Arc::new(UnlockGate::new(
        policy,
        Some(fresh_user.clone()),
        Arc::new(VaultAttemptStore::new(&reopened)),
        Arc::clone(&bus),
    )?);
    reopened.attach_unlock_gate(Arc::clone(&restarted))?;
    let refused = expect_refusal(unlock(&restarted), "an unlock after a restart")?;
    check(
        matches!(refused, Error::LockedOut { .. }) && fresh_user.prompts() == 0,
        "the lockout did not survive a restart",
    )?;
    writeln!(
        out,
        "  the app restarts (a new vault and gate on the same files): still {} (the counter is \
         an authenticated vault item)",
        Failure::from(refused).kind()
    )?;
    writeln!(
        out,
        "  on the command line: rukasec vault --unlock-with pin-file:PATH, a PIN checked \
         against a salted PBKDF2 hash standing in for the device credential"
    )?;

    log.print_new_on(&bus, out)?;
    let stats = bus.stats();
    drop((vault, reopened, gate, restarted));
    temp.close()
        .map_err(|e| Failure::from(e).context("removing the demo's temporary directory"))?;
    Ok(stats)
}

/// A line per class saying what it needs, and one for the lockout.
fn describe(policy: &UnlockPolicy) -> Vec<String> {
    let mut lines: Vec<String> = DataClass::ALL
        .iter()
        .map(|&class| {
            let methods = methods(policy.methods(class));
            let need = match policy.requirement(class) {
                ClassRequirement::Nothing => "nothing".to_owned(),
                ClassRequirement::FirstUnlock => {
                    format!("the first unlock since start ({methods})")
                }
                ClassRequirement::Session { idle_timeout } => format!(
                    "an unlocked session ({methods}; locks after {} s idle)",
                    idle_timeout.as_secs()
                ),
                ClassRequirement::Recent { window } if window.is_zero() => {
                    format!("{methods} for each read")
                }
                ClassRequirement::Recent { window } => {
                    format!("{methods} within the last {} s", window.as_secs())
                }
            };
            format!("{class}: {need}")
        })
        .collect();
    lines.push(format!(
        "{} failed attempts in a row lock out for {} s, doubling with each lockout up to {} s",
        policy.max_failures,
        policy.lockout.as_secs(),
        policy.max_lockout.as_secs()
    ));
    lines
}

fn methods(methods: &[AuthMethod]) -> String {
    let names: Vec<&str> = methods.iter().map(|method| method.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// Whether alice's `item` reads back as stored (with `grant` when given).
fn read(
    vault: &Vault,
    (namespace, name, value): (&str, &str, &[u8]),
    grant: Option<&UnlockGrant>,
) -> Result<bool, Failure> {
    let stored = match grant {
        Some(grant) => vault.get_granted(grant, ALICE, namespace, name)?,
        None => vault.get(ALICE, namespace, name)?,
    };
    Ok(stored.is_some_and(|stored| stored.expose_secret() == value))
}

/// The error of a call that must be refused.
fn expect_refusal<T>(result: Result<T, Error>, what: &str) -> Result<Error, Failure> {
    match result {
        Err(error) => Ok(error),
        Ok(_) => Err(Failure::new(
            INTERNAL,
            format!("unlock demo: {what} was not refused"),
        )),
    }
}

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(INTERNAL, format!("unlock demo: {what}")))
    }
}
