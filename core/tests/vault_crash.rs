//! Crash safety of the vault: every write acknowledged by `put` / `put_batch` survives a SIGKILL
//! at a random moment, a batch is all or nothing, and the database always reopens.
//!
//! The test binary re-executes itself as the writer: `child_writer` (a no-op unless
//! `RUKASEC_CRASH_CHILD_DIR` is set) opens the vault in that directory and writes items
//! `start, start+1, ...` forever, printing `ack <i>` (or `ack <i>..<j>` for a batch) after each
//! call returned. The parent kills it with SIGKILL (some rounds at a random time after start,
//! most after a random number of acks plus a random delay), reopens the vault and checks that
//! exactly the acknowledged items, plus at most the one unit in flight, are there, with their
//! exact values; the next round continues in the same directory after the last ack.
//!
//! `RUKASEC_CRASH_SEED=<n>` replays a run (the seed is printed and named in every failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rukasec_core::RukaSec;
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::wrappers::FileKeyWrapper;
use rukasec_core::vault::{DATABASE_FILE, DataClass, PutItem, Vault};

const CHILD_DIR: &str = "RUKASEC_CRASH_CHILD_DIR";
const CHILD_START: &str = "RUKASEC_CRASH_CHILD_START";
const SEED: &str = "RUKASEC_CRASH_SEED";
const KEY_FILE: &str = "root.key";
const ACCOUNT: &str = "crash-account";
const NAMESPACE: &str = "crash";

/// Items per batch; blocks of this many indexes are either ten `put`s or one `put_batch`.
const BATCH: u64 = 10;
const ROUNDS: usize = 40;
/// No round starts after this; the whole test stays under about a minute.
const TIME_BUDGET: Duration = Duration::from_secs(45);
/// At least this many rounds, and this many items acknowledged, make a run that proves anything.
const MIN_ROUNDS: usize = 20;
const MIN_ACKED: u64 = 300;
/// Under an emulator (RUKASEC_TEST_RUNNER, scripts/test-arm.sh) a round takes 3 to 12 times as
/// long (qemu on a loaded machine): fewer rounds in a longer budget, each still a SIGKILL of a
/// writer whose every acknowledged write is then checked.
const EMULATED_ROUNDS: usize = 12;
const EMULATED_MIN_ROUNDS: usize = 8;
const EMULATED_MIN_ACKED: u64 = 100;
const EMULATED_TIME_BUDGET: Duration = Duration::from_secs(150);
/// A child stops by itself after this (it is always killed long before).
const CHILD_LIFETIME: Duration = Duration::from_secs(30);
/// How long the parent waits for a child's acks before killing it anyway.
const ACK_PATIENCE: Duration = Duration::from_secs(10);

/// Whether index `i`'s block of ten is written with one `put_batch`.
fn in_batch(i: u64) -> bool {
    (i / BATCH) % 3 == 1
}

/// The indexes written by the one call that starts at `i`.
fn unit(i: u64) -> std::ops::RangeInclusive<u64> {
    if in_batch(i) {
        assert_eq!(i % BATCH, 0, "a batch starts on a block boundary");
        i..=i + BATCH - 1
    } else {
        i..=i
    }
}

fn name(i: u64) -> String {
    format!("item-{i:08}")
}

fn class(i: u64) -> DataClass {
    DataClass::ALL[usize::try_from(i % 4).unwrap()]
}

/// Item `i`'s value: 64 KiB for one index in seven, else 256 bytes, pseudo-random from `i`.
fn value(i: u64) -> Vec<u8> {
    let len = if i % 7 == 3 { 64 * 1024 } else { 256 };
    let mut rng = XorShift::new(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xC0FF_EE00);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// xorshift64*: enough randomness for delays and samples, replayable from its seed.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn open(core: &RukaSec, dir: &Path) -> Vault {
    let wrapper = FileKeyWrapper::from_file(&dir.join(KEY_FILE)).unwrap();
    core.open_vault(dir, Arc::new(wrapper)).unwrap()
}

/// The writer, when run as the child; a no-op otherwise.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let mut next: u64 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    let core = RukaSec::new(None);
    let vault = open(&core, &dir);
    let mut out = std::io::stdout().lock();
    // libtest has printed `test child_writer ... ` without a newline: start a fresh line.
    if out.write_all(b"\n").and_then(|()| out.flush()).is_err() {
        return;
    }
    let started = Instant::now();
    while started.elapsed() < CHILD_LIFETIME {
        let indexes = unit(next);
        let (first, last) = (*indexes.start(), *indexes.end());
        let line = if in_batch(next) {
            let items: Vec<PutItem> = indexes
                .map(|i| PutItem {
                    namespace: NAMESPACE.to_owned(),
                    name: name(i),
                    value: SecretBytes::new(value(i)),
                    class: class(i),
                    ttl: None,
                })
                .collect();
            vault.put_batch(ACCOUNT, &items).unwrap();
            format!("ack {first}..{last}\n")
        } else {
            vault
                .put(
                    ACCOUNT,
                    NAMESPACE,
                    &name(next),
                    &value(next),
                    class(next),
                    None,
                )
                .unwrap();
            format!("ack {first}\n")
        };
        next = last + 1;
        // One short write per ack (atomic on a pipe); a closed pipe means the parent is gone.
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// `ack 5` -> (5, 5), `ack 30..39` -> (30, 39).
fn parse_ack(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("ack ")?;
    Some(match rest.split_once("..") {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let i = rest.parse().ok()?;
            (i, i)
        }
    })
}

/// What one round saw.
struct Round {
    /// Units acknowledged in this round.
    acks: Vec<(u64, u64)>,
    /// Killed at a random time after start (not after a number of acks).
    early: bool,
}

/// Spawns the writer at `start`, kills it with SIGKILL per the round's plan, returns its acks.
fn run_child(dir: &Path, round: usize, start: u64, rng: &mut XorShift, context: &str) -> Round {
    // Under emulation (scripts/test-arm.sh) the test binary is not the host's: the child runs
    // under the same emulator, named by RUKASEC_TEST_RUNNER (`qemu-aarch64 -L /usr/...`).
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("RUKASEC_TEST_RUNNER").unwrap_or_default();
    let mut runner = runner.split_whitespace();
    let mut command = match runner.next() {
        Some(emulator) => {
            let mut command = Command::new(emulator);
            command.args(runner).arg(&exe);
            command
        }
        None => Command::new(&exe),
    };
    let mut child = command
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_START, start.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, acks) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                // A line cut short by the kill is not an acknowledgement.
                Ok(_) if !line.ends_with('\n') => break,
                Ok(_) => {
                    if let Some(ack) = parse_ack(line.trim_end()) {
                        let _ = sender.send(ack);
                    }
                }
            }
        }
    });

    let spawned = Instant::now();
    let mut received = Vec::new();
    // One round in four (the first creates the account) dies at a random moment after start:
    // during start-up, opening, account creation or the first writes.
    let early = round % 4 == 1;
    if early {
        std::thread::sleep(Duration::from_micros(rng.below(150_000)));
    } else {
        // The others die inside the write loop: after 1 to 40 acks and a random 0-3 ms more.
        let wanted = 1 + rng.below(40);
        while (received.len() as u64) < wanted && spawned.elapsed() < ACK_PATIENCE {
            match acks.recv_timeout(Duration::from_millis(50)) {
                Ok(ack) => received.push(ack),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(3_000)));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    received.extend(acks.try_iter());
    assert_eq!(
        status.signal(),
        Some(9),
        "{context}: the writer was to die of SIGKILL, but ended with {status}"
    );
    Round {
        acks: received,
        early,
    }
}

/// Checks item `i`'s value, if present; returns whether it was.
fn check_value(vault: &Vault, i: u64, context: &str) -> bool {
    match vault.get(ACCOUNT, NAMESPACE, &name(i)) {
        Ok(Some(stored)) => {
            assert!(
                stored.expose_secret() == value(i).as_slice(),
                "{context}: item {i} has another value"
            );
            true
        }
        Ok(None) => false,
        Err(error) => panic!("{context}: item {i} does not read: {error}"),
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let seed = std::env::var(SEED).ok().map_or_else(
        || {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        },
        |s| s.parse().unwrap(),
    );
    eprintln!("vault_crash: seed {seed} (replay with {SEED}={seed})");
    let mut rng = XorShift::new(seed);
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    FileKeyWrapper::generate_file(&dir.join(KEY_FILE)).unwrap();
    let core = RukaSec::new(None);

    let started = Instant::now();
    // Every index below `acked_to` has been acknowledged.
    let mut acked_to: u64 = 0;
    let (mut rounds, mut early_kills, mut in_loop_kills, mut in_flight_found) = (0, 0, 0, 0);
    let (max_rounds, budget, min_rounds, min_acked) =
        if std::env::var_os("RUKASEC_TEST_RUNNER").is_some() {
            (
                EMULATED_ROUNDS,
                EMULATED_TIME_BUDGET,
                EMULATED_MIN_ROUNDS,
                EMULATED_MIN_ACKED,
            )
        } else {
            (ROUNDS, TIME_BUDGET, MIN_ROUNDS, MIN_ACKED)
        };
    while rounds < max_rounds && started.elapsed() < budget {
        rounds += 1;
        let context = format!("seed {seed}, round {rounds}");
        let round = run_child(dir, rounds, acked_to, &mut rng, &context);
        let round_start = acked_to;
        for &(first, last) in &round.acks {
            assert_eq!(
                (first, last),
                (*unit(acked_to).start(), *unit(acked_to).end()),
                "{context}: acks arrive in order, one unit each"
            );
            acked_to = last + 1;
        }
        if round.early {
            early_kills += 1;
        } else if !round.acks.is_empty() {
            in_loop_kills += 1;
        }

        // The database reopens, SQLite finds nothing wrong, and `list` works.
        let vault = open(&core, dir);
        let check: String = rusqlite::Connection::open(dir.join(DATABASE_FILE))
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{context}: SQLite integrity check");
        let present: BTreeSet<u64> = vault
            .list(ACCOUNT, NAMESPACE)
            .unwrap()
            .iter()
            .map(|n| n.strip_prefix("item-").unwrap().parse().unwrap())
            .collect();

        // Exactly the acknowledged items, plus at most the whole unit that was in flight.
        let acked: BTreeSet<u64> = (0..acked_to).collect();
        let extra: BTreeSet<u64> = present.difference(&acked).copied().collect();
        let missing: Vec<u64> = acked.difference(&present).copied().collect();
        assert!(
            missing.is_empty(),
            "{context}: acknowledged items lost: {missing:?}"
        );
        if !extra.is_empty() {
            let in_flight: BTreeSet<u64> = unit(acked_to).collect();
            assert_eq!(
                extra, in_flight,
                "{context}: beyond the acks only the whole unit in flight may exist"
            );
            in_flight_found += 1;
        }

        // Values: everything acknowledged or found this round, plus a sample of older items.
        let mut to_check: BTreeSet<u64> = (round_start..acked_to).chain(extra).collect();
        for _ in 0..16.min(round_start) {
            to_check.insert(rng.below(round_start));
        }
        for i in to_check {
            assert!(check_value(&vault, i, &context), "{context}: item {i}");
        }
    }

    // Finally every acknowledged value, in a vault opened from scratch.
    let vault = open(&core, dir);
    for i in 0..acked_to {
        assert!(check_value(&vault, i, &format!("seed {seed}, final")));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "vault_crash: {rounds} rounds in {:.1} s, {acked_to} items acknowledged, \
         {in_loop_kills} kills inside the write loop, {early_kills} at a random time, \
         {in_flight_found} rounds found a committed but unacknowledged unit",
        elapsed.as_secs_f64(),
    );
    assert!(
        rounds >= min_rounds,
        "seed {seed}: only {rounds} rounds ran"
    );
    assert!(
        acked_to >= min_acked,
        "seed {seed}: only {acked_to} items acknowledged"
    );
    assert!(
        in_loop_kills * 2 >= rounds,
        "seed {seed}: only {in_loop_kills} of {rounds} kills hit the write loop"
    );
}
