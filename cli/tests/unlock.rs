//! `rukasec vault --unlock-with pin-file:PATH` end to end, on the real binary: which classes
//! need the PIN, wrong PINs counting down to a lockout (exit 8, until an RFC 3339 time) that a
//! new process still sees, replacing a PIN, tampered PIN records, the PIN in no output and
//! nowhere in the database, and the verifier and counter as docs/FORMAT.md §13 has them (read
//! by the independent Python reader, the hash checked with Python's hashlib).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

mod support;
use support::{rukasec, rukasec_with_stdin};

/// Every PIN of these tests starts with this: it must never appear in any output.
const CANARY: &str = "CANARY-PIN-";
/// The PIN (its file also has spaces around it and a second line).
const PIN: &str = "CANARY-PIN-8c41d9";
const WRONG_PIN: &str = "CANARY-PIN-wrong-5b2e";
const NEW_PIN: &str = "CANARY-PIN-new-77a0";
const VALUE: &[u8] = b"a stored value 31f7";
/// The envelope of a public item: version, nonce, value, tag.
const ENVELOPE_OVERHEAD: i64 = 1 + 12 + 16;
/// The PIN verifier (version, algorithm, iterations, salt, hash) and the counter (version,
/// failures, lockouts, until) as stored: their envelopes' lengths tell their rows apart.
const VERIFIER_ROW_LEN: i64 = 1 + 1 + 4 + 16 + 32 + ENVELOPE_OVERHEAD;
const COUNTER_ROW_LEN: i64 = 1 + 4 + 4 + 8 + ENVELOPE_OVERHEAD;

/// A vault directory with its key file and PIN files.
struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    pin: PathBuf,
    wrong: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("root.key");
        let output = rukasec(&["keygen", key.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let fixture = Self {
            pin: dir.path().join("pin"),
            wrong: dir.path().join("wrong-pin"),
            key,
            dir,
        };
        std::fs::write(
            &fixture.pin,
            format!("  {PIN} \r\nthe second line is not the PIN\n"),
        )
        .unwrap();
        std::fs::write(&fixture.wrong, format!("{WRONG_PIN}\n")).unwrap();
        fixture
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn vault_dir(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    /// `rukasec vault ... [--unlock-with pin-file:PIN] args`; checks that no PIN is printed.
    fn vault(&self, unlock: Option<&Path>, args: &[&str]) -> Output {
        let dir = self.vault_dir();
        let flag = unlock.map(|pin| format!("pin-file:{}", pin.display()));
        let mut all = vec![
            "vault",
            "--dir",
            dir.to_str().unwrap(),
            "--kek-file",
            self.key.to_str().unwrap(),
        ];
        if let Some(flag) = &flag {
            all.extend(["--unlock-with", flag.as_str()]);
        }
        all.extend_from_slice(args);
        let output = if args.first() == Some(&"put") {
            rukasec_with_stdin(&all, VALUE)
        } else {
            rukasec(&all)
        };
        assert_no_pin(&output);
        output
    }

    /// A command that must succeed; its stdout.
    fn ok(&self, unlock: Option<&Path>, args: &[&str]) -> Vec<u8> {
        let output = self.vault(unlock, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        output.stdout
    }

    /// A command that must fail with `code` and `kind`; its stderr.
    fn fails(&self, unlock: Option<&Path>, args: &[&str], code: i32, kind: &str) -> String {
        let output = self.vault(unlock, args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("error: {kind}: ")),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(output.stdout.is_empty(), "a failure printed on stdout");
        err
    }

    fn set_pin(&self, unlock: Option<&Path>, pin_file: &Path) -> Output {
        self.vault(
            unlock,
            &["set-pin", "--pin-file", pin_file.to_str().unwrap()],
        )
    }

    fn put(&self, name: &str, class: &str) {
        self.ok(None, &["put", name, "--class", class]);
    }

    fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.vault_dir().join("vault.sqlite3")).unwrap()
    }

    /// The database and its WAL, as bytes.
    fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.vault_dir().join("vault.sqlite3")).unwrap();
        if let Ok(wal) = std::fs::read(self.vault_dir().join("vault.sqlite3-wal")) {
            bytes.extend_from_slice(&wal);
        }
        bytes
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn assert_no_pin(output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !contains(bytes, CANARY.as_bytes()),
            "a PIN is on {stream}: {}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert!(!stderr(output).contains("panicked"), "{}", stderr(output));
}

fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The Unix time of the `YYYY-MM-DDTHH:MM:SSZ` after "locked out until " in `message`.
fn until_secs(message: &str) -> i64 {
    let at = message.find("locked out until ").expect(message) + "locked out until ".len();
    let text = &message[at..at + 20];
    assert_eq!(&text[19..], "Z", "an RFC 3339 UTC time: {message}");
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().expect(message);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    assert_eq!(
        [
            &text[4..5],
            &text[7..8],
            &text[10..11],
            &text[13..14],
            &text[16..17]
        ],
        ["-", "-", "T", ":", ":"],
        "{message}"
    );
    // Days since 1970-01-01 by counting (an algorithm other than the CLI's).
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut days: i64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    days += month_days[..usize::try_from(month - 1).unwrap()]
        .iter()
        .sum::<i64>();
    if month > 2 && leap(year) {
        days += 1;
    }
    days += day - 1;
    days * 86_400 + hour * 3_600 + minute * 60 + second
}

#[test]
fn restricted_items_need_the_pin_and_wrong_pins_lock_out_across_processes() {
    let f = Fixture::new();
    for (name, class) in [
        ("token", "restricted"),
        ("history", "confidential"),
        ("language", "internal"),
        ("profile", "public"),
    ] {
        f.put(name, class);
    }

    // Without --unlock-with only the public item reads.
    assert_eq!(f.ok(None, &["get", "profile"]), VALUE);
    for name in ["token", "history", "language"] {
        let err = f.fails(None, &["get", name], 9, "user-authentication-required");
        assert!(err.contains("give --unlock-with pin-file:PATH"), "{err}");
    }
    // A PIN file, but no PIN set yet: nothing to check it against.
    let err = f.fails(
        Some(&f.pin),
        &["get", "token"],
        9,
        "user-authentication-required",
    );
    assert!(err.contains("set-pin"), "{err}");

    // Set it: the right PIN reads every class.
    let out = String::from_utf8(f.set_pin(None, &f.pin).stdout).unwrap();
    assert!(out.starts_with("PIN set for this account"), "{out}");
    for name in ["token", "history", "language", "profile"] {
        assert_eq!(f.ok(Some(&f.pin), &["get", name]), VALUE, "{name}");
    }

    // Wrong PINs count down, then lock out until a time about 30 s away.
    for left in ["4 attempts", "3 attempts", "2 attempts", "1 attempt"] {
        let err = f.fails(
            Some(&f.wrong),
            &["get", "token"],
            9,
            "authentication-failed",
        );
        assert!(
            err.contains(&format!("wrong PIN; {left} left before a lockout")),
            "{err}"
        );
    }
    let before = now_secs();
    let err = f.fails(Some(&f.wrong), &["get", "token"], 8, "locked-out");
    let until = until_secs(&err);
    assert!(
        (before + 30..=now_secs() + 31).contains(&until),
        "until {until}, now {before}: {err}"
    );
    assert!(
        err.contains(" (in 30 s)") || err.contains(" (in 29 s)"),
        "{err}"
    );

    // Each of these is a new process: the lockout is in the vault, for the right PIN as well
    // as without one, until the same time.
    for unlock in [Some(f.pin.as_path()), None, Some(f.wrong.as_path())] {
        let err = f.fails(unlock, &["get", "token"], 8, "locked-out");
        assert_eq!(until_secs(&err), until, "{err}");
    }
    // Public items need no unlock, so a lockout does not stop them.
    assert_eq!(f.ok(None, &["get", "profile"]), VALUE);

    // The counter and the verifier are out of the commands' reach.
    for args in [
        &["delete", "attempts", "--namespace", "rukasec.unlock"][..],
        &["list", "--namespace", "rukasec.unlock"],
        &["get", "pin-verifier", "--namespace", "rukasec.unlock"],
    ] {
        f.fails(None, args, 2, "usage");
    }
    let err = f.fails(Some(&f.pin), &["get", "token"], 8, "locked-out");
    assert_eq!(until_secs(&err), until);

    // No PIN is in the database, in any form the tests can think of.
    let bytes = f.database_bytes();
    for pin in [PIN, WRONG_PIN] {
        assert!(
            !contains(&bytes, pin.as_bytes()),
            "{pin} is in the database"
        );
        let hex: String = pin.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(!contains(&bytes, hex.as_bytes()));
    }
    assert!(!contains(&bytes, CANARY.as_bytes()));
}

#[test]
fn a_pin_is_replaced_only_with_the_current_one() {
    let f = Fixture::new();
    let new_pin = f.file("new-pin", NEW_PIN);
    f.put("token", "restricted");
    assert_eq!(f.set_pin(None, &f.pin).status.code(), Some(0));

    let err = f.fails(
        None,
        &["set-pin", "--pin-file", new_pin.to_str().unwrap()],
        9,
        "user-authentication-required",
    );
    assert!(err.contains("--unlock-with"), "{err}");
    f.fails(
        Some(&f.wrong),
        &["set-pin", "--pin-file", new_pin.to_str().unwrap()],
        9,
        "authentication-failed",
    );
    assert_eq!(f.set_pin(Some(&f.pin), &new_pin).status.code(), Some(0));

    assert_eq!(f.ok(Some(&new_pin), &["get", "token"]), VALUE);
    // The old PIN is now a wrong one (the success before reset the count: 4 left).
    let err = f.fails(Some(&f.pin), &["get", "token"], 9, "authentication-failed");
    assert!(err.contains("4 attempts left"), "{err}");

    // PIN files that cannot be used, named in the error by path only.
    for (content, what) in [("123\n", "at least 4 characters"), ("\n4711\n", "is empty")] {
        let file = f.file("bad-pin", content);
        let err = f.fails(
            Some(&new_pin),
            &["set-pin", "--pin-file", file.to_str().unwrap()],
            1,
            "invalid-input",
        );
        assert!(err.contains(what) && err.contains("bad-pin"), "{err}");
    }
    let missing = f.dir.path().join("no-such-pin");
    let err = f.fails(Some(&missing), &["get", "token"], 1, "io");
    assert!(err.contains("no-such-pin"), "{err}");
    // Not a pin-file: argument: a usage error.
    let output = f.vault(None, &["--unlock-with", "fingerprint", "get", "token"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_tampered_verifier_or_a_counter_put_back_is_refused() {
    // An edited verifier: the item fails authentication.
    let f = Fixture::new();
    f.put("token", "restricted");
    assert_eq!(f.set_pin(None, &f.pin).status.code(), Some(0));
    let db = f.database();
    let (rowid, mut value): (i64, Vec<u8>) = db
        .query_row(
            "SELECT rowid, value FROM items WHERE class = 0 AND length(value) = ?1",
            [VERIFIER_ROW_LEN],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    value[20] ^= 0x01;
    let changed = db
        .execute(
            "UPDATE items SET value = ?2 WHERE rowid = ?1",
            rusqlite::params![rowid, value],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    f.fails(Some(&f.pin), &["get", "token"], 4, "integrity");

    // The counter row from before the wrong PINs, put back after the lockout: refused, not a
    // fresh start. And so is deleting it.
    let counter_row = |db: &rusqlite::Connection| -> Vec<rusqlite::types::Value> {
        let mut statement = db
            .prepare("SELECT * FROM items WHERE class = 0 AND length(value) = ?1")
            .unwrap();
        let columns = statement.column_count();
        statement
            .query_row([COUNTER_ROW_LEN], |row| {
                (0..columns).map(|i| row.get(i)).collect()
            })
            .unwrap()
    };
    for attack in ["put back", "delete"] {
        let f = Fixture::new();
        f.put("token", "restricted");
        assert_eq!(f.set_pin(None, &f.pin).status.code(), Some(0));
        // A success writes the counter (zero failures).
        assert_eq!(f.ok(Some(&f.pin), &["get", "token"]), VALUE);
        let before = counter_row(&f.database());
        for _ in 0..4 {
            f.fails(
                Some(&f.wrong),
                &["get", "token"],
                9,
                "authentication-failed",
            );
        }
        f.fails(Some(&f.wrong), &["get", "token"], 8, "locked-out");
        let db = f.database();
        if attack == "put back" {
            let marks = vec!["?"; before.len()].join(", ");
            db.execute(
                &format!("INSERT OR REPLACE INTO items VALUES ({marks})"),
                rusqlite::params_from_iter(&before),
            )
            .unwrap();
        } else {
            let deleted = db
                .execute(
                    "DELETE FROM items WHERE class = 0 AND length(value) = ?1",
                    [COUNTER_ROW_LEN],
                )
                .unwrap();
            assert_eq!(deleted, 1);
        }
        drop(db);
        let output = f.vault(Some(&f.pin), &["get", "token"]);
        assert!(
            matches!(output.status.code(), Some(4 | 8)),
            "{attack}: exit {:?}, {}",
            output.status.code(),
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{attack}: the value was read");
    }
}

#[test]
fn the_help_says_what_the_policy_and_the_exit_codes_are() {
    let output = rukasec(&["vault", "--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    for text in [
        "--unlock-with <pin-file:PATH>",
        "restricted items also accept the device credential",
        "PBKDF2-HMAC-SHA256 hash (600,000 iterations)",
        "8 locked out",
        "9 not unlocked",
        "set-pin",
    ] {
        assert!(help.contains(text), "missing {text:?} in:\n{help}");
    }
}

/// `tests/format/decrypt_vault.py` (a reader written from docs/FORMAT.md alone): the value of
/// `namespace`/`name` in the default account, decrypted.
fn decrypt(f: &Fixture, namespace: &str, name: &str) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/format/decrypt_vault.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(f.vault_dir())
        .arg(&f.key)
        .args(["default", namespace, name])
        .output()
        .expect("python3 is needed for this test (scripts/install-deps.sh installs it)");
    let err = stderr(&output);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "python3 lacks the cryptography package: {err}"
    );
    assert_eq!(output.status.code(), Some(0), "{err}");
    from_hex(&String::from_utf8(output.stdout).unwrap())
}

fn from_hex(hex: &str) -> Vec<u8> {
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

/// PBKDF2-HMAC-SHA256 by Python's hashlib (OpenSSL): not the implementation under test.
fn python_pbkdf2(pin: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let salt: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    let output = Command::new("python3")
        .args([
            "-c",
            "import hashlib, sys; print(hashlib.pbkdf2_hmac('sha256', sys.argv[1].encode(), \
             bytes.fromhex(sys.argv[2]), int(sys.argv[3]), 32).hex())",
            pin,
            &salt,
            &iterations.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    from_hex(&String::from_utf8(output.stdout).unwrap())
}

#[test]
fn the_verifier_is_the_documented_pbkdf2_record_and_holds_no_pin() {
    let f = Fixture::new();
    f.put("token", "restricted");
    assert_eq!(f.set_pin(None, &f.pin).status.code(), Some(0));
    let record = decrypt(&f, "rukasec.unlock", "pin-verifier");
    // docs/FORMAT.md §13: version 1, PBKDF2-HMAC-SHA256, u32be(600000), salt (16), hash (32).
    assert_eq!(record.len(), 54);
    assert_eq!(record[..2], [1, 1]);
    let iterations = u32::from_be_bytes(record[2..6].try_into().unwrap());
    assert_eq!(iterations, 600_000);
    let (salt, hash) = (&record[6..22], &record[22..]);
    assert_eq!(
        hash,
        python_pbkdf2(PIN, salt, iterations),
        "hash of the trimmed first line"
    );
    assert!(
        !contains(&record, PIN.as_bytes()),
        "the PIN is in the verifier"
    );
    assert!(!contains(&record, CANARY.as_bytes()));
    // A new PIN of the same value gets a new salt.
    assert_eq!(f.set_pin(Some(&f.pin), &f.pin).status.code(), Some(0));
    let again = decrypt(&f, "rukasec.unlock", "pin-verifier");
    assert_ne!(again[6..22], record[6..22]);

    // The counter (§13): two wrong PINs in a row, no lockout yet.
    for _ in 0..2 {
        f.fails(
            Some(&f.wrong),
            &["get", "token"],
            9,
            "authentication-failed",
        );
    }
    let counter = decrypt(&f, "rukasec.unlock", "attempts");
    assert_eq!(
        counter,
        [[1].as_slice(), &2u32.to_be_bytes(), &[0; 4], &[0; 8]].concat()
    );
}

#[test]
fn rukasec_events_prints_what_the_vault_commands_journaled_and_acknowledges_it() {
    let f = Fixture::new();
    f.put("token", "restricted");
    f.set_pin(None, &f.pin);
    for _ in 0..5 {
        f.vault(Some(&f.wrong), &["get", "token"]);
    }
    let events = |extra: &[&str]| {
        let dir = f.vault_dir();
        let mut args = vec![
            "events",
            "--dir",
            dir.to_str().unwrap(),
            "--kek-file",
            f.key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = rukasec(&args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_no_pin(&output);
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = events(&[]);
    let lines: Vec<&str> = listed.lines().collect();
    let failed: Vec<&&str> = lines
        .iter()
        .filter(|line| line.contains(" warning unlock_failed "))
        .collect();
    assert_eq!(failed.len(), 5, "{listed}");
    assert!(
        failed[4].contains(" failures=5 ") && failed[4].ends_with(" limit=5"),
        "{listed}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains(" error unlock_locked_out ") && line.contains("by=rukasec")),
        "{listed}"
    );
    // `SEQ TIME ...`, oldest first.
    let seqs: Vec<u64> = lines
        .iter()
        .map(|line| line.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{listed}");
    assert!(
        lines[0].split(' ').nth(1).unwrap().ends_with('Z'),
        "{listed}"
    );

    let last = seqs.last().unwrap().to_string();
    let after = events(&["--acknowledge", &last]);
    assert!(
        after.starts_with(&format!(
            "acknowledged {} entries up to {last}\n",
            seqs.len()
        )),
        "{after}"
    );
    assert!(after.ends_with("no events\n"), "{after}");
}
