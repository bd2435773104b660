//! [`Vault`]: the encrypted per-account store the app uses.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

use super::format::{self, AccountTag, KeyPurpose, ValueContext};
use super::keys::{self, AccountKeys, KeyFailure};
use super::store::{self, ItemRow, KeyRow};
use super::wrapper::{KeyWrapper, WrapperError};
use super::{DataClass, envelope};
use crate::crypto::Crypto;
use crate::error::{Error, Result};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};
use crate::secret::SecretBytes;

/// Longest account id, namespace and name, in bytes.
pub const MAX_ID_LEN: usize = 1024;
/// Largest value, in bytes.
pub const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;
/// Items re-encrypted per transaction by [`Vault::rotate_dek`].
const REENCRYPT_BATCH: usize = 256;

/// Where the vault gets the time from (Unix seconds). Tests substitute their own.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// One item of [`Vault::put_batch`].
pub struct PutItem {
    /// The item's namespace.
    pub namespace: String,
    /// The item's name within the namespace.
    pub name: String,
    /// The value.
    pub value: SecretBytes,
    /// Its data class.
    pub class: DataClass,
    /// Time to live; `None` keeps it until deleted.
    pub ttl: Option<Duration>,
}

/// The outcome of one attempt to read a value.
enum Lookup {
    Found(SecretBytes),
    Absent,
    /// Stored data failed authentication; the part that failed.
    Failed(&'static str),
}

/// One item on its way to the database (borrowed from [`Vault::put`] or a [`PutItem`]).
#[derive(Clone, Copy)]
struct ItemToStore<'a> {
    namespace: &'a str,
    name: &'a str,
    value: &'a [u8],
    class: DataClass,
    ttl: Option<Duration>,
}

/// Progress of a data-key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationProgress {
    /// The class's active data-key version after this call.
    pub active_version: u32,
    /// Items re-encrypted by this call.
    pub reencrypted: usize,
    /// Whether every item now uses the active version (old versions are then destroyed).
    pub complete: bool,
}

/// An encrypted, per-account key-value store in one directory (a SQLite database).
///
/// Every value is encrypted with AES-256-GCM under its account's data key for its class; keys
/// are wrapped by the platform keystore through a [`KeyWrapper`]; names never reach the disk in
/// plaintext. Safe to use from many threads (calls are serialised on one connection). See
/// docs/FORMAT.md for the bytes.
pub struct Vault {
    connection: Mutex<Connection>,
    wrapper: Arc<dyn KeyWrapper>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    /// Unwrapped keys per account, loaded on first use.
    accounts: Mutex<HashMap<AccountTag, Arc<AccountKeys>>>,
    /// SQLite's `data_version` when the cache was last checked against the database: another
    /// vault instance (or process) on the same directory may have rotated or deleted keys.
    seen_data_version: AtomicI64,
}

impl Vault {
    /// Opens (or creates) the vault in `dir`.
    ///
    /// # Errors
    /// `Storage` when the directory or database cannot be opened; `CryptoUnavailable`.
    pub fn open(dir: &Path, wrapper: Arc<dyn KeyWrapper>, events: Arc<EventBus>) -> Result<Self> {
        Self::open_with_clock(dir, wrapper, events, Arc::new(SystemClock))
    }

    /// [`Vault::open`] with another clock (for tests of expiry).
    ///
    /// # Errors
    /// As [`Vault::open`].
    pub fn open_with_clock(
        dir: &Path,
        wrapper: Arc<dyn KeyWrapper>,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Crypto::get()?;
        let connection = store::open(dir)?;
        let seen_data_version = AtomicI64::new(store::data_version(&connection)?);
        Ok(Self {
            connection: Mutex::new(connection),
            wrapper,
            events,
            clock,
            accounts: Mutex::new(HashMap::new()),
            seen_data_version,
        })
    }

    /// Stores `value` under `namespace`/`name` for `account`, replacing any previous value.
    /// Durable when it returns.
    ///
    /// # Errors
    /// `InvalidInput` for empty or oversized ids or values; `KeyUnavailable`, `Integrity`,
    /// `KeyWrapper`, `Storage`, `CryptoUnavailable`.
    pub fn put(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
        value: &[u8],
        class: DataClass,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.store_items(
            account,
            &[ItemToStore {
                namespace,
                name,
                value,
                class,
                ttl,
            }],
        )
    }

    /// Stores every item, all or none, in one durable transaction.
    ///
    /// # Errors
    /// As [`Vault::put`]; on error nothing was stored.
    pub fn put_batch(&self, account: &str, items: &[PutItem]) -> Result<()> {
        let items: Vec<ItemToStore<'_>> = items
            .iter()
            .map(|item| ItemToStore {
                namespace: &item.namespace,
                name: &item.name,
                // Encrypting the value needs its bytes.
                value: item.value.expose_secret(),
                class: item.class,
                ttl: item.ttl,
            })
            .collect();
        self.store_items(account, &items)
    }

    /// Seals and writes `items` in one immediate transaction, creating the account if needed.
    fn store_items(&self, account: &str, items: &[ItemToStore<'_>]) -> Result<()> {
        check_ids(account, "", None)?;
        for item in items {
            check_ids(account, item.namespace, Some(item.name))?;
            check_value(item.value)?;
        }
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        // The write lock first: the keys used are then the current ones, and an account is
        // created by one vault instance only.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let keys = self
            .keys(&crypto, &tx, account, true)?
            .ok_or_else(not_created)?;
        for item in items {
            let row = self.seal_item(&crypto, &keys, item)?;
            store::upsert_item(&tx, &keys.tag, &row)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The value of `namespace`/`name`, or `None` when absent or expired.
    ///
    /// # Errors
    /// `Integrity` when the stored value fails authentication (tampered or swapped);
    /// `KeyUnavailable`, `KeyWrapper`, `Storage`, `CryptoUnavailable`.
    pub fn get(&self, account: &str, namespace: &str, name: &str) -> Result<Option<SecretBytes>> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        // Fast path: the cached keys, without asking whether another vault instance changed
        // them. A stale cache cannot produce wrong data (the row names its key version and the
        // AEAD checks the key), only a miss or a failure; those are retried once with a checked
        // cache before they count.
        let first = self.lookup(&crypto, account, namespace, name, false)?;
        let outcome = match first {
            Lookup::Found(_) => first,
            _ if self.cache_is_stale()? => self.lookup(&crypto, account, namespace, name, true)?,
            _ => first,
        };
        match outcome {
            Lookup::Found(value) => Ok(Some(value)),
            Lookup::Absent => Ok(None),
            Lookup::Failed(what) => Err(self.integrity(what)),
        }
    }

    /// One attempt of [`Vault::get`]; `checked` validates the key cache against the database
    /// first. Reports failures without emitting events (the caller decides after a retry).
    fn lookup(
        &self,
        crypto: &Crypto,
        account: &str,
        namespace: &str,
        name: &str,
        checked: bool,
    ) -> Result<Lookup> {
        let conn = self.lock_connection();
        let keys = if checked {
            self.keys(crypto, &conn, account, false)?
        } else {
            self.cached_keys(crypto, &conn, account, false)?
        };
        let Some(keys) = keys else {
            return Ok(Lookup::Absent);
        };
        let item_id = format::item_id(crypto, &keys.index, namespace, name);
        let Some(stored) = store::item_value(&conn, &keys.tag, &item_id)? else {
            return Ok(Lookup::Absent);
        };
        drop(conn);
        if self.is_expired(stored.expires_at) {
            return Ok(Lookup::Absent);
        }
        let Some(class) = DataClass::from_code(stored.class) else {
            return Ok(Lookup::Failed("value"));
        };
        let Some(key) = keys.data_key(class, stored.key_version) else {
            return Ok(Lookup::Failed("value"));
        };
        let aad = format::value_aad(&ValueContext {
            account: &keys.tag,
            namespace,
            name,
            class,
            key_version: stored.key_version,
            expires_at: stored.expires_at,
        });
        Ok(match envelope::open(crypto, key, &aad, &stored.value) {
            Ok(value) => Lookup::Found(value),
            Err(_) => Lookup::Failed("value"),
        })
    }

    /// Whether another connection committed since the key cache was last checked.
    fn cache_is_stale(&self) -> Result<bool> {
        let version = store::data_version(&self.lock_connection())?;
        Ok(version != self.seen_data_version.load(Ordering::SeqCst))
    }

    /// Whether `namespace`/`name` holds a value that has not expired. Does not decrypt.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn contains(&self, account: &str, namespace: &str, name: &str) -> Result<bool> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        let Some(keys) = self.keys(&crypto, &conn, account, false)? else {
            return Ok(false);
        };
        let item_id = format::item_id(&crypto, &keys.index, namespace, name);
        Ok(store::item_expiry(&conn, &keys.tag, &item_id)?.is_some_and(|at| !self.is_expired(at)))
    }

    /// Deletes `namespace`/`name`. Returns whether it existed.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn delete(&self, account: &str, namespace: &str, name: &str) -> Result<bool> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        let Some(keys) = self.keys(&crypto, &conn, account, false)? else {
            return Ok(false);
        };
        let item_id = format::item_id(&crypto, &keys.index, namespace, name);
        store::delete_item(&conn, &keys.tag, &item_id)
    }

    /// The names in `namespace` that have not expired, sorted.
    ///
    /// # Errors
    /// `Integrity` when a stored name fails authentication; as [`Vault::get`].
    pub fn list(&self, account: &str, namespace: &str) -> Result<Vec<String>> {
        check_ids(account, namespace, None)?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        let Some(keys) = self.keys(&crypto, &conn, account, false)? else {
            return Ok(Vec::new());
        };
        let namespace_tag = format::namespace_tag(&crypto, &keys.index, namespace);
        let rows = store::names_in(&conn, &keys.tag, &namespace_tag)?;
        drop(conn);
        let mut names = Vec::with_capacity(rows.len());
        for row in rows {
            if self.is_expired(row.expires_at) {
                continue;
            }
            let (stored_namespace, name) =
                self.open_name(&crypto, &keys, &row.item_id, &row.name)?;
            if stored_namespace != namespace {
                return Err(self.integrity("name"));
            }
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    /// Re-wraps the account's keys under a new KEK (a new keystore alias) and destroys the old
    /// KEK. Data is not touched.
    ///
    /// # Errors
    /// As [`Vault::get`]; `InvalidInput` when the account does not exist.
    pub fn rotate_kek(&self, account: &str) -> Result<()> {
        let wrapper = Arc::clone(&self.wrapper);
        self.rotate_kek_to(account, wrapper.as_ref())
    }

    /// [`Vault::rotate_kek`] into another wrapper (a new key file, a new keystore). Afterwards
    /// the account opens only with `new_wrapper`: reopen the vault with it.
    ///
    /// # Errors
    /// As [`Vault::rotate_kek`].
    pub fn rotate_kek_to(&self, account: &str, new_wrapper: &dyn KeyWrapper) -> Result<()> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        // One immediate transaction from the start: two instances cannot rotate at once.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let keys = self
            .keys(&crypto, &tx, account, false)?
            .ok_or_else(no_account)?;
        // Whatever happens next, this instance reloads the account's keys on next use.
        self.lock_accounts().remove(&keys.tag);
        let old = store::account(&tx, &keys.tag)?.ok_or_else(no_account)?;
        let new_version = old
            .kek_version
            .checked_add(1)
            .ok_or_else(|| Error::Internal {
                reason: "KEK version overflow".to_owned(),
            })?;
        let new_alias = format::kek_alias(&keys.tag, new_version);
        let fail = |failure| self.key_failure(failure);
        new_wrapper
            .create_key(&new_alias)
            .map_err(|e| fail(KeyFailure::Wrapper(e)))?;
        let canary = new_wrapper
            .wrap(&new_alias, &format::canary(&keys.tag))
            .map_err(|e| fail(KeyFailure::Wrapper(e)))?;
        let mut rewrapped = Vec::new();
        for row in store::keys(&tx, &keys.tag)? {
            let purpose =
                KeyPurpose::from_code(row.purpose).ok_or_else(|| self.integrity("wrapped_key"))?;
            let key = keys::unwrap_key(
                self.wrapper.as_ref(),
                &old.kek_alias,
                &keys.tag,
                purpose,
                &row,
            )
            .map_err(fail)?;
            let wrapped = new_wrapper
                .wrap(
                    &new_alias,
                    &format::key_payload(&keys.tag, purpose, row.version, &key),
                )
                .map_err(|e| fail(KeyFailure::Wrapper(e)))?;
            rewrapped.push(KeyRow {
                purpose: row.purpose,
                version: row.version,
                wrapped,
            });
        }
        for row in &rewrapped {
            store::upsert_key(&tx, &keys.tag, row)?;
        }
        store::upsert_account(
            &tx,
            &keys.tag,
            &store::AccountRow {
                kek_alias: new_alias,
                kek_version: new_version,
                canary,
            },
        )?;
        tx.commit()?;
        // The data is safe under the new KEK; failing to destroy the old one leaves a harmless
        // orphan key in the keystore, so it is reported, not returned.
        let destroyed = self.wrapper.delete_key(&old.kek_alias).is_ok();
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultKeyRotated)
                .with_detail("key", "kek")
                .with_detail("old_kek_destroyed", destroyed.to_string()),
        );
        Ok(())
    }

    /// Rotates `class`'s data key: new writes use a new version, every item is re-encrypted
    /// under it, then the old versions are destroyed. Resumable: after an interruption, calling
    /// it again finishes the rotation under way instead of starting another.
    ///
    /// # Errors
    /// As [`Vault::get`]; `InvalidInput` when the account does not exist.
    pub fn rotate_dek(&self, account: &str, class: DataClass) -> Result<RotationProgress> {
        let mut total = 0;
        loop {
            let progress = self.rotate_dek_step(account, class, REENCRYPT_BATCH)?;
            total += progress.reencrypted;
            if progress.complete {
                return Ok(RotationProgress {
                    reencrypted: total,
                    ..progress
                });
            }
        }
    }

    /// One step of [`Vault::rotate_dek`]: starts a rotation if none is under way, re-encrypts up
    /// to `max_items` items in one transaction, and finishes when none are left.
    ///
    /// # Errors
    /// As [`Vault::rotate_dek`].
    pub fn rotate_dek_step(
        &self,
        account: &str,
        class: DataClass,
        max_items: usize,
    ) -> Result<RotationProgress> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        // One immediate transaction: the new key version and the batch commit together, and
        // two instances cannot rotate at once.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut keys = self
            .keys(&crypto, &tx, account, false)?
            .ok_or_else(no_account)?;
        let tag = keys.tag;
        // The cache may briefly hold a key version this transaction has not committed: it is
        // dropped on every exit, so a rolled-back version is never used for writes.
        let _evict = EvictOnDrop { vault: self, tag };
        let mut active = keys
            .active_version(class)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        if keys.versions(class) == 1 {
            let alias = store::account(&tx, &tag)?.ok_or_else(no_account)?.kek_alias;
            active = active.checked_add(1).ok_or_else(|| Error::Internal {
                reason: "data key version overflow".to_owned(),
            })?;
            keys::new_key(
                &crypto,
                &tx,
                self.wrapper.as_ref(),
                &alias,
                &tag,
                KeyPurpose::Data(class),
                active,
            )
            .map_err(|f| self.key_failure(f))?;
            self.lock_accounts().remove(&tag);
            keys = self
                .keys(&crypto, &tx, account, false)?
                .ok_or_else(no_account)?;
        }
        let new_key = keys
            .data_key(class, active)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        let rows = store::items_to_reencrypt(&tx, &tag, class.code(), active, max_items)?;
        for row in &rows {
            let (namespace, name) = self.open_name(&crypto, &keys, &row.item_id, &row.name)?;
            let old_key = keys
                .data_key(class, row.key_version)
                .ok_or_else(|| self.integrity("value"))?;
            let mut context = ValueContext {
                account: &tag,
                namespace: &namespace,
                name: &name,
                class,
                key_version: row.key_version,
                expires_at: row.expires_at,
            };
            let value = envelope::open(&crypto, old_key, &format::value_aad(&context), &row.value)
                .map_err(|_| self.integrity("value"))?;
            context.key_version = active;
            // Re-encryption needs the plaintext.
            let sealed = envelope::seal(
                &crypto,
                new_key,
                &format::value_aad(&context),
                value.expose_secret(),
            )?;
            store::set_item_value(&tx, &tag, &row.item_id, active, &sealed)?;
        }
        let complete = rows.len() < max_items
            || store::items_to_reencrypt(&tx, &tag, class.code(), active, 1)?.is_empty();
        if complete {
            store::delete_key_versions_except(&tx, &tag, KeyPurpose::Data(class).code(), active)?;
        }
        tx.commit()?;
        if complete {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::VaultKeyRotated)
                    .with_detail("key", "dek")
                    .with_detail("class", class.as_str())
                    .with_detail("version", active.to_string()),
            );
        }
        Ok(RotationProgress {
            active_version: active,
            reencrypted: rows.len(),
            complete,
        })
    }

    /// Crypto-shreds an account: destroys its KEK in the keystore first (every copy of the
    /// database is unreadable from then on), then deletes its rows. Returns whether it existed.
    ///
    /// # Errors
    /// `KeyWrapper` when the keystore cannot delete the KEK (nothing is deleted then);
    /// `Storage`.
    pub fn delete_account(&self, account: &str) -> Result<bool> {
        self.remove_account(account, true)
    }

    /// Starts an account again after `KeyUnavailable`: deletes its rows and, as far as the
    /// keystore allows, its KEK. Returns whether it existed.
    ///
    /// # Errors
    /// `Storage`.
    pub fn reset_account(&self, account: &str) -> Result<bool> {
        self.remove_account(account, false)
    }

    /// Whether `account` exists in this vault (has keys).
    ///
    /// # Errors
    /// `InvalidInput`, `Storage`, `CryptoUnavailable`.
    pub fn has_account(&self, account: &str) -> Result<bool> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let tag = format::account_tag(&crypto, account);
        Ok(store::account(&self.lock_connection(), &tag)?.is_some())
    }

    /// Whether the key wrapper keeps its KEKs in hardware (StrongBox, Secure Enclave).
    pub fn is_hardware_backed(&self) -> bool {
        self.wrapper.is_hardware_backed()
    }

    /// Deletes every expired item of every account. Returns how many.
    ///
    /// # Errors
    /// `Storage`.
    pub fn purge_expired(&self) -> Result<usize> {
        let conn = self.lock_connection();
        store::purge_expired(&conn, self.clock.now())
    }

    fn remove_account(&self, account: &str, strict: bool) -> Result<bool> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let tag = format::account_tag(&crypto, account);
        let mut conn = self.lock_connection();
        let Some(row) = store::account(&conn, &tag)? else {
            return Ok(false);
        };
        match self.wrapper.delete_key(&row.kek_alias) {
            Ok(()) => {}
            Err(error) if strict => return Err(wrapper_error(error)),
            Err(_) => {}
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        store::delete_account_rows(&tx, &tag)?;
        tx.commit()?;
        self.lock_accounts().remove(&tag);
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultAccountDeleted)
                .with_detail("mode", if strict { "delete" } else { "reset" }),
        );
        Ok(true)
    }

    /// The account's keys from the cache, else loaded (or created when `create`, which the
    /// caller must only ask inside an immediate transaction).
    fn keys(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        create: bool,
    ) -> Result<Option<Arc<AccountKeys>>> {
        self.refresh_cache(conn)?;
        self.cached_keys(crypto, conn, account, create)
    }

    /// [`Vault::keys`] without checking the cache against the database first.
    fn cached_keys(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        create: bool,
    ) -> Result<Option<Arc<AccountKeys>>> {
        let tag = format::account_tag(crypto, account);
        if let Some(keys) = self.lock_accounts().get(&tag) {
            return Ok(Some(Arc::clone(keys)));
        }
        let loaded = match keys::load(conn, self.wrapper.as_ref(), &tag) {
            Ok(Some(keys)) => keys,
            // The caller holds an immediate transaction (see `put`).
            Ok(None) if create => keys::create(crypto, conn, self.wrapper.as_ref(), &tag)
                .map_err(|f| self.key_failure(f))?,
            Ok(None) => return Ok(None),
            Err(failure) => return Err(self.key_failure(failure)),
        };
        let keys = Arc::new(loaded);
        self.lock_accounts().insert(tag, Arc::clone(&keys));
        Ok(Some(keys))
    }

    /// Drops cached keys that another connection changed (rotated, deleted, reset). Cheap when
    /// nothing changed: `data_version` is read from memory.
    fn refresh_cache(&self, conn: &Connection) -> Result<()> {
        let version = store::data_version(conn)?;
        if self.seen_data_version.swap(version, Ordering::SeqCst) == version {
            return Ok(());
        }
        let mut accounts = self.lock_accounts();
        let tags: Vec<AccountTag> = accounts.keys().copied().collect();
        for tag in tags {
            let current = store::key_fingerprint(conn, &tag)?;
            if accounts.get(&tag).map(|keys| &keys.fingerprint) != current.as_ref() {
                accounts.remove(&tag);
            }
        }
        Ok(())
    }

    fn seal_item(
        &self,
        crypto: &Crypto,
        keys: &AccountKeys,
        item: &ItemToStore<'_>,
    ) -> Result<ItemRow> {
        let ItemToStore {
            namespace,
            name,
            value,
            class,
            ttl,
        } = *item;
        let key_version = keys
            .active_version(class)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        let key = keys
            .data_key(class, key_version)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        let expires_at = match ttl {
            None => 0,
            Some(ttl) => {
                let secs = i64::try_from(ttl.as_secs())
                    .map_err(|_| Error::invalid_input("ttl too large"))?;
                self.clock.now().saturating_add(secs.max(1))
            }
        };
        let item_id = format::item_id(crypto, &keys.index, namespace, name);
        let aad = format::value_aad(&ValueContext {
            account: &keys.tag,
            namespace,
            name,
            class,
            key_version,
            expires_at,
        });
        Ok(ItemRow {
            item_id,
            namespace_tag: format::namespace_tag(crypto, &keys.index, namespace),
            class: class.code(),
            key_version,
            expires_at,
            name: envelope::seal(
                crypto,
                &keys.names,
                &format::name_aad(&keys.tag, &item_id),
                &format::name_plaintext(namespace, name),
            )?,
            value: envelope::seal(crypto, key, &aad, value)?,
        })
    }

    /// Decrypts a name envelope into `(namespace, name)` and checks it belongs to `item_id`.
    fn open_name(
        &self,
        crypto: &Crypto,
        keys: &AccountKeys,
        item_id: &[u8; 32],
        envelope: &[u8],
    ) -> Result<(String, String)> {
        let plain = envelope::open(
            crypto,
            &keys.names,
            &format::name_aad(&keys.tag, item_id),
            envelope,
        )
        .map_err(|_| self.integrity("name"))?;
        // Names are not secret to the account's owner: they are listed and used in AADs.
        let (namespace, name) = format::parse_name_plaintext(plain.expose_secret())
            .map_err(|_| self.integrity("name"))?;
        if format::item_id(crypto, &keys.index, &namespace, &name) != *item_id {
            return Err(self.integrity("name"));
        }
        Ok((namespace, name))
    }

    fn is_expired(&self, expires_at: i64) -> bool {
        expires_at > 0 && expires_at <= self.clock.now()
    }

    fn lock_connection(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_accounts(&self) -> MutexGuard<'_, HashMap<AccountTag, Arc<AccountKeys>>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An opaque integrity error, with the detail in a security event.
    fn integrity(&self, what: &'static str) -> Error {
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultIntegrityFailure).with_detail("what", what),
        );
        Error::Integrity
    }

    fn key_failure(&self, failure: KeyFailure) -> Error {
        match failure {
            KeyFailure::KekMissing | KeyFailure::WrongKek => {
                let cause = if matches!(failure, KeyFailure::KekMissing) {
                    "kek_missing"
                } else {
                    "wrong_kek"
                };
                self.events.emit(
                    SecurityEvent::new(SecurityEventKind::VaultKeyUnavailable)
                        .with_detail("cause", cause),
                );
                Error::KeyUnavailable
            }
            KeyFailure::WrappedKeyTampered => self.integrity("wrapped_key"),
            KeyFailure::Wrapper(error) => wrapper_error(error),
            KeyFailure::Other(error) => error,
        }
    }
}

/// Drops an account's cached keys when it goes out of scope.
struct EvictOnDrop<'a> {
    vault: &'a Vault,
    tag: AccountTag,
}

impl Drop for EvictOnDrop<'_> {
    fn drop(&mut self) {
        self.vault.lock_accounts().remove(&self.tag);
    }
}

fn wrapper_error(error: WrapperError) -> Error {
    Error::KeyWrapper {
        reason: error.to_string(),
    }
}

fn check_ids(account: &str, namespace: &str, name: Option<&str>) -> Result<()> {
    if account.is_empty() || account.len() > MAX_ID_LEN {
        return Err(Error::invalid_input("an account id is 1 to 1024 bytes"));
    }
    if namespace.len() > MAX_ID_LEN {
        return Err(Error::invalid_input("a namespace is at most 1024 bytes"));
    }
    if let Some(name) = name
        && (name.is_empty() || name.len() > MAX_ID_LEN)
    {
        return Err(Error::invalid_input("an item name is 1 to 1024 bytes"));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::invalid_input("a value is at most 16 MiB"));
    }
    Ok(())
}

fn no_account() -> Error {
    Error::invalid_input("no such account in this vault")
}

fn not_created() -> Error {
    Error::Internal {
        reason: "account creation returned nothing".to_owned(),
    }
}
