//! Attacks on the vault by someone who can read and write the app's files (a backup, a rooted
//! phone, malware with the app's storage permission) but not the platform keystore. Each test is
//! one attack from docs/THREAT_MODEL.md; each failed against format 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::events::{EventBus, EventCollector, SecurityEventKind, Severity};
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::wrappers::{FileKeyWrapper, MemoryKeyWrapper};
use rukasec_core::vault::{DATABASE_FILE, DataClass, KeyWrapper, Vault, WrapperError};

const WAIT: Duration = Duration::from_secs(10);

struct Fixture {
    dir: tempfile::TempDir,
    wrapper: Arc<dyn KeyWrapper>,
    events: Arc<EventCollector>,
    bus: Arc<EventBus>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_wrapper(Arc::new(MemoryKeyWrapper::new()))
    }

    fn with_wrapper(wrapper: Arc<dyn KeyWrapper>) -> Self {
        let events = Arc::new(EventCollector::default());
        Self {
            dir: tempfile::tempdir().unwrap(),
            wrapper,
            bus: Arc::new(EventBus::new(Some(events.clone()))),
            events,
        }
    }

    fn open(&self) -> Vault {
        Vault::open(self.dir.path(), self.wrapper.clone(), self.bus.clone()).unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join(DATABASE_FILE)).unwrap()
    }

    /// Every column of the item rows, as stored (to put back later).
    fn item_rows(&self) -> Vec<Vec<rusqlite::types::Value>> {
        let db = self.db();
        let mut statement = db.prepare("SELECT * FROM items ORDER BY rowid").unwrap();
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

    fn insert_item_row(&self, row: &[rusqlite::types::Value]) {
        let marks = vec!["?"; row.len()].join(", ");
        self.db()
            .execute(
                &format!("INSERT OR REPLACE INTO items VALUES ({marks})"),
                rusqlite::params_from_iter(row),
            )
            .unwrap();
    }

    /// Whether a critical integrity event with `what` was raised.
    fn integrity_event(&self, what: &str) -> bool {
        assert!(self.bus.flush(WAIT));
        self.events.events().iter().any(|e| {
            e.kind == SecurityEventKind::VaultIntegrityFailure
                && e.severity == Severity::Critical
                && e.details.get("what").map(String::as_str) == Some(what)
        })
    }

    /// The raw bytes of the database and its WAL.
    fn raw_files(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.dir.path().join(DATABASE_FILE)).unwrap();
        if let Ok(wal) = std::fs::read(self.dir.path().join(format!("{DATABASE_FILE}-wal"))) {
            bytes.extend_from_slice(&wal);
        }
        bytes
    }
}

fn value(vault: &Vault, namespace: &str, name: &str) -> Option<Vec<u8>> {
    // Test: the stored value is what is being checked.
    vault
        .get("acct", namespace, name)
        .unwrap()
        .map(|v| v.expose_secret().to_vec())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// All three reads refuse the account.
fn assert_reads_refused(vault: &Vault, namespace: &str, name: &str) {
    assert_eq!(
        vault.get("acct", namespace, name).err(),
        Some(Error::Integrity)
    );
    assert_eq!(vault.list("acct", namespace).err(), Some(Error::Integrity));
    assert_eq!(
        vault.contains("acct", namespace, name).err(),
        Some(Error::Integrity)
    );
}

#[test]
fn an_older_envelope_put_back_into_its_row_is_refused() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "acct",
            "limits",
            "daily",
            b"100000",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    let old = fx.item_rows();
    vault
        .put(
            "acct",
            "limits",
            "daily",
            b"500",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    fx.insert_item_row(&old[0]);
    // The running instance notices (another connection wrote) and so does a fresh one.
    assert_reads_refused(&vault, "limits", "daily");
    assert_reads_refused(&fx.open(), "limits", "daily");
    assert!(fx.integrity_event("state"));
}

#[test]
fn a_deleted_item_row_is_refused_not_absent() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "acct",
            "ns",
            "revoked-device",
            b"1",
            DataClass::Internal,
            None,
        )
        .unwrap();
    vault
        .put("acct", "ns", "other", b"2", DataClass::Internal, None)
        .unwrap();
    fx.db()
        .execute(
            "DELETE FROM items WHERE rowid = (SELECT min(rowid) FROM items)",
            [],
        )
        .unwrap();
    assert_reads_refused(&vault, "ns", "revoked-device");
    assert_reads_refused(&fx.open(), "ns", "other");
}

#[test]
fn a_deleted_row_inserted_again_is_refused() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "acct",
            "tokens",
            "refresh",
            b"stolen",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    let copy = fx.item_rows();
    assert!(vault.delete("acct", "tokens", "refresh").unwrap());
    fx.insert_item_row(&copy[0]);
    assert_reads_refused(&vault, "tokens", "refresh");
    assert_reads_refused(&fx.open(), "tokens", "refresh");
}

#[test]
fn a_deleted_accounts_row_is_refused_not_absent() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put("acct", "ns", "a", b"1", DataClass::Internal, None)
        .unwrap();
    fx.db().execute("DELETE FROM accounts", []).unwrap();
    assert_reads_refused(&vault, "ns", "a");
    assert_reads_refused(&fx.open(), "ns", "a");
    assert!(fx.integrity_event("account"));
}

#[test]
fn edited_expiry_and_namespace_columns_are_refused() {
    let fx = Fixture::new();
    let vault = fx.open();
    vault
        .put(
            "acct",
            "otp",
            "code",
            b"123456",
            DataClass::Restricted,
            Some(Duration::from_secs(60)),
        )
        .unwrap();
    vault
        .put("acct", "otp", "seed", b"s", DataClass::Restricted, None)
        .unwrap();
    let cases = [
        // An expired item made visible again, a live one hidden silently.
        "UPDATE items SET expires_at = 0 WHERE expires_at > 0",
        "UPDATE items SET expires_at = 1 WHERE expires_at = 0",
        // An item moved out of its namespace (so `list` would omit it).
        "UPDATE items SET namespace_tag = zeroblob(32) WHERE expires_at = 0",
    ];
    for sql in cases {
        let fresh = Fixture::new();
        let vault = fresh.open();
        vault
            .put(
                "acct",
                "otp",
                "code",
                b"1",
                DataClass::Restricted,
                Some(Duration::from_secs(60)),
            )
            .unwrap();
        vault
            .put("acct", "otp", "seed", b"s", DataClass::Restricted, None)
            .unwrap();
        assert_eq!(fresh.db().execute(sql, []).unwrap(), 1, "{sql}");
        for name in ["code", "seed"] {
            assert_reads_refused(&vault, "otp", name);
            assert_reads_refused(&fresh.open(), "otp", name);
        }
    }
    assert_eq!(value(&vault, "otp", "code").unwrap(), b"123456");
}

#[test]
fn planted_triggers_views_indexes_and_columns_are_refused_at_open() {
    let plants = [
        "CREATE TRIGGER leak AFTER INSERT ON items BEGIN DELETE FROM keys; END",
        "CREATE VIEW v AS SELECT * FROM items",
        "CREATE INDEX extra ON items (value)",
        "CREATE TABLE extra (x)",
        "ALTER TABLE items ADD COLUMN extra BLOB",
    ];
    for plant in plants {
        let fx = Fixture::new();
        fx.open()
            .put("acct", "ns", "a", b"1", DataClass::Internal, None)
            .unwrap();
        fx.db().execute_batch(plant).unwrap();
        let opened = Vault::open(fx.dir.path(), fx.wrapper.clone(), fx.bus.clone());
        assert_eq!(opened.err(), Some(Error::Integrity), "{plant}");
        assert!(fx.integrity_event("schema"));
    }
}

#[test]
fn account_ids_cannot_be_found_by_hashing_candidates() {
    let wrapper = Arc::new(MemoryKeyWrapper::new());
    let fx = Fixture::with_wrapper(wrapper.clone());
    let phone = "+256700123456";
    fx.open()
        .put(phone, "ns", "a", b"1", DataClass::Internal, None)
        .unwrap();
    // What format 1 stored, and what an attacker computes for every phone number.
    let crypto = rukasec_core::crypto::Crypto::get().unwrap();
    let guess =
        crypto.sha256(&[b"rukasec.vault.account.v1\0".as_slice(), phone.as_bytes()].concat());
    let raw = fx.raw_files();
    assert!(
        !contains(&raw, &guess),
        "the plain hash of the id is on disk"
    );
    assert!(!contains(&raw, hex::encode(&guess[..16]).as_bytes()));
    assert!(
        wrapper
            .aliases()
            .iter()
            .all(|alias| !alias.contains(&hex::encode(&guess[..16]))),
        "a KEK alias names the plain hash of the id"
    );
    assert!(!contains(&raw, phone.as_bytes()));
}

/// A wrapper that refuses to delete keys while `refuse` is set.
struct StubbornWrapper {
    inner: MemoryKeyWrapper,
    refuse: AtomicBool,
    deleted: Mutex<Vec<String>>,
}

impl KeyWrapper for StubbornWrapper {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.inner.wrap(alias, key)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        self.inner.unwrap(alias, wrapped)
    }
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(WrapperError::Failed {
                reason: "keystore busy".to_owned(),
            });
        }
        self.deleted.lock().unwrap().push(alias.to_owned());
        self.inner.delete_key(alias)
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

#[test]
fn delete_account_destroys_every_kek_the_account_ever_had() {
    let wrapper = Arc::new(StubbornWrapper {
        inner: MemoryKeyWrapper::new(),
        refuse: AtomicBool::new(false),
        deleted: Mutex::new(Vec::new()),
    });
    let fx = Fixture::with_wrapper(wrapper.clone());
    let vault = fx.open();
    vault
        .put("acct", "ns", "a", b"secret", DataClass::Restricted, None)
        .unwrap();
    let before_rotation = tempfile::tempdir().unwrap();
    drop(vault);
    std::fs::copy(
        fx.dir.path().join(DATABASE_FILE),
        before_rotation.path().join(DATABASE_FILE),
    )
    .unwrap();
    let vault = fx.open();
    // The old KEK cannot be destroyed during the rotation: it is recorded, not forgotten.
    wrapper.refuse.store(true, Ordering::SeqCst);
    vault.rotate_kek("acct").unwrap();
    let kek_aliases = || -> Vec<String> {
        wrapper
            .inner
            .aliases()
            .into_iter()
            .filter(|a| a.starts_with("rukasec.kek."))
            .collect()
    };
    assert_eq!(kek_aliases().len(), 2, "the old KEK is still there");
    let copy = Vault::open(before_rotation.path(), wrapper.clone(), fx.bus.clone()).unwrap();
    assert_eq!(
        copy.get("acct", "ns", "a")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"secret",
        "a copy from before the rotation opens while the old KEK lives"
    );
    drop(copy);
    wrapper.refuse.store(false, Ordering::SeqCst);
    assert!(vault.delete_account("acct").unwrap());
    assert!(kek_aliases().is_empty(), "left: {:?}", kek_aliases());
    let copy = Vault::open(before_rotation.path(), wrapper.clone(), fx.bus.clone()).unwrap();
    assert_eq!(
        copy.get("acct", "ns", "a").err(),
        Some(Error::KeyUnavailable)
    );
}

#[test]
fn a_kek_whose_destruction_failed_is_destroyed_on_the_next_open() {
    let wrapper = Arc::new(StubbornWrapper {
        inner: MemoryKeyWrapper::new(),
        refuse: AtomicBool::new(false),
        deleted: Mutex::new(Vec::new()),
    });
    let fx = Fixture::with_wrapper(wrapper.clone());
    let vault = fx.open();
    vault
        .put("acct", "ns", "a", b"v", DataClass::Internal, None)
        .unwrap();
    wrapper.refuse.store(true, Ordering::SeqCst);
    vault.rotate_kek("acct").unwrap();
    drop(vault);
    let retired = |fx: &Fixture| -> i64 {
        fx.db()
            .query_row("SELECT count(*) FROM retired_keks", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(retired(&fx), 1);
    wrapper.refuse.store(false, Ordering::SeqCst);
    let vault = fx.open();
    assert_eq!(retired(&fx), 0);
    assert!(
        wrapper
            .deleted
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.ends_with(".1")),
        "KEK version 1 destroyed at open"
    );
    assert_eq!(
        vault
            .get("acct", "ns", "a")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"v"
    );
}

#[test]
fn nothing_deleted_stays_in_the_database_or_its_wal() {
    let fx = Fixture::new();
    let vault = fx.open();
    for name in ["gone", "kept", "expiring"] {
        let ttl = (name == "expiring").then(|| Duration::from_secs(1));
        vault
            .put(
                "acct",
                "ns",
                name,
                &[0x5a; 200],
                DataClass::Confidential,
                ttl,
            )
            .unwrap();
    }
    let envelopes = |fx: &Fixture| -> Vec<Vec<u8>> {
        let db = fx.db();
        let mut statement = db.prepare("SELECT value FROM items").unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let wrapped_keys = |fx: &Fixture| -> Vec<Vec<u8>> {
        let db = fx.db();
        let mut statement = db.prepare("SELECT wrapped FROM keys").unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let gone_for_good = |fx: &Fixture, blobs: &[Vec<u8>], what: &str| {
        let raw = fx.raw_files();
        for blob in blobs {
            assert!(!contains(&raw, &blob[13..45]), "{what} still on disk");
        }
    };
    // delete
    let before = envelopes(&fx);
    vault.delete("acct", "ns", "gone").unwrap();
    let after = envelopes(&fx);
    let removed: Vec<Vec<u8>> = before.into_iter().filter(|e| !after.contains(e)).collect();
    assert_eq!(removed.len(), 1);
    gone_for_good(&fx, &removed, "a deleted envelope");
    // rotate_dek: the old envelopes and the old data key
    let (old_envelopes, old_keys) = (envelopes(&fx), wrapped_keys(&fx));
    vault.rotate_dek("acct", DataClass::Confidential).unwrap();
    gone_for_good(&fx, &old_envelopes, "an envelope under a retired data key");
    let retired: Vec<Vec<u8>> = old_keys
        .into_iter()
        .filter(|k| !wrapped_keys(&fx).contains(k))
        .collect();
    assert_eq!(retired.len(), 1);
    gone_for_good(&fx, &retired, "a retired wrapped key");
    // purge_expired
    std::thread::sleep(Duration::from_millis(2100));
    let before = envelopes(&fx);
    assert_eq!(vault.purge_expired().unwrap(), 1);
    let after = envelopes(&fx);
    let purged: Vec<Vec<u8>> = before.into_iter().filter(|e| !after.contains(e)).collect();
    gone_for_good(&fx, &purged, "a purged envelope");
    // delete_account: every envelope and wrapped key
    let (all_envelopes, all_keys) = (envelopes(&fx), wrapped_keys(&fx));
    vault.delete_account("acct").unwrap();
    gone_for_good(&fx, &all_envelopes, "an envelope of a deleted account");
    gone_for_good(&fx, &all_keys, "a wrapped key of a deleted account");
}

#[test]
fn a_restored_backup_of_the_whole_vault_is_refused_when_the_wrapper_keeps_anchors() {
    for anchored in [true, false] {
        let wrapper: Arc<dyn KeyWrapper> = if anchored {
            Arc::new(MemoryKeyWrapper::with_anchors())
        } else {
            Arc::new(MemoryKeyWrapper::new())
        };
        let fx = Fixture::with_wrapper(wrapper);
        let vault = fx.open();
        vault
            .put(
                "acct",
                "wallet",
                "balance",
                b"1000",
                DataClass::Confidential,
                None,
            )
            .unwrap();
        drop(vault);
        let backup = std::fs::read(fx.dir.path().join(DATABASE_FILE)).unwrap();
        let vault = fx.open();
        vault
            .put(
                "acct",
                "wallet",
                "balance",
                b"0",
                DataClass::Confidential,
                None,
            )
            .unwrap();
        drop(vault);
        restore(fx.dir.path(), &backup);
        let vault = fx.open();
        if anchored {
            assert_eq!(
                vault.get("acct", "wallet", "balance").err(),
                Some(Error::Integrity)
            );
            assert!(fx.integrity_event("rollback"));
        } else {
            // Without an anchor the older, authentic state is all there is to see
            // (docs/THREAT_MODEL.md says so).
            assert_eq!(value(&vault, "wallet", "balance").unwrap(), b"1000");
        }
    }
}

#[test]
fn an_account_deleted_with_all_its_rows_is_refused_when_an_anchor_remembers_it() {
    let fx = Fixture::with_wrapper(Arc::new(MemoryKeyWrapper::with_anchors()));
    fx.open()
        .put("acct", "ns", "a", b"1", DataClass::Internal, None)
        .unwrap();
    let db = fx.db();
    for table in ["items", "keys", "accounts"] {
        db.execute(&format!("DELETE FROM {table}"), []).unwrap();
    }
    assert_reads_refused(&fx.open(), "ns", "a");
    // Deleting it through the vault forgets the anchor too.
    let fx = Fixture::with_wrapper(Arc::new(MemoryKeyWrapper::with_anchors()));
    let vault = fx.open();
    vault
        .put("acct", "ns", "a", b"1", DataClass::Internal, None)
        .unwrap();
    vault.delete_account("acct").unwrap();
    assert_eq!(fx.open().get("acct", "ns", "a").unwrap(), None);
}

fn restore(dir: &Path, backup: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{DATABASE_FILE}{suffix}")));
    }
    std::fs::write(dir.join(DATABASE_FILE), backup).unwrap();
}

#[test]
fn the_file_key_wrapper_keeps_anchors_in_its_own_directory() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("root.key");
    FileKeyWrapper::generate_file(&key).unwrap();
    let wrapper = Arc::new(
        FileKeyWrapper::from_file(&key)
            .unwrap()
            .with_anchor_dir(&keys.path().join("anchors"))
            .unwrap(),
    );
    let fx = Fixture::with_wrapper(wrapper);
    let vault = fx.open();
    vault
        .put("acct", "ns", "a", b"old", DataClass::Internal, None)
        .unwrap();
    drop(vault);
    let backup = std::fs::read(fx.dir.path().join(DATABASE_FILE)).unwrap();
    fx.open()
        .put("acct", "ns", "a", b"new", DataClass::Internal, None)
        .unwrap();
    restore(fx.dir.path(), &backup);
    assert_eq!(
        fx.open().get("acct", "ns", "a").err(),
        Some(Error::Integrity)
    );
}

#[test]
fn a_format_1_vault_is_migrated_and_its_old_keys_destroyed() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/vault-v1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture.join(DATABASE_FILE), dir.path().join(DATABASE_FILE)).unwrap();
    let wrapper = Arc::new(FileKeyWrapper::from_file(&fixture.join("root.key")).unwrap());
    let bus = Arc::new(EventBus::new(None));
    let crypto = rukasec_core::crypto::Crypto::get().unwrap();
    let legacy_tag =
        crypto.sha256(&[b"rukasec.vault.account.v1\0".as_slice(), b"customer-v1"].concat());
    let vault = Vault::open(dir.path(), wrapper.clone(), bus.clone()).unwrap();
    let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let read = |vault: &Vault, account: &str, namespace: &str, name: &str| {
        vault
            .get(account, namespace, name)
            .unwrap()
            .map(|v| v.expose_secret().to_vec())
    };
    assert_eq!(
        read(&vault, "customer-v1", "tokens", "refresh").unwrap(),
        b"r3fr3sh-v1"
    );
    assert_eq!(
        read(&vault, "customer-v1", "prefs", "theme").unwrap(),
        b"dark"
    );
    assert_eq!(
        read(&vault, "customer-v1", "tokens", "session").unwrap(),
        b"long-lived"
    );
    assert_eq!(
        vault.list("customer-v1", "tokens").unwrap(),
        ["refresh", "session"]
    );
    let legacy_rows: i64 = db
        .query_row(
            "SELECT count(*) FROM items WHERE account_tag = ?1",
            [legacy_tag.as_slice()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(legacy_rows, 0, "the old rows are gone");
    let formats: Vec<i64> = db
        .prepare("SELECT format FROM accounts ORDER BY format")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        formats,
        [1, 2],
        "the other account migrates when it is used"
    );
    assert_eq!(
        read(&vault, "+256700000001", "default", "pin-hint").unwrap(),
        b"phone"
    );
    drop(vault);
    let vault = Vault::open(dir.path(), wrapper, bus).unwrap();
    assert_eq!(
        read(&vault, "customer-v1", "tokens", "refresh").unwrap(),
        b"r3fr3sh-v1"
    );
    assert_eq!(
        read(&vault, "+256700000001", "default", "pin-hint").unwrap(),
        b"phone"
    );
    vault
        .put(
            "customer-v1",
            "tokens",
            "refresh",
            b"next",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    assert_eq!(
        read(&vault, "customer-v1", "tokens", "refresh").unwrap(),
        b"next"
    );
}
