//! `rukasec vault --unlock-with pin-file:PATH`: a PIN as the command line's device credential.
//!
//! A phone unlocks with BiometricPrompt or LocalAuthentication; a terminal has neither, so the
//! CLI's [`Authenticator`] checks a PIN instead, and reports it as
//! [`AuthMethod::DeviceCredential`] (what a phone's PIN or passcode is). The core's
//! [`UnlockGate`] does the rest as it does for an app: the policy per class, the failure
//! counter and the lockout.
//!
//! **Policy** ([`cli_policy`]): the core's default with one change: Restricted also accepts a
//! device credential (by default it wants a strong biometric, which a terminal cannot offer).
//! So Public items read without an unlock; Internal, Confidential and Restricted ones need
//! `--unlock-with` (every run is a new process, so each run's first read of them unlocks); five
//! wrong PINs in a row lock out for 30 s, doubling with each further lockout up to an hour.
//!
//! **The PIN** is the first line of the file given, trimmed. It is held as a [`SecretString`]
//! (wiped on drop, redacted in `Debug`), used only as the KDF's input, and never printed, put in
//! an error or an event: messages name the file, never its content.
//!
//! **The verifier** is a salted, slow hash of the PIN: PBKDF2-HMAC-SHA256 (RustCrypto `pbkdf2`)
//! with 600,000 iterations (OWASP's Password Storage Cheat Sheet, 2023, for PBKDF2-HMAC-SHA256;
//! about 0.12 s per check here), a random 16-byte salt (NIST SP 800-132: at least 128 bits) and
//! a 32-byte output (one SHA-256 block: more output would cost the defender, not the guesser).
//! PBKDF2 rather than Argon2id: it is FIPS-approved (SP 800-132) and built on the SHA-256 the
//! core already ships; its weakness, no memory hardness, matters little here because a PIN has
//! so little entropy that the online lockout, not the hash, is what protects it. Comparison is
//! constant time (`subtle`). Records below 600,000 iterations are refused.
//!
//! **Where it lives**: in the account itself, namespace [`UNLOCK_NAMESPACE`], as two Public
//! items: `pin-verifier` (docs/FORMAT.md §13) and `attempts`, the gate's failure counter
//! ([`AccountAttemptStore`]). Public, because both must be readable before any unlock; still
//! sealed with AES-256-GCM under the account's keys and covered by its authenticated state, so
//! an edited, swapped or deleted record is an integrity failure (a tampered counter is a
//! lockout). In the account, not in a vault-wide one like the core's `VaultAttemptStore`: the
//! CLI lets each account have its own key file (`rotate-kek --new-kek-file`), and records under
//! another account's key file could not be read with this one's. They rotate, and are shredded,
//! with the account. The CLI refuses commands on the namespace, so `delete` cannot reset the
//! counter.
//!
//! This is a policy enforced in the `rukasec` process: whoever holds the key file can read the
//! vault with the core library directly. On a phone the keystore binds keys to the user; here
//! the key file is the real boundary (docs/THREAT_MODEL.md).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use pbkdf2::{Algorithm, Params, pbkdf2_hmac_with_params};
use rukasec_core::crypto::Crypto;
use rukasec_core::secret::{SecretBytes, SecretString};
use rukasec_core::unlock::{
    AttemptRecord, AttemptStore, AuthFuture, AuthMethod, AuthOutcome, AuthRequest, Authenticator,
    UnlockPolicy,
};
use rukasec_core::vault::{DataClass, Vault};
use rukasec_core::{Error, Result};
use subtle::ConstantTimeEq;

use crate::failure::{self, Failure};

/// The namespace of every account's PIN verifier and unlock counter (refused to commands).
pub const UNLOCK_NAMESPACE: &str = "rukasec.unlock";
const VERIFIER_NAME: &str = "pin-verifier";
const ATTEMPTS_NAME: &str = "attempts";

const VERIFIER_VERSION: u8 = 1;
/// The verifier's algorithm byte: PBKDF2 with HMAC-SHA-256.
const PBKDF2_HMAC_SHA256: u8 = 1;
/// The iterations a new verifier uses, and the fewest one may have.
pub const ITERATIONS: u32 = 600_000;
/// The most iterations a stored verifier may ask for (about 2 s per check): a larger count is
/// a corrupt record, not a reason to hang.
const MAX_ITERATIONS: u32 = 10_000_000;
pub const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// `version ‖ algorithm ‖ iterations (u32, big-endian) ‖ salt ‖ hash`.
const VERIFIER_LEN: usize = 1 + 1 + 4 + SALT_LEN + HASH_LEN;

/// A new PIN has at least this many characters.
pub const MIN_PIN_CHARS: usize = 4;
/// A PIN has at most this many bytes.
const MAX_PIN_BYTES: usize = 256;
/// The most of a PIN file that is read.
const MAX_PIN_FILE: u64 = 64 * 1024;

const ATTEMPTS_VERSION: u8 = 1;
/// `version ‖ failures (u32) ‖ lockouts (u32) ‖ locked_until_ms (i64)`, big-endian.
const ATTEMPTS_LEN: usize = 1 + 4 + 4 + 8;

/// How `--unlock-with` unlocks.
#[derive(Clone, Debug)]
pub enum UnlockWith {
    /// `pin-file:PATH`: the PIN is the file's first line.
    PinFile(PathBuf),
}

/// Parses `--unlock-with` (clap's value parser).
pub fn parse_unlock_with(text: &str) -> std::result::Result<UnlockWith, String> {
    match text.split_once(':') {
        Some(("pin-file", path)) if !path.is_empty() => Ok(UnlockWith::PinFile(path.into())),
        _ => Err("expected pin-file:PATH (a file whose first line is the PIN)".to_owned()),
    }
}

/// The CLI's unlock policy: the core's default, with a device credential (the CLI's PIN) also
/// accepted for Restricted.
pub fn cli_policy() -> UnlockPolicy {
    let mut policy = UnlockPolicy::default();
    // `classes` has one entry per class, in code order (Public 0 .. Restricted 3).
    let restricted = &mut policy.classes[usize::from(DataClass::Restricted.code())].1;
    if !restricted.contains(&AuthMethod::DeviceCredential) {
        restricted.push(AuthMethod::DeviceCredential);
    }
    policy
}

/// The PIN in `path`: its first line, trimmed.
///
/// # Errors
/// `io` when the file cannot be read; `invalid-input` when it is too large, not UTF-8, or its
/// first line is empty or too long. No message holds any of the file's content.
pub fn read_pin(path: &Path) -> std::result::Result<SecretString, Failure> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(MAX_PIN_FILE + 1).read_to_end(&mut bytes));
    // Wrapped before anything else can fail, so the bytes are wiped either way.
    let bytes = SecretBytes::new(bytes);
    let context = || format!("the PIN file {}", path.display());
    read.map_err(|e| Failure::from(e).context(context()))?;
    let invalid = |what: &str| Failure::new(failure::INVALID_INPUT, what).context(context());
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_PIN_FILE {
        return Err(invalid(
            "larger than 64 KiB; its first line should be the PIN",
        ));
    }
    // The PIN is cut out of the file's bytes; only its length is ever looked at otherwise.
    let first_line = bytes
        .expose_secret()
        .split(|byte| *byte == b'\n')
        .next()
        .unwrap_or_default();
    let text = std::str::from_utf8(first_line)
        .map_err(|_| invalid("its first line is not UTF-8 text"))?
        .trim();
    if text.is_empty() {
        return Err(invalid("its first line (the PIN) is empty"));
    }
    if text.len() > MAX_PIN_BYTES {
        return Err(invalid(&format!(
            "its first line (the PIN) is longer than {MAX_PIN_BYTES} bytes"
        )));
    }
    Ok(SecretString::new(text.to_owned()))
}

/// [`read_pin`] for a new PIN, which must also be at least [`MIN_PIN_CHARS`] long.
///
/// # Errors
/// As [`read_pin`].
pub fn read_new_pin(path: &Path) -> std::result::Result<SecretString, Failure> {
    let pin = read_pin(path)?;
    // Only the number of characters is looked at.
    if pin.expose_secret().chars().count() < MIN_PIN_CHARS {
        return Err(Failure::new(
            failure::INVALID_INPUT,
            format!("a PIN has at least {MIN_PIN_CHARS} characters"),
        )
        .context(format!("the PIN file {}", path.display())));
    }
    Ok(pin)
}

/// A salted, slow hash of a PIN (see the module docs). The hash is kept as a secret: it is
/// what an offline guess would be checked against.
pub struct PinVerifier {
    iterations: u32,
    salt: [u8; SALT_LEN],
    hash: SecretBytes,
}

impl PinVerifier {
    /// A verifier of `pin` with a fresh random salt and [`ITERATIONS`].
    ///
    /// # Errors
    /// `CryptoUnavailable` after a failed self-test; `Crypto` when the OS has no randomness.
    pub fn new(pin: &SecretString) -> Result<Self> {
        let salt = Crypto::get()?.random_array::<SALT_LEN>()?;
        let hash = derive(pin, &salt, ITERATIONS).ok_or(Error::Crypto)?;
        Ok(Self {
            iterations: ITERATIONS,
            salt,
            hash,
        })
    }

    /// Whether `pin` is the PIN this verifies (the hashes compared in constant time).
    pub fn matches(&self, pin: &SecretString) -> bool {
        derive(pin, &self.salt, self.iterations)
            .is_some_and(|candidate| bool::from(candidate.ct_eq(&self.hash)))
    }

    /// The record as stored (docs/FORMAT.md §13).
    fn encode(&self) -> SecretBytes {
        let mut bytes = Vec::with_capacity(VERIFIER_LEN);
        bytes.push(VERIFIER_VERSION);
        bytes.push(PBKDF2_HMAC_SHA256);
        bytes.extend_from_slice(&self.iterations.to_be_bytes());
        bytes.extend_from_slice(&self.salt);
        // The hash goes into the vault, sealed like every item.
        bytes.extend_from_slice(self.hash.expose_secret());
        SecretBytes::new(bytes)
    }

    /// A stored record; `None` for a malformed one, another version or algorithm, or an
    /// iteration count outside [`ITERATIONS`]..=`MAX_ITERATIONS`.
    fn decode(bytes: &[u8]) -> Option<Self> {
        let [VERIFIER_VERSION, PBKDF2_HMAC_SHA256, rest @ ..] = bytes else {
            return None;
        };
        if bytes.len() != VERIFIER_LEN {
            return None;
        }
        let (iterations, rest) = rest.split_first_chunk::<4>()?;
        let (salt, hash) = rest.split_first_chunk::<SALT_LEN>()?;
        let iterations = u32::from_be_bytes(*iterations);
        (ITERATIONS..=MAX_ITERATIONS)
            .contains(&iterations)
            .then(|| Self {
                iterations,
                salt: *salt,
                hash: SecretBytes::from_slice(hash),
            })
    }
}

/// PBKDF2-HMAC-SHA256 of `pin`; `None` only for an iteration count PBKDF2 refuses (< 1000).
fn derive(pin: &SecretString, salt: &[u8], iterations: u32) -> Option<SecretBytes> {
    let params = Params::new_with_output_len(iterations, HASH_LEN).ok()?;
    let mut hash = vec![0u8; HASH_LEN];
    // The PIN leaves its wrapper only as the KDF's input (HMAC's key, wiped on drop).
    pbkdf2_hmac_with_params(
        pin.expose_secret().as_bytes(),
        salt,
        Algorithm::Pbkdf2Sha256,
        params,
        &mut hash,
    );
    Some(SecretBytes::new(hash))
}

/// The account's PIN verifier, if a PIN is set.
///
/// # Errors
/// The vault's errors; `integrity` for a record that does not decode.
pub fn load_verifier(
    vault: &Vault,
    account: &str,
) -> std::result::Result<Option<PinVerifier>, Failure> {
    let Some(bytes) = vault.get(account, UNLOCK_NAMESPACE, VERIFIER_NAME)? else {
        return Ok(None);
    };
    // The record (salt and hash, no PIN) is decoded here; nothing of it is printed.
    PinVerifier::decode(bytes.expose_secret())
        .map(Some)
        .ok_or_else(|| {
            Failure::new(
                failure::INTEGRITY,
                "the account's PIN verifier is malformed, or of a version or with parameters \
                 this rukasec does not accept",
            )
        })
}

/// Stores `verifier` as the account's PIN verifier, replacing any other. Durable on return.
///
/// # Errors
/// The vault's errors.
pub fn store_verifier(vault: &Vault, account: &str, verifier: &PinVerifier) -> Result<()> {
    vault.put(
        account,
        UNLOCK_NAMESPACE,
        VERIFIER_NAME,
        verifier.encode().expose_secret(),
        DataClass::Public,
        None,
    )
}

/// Checks the PIN read from `--unlock-with` against the account's verifier: the prompt of the
/// command line.
pub struct PinAuthenticator {
    pin: SecretString,
    verifier: Option<PinVerifier>,
}

impl PinAuthenticator {
    /// Checks `pin` against `verifier` (`None`: no PIN is set, nothing is enrolled).
    pub fn new(pin: SecretString, verifier: Option<PinVerifier>) -> Self {
        Self { pin, verifier }
    }
}

impl Authenticator for PinAuthenticator {
    fn authenticate(&self, request: AuthRequest) -> AuthFuture<'_> {
        Box::pin(async move {
            let Some(verifier) = &self.verifier else {
                return AuthOutcome::NotEnrolled;
            };
            if !AuthMethod::DeviceCredential.satisfies(&request.allowed) {
                return AuthOutcome::NotEnrolled;
            }
            // The slow hash runs on the caller's thread: the CLI's runtime is a current-thread
            // one that runs this unlock and nothing else, so nothing waits behind it.
            if verifier.matches(&self.pin) {
                AuthOutcome::Success {
                    method: AuthMethod::DeviceCredential,
                }
            } else {
                AuthOutcome::Failed
            }
        })
    }
}

/// The gate's failure counter as a Public item of the account (see the module docs). Holds the
/// vault weakly: the vault owns the gate that owns this store.
pub struct AccountAttemptStore {
    vault: Weak<Vault>,
    account: String,
}

impl AccountAttemptStore {
    /// The counter of `account` in `vault`.
    pub fn new(vault: &Arc<Vault>, account: &str) -> Self {
        Self {
            vault: Arc::downgrade(vault),
            account: account.to_owned(),
        }
    }

    fn vault(&self) -> Result<Arc<Vault>> {
        self.vault.upgrade().ok_or_else(|| Error::Storage {
            reason: "the vault holding the unlock counter was closed".to_owned(),
        })
    }
}

impl AttemptStore for AccountAttemptStore {
    fn load(&self) -> Result<Option<AttemptRecord>> {
        // A Public item: the gate lets it be read before any unlock.
        let Some(bytes) = self
            .vault()?
            .get(&self.account, UNLOCK_NAMESPACE, ATTEMPTS_NAME)?
        else {
            return Ok(None);
        };
        // A count and two times, not secret; reading them is the point.
        decode_attempts(bytes.expose_secret())
            .map(Some)
            .ok_or(Error::Integrity)
    }

    fn save(&self, record: &AttemptRecord) -> Result<()> {
        self.vault()?.put(
            &self.account,
            UNLOCK_NAMESPACE,
            ATTEMPTS_NAME,
            &encode_attempts(record),
            DataClass::Public,
            None,
        )
    }
}

fn encode_attempts(record: &AttemptRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(ATTEMPTS_LEN);
    bytes.push(ATTEMPTS_VERSION);
    bytes.extend_from_slice(&record.failures.to_be_bytes());
    bytes.extend_from_slice(&record.lockouts.to_be_bytes());
    bytes.extend_from_slice(&record.locked_until_ms.to_be_bytes());
    bytes
}

fn decode_attempts(bytes: &[u8]) -> Option<AttemptRecord> {
    let [ATTEMPTS_VERSION, rest @ ..] = bytes else {
        return None;
    };
    let (failures, rest) = rest.split_first_chunk::<4>()?;
    let (lockouts, rest) = rest.split_first_chunk::<4>()?;
    let until: [u8; 8] = rest.try_into().ok()?;
    Some(AttemptRecord {
        failures: u32::from_be_bytes(*failures),
        lockouts: u32::from_be_bytes(*lockouts),
        locked_until_ms: i64::from_be_bytes(until),
    })
}

/// Runs `future` (an unlock) to completion on a current-thread runtime of its own.
///
/// # Errors
/// `io` when the runtime cannot start.
pub fn block_on<F: std::future::Future>(future: F) -> std::result::Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Failure::from(e).context("starting the async runtime"))?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    fn pin(text: &str) -> SecretString {
        SecretString::new(text.to_owned())
    }

    #[test]
    fn pbkdf2_hmac_sha256_known_answers() {
        // RFC 7914 §11: P = "Password", S = "NaCl", c = 80000 (the first 32 of its 64 bytes);
        // and the verifier's own count, 600,000 (the pbkdf2 crate's docs; Python's hashlib
        // agrees).
        let mut out = [0u8; 32];
        let params = Params::new_with_output_len(80_000, 32).unwrap();
        pbkdf2_hmac_with_params(
            b"Password",
            b"NaCl",
            Algorithm::Pbkdf2Sha256,
            params,
            &mut out,
        );
        assert_eq!(
            hex(&out),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
        let hash = derive(&pin("password"), b"salt", ITERATIONS).unwrap();
        assert_eq!(
            hex(hash.expose_secret()),
            "669cfe52482116fda1aa2cbe409b2f56c8e4563752b7a28f6eaab614ee005178"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_verifier_matches_its_pin_only_and_round_trips() {
        let verifier = PinVerifier::new(&pin("4711-canary")).unwrap();
        assert!(verifier.matches(&pin("4711-canary")));
        assert!(!verifier.matches(&pin("4711-canarY")));
        assert!(!verifier.matches(&pin("4711-canary ")));
        let bytes = verifier.encode();
        assert_eq!(bytes.len(), VERIFIER_LEN);
        assert_eq!(bytes.expose_secret()[..6], [1, 1, 0x00, 0x09, 0x27, 0xc0]);
        let decoded = PinVerifier::decode(bytes.expose_secret()).unwrap();
        assert!(decoded.matches(&pin("4711-canary")));
        // Salted: the same PIN twice gives two different hashes.
        let again = PinVerifier::new(&pin("4711-canary")).unwrap();
        assert_ne!(again.salt, verifier.salt);
        assert!(again.hash != verifier.hash);
    }

    #[test]
    fn malformed_or_weakened_verifiers_do_not_decode() {
        let good = PinVerifier::new(&pin("1234")).unwrap().encode();
        let good = good.expose_secret();
        assert!(PinVerifier::decode(good).is_some());
        assert!(PinVerifier::decode(&good[..VERIFIER_LEN - 1]).is_none());
        assert!(PinVerifier::decode(&[good, &[0]].concat()).is_none());
        for (at, value) in [(0, 2), (1, 2)] {
            let mut other = good.to_vec();
            other[at] = value;
            assert!(PinVerifier::decode(&other).is_none(), "byte {at} = {value}");
        }
        for iterations in [1_000u32, ITERATIONS - 1, MAX_ITERATIONS + 1] {
            let mut weak = good.to_vec();
            weak[2..6].copy_from_slice(&iterations.to_be_bytes());
            assert!(PinVerifier::decode(&weak).is_none(), "{iterations}");
        }
    }

    #[test]
    fn the_pin_is_the_trimmed_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let read = |bytes: &[u8]| read_pin(&file("pin", bytes));
        assert_eq!(read(b"  2468 \r\nsecond line\n").unwrap(), pin("2468"));
        assert_eq!(read(b"2468").unwrap(), pin("2468"));
        for (bytes, what) in [
            (&b"\n2468\n"[..], "empty"),
            (b"   \n", "empty"),
            (b"\xff\xfe24\n", "not UTF-8"),
        ] {
            let error = read(bytes).unwrap_err().to_string();
            assert!(error.starts_with("invalid-input: "), "{error}");
            assert!(error.contains(what), "{error}");
        }
        let long = vec![b'7'; MAX_PIN_BYTES + 1];
        assert!(read(&long).unwrap_err().to_string().contains("longer than"));
        let huge = vec![b'7'; 64 * 1024 + 1];
        assert!(read(&huge).unwrap_err().to_string().contains("64 KiB"));
        let short = file("short", b"123\n");
        let error = read_new_pin(&short).unwrap_err().to_string();
        assert!(error.contains("at least 4 characters"), "{error}");
        assert!(read_new_pin(&file("ok", "12€4".as_bytes())).is_ok());
        let missing = read_pin(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(missing.starts_with("io: the PIN file "), "{missing}");
    }

    #[test]
    fn errors_about_a_pin_file_never_show_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        let canary = "CANARY-PIN-0b7e";
        for bytes in [
            format!("{}\n", canary.repeat(20)).into_bytes(),
            [b"\xff".as_slice(), canary.as_bytes()].concat(),
        ] {
            std::fs::write(&path, &bytes).unwrap();
            let error = read_pin(&path).unwrap_err();
            let printed = format!("{error} {error:?}");
            assert!(!printed.contains("CANARY"), "{printed}");
        }
        std::fs::write(&path, canary).unwrap();
        let read = read_pin(&path).unwrap();
        assert_eq!(format!("{read:?}"), "SecretString");
    }

    #[test]
    fn the_authenticator_reports_a_device_credential_or_a_failure() {
        let request = |allowed: Vec<AuthMethod>| AuthRequest {
            reason: "test".to_owned(),
            account: None,
            class: DataClass::Restricted,
            allowed,
        };
        let verifier = || Some(PinVerifier::new(&pin("2468")).unwrap());
        let all = cli_policy().methods(DataClass::Restricted).to_vec();
        let outcome = |authenticator: PinAuthenticator, allowed: Vec<AuthMethod>| {
            block_on(authenticator.authenticate(request(allowed))).unwrap()
        };
        assert_eq!(
            outcome(PinAuthenticator::new(pin("2468"), verifier()), all.clone()),
            AuthOutcome::Success {
                method: AuthMethod::DeviceCredential
            }
        );
        assert_eq!(
            outcome(PinAuthenticator::new(pin("2469"), verifier()), all.clone()),
            AuthOutcome::Failed
        );
        assert_eq!(
            outcome(PinAuthenticator::new(pin("2468"), None), all),
            AuthOutcome::NotEnrolled
        );
        assert_eq!(
            outcome(
                PinAuthenticator::new(pin("2468"), verifier()),
                vec![AuthMethod::StrongBiometric]
            ),
            AuthOutcome::NotEnrolled
        );
    }

    #[test]
    fn the_cli_policy_is_the_default_plus_a_device_credential_for_restricted() {
        let policy = cli_policy();
        policy.validate().unwrap();
        let default = UnlockPolicy::default();
        assert_eq!(
            policy.methods(DataClass::Restricted),
            &[AuthMethod::StrongBiometric, AuthMethod::DeviceCredential]
        );
        for class in [
            DataClass::Public,
            DataClass::Internal,
            DataClass::Confidential,
        ] {
            assert_eq!(policy.requirement(class), default.requirement(class));
            assert_eq!(policy.methods(class), default.methods(class));
        }
        assert_eq!(
            policy.requirement(DataClass::Restricted),
            default.requirement(DataClass::Restricted)
        );
        assert_eq!(
            (policy.max_failures, policy.lockout, policy.max_lockout),
            (default.max_failures, default.lockout, default.max_lockout)
        );
    }

    #[test]
    fn attempt_records_round_trip() {
        let record = AttemptRecord {
            failures: 4,
            lockouts: 2,
            locked_until_ms: 1_796_155_452_123,
        };
        let bytes = encode_attempts(&record);
        assert_eq!(bytes.len(), ATTEMPTS_LEN);
        assert_eq!(decode_attempts(&bytes), Some(record));
        assert_eq!(decode_attempts(&bytes[..ATTEMPTS_LEN - 1]), None);
        assert_eq!(decode_attempts(&[bytes.as_slice(), &[0]].concat()), None);
        let mut other = bytes.clone();
        other[0] = 2;
        assert_eq!(decode_attempts(&other), None);
    }

    #[test]
    fn the_counter_is_an_item_of_the_account_and_a_malformed_one_is_an_integrity_failure() {
        use rukasec_core::events::EventBus;
        use rukasec_core::vault::wrappers::MemoryKeyWrapper;

        let dir = tempfile::tempdir().unwrap();
        let vault = Arc::new(
            Vault::open(
                dir.path(),
                Arc::new(MemoryKeyWrapper::new()),
                Arc::new(EventBus::new(None)),
            )
            .unwrap(),
        );
        let store = AccountAttemptStore::new(&vault, "alice");
        assert_eq!(store.load().unwrap(), None);
        let record = AttemptRecord {
            failures: 2,
            lockouts: 1,
            locked_until_ms: 1_796_155_452_123,
        };
        store.save(&record).unwrap();
        assert_eq!(store.load().unwrap(), Some(record));
        assert_eq!(
            vault
                .class_of("alice", UNLOCK_NAMESPACE, ATTEMPTS_NAME)
                .unwrap(),
            Some(DataClass::Public)
        );
        // Another account has a counter of its own.
        assert_eq!(
            AccountAttemptStore::new(&vault, "bob").load().unwrap(),
            None
        );
        vault
            .put(
                "alice",
                UNLOCK_NAMESPACE,
                ATTEMPTS_NAME,
                b"\x01short",
                DataClass::Public,
                None,
            )
            .unwrap();
        assert!(matches!(store.load(), Err(Error::Integrity)));
        drop(vault);
        assert!(matches!(store.load(), Err(Error::Storage { .. })));
    }

    #[test]
    fn unlock_with_takes_pin_file_paths_only() {
        assert!(matches!(
            parse_unlock_with("pin-file:/tmp/a:b"),
            Ok(UnlockWith::PinFile(path)) if path == Path::new("/tmp/a:b")
        ));
        for bad in ["pin-file:", "/tmp/pin", "biometric", "pin:/tmp/x", ""] {
            assert!(parse_unlock_with(bad).is_err(), "{bad}");
        }
    }
}
