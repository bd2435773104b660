//! The encrypted vault for the app, and the adapter that lets a Kotlin/Swift keystore act as
//! the core's key wrapper.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rukasec_core::Error;
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault as core;

use crate::EventJournal;
use crate::bound_keys::{AuthBoundKeyWrapper, ForeignAuthBoundKeyWrapper};
use crate::guard::{guard_future, guard_with};
use crate::numbers;
use crate::unlock::{Authenticator, ForeignAuthenticator, UnlockGate, UnlockPolicy};

/// How sensitive an item is; each class has its own data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DataClass {
    /// Could be published. Encrypted all the same.
    Public,
    /// Internal to Rukapay and the customer.
    Internal,
    /// Personal or financial data.
    Confidential,
    /// Credentials and keys.
    Restricted,
}

impl From<DataClass> for core::DataClass {
    fn from(class: DataClass) -> Self {
        match class {
            DataClass::Public => Self::Public,
            DataClass::Internal => Self::Internal,
            DataClass::Confidential => Self::Confidential,
            DataClass::Restricted => Self::Restricted,
        }
    }
}

impl From<core::DataClass> for DataClass {
    fn from(class: core::DataClass) -> Self {
        match class {
            core::DataClass::Public => Self::Public,
            core::DataClass::Internal => Self::Internal,
            core::DataClass::Confidential => Self::Confidential,
            core::DataClass::Restricted => Self::Restricted,
        }
    }
}

/// What can go wrong in a vault call. `reason` never holds secrets or personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum VaultError {
    /// An id or value was empty or too large.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong (never the content).
        reason: String,
    },
    /// Stored data failed authentication (tampered, swapped, corrupt). Never wrong data.
    #[error("integrity failure: {reason}")]
    Integrity {
        /// A fixed explanation; the detail is in the security event.
        reason: String,
    },
    /// The account's key is gone or replaced (keystore wiped, backup restored on another
    /// device, biometric re-enrolment). Call `resetAccount` to start the account again.
    #[error("key unavailable: {reason}")]
    KeyUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// The user must authenticate first: the unlock policy needs it and a blocking call never
    /// prompts, or the keystore needs the user (a key bound to biometric or device-credential
    /// authentication, a locked device). Call the `*Async` form (it prompts through the
    /// `Authenticator`), or `UnlockGate.unlock`, then call again.
    #[error("user-authentication-required: {reason}")]
    UserAuthenticationRequired {
        /// A fixed explanation.
        reason: String,
    },
    /// The user cancelled the authentication prompt: every call waiting on it fails with this.
    /// Not counted as a failed attempt.
    #[error("user-cancelled: {reason}")]
    UserCancelled {
        /// A fixed explanation.
        reason: String,
    },
    /// The user failed to authenticate; `remaining_attempts` more failures lock out.
    #[error("authentication-failed: {reason}")]
    AuthenticationFailed {
        /// A fixed explanation.
        reason: String,
        /// Failures left before a lockout.
        remaining_attempts: i32,
    },
    /// Too many failed attempts: unlocking is refused until `until_unix_ms` (by RukaSec's
    /// counter, which survives restarts, or by the platform's).
    #[error("locked-out: {reason}")]
    LockedOut {
        /// A fixed explanation.
        reason: String,
        /// When unlocking may be tried again, milliseconds since the Unix epoch.
        until_unix_ms: i64,
    },
    /// The platform invalidated the key bound to the enrolled biometrics (a new fingerprint or
    /// face): the data it protected is gone. Authenticate with the server again, then
    /// `resetAccount` (docs/ERRORS.md).
    #[error("key-invalidated: {reason}")]
    KeyInvalidated {
        /// A fixed explanation.
        reason: String,
    },
    /// The platform keystore (the app's `KeyWrapper`) failed.
    #[error("keystore failed: {reason}")]
    Keystore {
        /// What failed.
        reason: String,
    },
    /// The database or file system failed.
    #[error("storage failed: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// The crypto self-test failed: the vault is refused.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// A bug in RukaSec, including a caught Rust panic.
    #[error("internal error: {reason}")]
    Internal {
        /// A fixed description.
        reason: String,
    },
}

impl From<Error> for VaultError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::InvalidInput { .. } => Self::InvalidInput { reason },
            Error::Integrity | Error::Crypto => Self::Integrity { reason },
            Error::KeyUnavailable => Self::KeyUnavailable { reason },
            Error::UserAuthenticationRequired => Self::UserAuthenticationRequired { reason },
            Error::UserCancelled => Self::UserCancelled { reason },
            Error::AuthenticationFailed { remaining_attempts } => Self::AuthenticationFailed {
                reason,
                remaining_attempts: i32::try_from(remaining_attempts).unwrap_or(i32::MAX),
            },
            Error::LockedOut { until_unix_ms } => Self::LockedOut {
                reason,
                until_unix_ms,
            },
            Error::KeyInvalidated => Self::KeyInvalidated { reason },
            Error::KeyWrapper { .. } => Self::Keystore { reason },
            Error::Storage { .. } => Self::Storage { reason },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<crate::RukaSecError> for VaultError {
    fn from(error: crate::RukaSecError) -> Self {
        // Only a caught panic reaches here (see `guard_with`); keep its fixed reason.
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

/// How a keystore implementation failed. Thrown by app-implemented [`KeyWrapper`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum KeyWrapperError {
    /// No key under this alias.
    #[error("no key under this alias")]
    KeyNotFound,
    /// The key exists but did not open the wrapped data (another key, tampered bytes).
    #[error("the key did not open the wrapped data")]
    Rejected,
    /// The keystore needs the user first (locked device, cancelled prompt).
    #[error("user authentication required")]
    UserAuthenticationRequired,
    /// The platform invalidated the key (Android `KeyPermanentlyInvalidatedException`, a
    /// Secure Enclave key with `.biometryCurrentSet` after a new enrolment).
    #[error("key invalidated")]
    KeyInvalidated,
    /// Anything else; `reason` must not hold key material.
    #[error("keystore failure: {reason}")]
    Failed {
        /// What failed.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyWrapperError {
    fn from(_error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            reason: "the key wrapper threw an exception that is not a KeyWrapperError".to_owned(),
        }
    }
}

/// The platform keystore, implemented by the app: Android Keystore / StrongBox in Kotlin, the
/// Secure Enclave or Keychain in Swift. RukaSec makes one key-encryption key (KEK) per account
/// and key version, named by `alias`; the KEK must never leave the keystore.
///
/// Called from whatever thread the vault call runs on, while the vault is busy: do not call the
/// vault back from here. Key bytes cross the boundary as byte arrays; wipe them when done
/// (`Arrays.fill`, `resetBytes`).
#[uniffi::export(with_foreign)]
pub trait KeyWrapper: Send + Sync {
    /// Creates a new KEK under `alias`, replacing any key already there.
    fn create_key(&self, alias: String) -> Result<(), KeyWrapperError>;
    /// Encrypts `key` under the KEK `alias`.
    fn wrap(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyWrapperError>;
    /// Decrypts what `wrap` returned. Throw `KeyNotFound` when there is no KEK under `alias`
    /// and `Rejected` when it does not open `wrapped`.
    fn unwrap(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyWrapperError>;
    /// Destroys the KEK `alias`; a missing key is not an error.
    fn delete_key(&self, alias: String) -> Result<(), KeyWrapperError>;
    /// Whether KEKs live in hardware (StrongBox, Secure Enclave). An error counts as "no".
    fn is_hardware_backed(&self) -> Result<bool, KeyWrapperError>;
}

/// Where the app keeps the vault's rollback anchors: one small counter per account, outside the
/// app's files and their backups (Android: a Keystore-backed preference excluded from backup;
/// iOS: a Keychain item with `ThisDeviceOnly`). With it, a backup of the app's files restored on
/// the same device is refused; without it, only the attacks that do not restore a whole earlier
/// database are detected (docs/THREAT_MODEL.md).
#[uniffi::export(with_foreign)]
pub trait RollbackAnchorStore: Send + Sync {
    /// The anchor `name`, or `None` when none is stored.
    fn load(&self, name: String) -> Result<Option<i64>, KeyWrapperError>;
    /// Stores the anchor `name` durably (never negative).
    fn store(&self, name: String, value: i64) -> Result<(), KeyWrapperError>;
    /// Deletes the anchor `name`; a missing one is not an error.
    fn delete(&self, name: String) -> Result<(), KeyWrapperError>;
}

/// Lets an app keystore serve as the core's key wrapper, with the app's anchor store if any.
struct ForeignKeyWrapper(Arc<dyn KeyWrapper>, Option<Arc<dyn RollbackAnchorStore>>);

impl core::KeyWrapper for ForeignKeyWrapper {
    fn create_key(&self, alias: &str) -> Result<(), core::WrapperError> {
        self.0.create_key(alias.to_owned()).map_err(Into::into)
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, core::WrapperError> {
        // The app's keystore encrypts the key, so the bytes must cross to it.
        self.0
            .wrap(alias.to_owned(), key.expose_secret().to_vec())
            .map_err(Into::into)
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, core::WrapperError> {
        self.0
            .unwrap(alias.to_owned(), wrapped.to_vec())
            .map(SecretBytes::new)
            .map_err(Into::into)
    }

    fn delete_key(&self, alias: &str) -> Result<(), core::WrapperError> {
        self.0.delete_key(alias.to_owned()).map_err(Into::into)
    }

    fn is_hardware_backed(&self) -> bool {
        // An app's keystore that cannot say is not claimed to be hardware.
        self.0.is_hardware_backed().unwrap_or(false)
    }

    fn keeps_anchors(&self) -> bool {
        self.1.is_some()
    }

    fn load_anchor(&self, name: &str) -> Result<Option<u64>, core::WrapperError> {
        match &self.1 {
            Some(anchors) => match anchors.load(name.to_owned()) {
                Ok(Some(value)) => {
                    u64::try_from(value)
                        .map(Some)
                        .map_err(|_| core::WrapperError::Failed {
                            reason: "the anchor store returned a negative anchor".to_owned(),
                        })
                }
                Ok(None) => Ok(None),
                Err(error) => Err(error.into()),
            },
            None => Ok(None),
        }
    }

    fn store_anchor(&self, name: &str, value: u64) -> Result<(), core::WrapperError> {
        match &self.1 {
            Some(anchors) => {
                let value = i64::try_from(value).map_err(|_| core::WrapperError::Failed {
                    reason: "the anchor does not fit a signed 64-bit integer".to_owned(),
                })?;
                anchors.store(name.to_owned(), value).map_err(Into::into)
            }
            None => Ok(()),
        }
    }

    fn delete_anchor(&self, name: &str) -> Result<(), core::WrapperError> {
        match &self.1 {
            Some(anchors) => anchors.delete(name.to_owned()).map_err(Into::into),
            None => Ok(()),
        }
    }
}

impl From<KeyWrapperError> for core::WrapperError {
    fn from(error: KeyWrapperError) -> Self {
        match error {
            KeyWrapperError::KeyNotFound => Self::KeyNotFound,
            KeyWrapperError::Rejected => Self::Rejected,
            KeyWrapperError::UserAuthenticationRequired => Self::UserAuthenticationRequired,
            KeyWrapperError::KeyInvalidated => Self::KeyInvalidated,
            KeyWrapperError::Failed { reason } => Self::Failed { reason },
        }
    }
}

/// One item of [`Vault::put_batch`]. Rust `Debug`, Kotlin `toString` and Swift
/// `description`/`debugDescription` print the value's length only.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct VaultItem {
    /// The item's namespace.
    pub namespace: String,
    /// Its name within the namespace.
    pub name: String,
    /// The value.
    pub value: Vec<u8>,
    /// Its data class.
    pub data_class: DataClass,
    /// Time to live in seconds; `null`/`nil` keeps it until deleted (never negative).
    pub ttl_seconds: Option<i64>,
}

impl std::fmt::Debug for VaultItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultItem")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("data_class", &self.data_class)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

display_as_redacted_debug!(VaultItem);

/// A time to live from the boundary: seconds, never negative.
fn ttl(seconds: Option<i64>) -> Result<Option<Duration>, Error> {
    seconds
        .map(|seconds| numbers::seconds(seconds, "ttlSeconds"))
        .transpose()
}

/// Progress of a data-key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RotationReport {
    /// The class's data-key version now in use.
    pub active_version: i64,
    /// Items re-encrypted.
    pub reencrypted: i64,
    /// Whether every item uses the active version.
    pub complete: bool,
}

/// The encrypted per-account store. Every call has a blocking form (on the caller's thread:
/// SQLite and the keystore) and an `*Async` form (`suspend` / `async`) that runs on a worker
/// thread; UI code uses the async ones. Safe from many threads.
#[derive(uniffi::Object)]
pub struct Vault(pub(crate) Arc<core::Vault>);

impl Vault {
    pub(crate) fn open(
        rukasec: &rukasec_core::RukaSec,
        dir: &str,
        wrapper: Arc<dyn KeyWrapper>,
        anchors: Option<Arc<dyn RollbackAnchorStore>>,
    ) -> Result<Arc<Self>, VaultError> {
        guard_with(|| {
            rukasec
                .open_vault(
                    Path::new(dir),
                    Arc::new(ForeignKeyWrapper(wrapper, anchors)),
                )
                .map(|vault| Arc::new(Self(Arc::new(vault))))
        })
    }
}

impl Vault {
    /// Runs `call` on a copy of this handle on the runtime's blocking pool, so that the
    /// caller's thread (Android's main thread, a Swift task's executor) never waits for SQLite
    /// or the keystore. A cancelled caller stops waiting; the call itself runs to its end (a
    /// half-done write is never left behind: each vault call is one transaction).
    async fn off_the_caller_thread<T: Send + 'static>(
        &self,
        call: impl FnOnce(Self) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let vault = Self(Arc::clone(&self.0));
        tokio::task::spawn_blocking(move || call(vault))
            .await
            .map_err(|_| VaultError::Internal {
                reason: "the vault task did not complete".to_owned(),
            })?
    }
}

/// The same calls as the blocking ones, off the caller's thread: `suspend` in Kotlin, `async`
/// in Swift. Use these from Android's main thread and from Swift UI code; the blocking forms
/// are for worker threads (and cheap checks such as `isHardwareBacked`).
#[uniffi::export(async_runtime = "tokio")]
impl Vault {
    /// [`Vault::put`] off the caller's thread.
    pub async fn put_async(
        &self,
        account: String,
        namespace: String,
        name: String,
        value: Vec<u8>,
        data_class: DataClass,
        ttl_seconds: Option<i64>,
    ) -> Result<(), VaultError> {
        self.off_the_caller_thread(move |vault| {
            vault.put(account, namespace, name, value, data_class, ttl_seconds)
        })
        .await
    }

    /// [`Vault::put_batch`] off the caller's thread.
    pub async fn put_batch_async(
        &self,
        account: String,
        items: Vec<VaultItem>,
    ) -> Result<(), VaultError> {
        self.off_the_caller_thread(move |vault| vault.put_batch(account, items))
            .await
    }

    /// [`Vault::get`] off the caller's thread.
    ///
    /// With an unlock gate ([`Vault::enable_unlock`]), a class that needs an unlock first
    /// prompts through the app's `Authenticator` (one prompt for concurrent reads), so this
    /// throws what [`crate::UnlockGate::unlock`] throws.
    pub async fn get_async(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        let Some(gate) = self.0.unlock_gate().cloned() else {
            return self
                .off_the_caller_thread(move |vault| vault.get(account, namespace, name))
                .await;
        };
        let ids = (account.clone(), namespace.clone(), name.clone());
        let class = self
            .off_the_caller_thread(move |vault| {
                guard_with(|| vault.0.class_of(&ids.0, &ids.1, &ids.2))
            })
            .await?;
        let Some(class) = class else {
            return Ok(None);
        };
        let reason = format!("Unlock {class} data");
        let ids = (account.clone(), class);
        let bound = self
            .off_the_caller_thread(move |vault| guard_with(|| vault.0.has_bound_key(&ids.0, ids.1)))
            .await?;
        // A bound key: the keystore's own prompt unwraps it. Otherwise at once when the class
        // is open, else one prompt shared with concurrent reads.
        let unlocked: Result<_, VaultError> = guard_future(async {
            if bound {
                self.0.unlock_bound(&account, class, &reason).await
            } else {
                gate.unlock(class, Some(&account), &reason).await
            }
        })
        .await;
        let grant = unlocked?;
        self.off_the_caller_thread(move |vault| {
            guard_with(|| {
                vault
                    .0
                    .get_granted(&grant, &account, &namespace, &name)
                    // The app asked for the value: it gets its own copy.
                    .map(|value| value.map(|secret| secret.expose_secret().to_vec()))
            })
        })
        .await
    }

    /// Shows the bound keystore's prompt (`reason`) for `account`'s Restricted key, so that
    /// the next blocking reads and writes of its Restricted items work: for the policy's
    /// Restricted window, or for one read when it is 0. Throws `UserCancelled`,
    /// `AuthenticationFailed`, `LockedOut`, `KeyInvalidated`, `UserAuthenticationRequired`;
    /// `InvalidInput` when the account has no bound key (see `hasBoundKey`).
    pub async fn unlock_bound(&self, account: String, reason: String) -> Result<(), VaultError> {
        guard_future(async {
            self.0
                .unlock_bound(&account, core::DataClass::Restricted, &reason)
                .await
                .map(|_grant| ())
        })
        .await
    }

    /// [`Vault::contains`] off the caller's thread.
    pub async fn contains_async(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<bool, VaultError> {
        self.off_the_caller_thread(move |vault| vault.contains(account, namespace, name))
            .await
    }

    /// [`Vault::delete`] off the caller's thread.
    pub async fn delete_async(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<bool, VaultError> {
        self.off_the_caller_thread(move |vault| vault.delete(account, namespace, name))
            .await
    }

    /// [`Vault::list`] off the caller's thread.
    pub async fn list_async(
        &self,
        account: String,
        namespace: String,
    ) -> Result<Vec<String>, VaultError> {
        self.off_the_caller_thread(move |vault| vault.list(account, namespace))
            .await
    }

    /// [`Vault::rotate_kek`] off the caller's thread.
    pub async fn rotate_kek_async(&self, account: String) -> Result<(), VaultError> {
        self.off_the_caller_thread(move |vault| vault.rotate_kek(account))
            .await
    }

    /// [`Vault::rotate_dek`] off the caller's thread.
    pub async fn rotate_dek_async(
        &self,
        account: String,
        data_class: DataClass,
    ) -> Result<RotationReport, VaultError> {
        self.off_the_caller_thread(move |vault| vault.rotate_dek(account, data_class))
            .await
    }

    /// [`Vault::delete_account`] off the caller's thread.
    pub async fn delete_account_async(&self, account: String) -> Result<bool, VaultError> {
        self.off_the_caller_thread(move |vault| vault.delete_account(account))
            .await
    }

    /// [`Vault::reset_account`] off the caller's thread.
    pub async fn reset_account_async(&self, account: String) -> Result<bool, VaultError> {
        self.off_the_caller_thread(move |vault| vault.reset_account(account))
            .await
    }

    /// [`Vault::has_account`] off the caller's thread.
    pub async fn has_account_async(&self, account: String) -> Result<bool, VaultError> {
        self.off_the_caller_thread(move |vault| vault.has_account(account))
            .await
    }

    /// [`Vault::purge_expired`] off the caller's thread.
    pub async fn purge_expired_async(&self) -> Result<i64, VaultError> {
        self.off_the_caller_thread(|vault| vault.purge_expired())
            .await
    }
}

/// The blocking forms: they run on the caller's thread (SQLite, the keystore, maybe a
/// biometric-bound key). Call them from a worker thread; on Android's main thread or from a UI
/// task use the `*Async` forms above.
#[uniffi::export]
impl Vault {
    /// The vault's journal of security events, keeping the newest `capacity`: it records every
    /// event of the core from the first call on; later calls return the same journal.
    #[uniffi::method(default(capacity = 500))]
    pub fn event_journal(&self, capacity: i32) -> Result<Arc<EventJournal>, VaultError> {
        guard_with(|| {
            let capacity = numbers::non_negative_i32(capacity, "capacity")?;
            Ok::<_, Error>(Arc::new(EventJournal(
                self.0.event_journal(capacity.max(1) as usize),
            )))
        })
    }

    /// Stores `value`, replacing any previous one; durable when it returns.
    pub fn put(
        &self,
        account: String,
        namespace: String,
        name: String,
        value: Vec<u8>,
        data_class: DataClass,
        ttl_seconds: Option<i64>,
    ) -> Result<(), VaultError> {
        let value = SecretBytes::new(value);
        guard_with(|| {
            let ttl = ttl(ttl_seconds)?;
            // Encrypting needs the value's bytes.
            let bytes = value.expose_secret();
            self.0
                .put(&account, &namespace, &name, bytes, data_class.into(), ttl)
        })
    }

    /// Stores every item, all or none, in one durable transaction.
    pub fn put_batch(&self, account: String, items: Vec<VaultItem>) -> Result<(), VaultError> {
        guard_with(|| {
            let items = items
                .into_iter()
                .map(|item| {
                    Ok(core::PutItem {
                        ttl: ttl(item.ttl_seconds)?,
                        namespace: item.namespace,
                        name: item.name,
                        value: SecretBytes::new(item.value),
                        class: item.data_class.into(),
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            self.0.put_batch(&account, &items)
        })
    }

    /// The value, or `null`/`nil` when absent or expired.
    pub fn get(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        guard_with(|| {
            self.0
                .get(&account, &namespace, &name)
                // Returning the value to the app is the purpose of `get`.
                .map(|value| value.map(|secret| secret.expose_secret().to_vec()))
        })
    }

    /// Whether a value that has not expired is stored.
    pub fn contains(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<bool, VaultError> {
        guard_with(|| self.0.contains(&account, &namespace, &name))
    }

    /// Deletes an item; returns whether it existed.
    pub fn delete(
        &self,
        account: String,
        namespace: String,
        name: String,
    ) -> Result<bool, VaultError> {
        guard_with(|| self.0.delete(&account, &namespace, &name))
    }

    /// The names in `namespace` that have not expired, sorted.
    pub fn list(&self, account: String, namespace: String) -> Result<Vec<String>, VaultError> {
        guard_with(|| self.0.list(&account, &namespace))
    }

    /// Re-wraps the account's keys under a new KEK and destroys the old one.
    pub fn rotate_kek(&self, account: String) -> Result<(), VaultError> {
        guard_with(|| self.0.rotate_kek(&account))
    }

    /// Rotates a class's data key and re-encrypts its items (resumable).
    pub fn rotate_dek(
        &self,
        account: String,
        data_class: DataClass,
    ) -> Result<RotationReport, VaultError> {
        guard_with(|| {
            self.0
                .rotate_dek(&account, data_class.into())
                .map(|p| RotationReport {
                    active_version: i64::from(p.active_version),
                    reencrypted: numbers::count(p.reencrypted),
                    complete: p.complete,
                })
        })
    }

    /// Crypto-shreds an account: destroys its KEK, then its rows. Returns whether it existed.
    pub fn delete_account(&self, account: String) -> Result<bool, VaultError> {
        guard_with(|| self.0.delete_account(&account))
    }

    /// Starts an account again after `KeyUnavailable`. Returns whether it existed.
    pub fn reset_account(&self, account: String) -> Result<bool, VaultError> {
        guard_with(|| self.0.reset_account(&account))
    }

    /// Whether `account` exists in this vault.
    pub fn has_account(&self, account: String) -> Result<bool, VaultError> {
        guard_with(|| self.0.has_account(&account))
    }

    /// Checks reads against an unlock gate from now on: each class needs what `policy` says,
    /// `*Async` reads prompt through `authenticator` when needed, blocking reads throw
    /// `UserAuthenticationRequired` instead of prompting. The failed-attempt counter is kept
    /// in this vault, authenticated. Writes need no unlock. One gate per vault.
    pub fn enable_unlock(
        &self,
        policy: UnlockPolicy,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<Arc<UnlockGate>, VaultError> {
        guard_with(|| {
            let gate = Arc::new(rukasec_core::unlock::UnlockGate::new(
                policy.try_into()?,
                Some(Arc::new(ForeignAuthenticator(authenticator))),
                Arc::new(rukasec_core::vault::VaultAttemptStore::new(&self.0)),
                self.0.events(),
            )?);
            self.0.attach_unlock_gate(Arc::clone(&gate))?;
            Ok::<_, Error>(Arc::new(UnlockGate(gate)))
        })
    }

    /// `enableUnlock`, and keeps the Restricted data keys of accounts created from now on in
    /// `boundWrapper`, a keystore that unwraps only for an authenticated user (its
    /// `KeyAuthRequirement` is the policy's Restricted methods and window). Their Restricted
    /// items are then readable only after the keystore's own prompt: `getAsync` and
    /// `unlockBound` show it; a blocking read or write without it throws
    /// `UserAuthenticationRequired`, even after an `Authenticator` prompt. Accounts that exist
    /// already keep their keys as they are. Throws `InvalidInput` when a gate is attached already.
    pub fn enable_unlock_with_bound_keys(
        &self,
        policy: UnlockPolicy,
        authenticator: Arc<dyn Authenticator>,
        bound_wrapper: Arc<dyn AuthBoundKeyWrapper>,
    ) -> Result<Arc<UnlockGate>, VaultError> {
        guard_with(|| {
            let gate = Arc::new(rukasec_core::unlock::UnlockGate::new(
                policy.try_into()?,
                Some(Arc::new(ForeignAuthenticator(authenticator))),
                Arc::new(rukasec_core::vault::VaultAttemptStore::new(&self.0)),
                self.0.events(),
            )?);
            self.0.attach_unlock_gate_with_bound_keys(
                Arc::clone(&gate),
                Arc::new(ForeignAuthBoundKeyWrapper(bound_wrapper)),
            )?;
            Ok::<_, Error>(Arc::new(UnlockGate(gate)))
        })
    }

    /// Whether `account`'s Restricted data is under a bound key (see
    /// `enableUnlockWithBoundKeys`); `false` for an account that does not exist.
    pub fn has_bound_key(&self, account: String) -> Result<bool, VaultError> {
        guard_with(|| self.0.has_bound_key(&account, core::DataClass::Restricted))
    }

    /// Whether the keystore behind this vault keeps its keys in hardware.
    pub fn is_hardware_backed(&self) -> Result<bool, VaultError> {
        guard_with(|| Ok::<_, Error>(self.0.is_hardware_backed()))
    }

    /// Deletes every expired item; returns how many.
    pub fn purge_expired(&self) -> Result<i64, VaultError> {
        guard_with(|| self.0.purge_expired().map(numbers::count))
    }
}
