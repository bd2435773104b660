//! The vault's behaviour: round trips, expiry, batches, tampering and swapping (always an
//! integrity error, never wrong data), lost keys, rotation (resumable), crypto-shredding,
//! concurrency, and its AEAD layer against Wycheproof.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::crypto::{Aes256GcmKey, Crypto};
use rukasec_core::events::{EventBus, SecurityEventKind};
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::aead::{self, ENVELOPE_VERSION};
use rukasec_core::vault::wrappers::{FileKeyWrapper, MemoryKeyWrapper};
use rukasec_core::vault::{
    Clock, DATABASE_FILE, DataClass, KeyWrapper, PutItem, Vault, WrapperError,
};
use support::{Tally, aes256_gcm96_cases, load};

const WAIT: Duration = Duration::from_secs(10);

type Events = rukasec_core::events::EventCollector;

/// A settable clock (Unix seconds).
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    wrapper: Arc<MemoryKeyWrapper>,
    events: Arc<Events>,
    bus: Arc<EventBus>,
    clock: Arc<TestClock>,
}

impl Fixture {
    fn new() -> Self {
        let events = Arc::new(Events::default());
        Self {
            dir: tempfile::tempdir().unwrap(),
            wrapper: Arc::new(MemoryKeyWrapper::new()),
            bus: Arc::new(EventBus::new(Some(events.clone()))),
            events,
            clock: Arc::new(TestClock(AtomicI64::new(1_800_000_000))),
        }
    }

    /// A new vault instance on the same directory (fresh key cache).
    fn open(&self) -> Vault {
        Vault::open_with_clock(
            self.dir.path(),
            self.wrapper.clone(),
            self.bus.clone(),
            self.clock.clone(),
        )
        .unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join(DATABASE_FILE)).unwrap()
    }

    /// The single integer `sql` selects (a count).
    fn number(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The BLOB or TEXT column `sql` selects, one entry per row.
    fn column<T: rusqlite::types::FromSql>(&self, sql: &str) -> Vec<T> {
        let db = self.db();
        let mut statement = db.prepare(sql).unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn event_kinds(&self) -> Vec<(SecurityEventKind, Option<String>)> {
        assert!(self.bus.flush(WAIT));
        self.events
            .events()
            .iter()
            .map(|e| {
                (
                    e.kind,
                    e.details
                        .get("what")
                        .or_else(|| e.details.get("cause"))
                        .cloned(),
                )
            })
            .collect()
    }
}

fn value(vault: &Vault, account: &str, namespace: &str, name: &str) -> Option<Vec<u8>> {
    // Test: the stored value is what is being checked.
    vault
        .get(account, namespace, name)
        .unwrap()
        .map(|v| v.expose_secret().to_vec())
}

#[test]
fn round_trip_in_every_class_with_binary_and_empty_values() {
    let fx = Fixture::new();
    let vault = fx.open();
    let binary: Vec<u8> = (0..=255).collect();
    for class in DataClass::ALL {
        vault
            .put("acct", class.as_str(), "bin", &binary, class, None)
            .unwrap();
        vault
            .put("acct", class.as_str(), "empty", b"", class, None)
            .unwrap();
    }
    let big = vec![0xa5; 64 * 1024];
    vault
        .put("acct", "ns", "big", &big, DataClass::Confidential, None)
        .unwrap();
    for vault in [vault, fx.open()] {
        for class in DataClass::ALL {
            assert_eq!(
                value(&vault, "acct", class.as_str(), "bin").as_deref(),
                Some(binary.as_slice())
            );
            assert_eq!(
                value(&vault, "acct", class.as_str(), "empty").as_deref(),
                Some(&b""[..])
            );
        }
        assert_eq!(value(&vault, "acct", "ns", "big"), Some(big.clone()));
        assert_eq!(value(&vault, "acct", "ns", "missing"), None);
        assert_eq!(value(&vault, "other-acct", "ns", "big"), None);
    }
}

#[test]
fn overwrite_delete_contains_and_list() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "a",
            "tokens",
            "refresh",
            b"one",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    vault
        .put(
            "a",
            "tokens",
            "refresh",
            b"two",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    vault
        .put("a", "tokens", "access", b"x", DataClass::Restricted, None)
        .unwrap();
    vault
        .put("a", "prefs", "theme", b"dark", DataClass::Internal, None)
        .unwrap();
    vault
        .put(
            "b",
            "tokens",
            "refresh",
            b"b's",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    assert_eq!(value(&vault, "a", "tokens", "refresh").unwrap(), b"two");
    assert_eq!(
        vault.list("a", "tokens").unwrap(),
        vec!["access", "refresh"]
    );
    assert_eq!(vault.list("a", "prefs").unwrap(), vec!["theme"]);
    assert_eq!(vault.list("b", "tokens").unwrap(), vec!["refresh"]);
    assert!(vault.list("nobody", "tokens").unwrap().is_empty());
    assert!(vault.contains("a", "tokens", "access").unwrap());
    assert!(vault.delete("a", "tokens", "access").unwrap());
    assert!(!vault.delete("a", "tokens", "access").unwrap());
    assert!(!vault.contains("a", "tokens", "access").unwrap());
    assert_eq!(vault.list("a", "tokens").unwrap(), vec!["refresh"]);
    assert_eq!(value(&vault, "b", "tokens", "refresh").unwrap(), b"b's");
}

#[test]
fn nothing_readable_reaches_the_disk() {
    let fx = Fixture::new();
    let vault = fx.open();
    let canary = b"CANARY-VALUE-5d1e";
    vault
        .put(
            "CANARY-ACCOUNT-77",
            "CANARY-NS-31",
            "CANARY-NAME-42",
            canary,
            DataClass::Public,
            None,
        )
        .unwrap();
    drop(vault);
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(fx.dir.path()).unwrap() {
        on_disk.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(on_disk.len() > 4096);
    for needle in [
        &canary[..],
        b"CANARY-ACCOUNT",
        b"CANARY-NS",
        b"CANARY-NAME",
        b"CANARY",
    ] {
        assert!(
            !on_disk.windows(needle.len()).any(|w| w == needle),
            "{:?} on disk",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn expired_items_are_never_returned_and_are_purged() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "a",
            "otp",
            "code",
            b"123456",
            DataClass::Restricted,
            Some(Duration::from_secs(30)),
        )
        .unwrap();
    vault
        .put("a", "otp", "keep", b"forever", DataClass::Restricted, None)
        .unwrap();
    vault
        .put(
            "b",
            "otp",
            "code",
            b"654321",
            DataClass::Restricted,
            Some(Duration::from_secs(60)),
        )
        .unwrap();
    fx.clock.0.fetch_add(29, Ordering::SeqCst);
    assert!(vault.contains("a", "otp", "code").unwrap());
    fx.clock.0.fetch_add(1, Ordering::SeqCst);
    assert_eq!(value(&vault, "a", "otp", "code"), None);
    assert!(!vault.contains("a", "otp", "code").unwrap());
    assert_eq!(vault.list("a", "otp").unwrap(), vec!["keep"]);
    assert_eq!(vault.purge_expired().unwrap(), 1);
    fx.clock.0.fetch_add(60, Ordering::SeqCst);
    assert_eq!(vault.purge_expired().unwrap(), 1);
    assert_eq!(vault.purge_expired().unwrap(), 0);
    let rows = fx.number("SELECT count(*) FROM items");
    assert_eq!(rows, 1);
}

#[test]
fn a_batch_is_stored_whole_or_not_at_all() {
    let fx = Fixture::new();
    let vault = fx.open();
    let item = |name: &str| PutItem {
        namespace: "batch".to_owned(),
        name: name.to_owned(),
        value: SecretBytes::from_slice(name.as_bytes()),
        class: DataClass::Confidential,
        ttl: None,
    };
    let good: Vec<PutItem> = (0..100).map(|i| item(&format!("item-{i:03}"))).collect();
    vault.put_batch("a", &good).unwrap();
    assert_eq!(vault.list("a", "batch").unwrap().len(), 100);
    let mut bad: Vec<PutItem> = (100..110).map(|i| item(&format!("item-{i:03}"))).collect();
    bad.push(item(""));
    assert!(matches!(
        vault.put_batch("a", &bad),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(
        vault.list("a", "batch").unwrap().len(),
        100,
        "nothing of the failed batch"
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let fx = Fixture::new();
    let vault = fx.open();
    let long = "x".repeat(1025);
    for (account, namespace, name) in [
        ("", "ns", "n"),
        ("a", "ns", ""),
        (long.as_str(), "ns", "n"),
        ("a", long.as_str(), "n"),
        ("a", "ns", long.as_str()),
    ] {
        assert!(matches!(
            vault.put(account, namespace, name, b"v", DataClass::Public, None),
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            vault.get(account, namespace, name),
            Err(Error::InvalidInput { .. })
        ));
    }
    let too_big = vec![0u8; 16 * 1024 * 1024 + 1];
    assert!(matches!(
        vault.put("a", "ns", "n", &too_big, DataClass::Public, None),
        Err(Error::InvalidInput { .. })
    ));
}

/// Runs `sql` on the database, then checks a fresh vault reports an integrity error for `check`.
fn assert_tamper_is_integrity_error(
    fx: &Fixture,
    sql: &str,
    check: impl Fn(&Vault) -> Result<(), Error>,
) {
    let changed = fx.db().execute(sql, []).unwrap();
    assert!(changed > 0, "the tampering changed nothing: {sql}");
    assert_eq!(check(&fx.open()), Err(Error::Integrity), "{sql}");
}

fn populated() -> Fixture {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "a",
            "ns",
            "first",
            b"first value",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    vault
        .put(
            "a",
            "ns",
            "second",
            b"second value",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    vault
        .put(
            "a",
            "ns",
            "restricted",
            b"pin material",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    vault
        .put(
            "b",
            "ns",
            "first",
            b"b first value",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    fx
}

/// Flips one byte of a BLOB column in every row matching `filter`.
fn flip_byte(fx: &Fixture, table: &str, column: &str, filter: &str, index: usize) {
    let db = fx.db();
    let rows: Vec<Vec<u8>> = fx.column(&format!("SELECT {column} FROM {table} WHERE {filter}"));
    assert!(!rows.is_empty(), "nothing matches {filter}");
    for mut blob in rows {
        let original = blob.clone();
        blob[index] ^= 0x01;
        db.execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"),
            (&blob, &original),
        )
        .unwrap();
    }
}

fn get_first(vault: &Vault) -> Result<(), Error> {
    vault.get("a", "ns", "first").map(|_| ())
}

#[test]
fn flipped_bytes_in_values_names_and_wrapped_keys_are_integrity_errors() {
    // Every byte position of every value: flip it, check, flip it back.
    let fx = populated();
    let rows: Vec<(Vec<u8>, Vec<u8>)> = {
        let db = fx.db();
        let mut statement = db.prepare("SELECT item_id, value FROM items").unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let vault = fx.open();
    let mut checked = 0;
    for (item_id, original) in &rows {
        for i in 0..original.len() {
            let mut tampered = original.clone();
            tampered[i] ^= 0x40;
            fx.db()
                .execute(
                    "UPDATE items SET value = ?1 WHERE item_id = ?2",
                    (&tampered, item_id),
                )
                .unwrap();
            let results = [
                vault.get("a", "ns", "first").map(|_| ()),
                vault.get("a", "ns", "second").map(|_| ()),
                vault.get("a", "ns", "restricted").map(|_| ()),
                vault.get("b", "ns", "first").map(|_| ()),
            ];
            assert_eq!(
                results
                    .iter()
                    .filter(|r| **r == Err(Error::Integrity))
                    .count(),
                1,
                "byte {i}"
            );
            assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
            checked += 1;
        }
        fx.db()
            .execute(
                "UPDATE items SET value = ?1 WHERE item_id = ?2",
                (original, item_id),
            )
            .unwrap();
    }
    assert!(checked > 100);

    // A name: the account's state covers every row's name envelope, so the whole account fails
    // closed (its state no longer verifies); other accounts are untouched.
    let vault = fx.open();
    assert_eq!(value(&vault, "a", "ns", "first").unwrap(), b"first value");
    flip_byte(&fx, "items", "name", "class = 3", 20);
    assert_eq!(vault.list("a", "ns"), Err(Error::Integrity));
    assert_eq!(vault.get("a", "ns", "first").err(), Some(Error::Integrity));
    assert_eq!(
        fx.open().get("a", "ns", "first").err(),
        Some(Error::Integrity)
    );
    assert_eq!(vault.list("b", "ns").unwrap(), vec!["first"]);

    // A wrapped key: the account no longer opens (integrity, not wrong data).
    let fx = populated();
    flip_byte(&fx, "keys", "wrapped", "purpose = 18", 30);
    assert_eq!(get_first(&fx.open()), Err(Error::Integrity));
    assert!(fx.event_kinds().contains(&(
        SecurityEventKind::VaultIntegrityFailure,
        Some("wrapped_key".to_owned())
    )));
}

#[test]
fn swapped_rows_accounts_classes_versions_and_expiry_are_integrity_errors() {
    let swap_value_between_rows = "UPDATE items SET value = (SELECT value FROM items WHERE account_tag = (SELECT account_tag FROM items GROUP BY account_tag HAVING count(*) = 3) AND class = 2 ORDER BY item_id LIMIT 1 OFFSET 1) WHERE item_id = (SELECT item_id FROM items WHERE account_tag = (SELECT account_tag FROM items GROUP BY account_tag HAVING count(*) = 3) AND class = 2 ORDER BY item_id LIMIT 1)";
    let fx = populated();
    fx.db().execute(swap_value_between_rows, []).unwrap();
    let vault = fx.open();
    let results = [
        vault.get("a", "ns", "first").map(|_| ()),
        vault.get("a", "ns", "second").map(|_| ()),
    ];
    assert!(results.contains(&Err(Error::Integrity)), "{results:?}");

    // Account b's row copied over account a's row of the same namespace and name.
    let fx = populated();
    let vault = fx.open();
    let before = value(&vault, "b", "ns", "first").unwrap();
    fx.db()
        .execute(
            "UPDATE items SET value = (SELECT value FROM items i2 WHERE i2.account_tag != items.account_tag AND i2.class = 2 LIMIT 1)
             WHERE account_tag = (SELECT account_tag FROM items GROUP BY account_tag HAVING count(*) = 3) AND class = 2",
            [],
        )
        .unwrap();
    let vault = fx.open();
    assert_eq!(get_first(&vault), Err(Error::Integrity));
    assert_eq!(value(&vault, "b", "ns", "first").unwrap(), before);

    // The class column lowered from Restricted to Public, the key version or the expiry edited.
    for sql in [
        "UPDATE items SET class = 0 WHERE class = 3",
        "UPDATE items SET key_version = 2 WHERE class = 3",
        "UPDATE items SET expires_at = 4102444800 WHERE class = 3",
        "UPDATE items SET value = 'not a blob' WHERE class = 3",
    ] {
        let fx = populated();
        assert_tamper_is_integrity_error(&fx, sql, |v| v.get("a", "ns", "restricted").map(|_| ()));
    }

    // Wrapped data keys swapped between classes.
    let fx = populated();
    fx.db()
        .execute("UPDATE keys SET purpose = 99 WHERE purpose = 18", [])
        .unwrap();
    fx.db()
        .execute("UPDATE keys SET purpose = 18 WHERE purpose = 19", [])
        .unwrap();
    fx.db()
        .execute("UPDATE keys SET purpose = 19 WHERE purpose = 99", [])
        .unwrap();
    assert_eq!(get_first(&fx.open()), Err(Error::Integrity));

    // Names swapped between rows: listing detects it.
    let fx = populated();
    fx.db()
        .execute("UPDATE items SET name = (SELECT name FROM items i2 WHERE i2.item_id != items.item_id AND i2.account_tag = items.account_tag LIMIT 1) WHERE class = 3", [])
        .unwrap();
    assert_eq!(fx.open().list("a", "ns"), Err(Error::Integrity));
}

#[test]
fn a_lost_or_replaced_kek_is_key_unavailable_until_reset() {
    for replace in [false, true] {
        let fx = populated();
        let alias: String = fx
            .column("SELECT kek_alias FROM accounts LIMIT 1")
            .remove(0);
        let account_of_alias = {
            let vault = fx.open();
            // Find which account the first alias belongs to by losing it and seeing which fails.
            if replace {
                fx.wrapper.create_key(&alias).unwrap()
            } else {
                fx.wrapper.delete_key(&alias).unwrap()
            }
            drop(vault);
            let vault = fx.open();
            if vault.get("a", "ns", "first") == Err(Error::KeyUnavailable) {
                "a"
            } else {
                "b"
            }
        };
        let vault = fx.open();
        assert_eq!(
            vault.get(account_of_alias, "ns", "first").err(),
            Some(Error::KeyUnavailable)
        );
        assert_eq!(
            vault.put(account_of_alias, "ns", "new", b"v", DataClass::Public, None),
            Err(Error::KeyUnavailable)
        );
        let cause = if replace { "wrong_kek" } else { "kek_missing" };
        assert!(fx.event_kinds().contains(&(
            SecurityEventKind::VaultKeyUnavailable,
            Some(cause.to_owned())
        )));
        let other = if account_of_alias == "a" { "b" } else { "a" };
        assert!(
            value(&vault, other, "ns", "first").is_some(),
            "the other account is unaffected"
        );
        assert!(vault.reset_account(account_of_alias).unwrap());
        assert_eq!(value(&vault, account_of_alias, "ns", "first"), None);
        vault
            .put(
                account_of_alias,
                "ns",
                "first",
                b"fresh",
                DataClass::Public,
                None,
            )
            .unwrap();
        assert_eq!(
            value(&fx.open(), account_of_alias, "ns", "first").unwrap(),
            b"fresh"
        );
    }
}

/// A wrapper that, once `garble` is set, unwraps every blob to random bytes of a wrapped-key
/// payload's length: what a keystore holding other keys under the same aliases looks like; and,
/// once `locked` is set, refuses every unwrap until the user authenticates (a key bound to
/// biometrics or the device credential).
struct FaultyUnwrapWrapper {
    inner: MemoryKeyWrapper,
    garble: std::sync::atomic::AtomicBool,
    locked: std::sync::atomic::AtomicBool,
}

impl FaultyUnwrapWrapper {
    fn new() -> Self {
        Self {
            inner: MemoryKeyWrapper::new(),
            garble: std::sync::atomic::AtomicBool::new(false),
            locked: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl KeyWrapper for FaultyUnwrapWrapper {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.inner.wrap(alias, key)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        if self.locked.load(Ordering::SeqCst) {
            return Err(WrapperError::UserAuthenticationRequired);
        }
        let plain = self.inner.unwrap(alias, wrapped)?;
        if !self.garble.load(Ordering::SeqCst) {
            return Ok(plain);
        }
        let crypto = Crypto::get().unwrap();
        Ok(crypto.random_secret(74).unwrap())
    }
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.delete_key(alias)
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

#[test]
fn a_wrapper_unwrapping_everything_to_garbage_is_key_unavailable_not_tampering() {
    // Random bytes from every unwrap (the id key's and the canary's too) mean another KEK, not
    // an attack on the database: KeyUnavailable with cause wrong_kek, never Integrity.
    let fx = Fixture::new();
    let wrapper = Arc::new(FaultyUnwrapWrapper::new());
    let open = || {
        Vault::open_with_clock(
            fx.dir.path(),
            wrapper.clone(),
            fx.bus.clone(),
            fx.clock.clone(),
        )
        .unwrap()
    };
    open()
        .put("a", "ns", "n", b"v", DataClass::Public, None)
        .unwrap();
    wrapper.garble.store(true, Ordering::SeqCst);
    assert_eq!(
        open().get("a", "ns", "n").err(),
        Some(Error::KeyUnavailable)
    );
    let kinds = fx.event_kinds();
    assert!(
        kinds.contains(&(
            SecurityEventKind::VaultKeyUnavailable,
            Some("wrong_kek".to_owned())
        )),
        "events: {kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|(kind, _)| *kind == SecurityEventKind::VaultIntegrityFailure),
        "events: {kinds:?}"
    );
}

#[test]
fn a_different_key_file_is_key_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let (good, other) = (dir.path().join("good.key"), dir.path().join("other.key"));
    FileKeyWrapper::generate_file(&good).unwrap();
    FileKeyWrapper::generate_file(&other).unwrap();
    let bus = Arc::new(EventBus::new(None));
    let open = |key: &Path| {
        Vault::open(
            &dir.path().join("v"),
            Arc::new(FileKeyWrapper::from_file(key).unwrap()),
            bus.clone(),
        )
        .unwrap()
    };
    open(&good)
        .put("a", "ns", "n", b"v", DataClass::Restricted, None)
        .unwrap();
    assert_eq!(
        open(&other).get("a", "ns", "n").err(),
        Some(Error::KeyUnavailable)
    );
    assert_eq!(
        open(&good)
            .get("a", "ns", "n")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"v"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn deleting_an_account_crypto_shreds_every_copy() {
    let fx = populated();
    let vault = fx.open();
    drop(vault);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(fx.dir.path(), copy.path());
    let vault = fx.open();
    assert!(vault.delete_account("a").unwrap());
    assert!(!vault.delete_account("a").unwrap());
    assert_eq!(value(&vault, "a", "ns", "first"), None);
    assert_eq!(value(&vault, "b", "ns", "first").unwrap(), b"b first value");
    // The copy taken before the deletion: its rows are there, its KEK is not.
    let old = Vault::open(copy.path(), fx.wrapper.clone(), fx.bus.clone()).unwrap();
    assert_eq!(
        old.get("a", "ns", "first").err(),
        Some(Error::KeyUnavailable)
    );
    assert_eq!(value(&old, "b", "ns", "first").unwrap(), b"b first value");
    assert!(
        fx.event_kinds()
            .iter()
            .any(|(kind, _)| *kind == SecurityEventKind::VaultAccountDeleted)
    );
}

/// A wrapper whose `delete_key` always fails.
struct Undeletable(MemoryKeyWrapper);

impl KeyWrapper for Undeletable {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.0.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.0.wrap(alias, key)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        self.0.unwrap(alias, wrapped)
    }
    fn delete_key(&self, _alias: &str) -> Result<(), WrapperError> {
        Err(WrapperError::Failed {
            reason: "keystore busy".to_owned(),
        })
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

#[test]
fn delete_account_keeps_the_data_when_the_kek_cannot_be_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(
        dir.path(),
        Arc::new(Undeletable(MemoryKeyWrapper::new())),
        Arc::new(EventBus::new(None)),
    )
    .unwrap();
    vault
        .put("a", "ns", "n", b"v", DataClass::Internal, None)
        .unwrap();
    assert!(matches!(
        vault.delete_account("a"),
        Err(Error::KeyWrapper { .. })
    ));
    assert_eq!(value(&vault, "a", "ns", "n").unwrap(), b"v");
    assert!(
        vault.reset_account("a").unwrap(),
        "reset is best effort on the keystore"
    );
    assert_eq!(value(&vault, "a", "ns", "n"), None);
}

#[test]
fn kek_rotation_rewraps_keys_and_destroys_the_old_kek() {
    let fx = populated();
    let vault = fx.open();
    let aliases = "SELECT kek_alias FROM accounts ORDER BY kek_alias";
    let values = "SELECT value FROM items ORDER BY item_id";
    let before: Vec<String> = fx.column(aliases);
    let items_before: Vec<Vec<u8>> = fx.column(values);
    vault.rotate_kek("a").unwrap();
    let after: Vec<String> = fx.column(aliases);
    let retired: Vec<&String> = before.iter().filter(|a| !after.contains(a)).collect();
    assert_eq!(retired.len(), 1);
    assert!(after.iter().any(|a| a.ends_with(".2")));
    assert_eq!(
        fx.wrapper.unwrap(retired[0], b"anything").unwrap_err(),
        WrapperError::KeyNotFound
    );
    let items_after: Vec<Vec<u8>> = fx.column(values);
    assert_eq!(items_before, items_after, "data is not re-encrypted");
    let vault = fx.open();
    assert_eq!(value(&vault, "a", "ns", "first").unwrap(), b"first value");
    assert_eq!(value(&vault, "b", "ns", "first").unwrap(), b"b first value");
}

#[test]
fn dek_rotation_reencrypts_everything_and_resumes_after_an_interruption() {
    let fx = Fixture::new();
    let vault = fx.open();
    let items: Vec<PutItem> = (0..600)
        .map(|i| PutItem {
            namespace: format!("ns{}", i % 3),
            name: format!("item-{i}"),
            value: SecretBytes::from_slice(format!("value-{i}").as_bytes()),
            class: if i % 2 == 0 {
                DataClass::Confidential
            } else {
                DataClass::Internal
            },
            ttl: None,
        })
        .collect();
    vault.put_batch("a", &items).unwrap();
    let step = vault
        .rotate_dek_step("a", DataClass::Confidential, 100)
        .unwrap();
    assert_eq!(
        (step.active_version, step.reencrypted, step.complete),
        (2, 100, false)
    );
    drop(vault); // interrupted
    let versions = |fx: &Fixture| fx.number("SELECT count(*) FROM keys WHERE purpose = 18");
    assert_eq!(versions(&fx), 2);
    let vault = fx.open();
    // Mid-rotation, old and new versions both read; new writes use version 2.
    assert_eq!(value(&vault, "a", "ns0", "item-0").unwrap(), b"value-0");
    let done = vault.rotate_dek("a", DataClass::Confidential).unwrap();
    assert_eq!(
        (done.active_version, done.reencrypted, done.complete),
        (2, 200, true)
    );
    assert_eq!(versions(&fx), 1);
    assert_eq!(
        fx.number("SELECT count(*) FROM items WHERE class = 2 AND key_version != 2"),
        0
    );
    let vault = fx.open();
    for i in 0..600 {
        assert_eq!(
            value(&vault, "a", &format!("ns{}", i % 3), &format!("item-{i}")).unwrap(),
            format!("value-{i}").as_bytes()
        );
    }
    let again = vault.rotate_dek("a", DataClass::Confidential).unwrap();
    assert_eq!((again.active_version, again.reencrypted), (3, 300));
}

#[test]
fn many_threads_mixing_operations_with_rotations() {
    let fx = Fixture::new();
    let vault = Arc::new(fx.open());
    // The rotator needs the account to exist when it starts: create it
    // here rather than racing the first put of the writer threads.
    vault
        .put("shared", "ns", "seed", b"seed", DataClass::Public, None)
        .unwrap();
    assert!(vault.delete("shared", "ns", "seed").unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let vault = Arc::clone(&vault);
            thread::spawn(move || {
                for i in 0..60 {
                    let name = format!("t{t}-{i}");
                    vault
                        .put(
                            "shared",
                            "ns",
                            &name,
                            name.as_bytes(),
                            DataClass::ALL[i % 4],
                            None,
                        )
                        .unwrap();
                    assert_eq!(
                        vault
                            .get("shared", "ns", &name)
                            .unwrap()
                            .unwrap()
                            .expose_secret(),
                        name.as_bytes()
                    );
                    if i % 3 == 0 {
                        assert!(vault.delete("shared", "ns", &name).unwrap());
                    }
                }
            })
        })
        .collect();
    let rotator = {
        let vault = Arc::clone(&vault);
        thread::spawn(move || {
            for class in DataClass::ALL {
                vault.rotate_dek("shared", class).unwrap();
                thread::sleep(Duration::from_millis(5));
            }
            vault.rotate_kek("shared").unwrap();
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    rotator.join().unwrap();
    let vault = fx.open();
    let names = vault.list("shared", "ns").unwrap();
    assert_eq!(names.len(), 4 * 40);
    for name in names {
        assert_eq!(
            value(&vault, "shared", "ns", &name).unwrap(),
            name.as_bytes()
        );
    }
}

#[test]
fn vault_aead_layer_against_wycheproof() {
    let Some(file) = load("aes_gcm_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut tally = Tally::default();
    for (test, case) in aes256_gcm96_cases(&file) {
        let key = Aes256GcmKey::from_slice(&case.key).unwrap();
        let envelope = [&[ENVELOPE_VERSION][..], &case.nonce, &case.sealed].concat();
        let (aad, msg) = (case.aad, case.msg);
        let opened = aead::open(&crypto, &key, &aad, &envelope);
        tally.check(test, opened.is_ok());
        if let Ok(plain) = opened {
            // Test: the decrypted vector plaintext is the assertion.
            assert_eq!(plain.expose_secret(), msg.as_slice());
            let sealed = aead::seal(&crypto, &key, &aad, &msg).unwrap();
            assert_eq!(
                aead::open(&crypto, &key, &aad, &sealed)
                    .unwrap()
                    .expose_secret(),
                msg.as_slice()
            );
        }
    }
    tally.assert_ran_at_least(20, 10);
}

#[test]
fn after_moving_to_another_wrapper_the_old_instance_refuses_instead_of_corrupting() {
    let fx = populated();
    let vault = fx.open();
    let new_wrapper = Arc::new(MemoryKeyWrapper::new());
    vault.rotate_kek_to("a", new_wrapper.as_ref()).unwrap();
    // This instance still holds the old wrapper: it must not wrap new keys with it.
    assert_eq!(
        vault.rotate_dek("a", DataClass::Confidential).err(),
        Some(Error::KeyUnavailable)
    );
    assert_eq!(
        vault.put("a", "ns", "new", b"v", DataClass::Confidential, None),
        Err(Error::KeyUnavailable)
    );
    let moved = Vault::open(fx.dir.path(), new_wrapper.clone(), fx.bus.clone()).unwrap();
    assert_eq!(value(&moved, "a", "ns", "first").unwrap(), b"first value");
    assert_eq!(
        moved
            .rotate_dek("a", DataClass::Confidential)
            .unwrap()
            .reencrypted,
        2
    );
    assert_eq!(value(&moved, "a", "ns", "second").unwrap(), b"second value");
    assert_eq!(
        value(&vault, "b", "ns", "first").unwrap(),
        b"b first value",
        "b stays with the old wrapper"
    );
}

#[test]
fn instances_racing_to_create_an_account_lose_no_write() {
    for round in 0..20 {
        let fx = Fixture::new();
        let account = format!("new-{round}");
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let vault = fx.open();
                let account = account.clone();
                thread::spawn(move || {
                    vault.put(
                        &account,
                        "ns",
                        &format!("w{w}"),
                        b"v",
                        DataClass::Internal,
                        None,
                    )
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        let vault = fx.open();
        assert_eq!(
            vault.list(&account, "ns").unwrap(),
            vec!["w0", "w1", "w2"],
            "round {round}"
        );
        let accounts = fx.number("SELECT count(*) FROM accounts");
        assert_eq!(accounts, 1);
    }
}

#[test]
fn an_instance_notices_rotations_and_deletions_made_by_another() {
    let fx = populated();
    let (a, b) = (fx.open(), fx.open());
    assert_eq!(value(&b, "a", "ns", "first").unwrap(), b"first value"); // b's cache is warm
    a.rotate_dek("a", DataClass::Confidential).unwrap();
    b.put(
        "a",
        "ns",
        "after-rotation",
        b"written by b",
        DataClass::Confidential,
        None,
    )
    .unwrap();
    assert_eq!(
        value(&a, "a", "ns", "after-rotation").unwrap(),
        b"written by b"
    );
    assert_eq!(value(&b, "a", "ns", "second").unwrap(), b"second value");
    assert!(
        !fx.event_kinds()
            .iter()
            .any(|(kind, _)| *kind == SecurityEventKind::VaultIntegrityFailure)
    );

    a.rotate_kek("a").unwrap();
    assert_eq!(value(&b, "a", "ns", "first").unwrap(), b"first value");

    assert!(a.delete_account("a").unwrap());
    assert_eq!(
        value(&b, "a", "ns", "first"),
        None,
        "b does not serve a deleted account from its cache"
    );
    b.put(
        "a",
        "ns",
        "fresh",
        b"new account",
        DataClass::Internal,
        None,
    )
    .unwrap();
    assert_eq!(
        a.list("a", "ns").unwrap(),
        vec!["fresh"],
        "no orphan rows survive the shredding"
    );
    assert!(a.has_account("a").unwrap());
    assert!(!a.has_account("nobody").unwrap());
}

#[test]
fn a_stale_cache_never_reports_tampering_or_hides_values() {
    let fx = populated();
    let (a, b) = (fx.open(), fx.open());
    assert_eq!(value(&b, "a", "ns", "first").unwrap(), b"first value"); // b's cache is warm
    // a deletes and recreates the account: new KEK, new index, names and data keys.
    assert!(a.delete_account("a").unwrap());
    a.put(
        "a",
        "ns",
        "first",
        b"recreated",
        DataClass::Confidential,
        None,
    )
    .unwrap();
    assert_eq!(value(&b, "a", "ns", "first").unwrap(), b"recreated");
    // a rotates a data key: b's cache lacks the new version.
    a.rotate_dek("a", DataClass::Confidential).unwrap();
    assert_eq!(value(&b, "a", "ns", "first").unwrap(), b"recreated");
    assert!(
        !fx.event_kinds()
            .iter()
            .any(|(kind, _)| *kind == SecurityEventKind::VaultIntegrityFailure),
        "{:?}",
        fx.event_kinds()
    );
}

#[test]
fn a_keystore_asking_for_the_user_is_user_authentication_required_not_a_keystore_failure() {
    // Before: flattened into `KeyWrapper { reason }`, so an app could not tell "prompt the
    // user" from "the keystore is broken" without parsing text.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = Arc::new(FaultyUnwrapWrapper::new());
    let open = || Vault::open(dir.path(), wrapper.clone(), Arc::new(EventBus::new(None))).unwrap();
    open()
        .put("a", "ns", "n", b"v", DataClass::Restricted, None)
        .unwrap();
    wrapper.locked.store(true, Ordering::SeqCst);
    let error = Vault::open(dir.path(), wrapper.clone(), Arc::new(EventBus::new(None)))
        .and_then(|vault| vault.get("a", "ns", "n"));
    assert_eq!(error.unwrap_err(), Error::UserAuthenticationRequired);
    // Nothing is lost: once the user authenticated, the same call succeeds.
    wrapper.locked.store(false, Ordering::SeqCst);
    assert_eq!(value(&open(), "a", "ns", "n").unwrap(), b"v");
}
