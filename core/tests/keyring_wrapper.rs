//! `KeyringKeyWrapper` against a real Secret Service (gnome-keyring on a private session bus) and
//! the kernel's keyutils.
//!
//! The tests are `#[ignore]`d in a plain `cargo test`, which has no session bus;
//! `scripts/test-keyring.sh` starts D-Bus and an unlocked gnome-keyring in a session keyring of
//! its own and runs them with `--include-ignored`. Every run uses its own service name and aliases
//! (pid + time) and deletes what it created, also when an assertion fails.
#![cfg(all(feature = "keyring", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rukasec_core::RukaSec;
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::wrappers::KeyringKeyWrapper;
use rukasec_core::vault::{DataClass, KeyWrapper, WrapperError};

/// `rukasec-test-<pid>-<nanoseconds>-<what>`: unique per run and per test.
fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("rukasec-test-{}-{nanos}-{what}", std::process::id())
}

fn wrapper(service: &str) -> KeyringKeyWrapper {
    KeyringKeyWrapper::secret_service()
        .expect("Secret Service reachable (scripts/test-keyring.sh starts one)")
        .with_service(service)
        .unwrap()
}

/// Items in the Secret Service under `service`, found by a search of our own (not through the
/// wrapper under test).
fn items_under(service: &str) -> usize {
    let store = dbus_secret_service_keyring_store::Store::new().unwrap();
    let store: Arc<keyring_core::CredentialStore> = store;
    keyring_core::Entry::search_in_store(&store, &HashMap::from([("service", service)]))
        .unwrap()
        .len()
}

/// Deletes the aliases on drop, so a failed assertion leaves nothing in the keyring.
struct Cleanup<'a> {
    wrapper: &'a KeyringKeyWrapper,
    aliases: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for alias in &self.aliases {
            let _ = self.wrapper.delete_key(alias);
        }
    }
}

#[test]
#[ignore = "needs a Secret Service: run scripts/test-keyring.sh"]
fn round_trip_missing_alias_new_kek_delete_and_tampering() {
    let service = unique("wrapper");
    let wrapper = wrapper(&service);
    let (alias, missing) = (unique("kek"), unique("missing"));
    let _cleanup = Cleanup {
        wrapper: &wrapper,
        aliases: vec![alias.clone(), missing.clone()],
    };
    let key = SecretBytes::from_slice(&[0x5a; 32]);
    assert!(!wrapper.is_hardware_backed());

    // Round trip.
    wrapper.create_key(&alias).unwrap();
    assert!(wrapper.contains_key(&alias).unwrap());
    let wrapped = wrapper.wrap(&alias, &key).unwrap();
    assert_eq!(wrapped.len(), 1 + 12 + 32 + 16, "envelope of a 32-byte key");
    assert_eq!(wrapper.unwrap(&alias, &wrapped).unwrap(), key);
    // A second connection to the store sees the same KEK.
    assert_eq!(
        self::wrapper(&service).unwrap(&alias, &wrapped).unwrap(),
        key
    );
    assert_eq!(items_under(&service), 1);

    // Missing alias.
    assert_eq!(
        wrapper.unwrap(&missing, &wrapped).unwrap_err(),
        WrapperError::KeyNotFound
    );
    assert_eq!(
        wrapper.wrap(&missing, &key).unwrap_err(),
        WrapperError::KeyNotFound
    );
    assert!(!wrapper.contains_key(&missing).unwrap());

    // Tampered blobs: version, nonce, ciphertext, tag, truncated, empty.
    for index in [0, 1, 12, 13, 44, 45, wrapped.len() - 1] {
        let mut tampered = wrapped.clone();
        tampered[index] ^= 0x01;
        assert_eq!(
            wrapper.unwrap(&alias, &tampered).unwrap_err(),
            WrapperError::Rejected,
            "byte {index}"
        );
    }
    for short in [&wrapped[..wrapped.len() - 1], &wrapped[..20], &[][..]] {
        assert_eq!(
            wrapper.unwrap(&alias, short).unwrap_err(),
            WrapperError::Rejected
        );
    }

    // A new KEK under the same alias replaces the old one: old blobs no longer open.
    wrapper.create_key(&alias).unwrap();
    assert_eq!(items_under(&service), 1, "replaced, not added");
    assert_eq!(
        wrapper.unwrap(&alias, &wrapped).unwrap_err(),
        WrapperError::Rejected
    );
    let rewrapped = wrapper.wrap(&alias, &key).unwrap();
    assert_eq!(wrapper.unwrap(&alias, &rewrapped).unwrap(), key);

    // Delete: the KEK is gone, deleting again is not an error.
    wrapper.delete_key(&alias).unwrap();
    assert!(!wrapper.contains_key(&alias).unwrap());
    assert_eq!(
        wrapper.unwrap(&alias, &rewrapped).unwrap_err(),
        WrapperError::KeyNotFound
    );
    wrapper.delete_key(&alias).unwrap();
    wrapper.delete_key(&missing).unwrap();
    assert_eq!(items_under(&service), 0);
}

/// Remembers the aliases the vault creates, so the test can look for them afterwards.
struct Recording {
    inner: Arc<KeyringKeyWrapper>,
    created: Mutex<Vec<String>>,
}

impl KeyWrapper for Recording {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.created.lock().unwrap().push(alias.to_owned());
        self.inner.create_key(alias)
    }
    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        self.inner.wrap(alias, key)
    }
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        self.inner.unwrap(alias, wrapped)
    }
    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        self.inner.delete_key(alias)
    }
    fn is_hardware_backed(&self) -> bool {
        self.inner.is_hardware_backed()
    }
}

#[test]
#[ignore = "needs a Secret Service: run scripts/test-keyring.sh"]
fn vault_round_trip_and_delete_account_crypto_shreds() {
    let service = unique("vault");
    let keyring = Arc::new(wrapper(&service));
    let recording = Arc::new(Recording {
        inner: Arc::clone(&keyring),
        created: Mutex::new(Vec::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let account = unique("account");
    let core = RukaSec::new(None);

    let vault = core.open_vault(dir.path(), recording.clone()).unwrap();
    vault
        .put(
            &account,
            "tokens",
            "refresh",
            b"secret-value",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    let created = recording.created.lock().unwrap().clone();
    let _cleanup = Cleanup {
        wrapper: &keyring,
        aliases: created.clone(),
    };
    // The vault's id key (keyed account tags) and one KEK for the account.
    let keks: Vec<&String> = created
        .iter()
        .filter(|alias| alias.starts_with("rukasec.kek.v2."))
        .collect();
    let id_keys: Vec<&String> = created
        .iter()
        .filter(|alias| alias.starts_with("rukasec.idk.v2."))
        .collect();
    assert_eq!(keks.len(), 1, "one KEK per account: {created:?}");
    assert_eq!(id_keys.len(), 1, "one id key per vault: {created:?}");
    assert_eq!(created.len(), 2, "nothing else: {created:?}");
    let kek = keks[0].clone();
    assert!(keyring.contains_key(&kek).unwrap());
    assert_eq!(items_under(&service), 2);
    drop(vault);

    // Reopened with a new connection to the store: the KEK in the keyring opens the data.
    let vault = core
        .open_vault(dir.path(), Arc::new(wrapper(&service)))
        .unwrap();
    assert_eq!(
        vault
            .get(&account, "tokens", "refresh")
            .unwrap()
            .unwrap()
            // Test: reading back the plaintext is the assertion.
            .expose_secret(),
        b"secret-value"
    );

    // Crypto-shredding: the KEK leaves the keyring with the account.
    assert!(vault.delete_account(&account).unwrap());
    assert!(!keyring.contains_key(&kek).unwrap());
    assert_eq!(
        keyring.unwrap(&kek, &[1; 61]).unwrap_err(),
        WrapperError::KeyNotFound
    );
    assert_eq!(
        items_under(&service),
        1,
        "only the vault's id key is left under the service"
    );
    assert!(vault.get(&account, "tokens", "refresh").unwrap().is_none());
}

#[test]
#[ignore = "needs a session keyring of its own: run scripts/test-keyring.sh"]
fn keyutils_round_trip_new_kek_and_delete() {
    let wrapper = KeyringKeyWrapper::linux_keyutils()
        .unwrap()
        .with_service(&unique("keyutils"))
        .unwrap();
    let alias = unique("kek");
    let _cleanup = Cleanup {
        wrapper: &wrapper,
        aliases: vec![alias.clone()],
    };
    let key = SecretBytes::from_slice(&[0xa5; 32]);
    assert_eq!(
        wrapper.wrap(&alias, &key).unwrap_err(),
        WrapperError::KeyNotFound
    );
    wrapper.create_key(&alias).unwrap();
    let wrapped = wrapper.wrap(&alias, &key).unwrap();
    assert_eq!(wrapper.unwrap(&alias, &wrapped).unwrap(), key);
    wrapper.create_key(&alias).unwrap();
    assert_eq!(
        wrapper.unwrap(&alias, &wrapped).unwrap_err(),
        WrapperError::Rejected
    );
    wrapper.delete_key(&alias).unwrap();
    assert_eq!(
        wrapper.unwrap(&alias, &wrapped).unwrap_err(),
        WrapperError::KeyNotFound
    );
    wrapper.delete_key(&alias).unwrap();
}
