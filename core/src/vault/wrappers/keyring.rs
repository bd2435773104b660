//! A key wrapper whose KEKs live in the desktop's credential store: the Secret Service (GNOME
//! Keyring, KWallet) or the kernel keyutils keyring on Linux, the Keychain on macOS and iOS.
//!
//! It exists so that the CLI, desktop builds and developers' machines can keep a vault whose
//! KEKs are *not* in a plain file ([`FileKeyWrapper`](super::FileKeyWrapper)) nor lost with the
//! process ([`MemoryKeyWrapper`](super::MemoryKeyWrapper)), and so that deleting an account really
//! destroys its KEK (crypto-shredding) there too. **It is for desktop and development use, not for
//! phones**: the apps wrap keys with Android Keystore / StrongBox and the Secure Enclave through
//! their Kotlin and Swift `KeyWrapper`s, where the KEK never leaves the keystore. Here the store
//! only keeps the KEK at rest: each operation reads it into this process (wiped after use).
//!
//! Behind the cargo feature `keyring` (off by default, so phone builds do not pull in the
//! credential-store crates). Built on `keyring-core` and one store crate per OS.
//!
//! # Format
//!
//! - Entry: service = the wrapper's service name (default `"rukasec"`), user / account = the
//!   alias.
//! - Secret: a random 32-byte KEK, stored as its standard padded base64 (44 ASCII characters), so
//!   that stores which only hold text (KWallet) work too.
//! - `wrapped = envelope(AES-256-GCM, KEK, AAD = "rukasec.keyring.wrap.v1\0" ‖ alias, key)`
//!   (the vault's envelope: version byte, random nonce, ciphertext and tag).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::crypto::{Aes256GcmKey, Crypto};
use crate::error::{Error, Result};
use crate::secret::{SecretBytes, SecretString};
use crate::vault::envelope;
use crate::vault::wrapper::{KeyWrapper, WrapperError};

/// Domain label of the AAD of wrapped keys.
const AAD_LABEL: &[u8] = b"rukasec.keyring.wrap.v1\0";
/// KEK length in bytes (AES-256).
const KEK_LEN: usize = 32;
/// Base64 length of a KEK: 4 * ceil(32 / 3).
const ENCODED_LEN: usize = 44;

/// Keeps one random 32-byte KEK per alias in an OS credential store: the Secret Service or
/// keyutils on Linux, the Keychain on macOS and iOS. **For desktop and development builds, not
/// for phones**, whose apps use Android Keystore / Secure Enclave wrappers written in Kotlin and
/// Swift: here the store keeps the KEK at rest, but every operation reads it into this process.
///
/// Each alias is one entry (service = [`service`](Self::service), user / account = alias) whose
/// secret is the KEK in standard base64; `wrapped` is the vault's AES-256-GCM envelope under the
/// KEK with AAD `"rukasec.keyring.wrap.v1\0" ‖ alias`. Deleting the entry destroys the KEK, so
/// [`Vault::delete_account`](crate::vault::Vault::delete_account) crypto-shreds.
///
/// Constructors (each only on its platforms): `native()` (the platform's usual store: Linux,
/// macOS, iOS), `secret_service()` and `linux_keyutils()` on Linux, `apple_keychain()` on macOS
/// and iOS, and [`with_store`](Self::with_store) for any `keyring-core` store (Windows, tests).
///
/// [`is_hardware_backed`](KeyWrapper::is_hardware_backed) is `false` everywhere: on Linux the
/// Secret Service encrypts its keyring file with the login password and keyutils keeps keys in
/// kernel memory; on Apple platforms the Keychain encrypts items at rest with keys that the Secure
/// Enclave protects on devices that have one, but the KEK is a generic-password item that the
/// Keychain hands to this process for every operation, so it does not stay in hardware the way a
/// Secure Enclave key does.
pub struct KeyringKeyWrapper {
    store: Arc<CredentialStore>,
    service: String,
    /// Store-specific entry modifiers (`keyring-core`'s `new_in_store_with_modifiers`).
    modifiers: &'static [(&'static str, &'static str)],
}

impl std::fmt::Debug for KeyringKeyWrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringKeyWrapper")
            .field("store", &self.store.vendor())
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl KeyringKeyWrapper {
    /// The service name entries are stored under unless [`with_service`](Self::with_service)
    /// says otherwise.
    pub const DEFAULT_SERVICE: &str = "rukasec";

    /// A wrapper over any `keyring-core` credential store (for example the Windows credential
    /// manager's store, or `keyring_core::mock::Store` in tests), with the default service name.
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        Self {
            store,
            service: Self::DEFAULT_SERVICE.to_owned(),
            modifiers: &[],
        }
    }

    /// The platform's usual credential store: the Secret Service on Linux, the Keychain on macOS
    /// and iOS.
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when the store cannot be reached (no session bus, no Secret Service).
    #[cfg(target_os = "linux")]
    pub fn native() -> Result<Self> {
        Self::secret_service()
    }

    /// The platform's usual credential store: the Secret Service on Linux, the Keychain on macOS
    /// and iOS.
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when the store cannot be opened.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn native() -> Result<Self> {
        Self::apple_keychain()
    }

    /// The Secret Service (GNOME Keyring, KWallet) over the session D-Bus. Entries go to the
    /// default collection (the login keyring), which must be unlocked: a locked collection gives
    /// [`WrapperError::UserAuthenticationRequired`].
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when there is no session bus or it cannot be connected.
    #[cfg(target_os = "linux")]
    pub fn secret_service() -> Result<Self> {
        let store = dbus_secret_service_keyring_store::Store::new()
            .map_err(|_| store_unavailable("cannot connect to the Secret Service"))?;
        Ok(Self::with_store(store))
    }

    /// The kernel's keyutils keyring (persistent and session keyrings). Needs no daemon, but
    /// **keys live in kernel memory only**: they are gone after a reboot (or when the persistent
    /// keyring expires after logout), and every vault account with them. For CI, containers and
    /// throwaway sessions, never for data that must survive.
    ///
    /// In a container whose session keyring belongs to the runtime, the kernel refuses access
    /// ([`WrapperError::UserAuthenticationRequired`]); run in a session keyring of your own
    /// (`keyctl session - COMMAND`).
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when the store cannot be configured.
    #[cfg(target_os = "linux")]
    pub fn linux_keyutils() -> Result<Self> {
        // Descriptions are `keyring:<alias>@<service>`; a service without '@' keeps them
        // unambiguous.
        let config = HashMap::from([("service_no_divider", "true")]);
        let store = linux_keyutils_keyring_store::Store::new_with_configuration(&config)
            .map_err(|_| store_unavailable("cannot configure the keyutils store"))?;
        Ok(Self::with_store(store))
    }

    /// The macOS login keychain (the file-based keychain, usable by unsigned command-line tools).
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when the store cannot be opened.
    #[cfg(target_os = "macos")]
    pub fn apple_keychain() -> Result<Self> {
        let store = apple_native_keyring_store::keychain::Store::new()
            .map_err(|_| store_unavailable("cannot open the keychain"))?;
        Ok(Self::with_store(store))
    }

    /// The iOS data-protection keychain, in the app's default access group, not synchronised to
    /// iCloud, with items readable only while the device is unlocked and never restored to
    /// another device (`WhenUnlockedThisDeviceOnly`).
    ///
    /// # Errors
    /// [`Error::KeyWrapper`] when the store cannot be opened.
    #[cfg(target_os = "ios")]
    pub fn apple_keychain() -> Result<Self> {
        let store = apple_native_keyring_store::protected::Store::new()
            .map_err(|_| store_unavailable("cannot open the data-protection keychain"))?;
        let mut wrapper = Self::with_store(store);
        wrapper.modifiers = &[("access-policy", "WhenUnlockedThisDeviceOnly")];
        Ok(wrapper)
    }

    /// The same store, with entries under `service` instead of
    /// [`DEFAULT_SERVICE`](Self::DEFAULT_SERVICE).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `service` is empty or contains '@' (keyutils would make
    /// ambiguous descriptions of it).
    pub fn with_service(mut self, service: &str) -> Result<Self> {
        if service.is_empty() || service.contains('@') {
            return Err(Error::InvalidInput {
                reason: "a keyring service name is non-empty and has no '@'".to_owned(),
            });
        }
        service.clone_into(&mut self.service);
        Ok(self)
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether the store holds an entry under `alias` (the KEK is not read).
    ///
    /// # Errors
    /// As [`KeyWrapper::unwrap`], but a missing entry is `Ok(false)`.
    pub fn contains_key(&self, alias: &str) -> Result<bool, WrapperError> {
        match self.entry(alias)?.get_credential() {
            Ok(_) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }

    fn entry(&self, alias: &str) -> Result<Entry, WrapperError> {
        let built = if self.modifiers.is_empty() {
            Entry::new_in_store(&self.store, &self.service, alias)
        } else {
            let modifiers: HashMap<&str, &str> = self.modifiers.iter().copied().collect();
            Entry::new_in_store_with_modifiers(&self.store, &self.service, alias, &modifiers)
        };
        built.map_err(store_error)
    }

    /// Reads and decodes the KEK under `alias`. An entry that is not a base64 32-byte key (written
    /// by something else, or damaged) cannot open anything: [`WrapperError::Rejected`].
    fn load_kek(&self, alias: &str) -> Result<Aes256GcmKey, WrapperError> {
        let encoded = SecretString::new(self.entry(alias)?.get_password().map_err(store_error)?);
        let mut decoded = Zeroizing::new([0u8; ENCODED_LEN]);
        // Decoding the stored KEK: the base64 text has to be read.
        let length = BASE64
            .decode_slice(encoded.expose_secret().as_bytes(), decoded.as_mut_slice())
            .map_err(|_| WrapperError::Rejected)?;
        let kek = decoded.get(..KEK_LEN).filter(|_| length == KEK_LEN);
        Aes256GcmKey::from_slice(kek.ok_or(WrapperError::Rejected)?)
            .map_err(|_| WrapperError::Rejected)
    }

    /// Replaces the entry under `alias` with `password`; duplicates (another program, or a race
    /// with another process) are all deleted first so that exactly one KEK remains.
    fn store_kek(&self, alias: &str, password: &str) -> Result<(), WrapperError> {
        let entry = self.entry(alias)?;
        match entry.set_password(password) {
            Ok(()) => Ok(()),
            Err(keyring_core::Error::Ambiguous(duplicates)) => {
                for duplicate in duplicates {
                    ignore_missing(duplicate.delete_credential())?;
                }
                entry.set_password(password).map_err(store_error)
            }
            Err(error) => Err(store_error(error)),
        }
    }
}

impl KeyWrapper for KeyringKeyWrapper {
    fn create_key(&self, alias: &str) -> Result<(), WrapperError> {
        let crypto = crypto()?;
        let kek = crypto.random_secret(KEK_LEN).map_err(failed)?;
        let mut encoded = Zeroizing::new([0u8; ENCODED_LEN]);
        // Key creation: the fresh KEK is base64-encoded for the credential store.
        let length = BASE64
            .encode_slice(kek.expose_secret(), encoded.as_mut_slice())
            .map_err(|_| internal("the KEK did not fit its base64 buffer"))?;
        let text = encoded
            .get(..length)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| internal("base64 of the KEK is not ASCII"))?;
        let stored = self.store_kek(alias, text);
        if stored.is_err() {
            // A store can fail half-way and keep the key (keyutils: added to the session keyring,
            // then refused by the persistent one): leave no KEK behind that the caller believes
            // was never made. The old KEK under `alias` was being replaced anyway.
            let _ = self.delete_key(alias);
        }
        stored
    }

    fn wrap(&self, alias: &str, key: &SecretBytes) -> Result<Vec<u8>, WrapperError> {
        let crypto = crypto()?;
        let kek = self.load_kek(alias).map_err(|error| match error {
            WrapperError::Rejected => WrapperError::Failed {
                reason: "the credential-store entry is not a RukaSec KEK".to_owned(),
            },
            other => other,
        })?;
        let aad = [AAD_LABEL, alias.as_bytes()].concat();
        // Wrapping: the key must be encrypted, which needs its bytes.
        envelope::seal(&crypto, &kek, &aad, key.expose_secret()).map_err(failed)
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, WrapperError> {
        let crypto = crypto()?;
        let kek = self.load_kek(alias)?;
        let aad = [AAD_LABEL, alias.as_bytes()].concat();
        envelope::open(&crypto, &kek, &aad, wrapped).map_err(|_| WrapperError::Rejected)
    }

    fn delete_key(&self, alias: &str) -> Result<(), WrapperError> {
        match self.entry(alias)?.delete_credential() {
            Err(keyring_core::Error::Ambiguous(duplicates)) => {
                for duplicate in duplicates {
                    ignore_missing(duplicate.delete_credential())?;
                }
                Ok(())
            }
            other => ignore_missing(other),
        }
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

/// A deletion that found nothing to delete succeeded.
fn ignore_missing(result: keyring_core::Result<()>) -> Result<(), WrapperError> {
    match result {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(error) => Err(store_error(error)),
    }
}

/// Maps a credential-store error to fixed text. Errors that carry the stored bytes have them
/// wiped; platform messages are not copied (they are the store's, not ours to vouch for).
fn store_error(error: keyring_core::Error) -> WrapperError {
    use keyring_core::Error as E;
    let reason = match error {
        E::NoEntry => return WrapperError::KeyNotFound,
        // A locked keyring or keychain, a cancelled unlock prompt.
        E::NoStorageAccess(_) => return WrapperError::UserAuthenticationRequired,
        E::BadEncoding(mut bytes) | E::BadDataFormat(mut bytes, _) => {
            zeroize::Zeroize::zeroize(&mut bytes);
            return WrapperError::Rejected;
        }
        E::Ambiguous(_) => "more than one credential-store entry under this alias",
        E::TooLong(..) | E::Invalid(..) => "the credential store refused the service or alias",
        E::NotSupportedByStore(_) => "the credential store does not support this operation",
        E::BadStoreFormat(_) => "the credential store is damaged",
        E::PlatformFailure(_) => "the credential store failed",
        _ => "credential store error",
    };
    WrapperError::Failed {
        reason: reason.to_owned(),
    }
}

fn store_unavailable(reason: &str) -> Error {
    Error::KeyWrapper {
        reason: reason.to_owned(),
    }
}

fn crypto() -> Result<Crypto, WrapperError> {
    Crypto::get().map_err(failed)
}

fn failed(error: Error) -> WrapperError {
    WrapperError::Failed {
        reason: error.to_string(),
    }
}

fn internal(reason: &str) -> WrapperError {
    WrapperError::Failed {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    //! Semantics against `keyring-core`'s in-memory mock store; the real Secret Service is
    //! exercised by `tests/keyring_wrapper.rs` (scripts/test-keyring.sh).
    use super::*;

    fn wrapper() -> KeyringKeyWrapper {
        KeyringKeyWrapper::with_store(keyring_core::mock::Store::new().unwrap())
    }

    #[test]
    fn round_trip_new_kek_and_delete() {
        let wrapper = wrapper();
        let secret = SecretBytes::from_slice(&[7; 32]);
        assert_eq!(
            wrapper.wrap("a", &secret).unwrap_err(),
            WrapperError::KeyNotFound
        );
        assert!(!wrapper.contains_key("a").unwrap());
        wrapper.create_key("a").unwrap();
        assert!(wrapper.contains_key("a").unwrap());
        let wrapped = wrapper.wrap("a", &secret).unwrap();
        assert_eq!(wrapper.unwrap("a", &wrapped).unwrap(), secret);
        wrapper.create_key("b").unwrap();
        assert_eq!(
            wrapper.unwrap("b", &wrapped).unwrap_err(),
            WrapperError::Rejected,
            "another alias's KEK (and AAD)"
        );
        wrapper.create_key("a").unwrap();
        assert_eq!(
            wrapper.unwrap("a", &wrapped).unwrap_err(),
            WrapperError::Rejected,
            "a new KEK under the same alias"
        );
        wrapper.delete_key("a").unwrap();
        wrapper.delete_key("a").unwrap();
        assert_eq!(
            wrapper.unwrap("a", &wrapped).unwrap_err(),
            WrapperError::KeyNotFound
        );
        assert!(!wrapper.is_hardware_backed());
    }

    #[test]
    fn stored_kek_is_base64_of_32_bytes_and_foreign_entries_are_rejected() {
        let wrapper = wrapper().with_service("svc").unwrap();
        wrapper.create_key("a").unwrap();
        let entry = Entry::new_in_store(&wrapper.store, "svc", "a").unwrap();
        let stored = entry.get_password().unwrap();
        assert_eq!(stored.len(), ENCODED_LEN);
        assert_eq!(BASE64.decode(&stored).unwrap().len(), KEK_LEN);
        let wrapped = wrapper.wrap("a", &SecretBytes::from_slice(b"k")).unwrap();
        for foreign in ["not base64!", "AAAA", &"A".repeat(400), ""] {
            entry.set_password(foreign).unwrap();
            assert_eq!(
                wrapper.unwrap("a", &wrapped).unwrap_err(),
                WrapperError::Rejected,
                "{foreign:?}"
            );
            assert!(matches!(
                wrapper.wrap("a", &SecretBytes::from_slice(b"k")),
                Err(WrapperError::Failed { .. })
            ));
        }
        entry.set_secret(&[0xff, 0xfe]).unwrap();
        assert_eq!(
            wrapper.unwrap("a", &wrapped).unwrap_err(),
            WrapperError::Rejected,
            "not UTF-8"
        );
    }

    #[test]
    fn store_errors_map_to_wrapper_errors() {
        let wrapper = wrapper();
        wrapper.create_key("a").unwrap();
        let entry =
            Entry::new_in_store(&wrapper.store, KeyringKeyWrapper::DEFAULT_SERVICE, "a").unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        assert_eq!(
            wrapper.unwrap("a", &[]).unwrap_err(),
            WrapperError::UserAuthenticationRequired
        );
        mock.set_error(keyring_core::Error::PlatformFailure("secret detail".into()));
        let error = wrapper.delete_key("a").unwrap_err();
        assert_eq!(
            error,
            WrapperError::Failed {
                reason: "the credential store failed".to_owned()
            },
            "fixed text, the platform's message is not copied"
        );
        assert!(wrapper.contains_key("a").unwrap(), "not deleted");
    }

    #[test]
    fn service_names_are_checked_and_debug_shows_no_key() {
        assert!(wrapper().with_service("").is_err());
        assert!(wrapper().with_service("a@b").is_err());
        let wrapper = wrapper().with_service("rukasec-dev").unwrap();
        assert_eq!(wrapper.service(), "rukasec-dev");
        wrapper.create_key("a").unwrap();
        let debug = format!("{wrapper:?}");
        assert!(debug.contains("rukasec-dev") && debug.contains("Mock store"));
    }
}
