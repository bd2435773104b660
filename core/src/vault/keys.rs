//! The key hierarchy of one account.
//!
//! ```text
//! KEK (keystore, alias rukasec.kek.v1.<tag>.<n>)   never leaves the keystore
//!  ├─ canary                                       detects a wrong KEK at load
//!  ├─ index key  (HMAC)                            item ids, namespace tags
//!  ├─ names key  (AES-256-GCM)                     item names
//!  └─ data keys  (AES-256-GCM), one per class and version
//!
//! bound KEK (auth-bound keystore, alias rukasec.bkek.v2.<tag>.3.<n>), one per version
//!  └─ bound data key (AES-256-GCM) of Restricted, version n   accounts made with a bound wrapper
//! ```
//!
//! Keys are random, stored only wrapped (`keys` table), and unwrapped once per account into an
//! [`AccountKeys`] cached by the vault, so a `get` costs a SQLite read and one AES-GCM open, not a
//! keystore round trip. Bound data keys are the exception: loading an account leaves them
//! wrapped (unwrapping one prompts the user); the vault unwraps them on request and keeps them
//! only while the unlock gate's window lasts.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::DataClass;
use super::format::{self, AccountTag, KeyPurpose};
use super::store::{self, AccountRow, KeyRow};
use super::wrapper::{AuthBoundKeyWrapper, KeyAuthRequirement, KeyWrapper, WrapperError};
use crate::crypto::{Aes256GcmKey, Crypto};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The unwrapped keys of one account.
pub struct AccountKeys {
    pub tag: AccountTag,
    /// The account's format: 2, or 1 for keys read only to migrate the account.
    pub format: u8,
    /// Key of the account state's MAC and elements (derived from the index key; format 2).
    pub state: SecretBytes,
    /// The key set these keys were loaded from (see [`store::key_fingerprint`]).
    pub fingerprint: store::KeyFingerprint,
    pub index: SecretBytes,
    pub names: Aes256GcmKey,
    data: BTreeMap<(DataClass, u32), Aes256GcmKey>,
    /// Bound data keys, still wrapped by the bound wrapper (`keys.wrapped`).
    bound: BTreeMap<(DataClass, u32), Vec<u8>>,
}

impl AccountKeys {
    /// The newest data-key version of `class` (bound or not): the one new writes use.
    pub fn active_version(&self, class: DataClass) -> Option<u32> {
        newest_version(&self.data, class).max(newest_version(&self.bound, class))
    }

    /// The data key of `class` at `version` (not a bound one: see [`AccountKeys::is_bound`]).
    pub fn data_key(&self, class: DataClass, version: u32) -> Option<&Aes256GcmKey> {
        self.data.get(&(class, version))
    }

    /// How many versions of `class`'s data key exist (more than one: a rotation is under way).
    pub fn versions(&self, class: DataClass) -> usize {
        self.data.range((class, 0)..=(class, u32::MAX)).count()
            + self.bound.range((class, 0)..=(class, u32::MAX)).count()
    }

    /// Whether `class`'s data keys are bound keys (the account was made with a bound wrapper).
    pub fn is_bound(&self, class: DataClass) -> bool {
        self.bound
            .range((class, 0)..=(class, u32::MAX))
            .next()
            .is_some()
    }

    /// The wrapped bound data keys of `class`, by version.
    pub fn bound_keys(&self, class: DataClass) -> impl Iterator<Item = (u32, &[u8])> {
        self.bound
            .range((class, 0)..=(class, u32::MAX))
            .map(|((_, version), wrapped)| (*version, wrapped.as_slice()))
    }

    /// Whether `class` has a data key of `version` (bound or not).
    pub fn has_version(&self, class: DataClass, version: u32) -> bool {
        self.data.contains_key(&(class, version)) || self.bound.contains_key(&(class, version))
    }
}

fn newest_version<T>(map: &BTreeMap<(DataClass, u32), T>, class: DataClass) -> Option<u32> {
    map.range((class, 0)..=(class, u32::MAX))
        .next_back()
        .map(|((_, version), _)| *version)
}

/// The account's auth-bound keystore, when accounts are created with bound data keys.
#[derive(Clone, Copy)]
pub struct Bound<'a> {
    /// The keystore.
    pub wrapper: &'a dyn AuthBoundKeyWrapper,
    /// What its keys demand (from the gate's Restricted policy).
    pub requirement: &'a KeyAuthRequirement,
}

/// The classes whose data keys a bound account keeps in the bound wrapper.
pub const BOUND_CLASSES: [DataClass; 1] = [DataClass::Restricted];

/// Why an account's keys could not be loaded. Turned into an opaque [`Error`] plus a detailed
/// security event by the vault.
#[derive(Debug)]
pub enum KeyFailure {
    /// The keystore has no KEK under the account's alias.
    KekMissing,
    /// The KEK does not open the canary: it is not the key the account was written with.
    WrongKek,
    /// A wrapped key did not unwrap, or unwrapped to another row's key.
    WrappedKeyTampered,
    /// The keystore failed otherwise.
    Wrapper(WrapperError),
    /// Anything else (storage).
    Other(Error),
}

impl From<Error> for KeyFailure {
    fn from(error: Error) -> Self {
        Self::Other(error)
    }
}

/// Loads and unwraps an account's keys; `None` when the account does not exist.
pub fn load(
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
    tag: &AccountTag,
) -> Result<Option<AccountKeys>, KeyFailure> {
    let Some(account) = store::account(conn, tag)? else {
        return Ok(None);
    };
    check_canary(wrapper, tag, &account)?;
    let version = account.format;
    let mut index = None;
    let mut names = None;
    let mut data = BTreeMap::new();
    let mut bound = BTreeMap::new();
    for row in store::keys(conn, tag)? {
        let purpose = KeyPurpose::from_code(row.purpose).ok_or(KeyFailure::WrappedKeyTampered)?;
        if let KeyPurpose::BoundData(class) = purpose {
            // Not under the account KEK, and unwrapping it prompts: left wrapped until the user
            // unlocks it (`Vault::unlock_bound`).
            bound.insert((class, row.version), row.wrapped);
            continue;
        }
        let key = unwrap_key(wrapper, version, &account.kek_alias, tag, purpose, &row)?;
        match purpose {
            KeyPurpose::Index => index = Some(key),
            KeyPurpose::Names => names = Some(aes_key(&key)?),
            KeyPurpose::Data(class) => {
                data.insert((class, row.version), aes_key(&key)?);
            }
            // Never in `keys` (`from_code` does not return it); bound keys are handled above.
            KeyPurpose::Id | KeyPurpose::BoundData(_) => {
                return Err(KeyFailure::WrappedKeyTampered);
            }
        }
    }
    let (Some(index), Some(names)) = (index, names) else {
        return Err(KeyFailure::WrappedKeyTampered);
    };
    let fingerprint = store::key_fingerprint(conn, tag)?.ok_or(KeyFailure::WrappedKeyTampered)?;
    let keys = AccountKeys {
        tag: *tag,
        format: version,
        state: format::state_key(&Crypto::get()?, &index),
        fingerprint,
        index,
        names,
        data,
        bound,
    };
    // Every class has a key; a bound class has no plain key (a plain row planted beside bound
    // ones, or bound rows removed, is tampering, never a way back to an unbound key).
    if DataClass::ALL.iter().any(|class| {
        keys.active_version(*class).is_none()
            || (keys.is_bound(*class) && newest_version(&keys.data, *class).is_some())
    }) {
        return Err(KeyFailure::WrappedKeyTampered);
    }
    Ok(Some(keys))
}

/// A new account's keys, and the bound data keys made for it (the vault may seal with them
/// in the call that creates the account; it never reads with them).
pub struct Created {
    pub keys: AccountKeys,
    pub fresh_bound: Vec<(DataClass, u32, Aes256GcmKey)>,
}

/// Creates an account: a new KEK, the canary, an index key, a names key and a version-1 data key
/// per class (for [`BOUND_CLASSES`] in `bound` when given), all written in the caller's
/// transaction, with the state of an empty account.
pub fn create(
    crypto: &Crypto,
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
    bound: Option<Bound<'_>>,
    tag: &AccountTag,
) -> Result<Created, KeyFailure> {
    let kek_version = 1;
    let alias = format::kek_alias(tag, kek_version);
    wrapper.create_key(&alias).map_err(KeyFailure::Wrapper)?;
    let canary = wrapper
        .wrap(&alias, &format::canary(tag))
        .map_err(KeyFailure::Wrapper)?;
    store::insert_account(
        conn,
        tag,
        &AccountRow {
            kek_alias: alias.clone(),
            kek_version,
            canary,
            format: format::FORMAT_VERSION,
            state: None,
        },
    )?;
    let index = new_key(crypto, conn, wrapper, &alias, tag, KeyPurpose::Index, 1)?;
    let names = aes_key(&new_key(
        crypto,
        conn,
        wrapper,
        &alias,
        tag,
        KeyPurpose::Names,
        1,
    )?)?;
    let mut data = BTreeMap::new();
    let mut bound_rows = BTreeMap::new();
    let mut fresh_bound = Vec::new();
    for class in DataClass::ALL {
        if let Some(bound) = bound.filter(|_| BOUND_CLASSES.contains(&class)) {
            let (key, wrapped) = new_bound_key(crypto, conn, bound, tag, class, 1)?;
            bound_rows.insert((class, 1), wrapped);
            fresh_bound.push((class, 1, aes_key(&key)?));
            continue;
        }
        let key = new_key(
            crypto,
            conn,
            wrapper,
            &alias,
            tag,
            KeyPurpose::Data(class),
            1,
        )?;
        data.insert((class, 1), aes_key(&key)?);
    }
    let state = format::state_key(crypto, &index);
    store::set_state(
        conn,
        tag,
        &format::AccountState::empty().encode(crypto, &state, tag),
    )?;
    let fingerprint = store::key_fingerprint(conn, tag)?.ok_or(KeyFailure::WrappedKeyTampered)?;
    Ok(Created {
        keys: AccountKeys {
            tag: *tag,
            format: format::FORMAT_VERSION,
            state,
            fingerprint,
            index,
            names,
            data,
            bound: bound_rows,
        },
        fresh_bound,
    })
}

/// Makes a random data key of `class` and `version` bound to the user: a new KEK in the bound
/// wrapper ([`format::bound_kek_alias`]), the key wrapped under it (no prompt) and stored as a
/// [`KeyPurpose::BoundData`] row. Returns the key and its wrapped form.
pub fn new_bound_key(
    crypto: &Crypto,
    conn: &Connection,
    bound: Bound<'_>,
    tag: &AccountTag,
    class: DataClass,
    version: u32,
) -> Result<(SecretBytes, Vec<u8>), KeyFailure> {
    let alias = format::bound_kek_alias(tag, class, version);
    bound
        .wrapper
        .create_key(&alias, bound.requirement)
        .map_err(KeyFailure::Wrapper)?;
    let key = crypto.random_secret(32)?;
    let purpose = KeyPurpose::BoundData(class);
    let wrapped = bound
        .wrapper
        .wrap(
            &alias,
            &format::key_payload(format::FORMAT_VERSION, tag, purpose, version, &key),
        )
        .map_err(KeyFailure::Wrapper)?;
    store::upsert_key(
        conn,
        tag,
        &KeyRow {
            purpose: purpose.code(),
            version,
            wrapped: wrapped.clone(),
        },
    )?;
    Ok((key, wrapped))
}

/// Makes a random key, stores it wrapped, returns it.
pub fn new_key(
    crypto: &Crypto,
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
    alias: &str,
    tag: &AccountTag,
    purpose: KeyPurpose,
    version: u32,
) -> Result<SecretBytes, KeyFailure> {
    let key = crypto.random_secret(32)?;
    let wrapped = wrapper
        .wrap(
            alias,
            &format::key_payload(format::FORMAT_VERSION, tag, purpose, version, &key),
        )
        .map_err(KeyFailure::Wrapper)?;
    store::upsert_key(
        conn,
        tag,
        &KeyRow {
            purpose: purpose.code(),
            version,
            wrapped,
        },
    )?;
    Ok(key)
}

fn check_canary(
    wrapper: &dyn KeyWrapper,
    tag: &AccountTag,
    account: &AccountRow,
) -> Result<(), KeyFailure> {
    match wrapper.unwrap(&account.kek_alias, &account.canary) {
        Ok(canary) if canary == format::canary(tag) => Ok(()),
        Ok(_) | Err(WrapperError::Rejected) => Err(KeyFailure::WrongKek),
        Err(WrapperError::KeyNotFound) => Err(KeyFailure::KekMissing),
        Err(other) => Err(KeyFailure::Wrapper(other)),
    }
}

/// The alias of every bound KEK the account ever had: versions 1 to the newest of each bound
/// class (older versions' KEKs were destroyed by rotations, or are recorded to be).
pub fn bound_kek_aliases(conn: &Connection, tag: &AccountTag) -> Result<Vec<String>> {
    let mut newest: BTreeMap<DataClass, u32> = BTreeMap::new();
    for row in store::keys(conn, tag)? {
        if let Some(KeyPurpose::BoundData(class)) = KeyPurpose::from_code(row.purpose) {
            let entry = newest.entry(class).or_default();
            *entry = (*entry).max(row.version);
        }
    }
    Ok(newest
        .into_iter()
        .flat_map(|(class, newest)| {
            (1..=newest).map(move |version| format::bound_kek_alias(tag, class, version))
        })
        .collect())
}

/// Unwraps a `keys` row and checks its payload names this row.
pub fn unwrap_key(
    wrapper: &dyn KeyWrapper,
    format_version: u8,
    alias: &str,
    tag: &AccountTag,
    purpose: KeyPurpose,
    row: &KeyRow,
) -> Result<SecretBytes, KeyFailure> {
    let payload = wrapper
        .unwrap(alias, &row.wrapped)
        .map_err(|error| match error {
            WrapperError::Rejected => KeyFailure::WrappedKeyTampered,
            WrapperError::KeyNotFound => KeyFailure::KekMissing,
            other => KeyFailure::Wrapper(other),
        })?;
    format::key_from_payload(format_version, &payload, tag, purpose, row.version)
        .map_err(|_| KeyFailure::WrappedKeyTampered)
}

pub fn aes_key(key: &SecretBytes) -> Result<Aes256GcmKey, KeyFailure> {
    // Key loading: the AES key type takes the bytes.
    Aes256GcmKey::from_slice(key.expose_secret()).map_err(|_| KeyFailure::WrappedKeyTampered)
}

/// `meta` names of the vault's id key (format 2): the vault id, and one wrapped copy of the id
/// key per key wrapper that opens the vault (`id_key.1`, `id_key.2`, …; a KEK rotation into
/// another wrapper adds one).
const META_VAULT_ID: &str = "vault_id";
const META_ID_KEY_PREFIX: &str = "id_key.";
/// `meta` name prefix of the canary wrapped next to each id-key copy (`id_canary.N` for
/// `id_key.N`).
const META_ID_CANARY_PREFIX: &str = "id_canary.";

fn vault_id(conn: &Connection) -> Result<Option<[u8; 32]>, KeyFailure> {
    match store::meta(conn, META_VAULT_ID)? {
        None => Ok(None),
        Some(id) => <[u8; 32]>::try_from(id.as_slice())
            .map(Some)
            .map_err(|_| KeyFailure::WrappedKeyTampered),
    }
}

/// The vault's id key (the HMAC key of account tags), unwrapped from the first copy `wrapper`
/// opens; `None` when the vault has none yet (no format-2 account was ever created).
pub fn load_id_key(
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
) -> Result<Option<SecretBytes>, KeyFailure> {
    let Some(vault_id) = vault_id(conn)? else {
        return Ok(None);
    };
    let copies = store::meta_with_prefix(conn, META_ID_KEY_PREFIX)?;
    let mut failure = KeyFailure::KekMissing;
    for (name, wrapped) in copies {
        let Some(copy) = name
            .strip_prefix(META_ID_KEY_PREFIX)
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return Err(KeyFailure::WrappedKeyTampered);
        };
        let alias = format::id_kek_alias(&vault_id, copy);
        // The canary first: random bytes from the wrapper mean another key, not tampering. A
        // copy without its canary is a removed row: tampering.
        let canary = store::meta(conn, &format!("{META_ID_CANARY_PREFIX}{copy}"))?
            .ok_or(KeyFailure::WrappedKeyTampered)?;
        match wrapper.unwrap(&alias, &canary) {
            Ok(opened) if opened == format::id_canary(&vault_id) => {}
            Ok(_) | Err(WrapperError::Rejected) => {
                failure = KeyFailure::WrongKek;
                continue;
            }
            Err(WrapperError::KeyNotFound) => continue,
            Err(other) => return Err(KeyFailure::Wrapper(other)),
        }
        match wrapper.unwrap(&alias, &wrapped) {
            Ok(payload) => {
                return format::key_from_payload(
                    format::FORMAT_VERSION,
                    &payload,
                    &vault_id,
                    KeyPurpose::Id,
                    1,
                )
                .map(Some)
                .map_err(|_| KeyFailure::WrappedKeyTampered);
            }
            Err(WrapperError::KeyNotFound) => {}
            // The same key opened the canary: the wrapped id key was altered.
            Err(WrapperError::Rejected) => return Err(KeyFailure::WrappedKeyTampered),
            Err(other) => return Err(KeyFailure::Wrapper(other)),
        }
    }
    Err(failure)
}

/// Makes the vault's id key: a random vault id, a KEK for its first copy, the key wrapped under
/// it; written in the caller's transaction.
pub fn create_id_key(
    crypto: &Crypto,
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
) -> Result<SecretBytes, KeyFailure> {
    let vault_id: [u8; 32] = crypto.random_array()?;
    store::set_meta(conn, META_VAULT_ID, &vault_id)?;
    let key = crypto.random_secret(32)?;
    add_id_key_copy(conn, wrapper, &key)?;
    Ok(key)
}

/// Wraps the id key for one more wrapper (a KEK rotation into another keystore or key file),
/// unless `wrapper` already opens a copy.
pub fn add_id_key_copy(
    conn: &Connection,
    wrapper: &dyn KeyWrapper,
    key: &SecretBytes,
) -> Result<(), KeyFailure> {
    if load_id_key(conn, wrapper).is_ok_and(|found| found.is_some()) {
        return Ok(());
    }
    let vault_id = vault_id(conn)?.ok_or(KeyFailure::WrappedKeyTampered)?;
    let next = store::meta_with_prefix(conn, META_ID_KEY_PREFIX)?
        .iter()
        .filter_map(|(name, _)| name.strip_prefix(META_ID_KEY_PREFIX)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let alias = format::id_kek_alias(&vault_id, next);
    wrapper.create_key(&alias).map_err(KeyFailure::Wrapper)?;
    let wrapped = wrapper
        .wrap(
            &alias,
            &format::key_payload(format::FORMAT_VERSION, &vault_id, KeyPurpose::Id, 1, key),
        )
        .map_err(KeyFailure::Wrapper)?;
    let canary = wrapper
        .wrap(&alias, &format::id_canary(&vault_id))
        .map_err(KeyFailure::Wrapper)?;
    store::set_meta(conn, &format!("{META_ID_KEY_PREFIX}{next}"), &wrapped)?;
    store::set_meta(conn, &format!("{META_ID_CANARY_PREFIX}{next}"), &canary)?;
    Ok(())
}

/// The aliases of the vault's id KEKs (to destroy them with the vault).
pub fn id_kek_aliases(conn: &Connection) -> Result<Vec<String>> {
    let Ok(Some(vault_id)) = vault_id(conn) else {
        return Ok(Vec::new());
    };
    Ok(store::meta_with_prefix(conn, META_ID_KEY_PREFIX)?
        .iter()
        .filter_map(|(name, _)| name.strip_prefix(META_ID_KEY_PREFIX)?.parse::<u32>().ok())
        .map(|copy| format::id_kek_alias(&vault_id, copy))
        .collect())
}
