//! `rukasec vault` and `rukasec keygen` end to end: the real binary on temporary directories,
//! values through stdin and stdout, exit codes per failure kind, and no value in any error.
//!
//! Reading anything but a public item needs an unlock, so every fixture sets a PIN for the
//! default account and passes it to every command (`--unlock-with`); unlocking itself is
//! tested in `unlock.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Stored in every test; must never appear in an error message.
const CANARY: &[u8] = b"CANARY-VAULT-SECRET-5f0c2a";

/// A vault directory, its key file and a PIN file.
struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    pin: PathBuf,
}

impl Fixture {
    /// A new key file, and a PIN set for the default account.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("root.key");
        let output = run(&["keygen", key.to_str().unwrap()], None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let pin = dir.path().join("pin");
        std::fs::write(&pin, "2468\n").unwrap();
        let fixture = Self { dir, key, pin };
        fixture.set_pin(&[]);
        fixture
    }

    /// Sets the fixture's PIN with `key` for the account that `account_args` name.
    fn set_pin_with_key(&self, key: &Path, account_args: &[&str]) {
        let pin = self.pin.to_str().unwrap();
        let output = self.vault_with_key(
            key,
            &[account_args, &["set-pin", "--pin-file", pin]].concat(),
            None,
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }

    fn set_pin(&self, account_args: &[&str]) {
        self.set_pin_with_key(&self.key, account_args);
    }

    fn vault_dir(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    fn new_key(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let output = run(&["keygen", path.to_str().unwrap()], None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        path
    }

    /// `rukasec vault --dir <vault> --kek-file <key> args...`.
    fn vault(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.vault_with_key(&self.key, args, stdin)
    }

    fn vault_with_key(&self, key: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let dir = self.vault_dir();
        let unlock = format!("pin-file:{}", self.pin.display());
        let mut all = vec![
            "vault",
            "--dir",
            dir.to_str().unwrap(),
            "--kek-file",
            key.to_str().unwrap(),
            "--unlock-with",
            &unlock,
        ];
        all.extend_from_slice(args);
        let output = run(&all, stdin);
        check_error_output(&output);
        output
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let output = self.vault(args, stdin);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        output.stdout
    }

    fn put(&self, name: &str, value: &[u8], extra: &[&str]) {
        self.ok(&[&["put", name], extra].concat(), Some(value));
    }

    fn get(&self, name: &str) -> Output {
        self.vault(&["get", name], None)
    }

    /// Runs a command that must fail with `code` and error `kind`.
    fn fails(&self, args: &[&str], code: i32, kind: &str) {
        expect_failure(&self.vault(args, None), code, kind, args);
    }

    fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.vault_dir().join("vault.sqlite3")).unwrap()
    }
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rukasec"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rukasec binary runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // A command that fails early (usage) exits without reading its stdin.
        if let Err(error) = pipe.write_all(bytes) {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
        }
        // Dropping the pipe closes stdin: the value ends here.
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every failure is one `error: <kind>: <message>` line (or clap's usage text), never a panic,
/// and never holds a stored value.
fn check_error_output(output: &Output) {
    let err = stderr(output);
    assert!(
        !output.stderr.windows(CANARY.len()).any(|w| w == CANARY),
        "an error printed the stored value: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    if output.status.code() == Some(0) {
        assert!(err.is_empty(), "success prints nothing on stderr: {err}");
    } else if output.status.code() != Some(2) {
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            !output.stdout.windows(CANARY.len()).any(|w| w == CANARY),
            "a failing command printed the value"
        );
    }
}

fn expect_failure(output: &Output, code: i32, kind: &str, what: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{what:?}: {err}");
    assert!(
        err.starts_with(&format!("error: {kind}: ")),
        "{what:?}: {err}"
    );
}

/// Binary data with every byte value, NULs, newlines and invalid UTF-8.
fn binary_value() -> Vec<u8> {
    let mut value: Vec<u8> = (0..=255u8).collect();
    value.extend_from_slice(b"\n\r\0\xff\xfe");
    value.extend_from_slice(CANARY);
    value.extend((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    value
}

#[test]
fn binary_round_trip_list_delete_and_not_found() {
    let f = Fixture::new();
    let value = binary_value();
    f.put("blob", &value, &["--class", "restricted"]);
    let output = f.get("blob");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, value, "raw bytes out, nothing added");

    // An empty value is a value.
    f.put("empty", b"", &[]);
    assert_eq!(f.ok(&["get", "empty"], None), b"");

    // Overwrite, classes and namespaces.
    f.put("blob", CANARY, &["--class", "public"]);
    assert_eq!(f.ok(&["get", "blob"], None), CANARY);
    f.put(
        "token",
        CANARY,
        &["--namespace", "auth", "--class", "internal"],
    );
    assert_eq!(f.ok(&["list"], None), b"blob\nempty\n");
    assert_eq!(f.ok(&["list", "--namespace", "auth"], None), b"token\n");
    assert_eq!(f.ok(&["list", "--namespace", "none"], None), b"");
    assert_eq!(f.ok(&["get", "token", "--namespace", "auth"], None), CANARY);
    f.fails(&["get", "token"], 3, "not-found");

    // Delete, then everything about it is not found.
    f.ok(&["delete", "blob"], None);
    f.fails(&["get", "blob"], 3, "not-found");
    f.fails(&["delete", "blob"], 3, "not-found");
    f.fails(&["get", "never-stored"], 3, "not-found");
    assert_eq!(f.ok(&["list"], None), b"empty\n");

    // Another account sees nothing of this one.
    f.fails(&["--account", "other", "get", "empty"], 3, "not-found");
    assert_eq!(f.ok(&["--account", "other", "list"], None), b"");
}

#[test]
fn ttl_expiry_and_purge() {
    let f = Fixture::new();
    f.put("short", CANARY, &["--ttl", "1"]);
    let stored_by = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    f.put("long", b"stays", &["--ttl", "3600"]);
    f.put("forever", b"stays", &[]);
    assert_eq!(f.ok(&["get", "long"], None), b"stays");

    // Expiry has whole-second resolution: `short` expires at (its put's second) + 1, so it
    // is expired once the wall clock has passed the next whole second after its put returned.
    let next_second = Duration::from_secs(stored_by.as_secs() + 1) + Duration::from_millis(50);
    std::thread::sleep(next_second.saturating_sub(stored_by));
    f.fails(&["get", "short"], 3, "not-found");
    assert_eq!(f.ok(&["list"], None), b"forever\nlong\n");
    // The items of the test (confidential): not the PIN verifier and unlock counter (public).
    let rows = |f: &Fixture| -> i64 {
        f.database()
            .query_row("SELECT count(*) FROM items WHERE class <> 0", [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    assert_eq!(rows(&f), 3, "expired but not yet purged");
    assert_eq!(f.ok(&["purge-expired"], None), b"purged: 1\n");
    assert_eq!(rows(&f), 2);
    assert_eq!(f.ok(&["purge-expired"], None), b"purged: 0\n");
    assert_eq!(f.ok(&["get", "long"], None), b"stays");
}

#[test]
fn wrong_key_file_is_key_unavailable() {
    let f = Fixture::new();
    f.put("secret", CANARY, &[]);
    let other = f.new_key("other.key");
    for args in [
        &["get", "secret"][..],
        &["list"],
        &["put", "more"],
        &["rotate-dek"],
        &["rotate-kek", "--new-kek-file", other.to_str().unwrap()],
    ] {
        let output = f.vault_with_key(&other, args, Some(b"x"));
        expect_failure(&output, 5, "key-unavailable", args);
    }
    // The right file still opens everything; nothing was written under the wrong one.
    assert_eq!(f.ok(&["get", "secret"], None), CANARY);
    assert_eq!(f.ok(&["list"], None), b"secret\n");

    // reset-account starts the account again under the new file.
    let output = f.vault_with_key(&other, &["reset-account"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The reset's own event was journaled under the new file, so the vault is the new file's
    // now: the old one opens nothing.
    f.fails(&["get", "secret"], 5, "key-unavailable");
    let output = f.vault_with_key(&other, &["get", "secret"], None);
    expect_failure(&output, 3, "not-found", &["get secret after the reset"]);
    let output = f.vault_with_key(&other, &["put", "fresh"], Some(b"new"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    f.fails(&["get", "fresh"], 5, "key-unavailable");

    // A key file that is not 32 bytes, or missing, is refused before anything else.
    let short = f.dir.path().join("short.key");
    std::fs::write(&short, [7u8; 31]).unwrap();
    let output = f.vault_with_key(&short, &["list"], None);
    expect_failure(&output, 1, "invalid-input", &["short key"]);
    let missing = f.dir.path().join("missing.key");
    let output = f.vault_with_key(&missing, &["list"], None);
    expect_failure(&output, 1, "storage", &["missing key"]);
    assert!(
        stderr(&output).contains("missing.key"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn tampered_value_is_an_integrity_failure() {
    let f = Fixture::new();
    f.put("secret", CANARY, &["--class", "restricted"]);
    f.put("other", b"intact", &["--class", "restricted"]);
    let db = f.database();
    let (account, item, mut value): (Vec<u8>, Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT account_tag, item_id, value FROM items WHERE length(value) = ?1",
            [i64::try_from(1 + 12 + CANARY.len() + 16).unwrap()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    value[20] ^= 0x01;
    let changed = db
        .execute(
            "UPDATE items SET value = ?3 WHERE account_tag = ?1 AND item_id = ?2",
            rusqlite::params![account, item, value],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    f.fails(&["get", "secret"], 4, "integrity");
    // The failure is contained to the tampered row.
    assert_eq!(f.ok(&["get", "other"], None), b"intact");
    assert_eq!(f.ok(&["list"], None), b"other\nsecret\n");
    // Re-encrypting it cannot launder the tampering.
    f.fails(&["rotate-dek", "--class", "restricted"], 4, "integrity");
}

#[test]
fn rotate_kek_to_a_new_file_and_rotate_dek() {
    let f = Fixture::new();
    for class in ["public", "internal", "confidential", "restricted"] {
        f.put(
            class,
            format!("value of {class}").as_bytes(),
            &["--class", class],
        );
    }
    f.put("second", CANARY, &["--class", "restricted"]);

    let new_key = f.new_key("new.key");
    // The public count below: the item, the PIN verifier and the unlock counter (written by
    // the first unlock).
    assert_eq!(f.ok(&["get", "public"], None), b"value of public");
    assert_eq!(f.ok(&["get", "restricted"], None), b"value of restricted");
    let out = f.ok(
        &["rotate-kek", "--new-kek-file", new_key.to_str().unwrap()],
        None,
    );
    assert!(String::from_utf8(out).unwrap().contains("new.key"));
    f.fails(&["get", "second"], 5, "key-unavailable");
    let get_new = |name: &str| {
        let output = f.vault_with_key(&new_key, &["get", name], None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        output.stdout
    };
    assert_eq!(get_new("second"), CANARY);

    let output = f.vault_with_key(&new_key, &["rotate-dek", "--class", "restricted"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "restricted: 2 re-encrypted, data key version 2\n"
    );
    let output = f.vault_with_key(&new_key, &["rotate-dek"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "public: 3 re-encrypted, data key version 2\n\
         internal: 1 re-encrypted, data key version 2\n\
         confidential: 1 re-encrypted, data key version 2\n\
         restricted: 2 re-encrypted, data key version 3\n"
    );
    for class in ["public", "internal", "confidential", "restricted"] {
        assert_eq!(get_new(class), format!("value of {class}").as_bytes());
    }
    assert_eq!(get_new("second"), CANARY);
    // Old data-key versions are gone: one wrapped data key per class (+ index and names keys),
    // for the account and for the event journal's account (`rukasec events`).
    let keys: i64 = f
        .database()
        .query_row("SELECT count(*) FROM keys", [], |row| row.get(0))
        .unwrap();
    assert_eq!(keys, 2 * 6);

    // Rotations of an account that does not exist are not-found.
    for args in [&["rotate-dek"][..], &["rotate-kek", "--new-kek-file"]] {
        let mut args = [&["--account", "nobody"][..], args].concat();
        if args.contains(&"--new-kek-file") {
            args.push(new_key.to_str().unwrap());
        }
        let output = f.vault_with_key(&new_key, &args, None);
        expect_failure(&output, 3, "not-found", &args);
    }
}

#[test]
fn delete_account_removes_only_that_account() {
    let f = Fixture::new();
    f.put("secret", CANARY, &[]);
    f.ok(&["--account", "alice", "put", "secret"], Some(CANARY));
    f.ok(&["--account", "bob", "put", "secret"], Some(b"bob's"));
    f.set_pin(&["--account", "bob"]);
    let out = f.ok(&["--account", "alice", "delete-account"], None);
    assert!(String::from_utf8(out).unwrap().starts_with("deleted"));
    f.fails(&["--account", "alice", "get", "secret"], 3, "not-found");
    assert_eq!(f.ok(&["--account", "alice", "list"], None), b"");
    f.fails(&["--account", "alice", "delete-account"], 3, "not-found");
    f.fails(&["--account", "alice", "rotate-dek"], 3, "not-found");
    assert_eq!(f.ok(&["--account", "bob", "get", "secret"], None), b"bob's");
    assert_eq!(
        f.ok(&["get", "secret"], None),
        CANARY,
        "the default account"
    );
    // No value is ever in the database file in plaintext.
    let bytes = std::fs::read(f.vault_dir().join("vault.sqlite3")).unwrap();
    assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY));
}

#[test]
fn keygen_never_overwrites_and_usage_errors_exit_2() {
    let f = Fixture::new();
    let before = std::fs::read(&f.key).unwrap();
    assert_eq!(before.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let output = run(&["keygen", f.key.to_str().unwrap()], None);
    expect_failure(&output, 1, "invalid-input", &["keygen twice"]);
    assert_eq!(std::fs::read(&f.key).unwrap(), before);

    for args in [
        &["get"][..],
        &["put"],
        &["frobnicate"],
        &["put", "x", "--class", "secretive"],
        &["put", "x", "--ttl", "0"],
        &["put", "x", "--ttl", "soon"],
        &["rotate-kek"],
    ] {
        let output = f.vault(args, Some(b"x"));
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    for args in [
        &["vault", "list"][..],
        &["vault", "--dir", "x", "list"],
        &["keygen"],
    ] {
        assert_eq!(run(args, None).status.code(), Some(2), "{args:?}");
    }
    // Nothing was stored by the rejected commands.
    assert_eq!(f.ok(&["list"], None), b"");
    // Invalid input the core rejects (an empty name) is exit 1, not a crash.
    f.fails(&["get", ""], 1, "invalid-input");
}

/// The confidential item rows as stored (every column), to put back later.
fn item_rows(db: &rusqlite::Connection) -> Vec<Vec<rusqlite::types::Value>> {
    let mut statement = db
        .prepare("SELECT * FROM items WHERE class = 2 ORDER BY rowid")
        .unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_rolled_back_or_deleted_item_is_an_integrity_failure() {
    let f = Fixture::new();
    f.put("limit", b"100000", &[]);
    let old = item_rows(&f.database());
    f.put("limit", b"500", &[]);
    let marks = vec!["?"; old[0].len()].join(", ");
    f.database()
        .execute(
            &format!("INSERT OR REPLACE INTO items VALUES ({marks})"),
            rusqlite::params_from_iter(&old[0]),
        )
        .unwrap();
    f.fails(&["get", "limit"], 4, "integrity");
    f.fails(&["list"], 4, "integrity");

    let f = Fixture::new();
    f.put("device", b"revoked", &[]);
    f.database()
        .execute("DELETE FROM items WHERE class = 2", [])
        .unwrap();
    f.fails(&["get", "device"], 4, "integrity");
    let f = Fixture::new();
    f.put("device", b"revoked", &[]);
    f.database().execute("DELETE FROM accounts", []).unwrap();
    f.fails(&["get", "device"], 4, "integrity");
}

#[test]
fn a_planted_trigger_is_an_integrity_failure() {
    let f = Fixture::new();
    f.put("a", b"1", &[]);
    f.database()
        .execute_batch("CREATE TRIGGER t AFTER INSERT ON items BEGIN DELETE FROM keys; END")
        .unwrap();
    f.fails(&["get", "a"], 4, "integrity");
}

#[test]
fn a_restored_backup_is_refused_with_an_anchor_dir() {
    let f = Fixture::new();
    let anchors = f.dir.path().join("anchors");
    let anchors = anchors.to_str().unwrap().to_owned();
    let with = |args: &[&'static str]| -> Vec<String> {
        ["--anchor-dir", &anchors]
            .iter()
            .chain(args)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let with = |args: &[&'static str]| -> Vec<&'static str> {
        with(args).into_iter().map(|s| &*s.leak()).collect()
    };
    let output = f.vault(&with(&["put", "balance"]), Some(b"1000"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let database = f.vault_dir().join("vault.sqlite3");
    let backup = std::fs::read(&database).unwrap();
    let output = f.vault(&with(&["put", "balance"]), Some(b"0"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::write(&database, &backup).unwrap();
    expect_failure(
        &f.vault(&with(&["get", "balance"]), None),
        4,
        "integrity",
        &["get"],
    );
    // Without the anchors the older copy is all there is to see.
    assert_eq!(f.ok(&["get", "balance"], None), b"1000");
}

#[test]
fn a_format_1_vault_is_migrated() {
    let f = Fixture::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/vault-v1");
    std::fs::create_dir_all(f.vault_dir()).unwrap();
    std::fs::copy(
        fixture.join("vault.sqlite3"),
        f.vault_dir().join("vault.sqlite3"),
    )
    .unwrap();
    let key = fixture.join("root.key");
    f.set_pin_with_key(&key, &["--account", "customer-v1"]);
    let get = |args: &[&str]| f.vault_with_key(&key, args, None);
    let output = get(&[
        "--account",
        "customer-v1",
        "get",
        "refresh",
        "--namespace",
        "tokens",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"r3fr3sh-v1");
    let version: i64 = f
        .database()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
}

#[test]
fn an_edited_expiry_or_namespace_tag_is_an_integrity_failure() {
    // Postponing an expired item's expiry (or clearing it) would make it visible again; a
    // flipped namespace tag would hide a live item from `list` silently.
    let f = Fixture::new();
    f.put("otp", b"123456", &["--ttl", "3600"]);
    f.database()
        .execute("UPDATE items SET expires_at = 0", [])
        .unwrap();
    f.fails(&["get", "otp"], 4, "integrity");

    let f = Fixture::new();
    f.put("token", b"live", &[]);
    f.database()
        .execute(
            "UPDATE items SET namespace_tag = zeroblob(length(namespace_tag))",
            [],
        )
        .unwrap();
    f.fails(&["list"], 4, "integrity");
    f.fails(&["get", "token"], 4, "integrity");
}

#[test]
fn a_deleted_envelope_leaves_no_byte_in_the_database_or_the_wal() {
    let f = Fixture::new();
    f.put("card", CANARY, &[]);
    let envelope: Vec<u8> = f
        .database()
        .query_row("SELECT value FROM items WHERE class = 2", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert!(envelope.len() > 32);
    f.ok(&["delete", "card"], None);
    // Any 32-byte window of the envelope (its ciphertext and tag) is looked for.
    let needle = &envelope[envelope.len() - 32..];
    for file in ["vault.sqlite3", "vault.sqlite3-wal"] {
        let Ok(bytes) = std::fs::read(f.vault_dir().join(file)) else {
            continue; // no WAL file at all is fine
        };
        assert!(
            !bytes.windows(needle.len()).any(|window| window == needle),
            "the deleted envelope is still in {file}"
        );
    }
}
