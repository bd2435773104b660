//! [`Vault`]: the encrypted per-account store the app uses.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

use super::attempt_store::COUNTER_ACCOUNT;
use super::event_journal::{EventJournal, JOURNAL_ACCOUNT};
use super::format::{self, AccountState, AccountTag, KeyPurpose, ValueContext};
use super::keys::{self, AccountKeys, Bound, KeyFailure};
use super::store::{self, ItemRow, KeyRow};
use super::wrapper::{AuthBoundKeyWrapper, KeyAuthRequirement, KeyWrapper, WrapperError};
use super::{DataClass, envelope};
use crate::crypto::{Aes256GcmKey, Crypto};
use crate::error::{Error, Result};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};
use crate::secret::SecretBytes;
use crate::unlock::{ClassRequirement, UnlockGate, UnlockGrant};

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

/// One item on its way to the database (borrowed from [`Vault::put`] or a [`PutItem`]).
#[derive(Clone, Copy)]
struct ItemToStore<'a> {
    namespace: &'a str,
    name: &'a str,
    value: &'a [u8],
    class: DataClass,
    /// Expiry in Unix seconds, 0 for never.
    expires_at: i64,
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

/// What the verified account state says about one live item.
#[derive(Clone, Copy)]
struct ItemFacts {
    element: [u8; 32],
    namespace_tag: [u8; 32],
}

/// An account as this vault last verified it: its keys, its authenticated state, and the
/// element of every live item, so that each row read is checked against the state in O(1).
struct Account {
    keys: Arc<AccountKeys>,
    state: AccountState,
    items: HashMap<[u8; 32], ItemFacts>,
    /// Bound data keys unwrapped for the user (by class and version); dropped with the entry
    /// (every lock, every error), when their grant is no longer current, and after one read
    /// under a per-use policy.
    bound: HashMap<(DataClass, u32), BoundKey>,
}

impl Account {
    fn new(
        keys: Arc<AccountKeys>,
        state: AccountState,
        items: HashMap<[u8; 32], ItemFacts>,
    ) -> Self {
        Self {
            keys,
            state,
            items,
            bound: HashMap::new(),
        }
    }
}

/// An unwrapped bound data key.
struct BoundKey {
    key: Arc<Aes256GcmKey>,
    access: BoundAccess,
}

/// What a bound data key may do.
enum BoundAccess {
    /// Unwrapped by the platform for this authentication (or made by a rotation the user
    /// authenticated for): opens and seals while the grant is current.
    Granted(UnlockGrant),
    /// Made by the call under way (a new account): seals its items, never opens one; dropped
    /// when the call ends.
    SealOnly,
}

/// What a data key is wanted for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    /// Decrypting (a re-encryption; reads take their key with [`Vault::bound_key_for_read`]).
    Open,
    /// Encrypting.
    Seal,
}

/// A data key, plain (under the account KEK, unwrapped at load) or bound (unwrapped for the
/// user), owned so the account entry can change while it is used.
enum DataKey {
    Plain(Arc<AccountKeys>, DataClass, u32),
    Bound(Arc<Aes256GcmKey>),
}

impl DataKey {
    fn get(&self) -> Option<&Aes256GcmKey> {
        match self {
            Self::Plain(keys, class, version) => keys.data_key(*class, *version),
            Self::Bound(key) => Some(key),
        }
    }
}

/// The auth-bound keystore attached with the gate, and what its keys demand.
struct BoundWrapper {
    wrapper: Arc<dyn AuthBoundKeyWrapper>,
    requirement: KeyAuthRequirement,
}

/// How much of a row a read needs.
#[derive(Clone, Copy)]
enum Row {
    /// The value too.
    Whole,
    /// Everything but the value (no decryption follows).
    Header,
}

/// Whether a read is checked against the unlock gate.
#[derive(Clone, Copy)]
enum Gated<'a> {
    /// Yes, with the grant of an unlock if the caller has one.
    Yes(Option<&'a UnlockGrant>),
    /// No: the gate's own counter.
    No,
}

/// Whether an account may be created by the call that resolves it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Create {
    /// Reads: an unknown account is absent.
    No,
    /// Writes, inside an immediate transaction: an unknown account is created.
    Yes,
}

/// What a row read means once checked against the verified state.
enum Checked {
    /// Neither the state nor the table has it.
    Absent,
    /// The row is the one the state names.
    Row(Box<ItemRow>),
    /// The table and the state disagree (a row deleted, restored, re-inserted or edited, or
    /// another connection committed in between).
    Mismatch,
}

/// An encrypted, per-account key-value store in one directory (a SQLite database).
///
/// Every value is encrypted with AES-256-GCM under its account's data key for its class; keys
/// are wrapped by the platform keystore through a [`KeyWrapper`]; names never reach the disk in
/// plaintext; every account keeps an authenticated state over its live items, checked on every
/// read. Safe to use from many threads (calls are serialised on one connection). See
/// docs/FORMAT.md for the bytes.
pub struct Vault {
    connection: Mutex<Connection>,
    wrapper: Arc<dyn KeyWrapper>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    /// The vault's id key (account tags), once unwrapped.
    id_key: Mutex<Option<Arc<SecretBytes>>>,
    /// Verified accounts, loaded on first use. Locked only while the connection is.
    accounts: Mutex<HashMap<AccountTag, Account>>,
    /// SQLite's `data_version` when the cache was last checked against the database: another
    /// vault instance (or process) on the same directory may have written.
    seen_data_version: AtomicI64,
    /// The unlock gate reads are checked against, once attached.
    gate: OnceLock<Arc<UnlockGate>>,
    /// The event journal recording this vault's bus, once started.
    journal: OnceLock<Arc<EventJournal>>,
    /// The auth-bound keystore new accounts keep their Restricted data keys in, once attached.
    bound: OnceLock<BoundWrapper>,
}

impl Vault {
    /// Opens (or creates) the vault in `dir`. A format-1 database is migrated to format 2 (each
    /// account is re-keyed the first time it is used). KEKs whose destruction failed earlier are
    /// destroyed now.
    ///
    /// # Errors
    /// `Storage` when the directory or database cannot be opened; `Integrity` when its schema
    /// is not the vault's; `CryptoUnavailable`.
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
        let connection = match store::open(dir) {
            Err(Error::Integrity) => {
                events.emit(
                    SecurityEvent::new(SecurityEventKind::VaultIntegrityFailure)
                        .with_detail("what", "schema"),
                );
                return Err(Error::Integrity);
            }
            other => other?,
        };
        let seen_data_version = AtomicI64::new(store::data_version(&connection)?);
        let vault = Self {
            connection: Mutex::new(connection),
            wrapper,
            events,
            clock,
            id_key: Mutex::new(None),
            accounts: Mutex::new(HashMap::new()),
            seen_data_version,
            gate: OnceLock::new(),
            journal: OnceLock::new(),
            bound: OnceLock::new(),
        };
        tracing::info!("vault opened");
        vault.destroy_retired_keks(&vault.lock_connection())?;
        Ok(vault)
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
                expires_at: self.expiry(ttl)?,
            }],
        )
    }

    /// Stores every item, all or none, in one durable transaction.
    ///
    /// # Errors
    /// As [`Vault::put`]; on error nothing was stored.
    pub fn put_batch(&self, account: &str, items: &[PutItem]) -> Result<()> {
        let items = items
            .iter()
            .map(|item| {
                Ok(ItemToStore {
                    namespace: &item.namespace,
                    name: &item.name,
                    // Encrypting the value needs its bytes.
                    value: item.value.expose_secret(),
                    class: item.class,
                    expires_at: self.expiry(item.ttl)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
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
        // The write lock first: the state used is then the current one, and an account is
        // created by one vault instance only.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (tag, counter) = self
            .with_account(&crypto, &tx, account, Create::Yes, |entry| {
                for item in items {
                    self.write_item(&crypto, &tx, entry, item)?;
                }
                self.save_state(&crypto, &tx, entry)?;
                // Keys this call made for a new account sealed its items; reading them needs
                // the user.
                entry
                    .bound
                    .retain(|_, key| !matches!(key.access, BoundAccess::SealOnly));
                Ok((entry.keys.tag, entry.state.write_counter))
            })?
            .ok_or_else(not_created)?;
        self.commit(tx, &tag)?;
        self.advance_anchor(&tag, counter);
        Ok(())
    }

    /// The value of `namespace`/`name`, or `None` when absent or expired.
    ///
    /// # Errors
    /// `Integrity` when the stored value or the account's state fails authentication (tampered,
    /// swapped, rolled back, deleted or re-inserted); `KeyUnavailable`, `KeyWrapper`, `Storage`,
    /// `CryptoUnavailable`.
    pub fn get(&self, account: &str, namespace: &str, name: &str) -> Result<Option<SecretBytes>> {
        self.read_value(account, namespace, name, Gated::Yes(None))
    }

    /// [`Vault::get`] with the grant of an unlock ([`UnlockGate::unlock`]), for a class whose
    /// policy wants a fresh authentication for each read.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn get_granted(
        &self,
        grant: &UnlockGrant,
        account: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<SecretBytes>> {
        self.read_value(account, namespace, name, Gated::Yes(Some(grant)))
    }

    /// [`Vault::get`] past the gate: the gate's own failure counter.
    pub(crate) fn get_ungated(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<SecretBytes>> {
        self.read_value(account, namespace, name, Gated::No)
    }

    /// The data class of `namespace`/`name`, if it holds a value that has not expired: what an
    /// async read unlocks before it reads. Does not decrypt; the row is checked like
    /// [`Vault::get`]'s.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn class_of(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<DataClass>> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let found = self.checked_row(&crypto, account, namespace, name, Row::Header)?;
        match found {
            Some((_, row)) if !self.is_expired(row.expires_at) => DataClass::from_code(row.class)
                .map(Some)
                .ok_or_else(|| self.integrity("value")),
            _ => Ok(None),
        }
    }

    /// Checks every read against `gate` from now on, and drops (zeroizes) every unwrapped key
    /// whenever it locks. One gate per vault.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a gate is already attached.
    pub fn attach_unlock_gate(self: &Arc<Self>, gate: Arc<UnlockGate>) -> Result<()> {
        let weak = Arc::downgrade(self);
        self.gate
            .set(Arc::clone(&gate))
            .map_err(|_| Error::invalid_input("this vault already has an unlock gate"))?;
        gate.on_lock(Box::new(move |_why| {
            if let Some(vault) = weak.upgrade() {
                vault.forget_keys();
            }
        }));
        Ok(())
    }

    /// The vault's clock (Unix seconds): what item expiry, and credential ages in
    /// `monitor`, are measured on.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The vault's event journal (see [`EventJournal`]), recording every event of the vault's
    /// bus from the first call on; later calls return the same journal (with its capacity).
    pub fn event_journal(self: &Arc<Self>, capacity: usize) -> Arc<EventJournal> {
        Arc::clone(
            self.journal
                .get_or_init(|| EventJournal::attach(self, capacity)),
        )
    }

    /// [`Vault::attach_unlock_gate`], and keeps the Restricted data keys of accounts created
    /// from now on in `bound`, a keystore that unwraps only for an authenticated user, under
    /// the gate's Restricted policy ([`KeyAuthRequirement`]: its methods and window).
    ///
    /// For such a *bound account* (one KEK per data-key version in `bound`, docs/FORMAT.md §3):
    /// - loading it unwraps no bound key (no prompt); [`Vault::unlock_bound`] prompts through
    ///   `bound` and keeps the key while the gate's Restricted window lasts (one read when the
    ///   window is zero) and until the next lock;
    /// - without that key, reads and writes of its Restricted items fail with
    ///   [`Error::UserAuthenticationRequired`], even when the gate is open through an
    ///   [`Authenticator`](crate::unlock::Authenticator) prompt (the platform never released
    ///   the key); a blocking call never prompts. The write that creates the account may seal
    ///   Restricted items with the key it just made (use [`Vault::put_batch`] for several);
    /// - [`Vault::rotate_dek`] of Restricted makes the new version in `bound` (no prompt) and
    ///   needs the old one unlocked when there are items to re-encrypt; [`Vault::rotate_kek`]
    ///   leaves bound keys alone; [`Vault::delete_account`] and [`Vault::reset_account`]
    ///   destroy the bound KEKs too.
    ///
    /// Accounts that exist already stay as they are (their Restricted keys under the account
    /// KEK), and so does the gate's own counter account. KEKs of `bound` recorded for
    /// destruction earlier (a deletion while it was not attached) are destroyed now.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a gate is already attached, or when the gate's Restricted
    /// requirement is not [`ClassRequirement::Recent`] (a keystore key can be bound to an
    /// authentication window, not to a session).
    pub fn attach_unlock_gate_with_bound_keys(
        self: &Arc<Self>,
        gate: Arc<UnlockGate>,
        bound: Arc<dyn AuthBoundKeyWrapper>,
    ) -> Result<()> {
        let policy = gate.policy();
        let ClassRequirement::Recent { window } = policy.requirement(DataClass::Restricted) else {
            return Err(Error::invalid_input(
                "bound keys need a Restricted requirement of a recent authentication",
            ));
        };
        let requirement = KeyAuthRequirement {
            methods: policy.methods(DataClass::Restricted).to_vec(),
            validity: *window,
        };
        if self.gate.get().is_some() {
            return Err(Error::invalid_input(
                "this vault already has an unlock gate",
            ));
        }
        self.bound
            .set(BoundWrapper {
                wrapper: bound,
                requirement,
            })
            .map_err(|_| Error::invalid_input("this vault already has a bound key wrapper"))?;
        self.attach_unlock_gate(gate)?;
        // A failure here is retried at the next open or attach.
        let _ = self.destroy_retired_keks(&self.lock_connection());
        Ok(())
    }

    /// Whether `account`'s data keys of `class` are bound keys: reading its items of `class`
    /// needs [`Vault::unlock_bound`] first. `false` for an account that does not exist.
    ///
    /// # Errors
    /// As [`Vault::has_account`].
    pub fn has_bound_key(&self, account: &str, class: DataClass) -> Result<bool> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        Ok(self
            .with_account(&crypto, &conn, account, Create::No, |entry| {
                Ok(entry.keys.is_bound(class))
            })?
            .unwrap_or(false))
    }

    /// Prompts for `account`'s bound data keys of `class` (`reason` is shown) and keeps them
    /// for the reads and writes that follow: each version not unlocked yet (one, or two while a
    /// rotation is under way) is unwrapped by the bound wrapper inside the platform's prompt,
    /// under the unlock gate's policy for `class` (refused while locked out, the outcome counted
    /// and reported as a prompt's, a method the class does not allow refused). Under a per-use
    /// policy (a zero window) it prompts every time and the key serves the next read only.
    /// Returns the grant for the read that follows ([`Vault::get_granted`]). Runs blocking
    /// SQLite work between its awaits, like the gate's counter does.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the account does not exist, has no bound key of `class`,
    /// or the vault has no gate; [`Error::KeyUnavailable`] when no bound wrapper is attached or
    /// the bound KEK is gone; [`Error::Integrity`] when a bound key does not unwrap to its
    /// row's payload; as [`UnlockGate::unlock`] (`UserCancelled`, `AuthenticationFailed`,
    /// `LockedOut`, `KeyInvalidated`, `UserAuthenticationRequired`).
    pub async fn unlock_bound(
        &self,
        account: &str,
        class: DataClass,
        reason: &str,
    ) -> Result<UnlockGrant> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let gate = self
            .gate
            .get()
            .ok_or_else(|| Error::invalid_input("this vault has no unlock gate"))?;
        let per_use = is_per_use(gate, class);
        // Which versions need the user; no lock is held across a prompt (the gate's counter
        // writes to this vault).
        let (tag, all, pending) = {
            let conn = self.lock_connection();
            self.with_account(&crypto, &conn, account, Create::No, |entry| {
                if !entry.keys.is_bound(class) {
                    return Ok(None);
                }
                let mut all = Vec::new();
                let mut pending = Vec::new();
                for (version, wrapped) in entry.keys.bound_keys(class) {
                    let unlocked = entry
                        .bound
                        .get(&(class, version))
                        .is_some_and(|key| self.bound_usable(class, key, KeyUse::Open));
                    if per_use || !unlocked {
                        pending.push((version, wrapped.to_vec()));
                    }
                    all.push((version, wrapped.to_vec()));
                }
                Ok(Some((entry.keys.tag, all, pending)))
            })?
            .ok_or_else(no_account)?
            .ok_or_else(|| Error::invalid_input("this account has no bound key of this class"))?
        };
        let pending = if pending.is_empty() {
            // Every version is unlocked: the gate's window is open too (the same
            // authentication), unless it locked since.
            if let Some(grant) = gate.grant_if_open(class) {
                return Ok(grant);
            }
            all
        } else {
            pending
        };
        let bound = self.bound_wrapper()?;
        let mut last = None;
        for (version, wrapped) in pending {
            let alias = format::bound_kek_alias(&tag, class, version);
            let (payload, grant) = gate
                .authenticate_use(class, Some(account), reason, |request| {
                    let unwrapping = bound.wrapper.unwrap(&alias, wrapped.clone(), request);
                    async move { unwrapping.await.map_err(|error| self.bound_failure(error)) }
                })
                .await?;
            let key = format::key_from_payload(
                format::FORMAT_VERSION,
                &payload,
                &tag,
                KeyPurpose::BoundData(class),
                version,
            )
            .map_err(|_| self.integrity("wrapped_key"))?;
            let key = keys::aes_key(&key).map_err(|failure| self.key_failure(failure))?;
            let conn = self.lock_connection();
            // Kept only if the account still has this very key (it may have been rotated,
            // deleted or reset meanwhile; the read that follows then asks again).
            self.with_account(&crypto, &conn, account, Create::No, |entry| {
                if entry
                    .keys
                    .bound_keys(class)
                    .any(|(v, w)| v == version && w == wrapped.as_slice())
                {
                    entry.bound.insert(
                        (class, version),
                        BoundKey {
                            key: Arc::new(key),
                            access: BoundAccess::Granted(grant.duplicate()),
                        },
                    );
                }
                Ok(())
            })?;
            last = Some(grant);
        }
        // `pending` is never empty here (every version, when none was pending).
        last.ok_or(Error::UserAuthenticationRequired)
    }

    /// The bound data key of `class` at `version` for one read of `tag`'s item: a key unlocked
    /// by [`Vault::unlock_bound`] whose grant is still current (taken out under a per-use
    /// policy). A key no longer current is dropped. Takes the connection: no other lock may be
    /// held.
    fn bound_key_for_read(
        &self,
        tag: &AccountTag,
        class: DataClass,
        version: u32,
    ) -> Result<Arc<Aes256GcmKey>> {
        let per_use = self.gate.get().is_some_and(|gate| is_per_use(gate, class));
        let _conn = self.lock_connection();
        let mut accounts = self.lock_accounts();
        let Some(entry) = accounts.get_mut(tag) else {
            return Err(Error::UserAuthenticationRequired);
        };
        let slot = (class, version);
        let usable = entry
            .bound
            .get(&slot)
            .is_some_and(|key| self.bound_usable(class, key, KeyUse::Open));
        let found = if !usable || per_use {
            // Not current: dropped (zeroized once the last reader lets go). Per use: this read
            // is its one use.
            entry
                .bound
                .remove(&slot)
                .filter(|_| usable)
                .map(|key| key.key)
        } else {
            entry.bound.get(&slot).map(|key| Arc::clone(&key.key))
        };
        found.ok_or(Error::UserAuthenticationRequired)
    }

    /// Whether an unwrapped bound key may serve `use_` now.
    fn bound_usable(&self, class: DataClass, key: &BoundKey, use_: KeyUse) -> bool {
        match &key.access {
            BoundAccess::SealOnly => use_ == KeyUse::Seal,
            BoundAccess::Granted(grant) => self
                .gate
                .get()
                .is_some_and(|gate| gate.grant_is_current(class, grant)),
        }
    }

    /// The data key of `class` at `version` for `use_`: the plain one, or the bound one when
    /// the user unlocked it ([`Error::UserAuthenticationRequired`] otherwise).
    fn data_key(
        &self,
        entry: &Account,
        class: DataClass,
        version: u32,
        use_: KeyUse,
    ) -> Result<DataKey> {
        let what = if use_ == KeyUse::Seal {
            "wrapped_key"
        } else {
            "value"
        };
        if !entry.keys.has_version(class, version) {
            return Err(self.integrity(what));
        }
        if !entry.keys.is_bound(class) {
            return Ok(DataKey::Plain(Arc::clone(&entry.keys), class, version));
        }
        match entry.bound.get(&(class, version)) {
            Some(key) if self.bound_usable(class, key, use_) => {
                Ok(DataKey::Bound(Arc::clone(&key.key)))
            }
            _ => Err(Error::UserAuthenticationRequired),
        }
    }

    /// The bound wrapper; without one, a bound account's bound keys are unavailable.
    fn bound_wrapper(&self) -> Result<&BoundWrapper> {
        self.bound.get().ok_or_else(|| {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::VaultKeyUnavailable)
                    .with_detail("cause", "bound_wrapper_missing"),
            );
            Error::KeyUnavailable
        })
    }

    /// What a bound wrapper's failure to unwrap means.
    fn bound_failure(&self, error: WrapperError) -> Error {
        self.key_failure(match error {
            // The KEK under the row's alias does not open it: another key, or tampered bytes.
            WrapperError::Rejected => KeyFailure::WrappedKeyTampered,
            WrapperError::KeyNotFound => KeyFailure::KekMissing,
            other => KeyFailure::Wrapper(other),
        })
    }

    /// Whether `account`'s new accounts get bound keys: a bound wrapper is attached, and it is
    /// not one of RukaSec's Public-only accounts (the gate's counter, written while counting a
    /// bound unwrap; the event journal, written from the event thread).
    fn bound_for(&self, account: &str) -> Option<Bound<'_>> {
        let bound = self.bound.get()?;
        (account != COUNTER_ACCOUNT && account != JOURNAL_ACCOUNT).then_some(Bound {
            wrapper: bound.wrapper.as_ref(),
            requirement: &bound.requirement,
        })
    }

    /// The event bus this vault reports to.
    pub fn events(&self) -> Arc<EventBus> {
        Arc::clone(&self.events)
    }

    /// The attached unlock gate, if any.
    pub fn unlock_gate(&self) -> Option<&Arc<UnlockGate>> {
        self.gate.get()
    }

    /// Drops every unwrapped key (zeroized on drop) and the verified states: the next use
    /// unwraps again through the keystore.
    pub fn forget_keys(&self) {
        // The connection first: the order every other path takes.
        let _conn = self.lock_connection();
        self.lock_accounts().clear();
        *self.id_key.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn read_value(
        &self,
        account: &str,
        namespace: &str,
        name: &str,
        gated: Gated<'_>,
    ) -> Result<Option<SecretBytes>> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let Some((keys, row)) = self.checked_row(&crypto, account, namespace, name, Row::Whole)?
        else {
            return Ok(None);
        };
        if self.is_expired(row.expires_at) {
            return Ok(None);
        }
        let class = DataClass::from_code(row.class).ok_or_else(|| self.integrity("value"))?;
        // No vault lock is held here: a gate that finds its session idle locks, and its hook
        // takes the connection.
        if let (Gated::Yes(grant), Some(gate)) = (gated, self.gate.get()) {
            gate.check(class, grant)?;
        }
        let bound_key;
        let key = if keys.is_bound(class) {
            if !keys.has_version(class, row.key_version) {
                return Err(self.integrity("value"));
            }
            bound_key = self.bound_key_for_read(&keys.tag, class, row.key_version)?;
            &*bound_key
        } else {
            keys.data_key(class, row.key_version)
                .ok_or_else(|| self.integrity("value"))?
        };
        let aad = format::value_aad(&ValueContext {
            account: &keys.tag,
            namespace,
            name,
            class,
            key_version: row.key_version,
            expires_at: row.expires_at,
            counter: row.counter,
        });
        envelope::open(&crypto, key, &aad, &row.value)
            .map(Some)
            .map_err(|_| self.integrity("value"))
    }

    /// Whether `namespace`/`name` holds a value that has not expired. Does not decrypt; the row
    /// is checked against the account's state like [`Vault::get`]'s.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn contains(&self, account: &str, namespace: &str, name: &str) -> Result<bool> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let found = self.checked_row(&crypto, account, namespace, name, Row::Header)?;
        Ok(found.is_some_and(|(_, row)| !self.is_expired(row.expires_at)))
    }

    /// The row of `namespace`/`name` (with its value or only its header), checked against the
    /// verified account. Takes and releases the connection.
    fn checked_row(
        &self,
        crypto: &Crypto,
        account: &str,
        namespace: &str,
        name: &str,
        what: Row,
    ) -> Result<Option<(Arc<AccountKeys>, Box<ItemRow>)>> {
        let conn = self.lock_connection();
        self.read_checked(crypto, &conn, account, |entry| {
            let item_id = format::item_id(crypto, &entry.keys.index, namespace, name);
            let row = match what {
                Row::Whole => store::item(&conn, &entry.keys.tag, &item_id)?,
                Row::Header => store::item_header(&conn, &entry.keys.tag, &item_id)?,
            };
            Ok(check_row(crypto, entry, &item_id, row))
        })
    }

    /// Runs a row read against the verified account; on a mismatch re-checks the database once
    /// (another connection may have committed in between) before reporting tampering.
    fn read_checked(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        read: impl Fn(&mut Account) -> Result<Checked>,
    ) -> Result<Option<(Arc<AccountKeys>, Box<ItemRow>)>> {
        for attempt in 0..2 {
            let outcome = self.with_account(crypto, conn, account, Create::No, |entry| {
                Ok((Arc::clone(&entry.keys), read(entry)?))
            })?;
            match outcome {
                None | Some((_, Checked::Absent)) => return Ok(None),
                Some((keys, Checked::Row(row))) => return Ok(Some((keys, row))),
                Some((_, Checked::Mismatch)) if attempt == 0 && self.cache_is_stale(conn)? => {}
                // The verified state stays cached: it is still the truth about the other rows.
                Some((_, Checked::Mismatch)) => return Err(self.integrity("state")),
            }
        }
        Err(self.integrity("state"))
    }

    /// Deletes `namespace`/`name`. Returns whether it existed. No byte of its envelope stays in
    /// the database or its WAL.
    ///
    /// # Errors
    /// As [`Vault::get`].
    pub fn delete(&self, account: &str, namespace: &str, name: &str) -> Result<bool> {
        check_ids(account, namespace, Some(name))?;
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((tag, existed, counter)) =
            self.with_account(&crypto, &tx, account, Create::No, |entry| {
                let item_id = format::item_id(&crypto, &entry.keys.index, namespace, name);
                let existed = self.remove_item(&tx, entry, &item_id)?;
                if existed {
                    self.save_state(&crypto, &tx, entry)?;
                }
                Ok((entry.keys.tag, existed, entry.state.write_counter))
            })?
        else {
            return Ok(false);
        };
        self.commit(tx, &tag)?;
        if existed {
            store::checkpoint_truncate(&conn)?;
            self.advance_anchor(&tag, counter);
        }
        Ok(existed)
    }

    /// The names in `namespace` that have not expired, sorted.
    ///
    /// # Errors
    /// `Integrity` when a stored name, or the namespace's rows, fail authentication; as
    /// [`Vault::get`].
    pub fn list(&self, account: &str, namespace: &str) -> Result<Vec<String>> {
        check_ids(account, namespace, None)?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        for attempt in 0..2 {
            let outcome = self.with_account(&crypto, &conn, account, Create::No, |entry| {
                let namespace_tag = format::namespace_tag(&crypto, &entry.keys.index, namespace);
                let rows = store::names_in(&conn, &entry.keys.tag, &namespace_tag)?;
                let expected = entry
                    .items
                    .values()
                    .filter(|facts| facts.namespace_tag == namespace_tag)
                    .count();
                let matches = rows.len() == expected
                    && rows.iter().all(|row| {
                        matches!(
                            check_row(&crypto, entry, &row.item_id, Some(row.clone_header())),
                            Checked::Row(_)
                        )
                    });
                Ok((Arc::clone(&entry.keys), matches.then_some(rows)))
            })?;
            let Some((keys, rows)) = outcome else {
                return Ok(Vec::new());
            };
            let Some(rows) = rows else {
                if attempt == 0 && self.cache_is_stale(&conn)? {
                    continue;
                }
                return Err(self.integrity("state"));
            };
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
            return Ok(names);
        }
        Err(self.integrity("state"))
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
    /// the account opens only with `new_wrapper`: reopen the vault with it. The old KEK is
    /// destroyed in this vault's wrapper; when that fails it is recorded and destroyed on a
    /// later open.
    ///
    /// # Errors
    /// As [`Vault::rotate_kek`].
    pub fn rotate_kek_to(&self, account: &str, new_wrapper: &dyn KeyWrapper) -> Result<()> {
        self.rotate_kek_into(account, new_wrapper)
            .inspect(|()| tracing::info!(key = "kek", "key rotated"))
            .inspect_err(|_| tracing::warn!(key = "kek", "key rotation failed"))
    }

    fn rotate_kek_into(&self, account: &str, new_wrapper: &dyn KeyWrapper) -> Result<()> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        // One immediate transaction from the start: two instances cannot rotate at once.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (tag, old_alias) = self
            .with_account(&crypto, &tx, account, Create::No, |entry| {
                self.rewrap_keys(&tx, &entry.keys, new_wrapper)
            })?
            .ok_or_else(no_account)?;
        // The new wrapper must be able to tell accounts apart too.
        let id_key = self.id_key(&crypto, &tx, false)?.ok_or_else(no_account)?;
        keys::add_id_key_copy(&tx, new_wrapper, &id_key).map_err(|f| self.key_failure(f))?;
        // Whatever happens next, this instance reloads the account's keys on next use.
        self.lock_accounts().remove(&tag);
        tx.commit()?;
        // The data is safe under the new KEK; an old KEK that cannot be destroyed now is
        // recorded and destroyed on a later open (crypto-shredding must not depend on luck).
        let destroyed = self.destroy_kek(&conn, &old_alias)?;
        store::checkpoint_truncate(&conn)?;
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultKeyRotated)
                .with_detail("key", "kek")
                .with_detail("old_kek_destroyed", destroyed.to_string()),
        );
        Ok(())
    }

    /// Re-wraps every key of the account under a new KEK version in `new_wrapper`, in the
    /// caller's transaction. Returns the account tag and the old KEK's alias.
    fn rewrap_keys(
        &self,
        tx: &Connection,
        keys: &AccountKeys,
        new_wrapper: &dyn KeyWrapper,
    ) -> Result<(AccountTag, String)> {
        let old = store::account(tx, &keys.tag)?.ok_or_else(no_account)?;
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
        for row in store::keys(tx, &keys.tag)? {
            let purpose =
                KeyPurpose::from_code(row.purpose).ok_or_else(|| self.integrity("wrapped_key"))?;
            if matches!(purpose, KeyPurpose::BoundData(_)) {
                // Under its own KEK in the bound wrapper, not the account KEK: left as it is.
                continue;
            }
            let key = keys::unwrap_key(
                self.wrapper.as_ref(),
                keys.format,
                &old.kek_alias,
                &keys.tag,
                purpose,
                &row,
            )
            .map_err(fail)?;
            let payload = format::key_payload(
                format::FORMAT_VERSION,
                &keys.tag,
                purpose,
                row.version,
                &key,
            );
            let wrapped = new_wrapper
                .wrap(&new_alias, &payload)
                .map_err(|e| fail(KeyFailure::Wrapper(e)))?;
            rewrapped.push(KeyRow {
                purpose: row.purpose,
                version: row.version,
                wrapped,
            });
        }
        for row in &rewrapped {
            store::upsert_key(tx, &keys.tag, row)?;
        }
        store::set_kek(tx, &keys.tag, &new_alias, new_version, &canary)?;
        Ok((keys.tag, old.kek_alias))
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
                tracing::info!(
                    key = "dek",
                    class = class.as_str(),
                    reencrypted = total,
                    "key rotated"
                );
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
        let (tag, progress, counter) = self
            .with_account(&crypto, &tx, account, Create::No, |entry| {
                let progress = self.reencrypt_batch(&crypto, &tx, entry, class, max_items)?;
                Ok((entry.keys.tag, progress, entry.state.write_counter))
            })?
            .ok_or_else(no_account)?;
        self.commit(tx, &tag)?;
        if progress.complete {
            // A bound class's old KEKs (recorded in the transaction).
            self.destroy_retired_keks(&conn)?;
        }
        store::checkpoint_truncate(&conn)?;
        self.advance_anchor(&tag, counter);
        if progress.complete {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::VaultKeyRotated)
                    .with_detail("key", "dek")
                    .with_detail("class", class.as_str())
                    .with_detail("version", progress.active_version.to_string()),
            );
        }
        Ok(progress)
    }

    fn reencrypt_batch(
        &self,
        crypto: &Crypto,
        tx: &Connection,
        entry: &mut Account,
        class: DataClass,
        max_items: usize,
    ) -> Result<RotationProgress> {
        let tag = entry.keys.tag;
        let mut active = entry
            .keys
            .active_version(class)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        let bound_class = entry.keys.is_bound(class);
        if entry.keys.versions(class) == 1 {
            let old = active;
            active = active.checked_add(1).ok_or_else(|| Error::Internal {
                reason: "data key version overflow".to_owned(),
            })?;
            if bound_class {
                self.start_bound_rotation(crypto, tx, entry, class, old, active)?;
            } else {
                let alias = store::account(tx, &tag)?.ok_or_else(no_account)?.kek_alias;
                keys::new_key(
                    crypto,
                    tx,
                    self.wrapper.as_ref(),
                    &alias,
                    &tag,
                    KeyPurpose::Data(class),
                    active,
                )
                .map_err(|f| self.key_failure(f))?;
            }
            // The cache may briefly hold a key version this transaction has not committed:
            // `with_account` drops the entry on any error, so a rolled-back version is never
            // used.
            let reloaded = keys::load(tx, self.wrapper.as_ref(), &tag)
                .map_err(|f| self.key_failure(f))?
                .ok_or_else(no_account)?;
            entry.keys = Arc::new(reloaded);
        }
        let keys = Arc::clone(&entry.keys);
        let rows = store::items_to_reencrypt(tx, &tag, class.code(), active, max_items)?;
        // Asked for only when there is something to re-encrypt: a bound key may be locked.
        let new_key = if rows.is_empty() {
            None
        } else {
            Some(self.data_key(entry, class, active, KeyUse::Seal)?)
        };
        for row in &rows {
            if !matches!(
                check_row(crypto, entry, &row.item_id, Some(row.clone_header())),
                Checked::Row(_)
            ) {
                return Err(self.integrity("state"));
            }
            let (namespace, name) = self.open_name(crypto, &keys, &row.item_id, &row.name)?;
            let old_key = self.data_key(entry, class, row.key_version, KeyUse::Open)?;
            let old_key = old_key.get().ok_or_else(|| self.integrity("value"))?;
            let new_key = new_key
                .as_ref()
                .and_then(DataKey::get)
                .ok_or_else(|| self.integrity("wrapped_key"))?;
            let context = ValueContext {
                account: &tag,
                namespace: &namespace,
                name: &name,
                class,
                key_version: row.key_version,
                expires_at: row.expires_at,
                counter: row.counter,
            };
            let value = envelope::open(crypto, old_key, &format::value_aad(&context), &row.value)
                .map_err(|_| self.integrity("value"))?;
            let counter = next_counter(entry)?;
            let aad = format::value_aad(&ValueContext {
                key_version: active,
                counter,
                ..context
            });
            // Re-encryption needs the plaintext.
            let sealed = envelope::seal(crypto, new_key, &aad, value.expose_secret())?;
            let updated = ItemRow {
                item_id: row.item_id,
                namespace_tag: row.namespace_tag,
                class: row.class,
                key_version: active,
                expires_at: row.expires_at,
                name: row.name.clone(),
                value: sealed,
                counter,
            };
            self.replace_facts(crypto, entry, &updated);
            store::upsert_item(tx, &tag, &updated)?;
        }
        let complete = rows.len() < max_items
            || store::items_to_reencrypt(tx, &tag, class.code(), active, 1)?.is_empty();
        if complete {
            let purpose = if bound_class {
                // Each old version's KEK goes with it (destroyed after the commit).
                for (version, _) in keys.bound_keys(class).filter(|(v, _)| *v != active) {
                    store::add_retired_kek(tx, &format::bound_kek_alias(&tag, class, version))?;
                }
                KeyPurpose::BoundData(class)
            } else {
                KeyPurpose::Data(class)
            };
            store::delete_key_versions_except(tx, &tag, purpose.code(), active)?;
        }
        self.save_state(crypto, tx, entry)?;
        if complete {
            let reloaded = Arc::new(
                keys::load(tx, self.wrapper.as_ref(), &tag)
                    .map_err(|f| self.key_failure(f))?
                    .ok_or_else(no_account)?,
            );
            entry
                .bound
                .retain(|(class, version), _| reloaded.has_version(*class, *version));
            entry.keys = reloaded;
        }
        Ok(RotationProgress {
            active_version: active,
            reencrypted: rows.len(),
            complete,
        })
    }

    /// Starts a rotation of a bound class: version `new` made in the bound wrapper (no prompt).
    /// Re-encryption needs version `old` unlocked when the class has items; the new version
    /// then inherits its grant (the user authenticated for this account's keys of `class`).
    fn start_bound_rotation(
        &self,
        crypto: &Crypto,
        tx: &Connection,
        entry: &mut Account,
        class: DataClass,
        old: u32,
        new: u32,
    ) -> Result<()> {
        let tag = entry.keys.tag;
        let unlocked = entry
            .bound
            .get(&(class, old))
            .filter(|key| self.bound_usable(class, key, KeyUse::Open))
            .and_then(|key| match &key.access {
                BoundAccess::Granted(grant) => Some(grant.duplicate()),
                BoundAccess::SealOnly => None,
            });
        let has_items = !store::items_to_reencrypt(tx, &tag, class.code(), new, 1)?.is_empty();
        if has_items && unlocked.is_none() {
            return Err(Error::UserAuthenticationRequired);
        }
        let bound = self.bound_wrapper()?;
        let (key, _) = keys::new_bound_key(
            crypto,
            tx,
            Bound {
                wrapper: bound.wrapper.as_ref(),
                requirement: &bound.requirement,
            },
            &tag,
            class,
            new,
        )
        .map_err(|f| self.key_failure(f))?;
        if let Some(grant) = unlocked {
            entry.bound.insert(
                (class, new),
                BoundKey {
                    key: Arc::new(keys::aes_key(&key).map_err(|f| self.key_failure(f))?),
                    access: BoundAccess::Granted(grant),
                },
            );
        }
        Ok(())
    }

    /// Crypto-shreds an account: destroys its current KEK in the keystore first (every copy of
    /// the database is unreadable from then on), then every older KEK version it ever had (one
    /// that cannot be destroyed now is recorded and destroyed on a later open), its rollback
    /// anchor, and its rows. Returns whether it existed.
    ///
    /// # Errors
    /// `KeyWrapper` when the keystore cannot delete the current KEK (nothing is deleted then);
    /// `Storage`.
    pub fn delete_account(&self, account: &str) -> Result<bool> {
        self.remove_account(account, true)
    }

    /// Starts an account again after `KeyUnavailable`: deletes its rows and, as far as the
    /// keystore allows, its KEKs. Returns whether it existed. When the vault's own id key is
    /// lost for good (the keystore was wiped or the files restored on another device), no
    /// account can be told apart any more, and every account is reset.
    ///
    /// # Errors
    /// `Storage`.
    pub fn reset_account(&self, account: &str) -> Result<bool> {
        self.remove_account(account, false)
    }

    /// Whether `account` exists in this vault (has keys).
    ///
    /// # Errors
    /// `InvalidInput`, `KeyUnavailable` (the vault's id key), `Storage`, `CryptoUnavailable`.
    pub fn has_account(&self, account: &str) -> Result<bool> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let conn = self.lock_connection();
        Ok(self.resolve(&crypto, &conn, account, Create::No)?.is_some())
    }

    /// Whether the key wrapper keeps its KEKs in hardware (StrongBox, Secure Enclave).
    pub fn is_hardware_backed(&self) -> bool {
        self.wrapper.is_hardware_backed()
    }

    /// Deletes every expired item of every account whose keys are available, keeping each
    /// account's state; then truncates the WAL. Returns how many.
    ///
    /// # Errors
    /// `Storage`; `Integrity` when an account's state does not verify.
    pub fn purge_expired(&self) -> Result<usize> {
        let crypto = Crypto::get()?;
        let now = self.clock.now();
        let mut conn = self.lock_connection();
        let mut purged = 0;
        for tag in store::accounts_with_expired(&conn, now)? {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let format = store::account(&tx, &tag)?.map(|row| row.format);
            if format == Some(format::FORMAT_VERSION_V1) {
                // Not migrated yet: no state to keep.
                for item_id in store::expired_items(&tx, &tag, now)? {
                    purged += usize::from(store::delete_item(&tx, &tag, &item_id)?);
                }
                tx.commit()?;
                continue;
            }
            let outcome = self.with_account_tag(&crypto, &tx, &tag, |entry| {
                let mut removed = 0;
                for item_id in store::expired_items(&tx, &tag, now)? {
                    removed += usize::from(self.remove_item(&tx, entry, &item_id)?);
                }
                self.save_state(&crypto, &tx, entry)?;
                Ok((removed, entry.state.write_counter))
            });
            match outcome {
                Ok(Some((removed, counter))) => {
                    self.commit(tx, &tag)?;
                    self.advance_anchor(&tag, counter);
                    purged += removed;
                }
                // Keys unavailable (locked or lost): its expired items stay hidden until later.
                Ok(None) | Err(Error::KeyUnavailable | Error::KeyWrapper { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        store::checkpoint_truncate(&conn)?;
        Ok(purged)
    }

    fn remove_account(&self, account: &str, strict: bool) -> Result<bool> {
        check_ids(account, "", None)?;
        let crypto = Crypto::get()?;
        let mut conn = self.lock_connection();
        let tag = match self.resolve(&crypto, &conn, account, Create::No) {
            Ok(Some(tag)) => tag,
            Ok(None) => return Ok(false),
            Err(Error::KeyUnavailable) if !strict && self.id_key_is_lost(&conn) => {
                self.reset_everything(&mut conn)?;
                return Ok(true);
            }
            // A reset starts again whatever the state of the account's rows.
            Err(Error::Integrity) if !strict => match self.id_key(&crypto, &conn, false)? {
                Some(id_key) => format::account_tag(&crypto, &id_key, account),
                None => return Ok(false),
            },
            Err(other) => return Err(other),
        };
        let kek_version = store::account(&conn, &tag)?.map_or(0, |row| row.kek_version);
        let current = format::kek_alias(&tag, kek_version);
        // Bound KEKs first: the account KEK does not protect what they wrap. Without a bound
        // wrapper they are recorded and destroyed once one is attached.
        let bound_aliases = keys::bound_kek_aliases(&conn, &tag)?;
        let bound_destroyed = strict && self.bound.get().is_some();
        if let Some(bound) = self.bound.get().filter(|_| strict) {
            for alias in &bound_aliases {
                bound.wrapper.delete_key(alias).map_err(wrapper_error)?;
            }
        }
        if kek_version > 0 {
            match self.wrapper.delete_key(&current) {
                Ok(()) => {}
                Err(error) if strict => return Err(wrapper_error(error)),
                Err(_) => {}
            }
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Every KEK the account ever had, the current one again if a reset could not delete it:
        // recorded first, destroyed after the commit, forgotten only once destroyed.
        for version in 1..=kek_version {
            let alias = format::kek_alias(&tag, version);
            if alias != current || !strict {
                store::add_retired_kek(&tx, &alias)?;
            }
        }
        if !bound_destroyed {
            for alias in &bound_aliases {
                store::add_retired_kek(&tx, alias)?;
            }
        }
        store::delete_account_rows(&tx, &tag)?;
        tx.commit()?;
        self.lock_accounts().remove(&tag);
        let _ = self.wrapper.delete_anchor(&format::anchor_name(&tag));
        self.destroy_retired_keks(&conn)?;
        store::checkpoint_truncate(&conn)?;
        let mut event = SecurityEvent::new(SecurityEventKind::VaultAccountDeleted)
            .with_detail("mode", if strict { "delete" } else { "reset" });
        if !bound_aliases.is_empty() {
            let pending = store::retired_keks(&conn)?;
            let destroyed = bound_aliases.iter().all(|alias| !pending.contains(alias));
            event = event.with_detail("bound_keks_destroyed", destroyed.to_string());
        }
        self.events.emit(event);
        Ok(true)
    }

    /// Whether the vault's id key is gone for good (its KEK missing or replaced), as opposed to
    /// unavailable for now (a locked keystore).
    fn id_key_is_lost(&self, conn: &Connection) -> bool {
        matches!(
            keys::load_id_key(conn, self.wrapper.as_ref()),
            Err(KeyFailure::KekMissing | KeyFailure::WrongKek | KeyFailure::WrappedKeyTampered)
        )
    }

    /// Deletes every account and the id key: what is left when the id key is lost for good.
    fn reset_everything(&self, conn: &mut Connection) -> Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (tag, format) in store::account_tags(&tx)? {
            let versions = store::account(&tx, &tag)?.map_or(0, |row| row.kek_version);
            for version in 1..=versions {
                let alias = if format == format::FORMAT_VERSION_V1 {
                    format::kek_alias_v1(&tag, version)
                } else {
                    format::kek_alias(&tag, version)
                };
                store::add_retired_kek(&tx, &alias)?;
            }
        }
        for (tag, _) in store::account_tags(&tx)? {
            for alias in keys::bound_kek_aliases(&tx, &tag)? {
                store::add_retired_kek(&tx, &alias)?;
            }
        }
        for alias in keys::id_kek_aliases(&tx)? {
            store::add_retired_kek(&tx, &alias)?;
        }
        store::delete_everything(&tx)?;
        tx.commit()?;
        self.lock_accounts().clear();
        *self.id_key.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.destroy_retired_keks(conn)?;
        store::checkpoint_truncate(conn)?;
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultAccountDeleted)
                .with_detail("mode", "reset_all"),
        );
        Ok(())
    }

    /// Destroys `alias`; when the keystore refuses, records it for a later open. Returns whether
    /// it is destroyed.
    fn destroy_kek(&self, conn: &Connection, alias: &str) -> Result<bool> {
        if self.delete_kek(alias).is_ok() {
            return Ok(true);
        }
        store::add_retired_kek(conn, alias)?;
        Ok(false)
    }

    /// Destroys the KEK `alias` in the keystore that holds it: a bound KEK in the bound wrapper
    /// (kept on record while none is attached), any other in the account wrapper.
    fn delete_kek(&self, alias: &str) -> std::result::Result<(), WrapperError> {
        if !alias.starts_with(format::BOUND_KEK_ALIAS_PREFIX) {
            return self.wrapper.delete_key(alias);
        }
        match self.bound.get() {
            Some(bound) => bound.wrapper.delete_key(alias),
            None => Err(WrapperError::Failed {
                reason: "no bound key wrapper is attached".to_owned(),
            }),
        }
    }

    /// Destroys every recorded KEK the keystore lets go of now.
    fn destroy_retired_keks(&self, conn: &Connection) -> Result<()> {
        for alias in store::retired_keks(conn)? {
            if self.delete_kek(&alias).is_ok() {
                store::remove_retired_kek(conn, &alias)?;
            }
        }
        Ok(())
    }

    /// Resolves `account` to its tag, verifies it (loading it into the cache) and runs `f` on
    /// it. `None` when the account does not exist and `create` is `No`. Any error drops the
    /// account from the cache, so the next call starts from the database.
    fn with_account<T>(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        create: Create,
        f: impl FnOnce(&mut Account) -> Result<T>,
    ) -> Result<Option<T>> {
        self.refresh_cache(conn)?;
        let Some(tag) = self.resolve(crypto, conn, account, create)? else {
            return Ok(None);
        };
        self.with_account_tag(crypto, conn, &tag, f)
    }

    /// [`Vault::with_account`] for a known tag.
    fn with_account_tag<T>(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        tag: &AccountTag,
        f: impl FnOnce(&mut Account) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut accounts = self.lock_accounts();
        if !accounts.contains_key(tag) {
            let Some(keys) = keys::load(conn, self.wrapper.as_ref(), tag)
                .map_err(|failure| self.key_failure(failure))?
            else {
                return Ok(None);
            };
            let verified = self.verify(crypto, conn, Arc::new(keys))?;
            accounts.insert(*tag, verified);
        }
        let Some(entry) = accounts.get_mut(tag) else {
            return Ok(None);
        };
        let result = f(entry);
        if result.is_err() {
            accounts.remove(tag);
        }
        result.map(Some)
    }

    /// Reads an account's state and every row it covers, and checks they agree: the state's
    /// MAC, the sum of the rows' elements, their number, no row newer than the state, and (when
    /// the wrapper keeps one) the state no older than the rollback anchor. O(items).
    fn verify(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        keys: Arc<AccountKeys>,
    ) -> Result<Account> {
        let tag = keys.tag;
        let row = store::account(conn, &tag)?.ok_or_else(no_account)?;
        let encoded = row.state.ok_or_else(|| self.integrity("state"))?;
        let state = AccountState::decode(crypto, &keys.state, &tag, &encoded)
            .map_err(|_| self.integrity("state"))?;
        let mut items = HashMap::new();
        let mut sum = [0; 32];
        for row in store::item_headers(conn, &tag)? {
            if row.counter == 0 || row.counter > state.write_counter {
                return Err(self.integrity("state"));
            }
            let facts = facts(crypto, &keys, &row);
            format::sum_add(&mut sum, &facts.element);
            items.insert(row.item_id, facts);
        }
        let count = u64::try_from(items.len()).unwrap_or(u64::MAX);
        if count != state.item_count || sum != state.sum {
            return Err(self.integrity("state"));
        }
        if self.wrapper.keeps_anchors() {
            let anchor = self
                .wrapper
                .load_anchor(&format::anchor_name(&tag))
                .map_err(wrapper_error)?;
            if anchor.is_some_and(|anchor| anchor > state.write_counter) {
                return Err(self.integrity("rollback"));
            }
        }
        Ok(Account::new(keys, state, items))
    }

    /// The tag of `account`: a format-2 account, a format-1 account (migrated now), or a new
    /// one when `create` says so. An account that is gone but left traces (rows without an
    /// `accounts` row, a rollback anchor) is an integrity failure, not an absence.
    fn resolve(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        create: Create,
    ) -> Result<Option<AccountTag>> {
        if let Some(id_key) = self.id_key(crypto, conn, false)? {
            let tag = format::account_tag(crypto, &id_key, account);
            if self.lock_accounts().contains_key(&tag) || store::account(conn, &tag)?.is_some() {
                return Ok(Some(tag));
            }
        }
        let legacy = format::account_tag_v1(crypto, account);
        if store::account(conn, &legacy)?.is_some_and(|row| row.format == format::FORMAT_VERSION_V1)
        {
            return self.migrate_v1(crypto, conn, account, &legacy).map(Some);
        }
        let Some(id_key) = self.id_key(crypto, conn, create == Create::Yes)? else {
            return Ok(None);
        };
        let tag = format::account_tag(crypto, &id_key, account);
        if create == Create::Yes {
            let created = keys::create(
                crypto,
                conn,
                self.wrapper.as_ref(),
                self.bound_for(account),
                &tag,
            )
            .map_err(|failure| self.key_failure(failure))?;
            let mut entry = Account::new(
                Arc::new(created.keys),
                AccountState::empty(),
                HashMap::new(),
            );
            for (class, version, key) in created.fresh_bound {
                entry.bound.insert(
                    (class, version),
                    BoundKey {
                        key: Arc::new(key),
                        access: BoundAccess::SealOnly,
                    },
                );
            }
            self.lock_accounts().insert(tag, entry);
            return Ok(Some(tag));
        }
        let anchored = self.wrapper.keeps_anchors()
            && self
                .wrapper
                .load_anchor(&format::anchor_name(&tag))
                .map_err(wrapper_error)?
                .is_some();
        if anchored || store::has_orphan_rows(conn, &tag)? {
            return Err(self.integrity("account"));
        }
        Ok(None)
    }

    /// The vault's id key: cached, else unwrapped, else (when `create`) made in the caller's
    /// transaction. `None` when there is none and `create` is false.
    fn id_key(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        create: bool,
    ) -> Result<Option<Arc<SecretBytes>>> {
        let mut cached = self.id_key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = cached.as_ref() {
            return Ok(Some(Arc::clone(key)));
        }
        let loaded = match keys::load_id_key(conn, self.wrapper.as_ref()) {
            Ok(Some(key)) => key,
            Ok(None) if create => keys::create_id_key(crypto, conn, self.wrapper.as_ref())
                .map_err(|failure| self.key_failure(failure))?,
            Ok(None) => return Ok(None),
            Err(failure) => return Err(self.key_failure(failure)),
        };
        let key = Arc::new(loaded);
        *cached = Some(Arc::clone(&key));
        Ok(Some(key))
    }

    /// Migrates a format-1 account: its items are decrypted with its old keys and written again
    /// under a new keyed tag, new keys and a new KEK, with counters and a state; then the old
    /// rows go and every old KEK is destroyed (or recorded to be). One immediate transaction.
    fn migrate_v1(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        legacy: &AccountTag,
    ) -> Result<AccountTag> {
        let own_transaction = conn.is_autocommit();
        if own_transaction {
            conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        let migrated = self.migrate_v1_rows(crypto, conn, account, legacy);
        match (&migrated, own_transaction) {
            (Ok(_), true) => conn.execute_batch("COMMIT")?,
            (Err(_), true) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
            _ => {}
        }
        let (tag, counter) = match migrated {
            Ok(done) => done,
            Err(error) => {
                self.lock_accounts().clear();
                *self.id_key.lock().unwrap_or_else(PoisonError::into_inner) = None;
                return Err(error);
            }
        };
        if own_transaction {
            self.destroy_retired_keks(conn)?;
            store::checkpoint_truncate(conn)?;
        }
        self.advance_anchor(&tag, counter);
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::VaultKeyRotated)
                .with_detail("key", "kek")
                .with_detail("reason", "format_migration"),
        );
        Ok(tag)
    }

    fn migrate_v1_rows(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        account: &str,
        legacy: &AccountTag,
    ) -> Result<(AccountTag, u64)> {
        let old_keys = keys::load(conn, self.wrapper.as_ref(), legacy)
            .map_err(|failure| self.key_failure(failure))?
            .ok_or_else(no_account)?;
        let old_versions = store::account(conn, legacy)?.map_or(0, |row| row.kek_version);
        let mut plain = Vec::new();
        for row in store::items_of(conn, legacy)? {
            let aad = format::name_aad(format::FORMAT_VERSION_V1, legacy, &row.item_id);
            let name_plain = envelope::open(crypto, &old_keys.names, &aad, &row.name)
                .map_err(|_| self.integrity("name"))?;
            // Migration: the name is re-encrypted under the new keys.
            let (namespace, name) = format::parse_name_plaintext(name_plain.expose_secret())
                .map_err(|_| self.integrity("name"))?;
            let class = DataClass::from_code(row.class).ok_or_else(|| self.integrity("value"))?;
            let key = old_keys
                .data_key(class, row.key_version)
                .ok_or_else(|| self.integrity("value"))?;
            let aad = format::value_aad_v1(&ValueContext {
                account: legacy,
                namespace: &namespace,
                name: &name,
                class,
                key_version: row.key_version,
                expires_at: row.expires_at,
                counter: 0,
            });
            let value = envelope::open(crypto, key, &aad, &row.value)
                .map_err(|_| self.integrity("value"))?;
            plain.push((namespace, name, class, row.expires_at, value));
        }
        let id_key = self.id_key(crypto, conn, true)?.ok_or_else(not_created)?;
        let tag = format::account_tag(crypto, &id_key, account);
        if store::account(conn, &tag)?.is_some() {
            return Err(self.integrity("account"));
        }
        // A migrated account keeps its Restricted key under its KEK, like every account that
        // existed before a bound wrapper was attached.
        let created = keys::create(crypto, conn, self.wrapper.as_ref(), None, &tag)
            .map_err(|failure| self.key_failure(failure))?;
        let mut entry = Account::new(
            Arc::new(created.keys),
            AccountState::empty(),
            HashMap::new(),
        );
        for (namespace, name, class, expires_at, value) in &plain {
            let item = ItemToStore {
                namespace,
                name,
                // Migration: the value is re-encrypted under the new keys.
                value: value.expose_secret(),
                class: *class,
                expires_at: *expires_at,
            };
            self.write_item(crypto, conn, &mut entry, &item)?;
        }
        self.save_state(crypto, conn, &mut entry)?;
        for version in 1..=old_versions {
            store::add_retired_kek(conn, &format::kek_alias_v1(legacy, version))?;
        }
        store::delete_account_rows(conn, legacy)?;
        let counter = entry.state.write_counter;
        self.lock_accounts().insert(tag, entry);
        Ok((tag, counter))
    }

    /// Seals one item with the account's next counter, writes it and updates the state.
    fn write_item(
        &self,
        crypto: &Crypto,
        conn: &Connection,
        entry: &mut Account,
        item: &ItemToStore<'_>,
    ) -> Result<()> {
        let version = entry
            .keys
            .active_version(item.class)
            .ok_or_else(|| self.integrity("wrapped_key"))?;
        let key = self.data_key(entry, item.class, version, KeyUse::Seal)?;
        let key = key.get().ok_or_else(|| self.integrity("wrapped_key"))?;
        let counter = next_counter(entry)?;
        let row = self.seal_item(crypto, &entry.keys, key, version, item, counter)?;
        self.replace_facts(crypto, entry, &row);
        store::upsert_item(conn, &entry.keys.tag, &row)
    }

    /// Puts `row`'s element into the state in place of the item's previous one.
    fn replace_facts(&self, crypto: &Crypto, entry: &mut Account, row: &ItemRow) {
        let new = facts(crypto, &entry.keys, row);
        match entry.items.insert(row.item_id, new) {
            Some(old) => format::sum_sub(&mut entry.state.sum, &old.element),
            None => entry.state.item_count += 1,
        }
        format::sum_add(&mut entry.state.sum, &new.element);
    }

    /// Deletes an item's row and takes it out of the state. Returns whether it existed; a row
    /// the state does not name (or the reverse) is an integrity failure.
    fn remove_item(
        &self,
        conn: &Connection,
        entry: &mut Account,
        item_id: &[u8; 32],
    ) -> Result<bool> {
        let in_state = entry.items.contains_key(item_id);
        let deleted = store::delete_item(conn, &entry.keys.tag, item_id)?;
        if in_state != deleted {
            return Err(self.integrity("state"));
        }
        if let Some(old) = entry.items.remove(item_id) {
            next_counter(entry)?;
            format::sum_sub(&mut entry.state.sum, &old.element);
            entry.state.item_count -= 1;
        }
        Ok(deleted)
    }

    /// Writes the account's state (in the caller's transaction).
    fn save_state(&self, crypto: &Crypto, conn: &Connection, entry: &mut Account) -> Result<()> {
        let encoded = entry
            .state
            .encode(crypto, &entry.keys.state, &entry.keys.tag);
        store::set_state(conn, &entry.keys.tag, &encoded)
    }

    /// Commits; when the commit fails the account's cached state is dropped (it would be ahead
    /// of the database).
    fn commit(&self, tx: rusqlite::Transaction<'_>, tag: &AccountTag) -> Result<()> {
        if let Err(error) = tx.commit() {
            self.lock_accounts().remove(tag);
            return Err(error.into());
        }
        Ok(())
    }

    /// Moves the account's rollback anchor up to `counter` (after the commit: a crash in
    /// between leaves the anchor behind the database, which is safe). A failure is reported,
    /// not returned: the write itself is durable.
    fn advance_anchor(&self, tag: &AccountTag, counter: u64) {
        if !self.wrapper.keeps_anchors() {
            return;
        }
        if self
            .wrapper
            .store_anchor(&format::anchor_name(tag), counter)
            .is_err()
        {
            self.events.emit(
                SecurityEvent::new(SecurityEventKind::VaultKeyUnavailable)
                    .with_detail("cause", "anchor_not_stored"),
            );
        }
    }

    /// Drops cached accounts when another connection committed (they are verified again on next
    /// use; keys whose fingerprint is unchanged are kept, so the keystore is not asked again).
    fn refresh_cache(&self, conn: &Connection) -> Result<()> {
        let version = store::data_version(conn)?;
        if self.seen_data_version.swap(version, Ordering::SeqCst) == version {
            return Ok(());
        }
        let mut accounts = self.lock_accounts();
        let crypto = Crypto::get()?;
        let tags: Vec<AccountTag> = accounts.keys().copied().collect();
        for tag in tags {
            let Some(entry) = accounts.remove(&tag) else {
                continue;
            };
            let current = store::key_fingerprint(conn, &tag)?;
            if current.as_ref() == Some(&entry.keys.fingerprint) {
                // Same keys: verify the state again; a failure surfaces on the next call. Bound
                // keys the user unlocked stay unlocked.
                if let Ok(mut verified) = self.verify(&crypto, conn, entry.keys) {
                    verified.bound = entry.bound;
                    accounts.insert(tag, verified);
                }
            }
        }
        if keys::load_id_key(conn, self.wrapper.as_ref()).map_or(true, |key| key.is_none()) {
            *self.id_key.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        Ok(())
    }

    /// Whether another connection committed since the cache was last checked.
    fn cache_is_stale(&self, conn: &Connection) -> Result<bool> {
        let version = store::data_version(conn)?;
        Ok(version != self.seen_data_version.load(Ordering::SeqCst))
    }

    fn expiry(&self, ttl: Option<Duration>) -> Result<i64> {
        match ttl {
            None => Ok(0),
            Some(ttl) => {
                let secs = i64::try_from(ttl.as_secs())
                    .map_err(|_| Error::invalid_input("ttl too large"))?;
                Ok(self.clock.now().saturating_add(secs.max(1)))
            }
        }
    }

    /// Seals `item` with `key` (the data key of its class at `key_version`).
    fn seal_item(
        &self,
        crypto: &Crypto,
        keys: &AccountKeys,
        key: &Aes256GcmKey,
        key_version: u32,
        item: &ItemToStore<'_>,
        counter: u64,
    ) -> Result<ItemRow> {
        let ItemToStore {
            namespace,
            name,
            value,
            class,
            expires_at,
        } = *item;
        let item_id = format::item_id(crypto, &keys.index, namespace, name);
        let aad = format::value_aad(&ValueContext {
            account: &keys.tag,
            namespace,
            name,
            class,
            key_version,
            expires_at,
            counter,
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
                &format::name_aad(format::FORMAT_VERSION, &keys.tag, &item_id),
                &format::name_plaintext(namespace, name),
            )?,
            value: envelope::seal(crypto, key, &aad, value)?,
            counter,
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
            &format::name_aad(format::FORMAT_VERSION, &keys.tag, item_id),
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

    fn lock_accounts(&self) -> MutexGuard<'_, HashMap<AccountTag, Account>> {
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
            KeyFailure::Wrapper(WrapperError::KeyInvalidated) => {
                self.events
                    .emit(SecurityEvent::new(SecurityEventKind::VaultKeyInvalidated));
                Error::KeyInvalidated
            }
            KeyFailure::Wrapper(error) => wrapper_error(error),
            KeyFailure::Other(error) => error,
        }
    }
}

/// The account's next write counter (and the state moved to it).
fn next_counter(entry: &mut Account) -> Result<u64> {
    entry.state.write_counter =
        entry
            .state
            .write_counter
            .checked_add(1)
            .ok_or_else(|| Error::Internal {
                reason: "write counter overflow".to_owned(),
            })?;
    Ok(entry.state.write_counter)
}

/// The facts the state keeps about a row.
fn facts(crypto: &Crypto, keys: &AccountKeys, row: &ItemRow) -> ItemFacts {
    ItemFacts {
        element: format::element(
            crypto,
            &keys.state,
            &format::ElementInput {
                item_id: &row.item_id,
                namespace_tag: &row.namespace_tag,
                class: row.class,
                key_version: row.key_version,
                expires_at: row.expires_at,
                counter: row.counter,
                name: &row.name,
            },
        ),
        namespace_tag: row.namespace_tag,
    }
}

/// Checks a row read for `item_id` against the verified state: present in both with the same
/// element, or absent from both.
fn check_row(
    crypto: &Crypto,
    entry: &Account,
    item_id: &[u8; 32],
    row: Option<ItemRow>,
) -> Checked {
    match (row, entry.items.get(item_id)) {
        (None, None) => Checked::Absent,
        (Some(row), Some(expected))
            if row.item_id == *item_id
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    &facts(crypto, &entry.keys, &row).element[..],
                    &expected.element[..],
                )) =>
        {
            Checked::Row(Box::new(row))
        }
        _ => Checked::Mismatch,
    }
}

/// Whether `class`'s policy wants an authentication for each use (a zero window).
fn is_per_use(gate: &UnlockGate, class: DataClass) -> bool {
    matches!(
        gate.policy().requirement(class),
        ClassRequirement::Recent { window } if window.is_zero()
    )
}

fn wrapper_error(error: WrapperError) -> Error {
    match error {
        // Not a failure of the keystore: the app must prompt the user and call again.
        WrapperError::UserAuthenticationRequired => Error::UserAuthenticationRequired,
        WrapperError::KeyInvalidated => Error::KeyInvalidated,
        other => Error::KeyWrapper {
            reason: other.to_string(),
        },
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
