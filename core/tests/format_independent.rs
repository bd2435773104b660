//! docs/FORMAT.md is complete: `tests/format/decrypt_vault.py`, a reader written from that page
//! alone (Python, `cryptography`), decrypts what the vault wrote, across classes, accounts, a
//! data-key rotation and a KEK rotation, and rejects a swapped value; of an account with a bound
//! Restricted key it reads everything but the Restricted values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rukasec_core::events::EventBus;
use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{
    AuthMethod, AuthRequest, AuthenticatedUse, AuthenticatedUseFuture, MemoryAttemptStore,
    UnlockGate, UnlockPolicy,
};
use rukasec_core::vault::wrappers::{FileKeyWrapper, MemoryKeyWrapper};
use rukasec_core::vault::{
    AuthBoundKeyWrapper, DataClass, KeyAuthRequirement, KeyWrapper, Vault, WrapperError,
};

fn python_reader(dir: &Path, key: &Path, args: &[&str]) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/format/decrypt_vault.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(key)
        .args(args)
        .output()
        .expect("python3 is needed for this test (scripts/install-deps.sh installs it with the cryptography package)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "python3 lacks the cryptography package: {stderr}"
    );
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap().trim().to_owned(),
    )
}

#[test]
fn an_independent_reader_decrypts_the_vault_from_the_format_document() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("root.key");
    FileKeyWrapper::generate_file(&key).unwrap();
    let vault_dir = dir.path().join("vault");
    let vault = Vault::open(
        &vault_dir,
        Arc::new(FileKeyWrapper::from_file(&key).unwrap()),
        Arc::new(EventBus::new(None)),
    )
    .unwrap();
    let binary: Vec<u8> = (0..=255).rev().collect();
    vault
        .put(
            "customer-256",
            "tokens",
            "refresh",
            b"refresh-token-value",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    vault
        .put(
            "customer-256",
            "tokens",
            "access",
            &binary,
            DataClass::Restricted,
            Some(Duration::from_secs(3600)),
        )
        .unwrap();
    vault
        .put(
            "customer-256",
            "prefs",
            "théme ✓",
            b"dark",
            DataClass::Internal,
            None,
        )
        .unwrap();
    vault
        .put(
            "customer-999",
            "tokens",
            "refresh",
            b"other customer",
            DataClass::Confidential,
            None,
        )
        .unwrap();
    vault
        .rotate_dek("customer-256", DataClass::Restricted)
        .unwrap();
    vault.rotate_kek("customer-999").unwrap();
    drop(vault);

    let value =
        |account: &str, ns: &str, name: &str| python_reader(&vault_dir, &key, &[account, ns, name]);
    assert_eq!(
        value("customer-256", "tokens", "refresh"),
        (Some(0), hex::encode("refresh-token-value"))
    );
    assert_eq!(
        value("customer-256", "tokens", "access"),
        (Some(0), hex::encode(&binary))
    );
    assert_eq!(
        value("customer-256", "prefs", "théme ✓"),
        (Some(0), hex::encode("dark"))
    );
    assert_eq!(
        value("customer-999", "tokens", "refresh"),
        (Some(0), hex::encode("other customer"))
    );
    assert_eq!(value("customer-256", "tokens", "missing").0, Some(3));
    assert_eq!(
        python_reader(&vault_dir, &key, &["customer-256", "tokens"]),
        (Some(0), "access\nrefresh".to_owned())
    );

    // The reader authenticates too: a value moved to another row does not open.
    let db = rusqlite::Connection::open(vault_dir.join("vault.sqlite3")).unwrap();
    db.execute(
        "UPDATE items SET value = (SELECT value FROM items WHERE class = 3 ORDER BY item_id LIMIT 1)
         WHERE item_id = (SELECT item_id FROM items WHERE class = 3 ORDER BY item_id DESC LIMIT 1)",
        [],
    )
    .unwrap();
    let codes = [
        value("customer-256", "tokens", "refresh").0,
        value("customer-256", "tokens", "access").0,
    ];
    assert!(codes.contains(&Some(4)), "{codes:?}");
}

/// An auth-bound keystore in memory (its unwrap stands in for a prompt that succeeds).
struct MemoryBound(MemoryKeyWrapper);

impl AuthBoundKeyWrapper for MemoryBound {
    fn create_key(&self, alias: &str, _: &KeyAuthRequirement) -> Result<(), WrapperError> {
        self.0.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.0.wrap(alias, key)
    }
    fn unwrap(
        &self,
        alias: &str,
        wrapped: Vec<u8>,
        _: AuthRequest,
    ) -> AuthenticatedUseFuture<'_, SecretBytes, WrapperError> {
        let opened = self.0.unwrap(alias, &wrapped);
        Box::pin(async move {
            Ok(AuthenticatedUse::Done {
                method: AuthMethod::StrongBiometric,
                value: opened?,
            })
        })
    }
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.0.delete_key(alias)
    }
}

#[test]
fn a_reader_without_the_bound_keystore_reads_all_but_restricted_values_of_a_bound_account() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("root.key");
    FileKeyWrapper::generate_file(&key).unwrap();
    let vault_dir = dir.path().join("vault");
    let bus = Arc::new(EventBus::new(None));
    let vault = Arc::new(
        Vault::open(
            &vault_dir,
            Arc::new(FileKeyWrapper::from_file(&key).unwrap()),
            bus.clone(),
        )
        .unwrap(),
    );
    let gate = UnlockGate::new(
        UnlockPolicy::default(),
        None,
        Arc::new(MemoryAttemptStore::default()),
        bus,
    )
    .unwrap();
    vault
        .attach_unlock_gate_with_bound_keys(
            Arc::new(gate),
            Arc::new(MemoryBound(MemoryKeyWrapper::new())),
        )
        .unwrap();
    for (name, class) in [
        ("card", DataClass::Restricted),
        ("theme", DataClass::Internal),
    ] {
        vault
            .put("customer-256", "ns", name, name.as_bytes(), class, None)
            .unwrap();
    }
    assert!(
        vault
            .has_bound_key("customer-256", DataClass::Restricted)
            .unwrap()
    );
    drop(vault);
    let read = |args: &[&str]| python_reader(&vault_dir, &key, args);
    assert_eq!(
        read(&["customer-256", "ns", "theme"]),
        (Some(0), hex::encode("theme"))
    );
    assert_eq!(read(&["customer-256", "ns", "card"]).0, Some(5));
    assert_eq!(
        read(&["customer-256", "ns"]),
        (Some(0), "card\ntheme".to_owned())
    );
}
