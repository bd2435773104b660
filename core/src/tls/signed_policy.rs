//! Signed pin-policy updates: new pins without a new app release, and without trusting the
//! channel they arrive on.
//!
//! Pins ship in the app, but keys change faster than every customer updates. So the pin policy
//! can be replaced at run time by a document signed offline with a P-256 key whose public key
//! ships in the app. Whoever delivers the document (our API, a CDN, an attacker in the middle)
//! cannot change it, and:
//!
//! - **the signature is checked before anything else is read**: the verifier, not the document,
//!   decides the algorithm (ES256, RFC 7518), so `"alg": "none"` or HMAC tricks (RFC 8725 §2.1)
//!   have nothing to work with, and the header and payload parsers only ever see signed bytes;
//! - **every document expires** (`expires`, checked against the caller's clock), so a document
//!   captured once cannot pin the app to retired keys forever;
//! - **versions only go up** ([`PolicyUpdater::apply`]): an attacker replaying an older,
//!   validly signed document (with a key since retired) is refused, even when the installed
//!   document has itself expired. The same version with other content is refused too: two
//!   documents cannot both be version 7;
//! - several signing keys may be trusted at once, so the signing key itself can be rotated.
//!
//! The format is a JWS compact serialisation (RFC 7515) of the policy JSON; docs/FORMAT.md,
//! "Signed pin-policy update", gives every byte and the order of the checks. Installed documents
//! are kept in a [`PolicyStore`] (a file written atomically, or the vault) and re-verified each
//! time they are read.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::PinPolicy;
use super::policy::{MAX_POLICY_JSON_LEN, parse_document};
use crate::crypto::Crypto;
use crate::error::{Error, Result, TlsFailure};
use crate::events::{EventBus, SecurityEvent, SecurityEventKind};
use crate::signing::PublicKeyInfo;
use crate::vault::{DataClass, Vault};

/// The only signature algorithm (JWS `alg`): ECDSA P-256 with SHA-256, P1363 signature.
const ALGORITHM: &str = "ES256";
/// The JWS `typ` a pin-policy document must carry, so no other token signed with the same key
/// can pass for one.
const DOCUMENT_TYPE: &str = "rukasec-pin-policy+jwt";
/// Longest encoded protected header.
const MAX_HEADER_LEN: usize = 1024;
/// Longest signed document: a policy of the largest size, base64url-encoded, with a header and
/// a signature.
const MAX_DOCUMENT_LEN: usize = MAX_POLICY_JSON_LEN.div_ceil(3) * 4 + MAX_HEADER_LEN + 128;
/// Length of an ES256 signature (P1363 `r‖s`).
const SIGNATURE_LEN: usize = 64;
/// Where [`VaultPolicyStore`] keeps the document.
const VAULT_NAMESPACE: &str = "rukasec.tls";
/// The item name under [`VAULT_NAMESPACE`].
const VAULT_NAME: &str = "pin-policy";
/// The reason of every signature failure: fixed, so it says nothing about why.
const BAD_SIGNATURE: &str = "the pin policy's signature does not verify with a trusted key";

/// Checks signed pin-policy documents against the app's trusted P-256 signing keys.
#[derive(Debug, Clone)]
pub struct SignedPolicyVerifier {
    /// SEC1-encoded public keys.
    keys: Vec<Box<[u8]>>,
}

/// A pin policy whose signature verified, with the fields of its signed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPolicy {
    /// The policy.
    pub policy: PinPolicy,
    /// The document's version (at least 1); a newer document has a higher one.
    pub version: u64,
    /// When the document stops being valid.
    pub expires: SystemTime,
    /// The document itself (JWS compact, without surrounding whitespace), as stored.
    pub document: String,
}

impl SignedPolicyVerifier {
    /// A verifier trusting each of `public_keys`: P-256 public keys as SubjectPublicKeyInfo, in
    /// PEM (`-----BEGIN PUBLIC KEY-----`) or DER. Several keys let the signing key be rotated
    /// (sign with the new key once every app in use trusts it).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no key is given or a key is not a P-256 SubjectPublicKeyInfo.
    pub fn new(public_keys: &[&[u8]]) -> Result<Self> {
        if public_keys.is_empty() {
            return Err(Error::invalid_input(
                "a pin policy verifier needs at least one public key",
            ));
        }
        let keys = public_keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                PublicKeyInfo::from_spki(key)
                    .map(|info| info.sec1.into_boxed_slice())
                    .map_err(|error| {
                        Error::invalid_input(format!(
                            "public key {}: {}",
                            index + 1,
                            error.reason()
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { keys })
    }

    /// Verifies a signed document: its signature with any trusted key, its form, and that it
    /// has not expired (`now < expires`). Does not check rollback (that needs the installed
    /// document: [`PolicyUpdater::apply`]).
    ///
    /// # Errors
    /// [`Error::Tls`] with [`TlsFailure::PolicySignature`] when the signature does not verify
    /// (or is malformed, or the header names another algorithm than ES256), and with
    /// [`TlsFailure::PolicyExpired`] when the document has expired; [`Error::InvalidInput`] for
    /// a malformed document (shape, size, base64, header, policy JSON, missing `version` or
    /// `expires`); [`Error::CryptoUnavailable`].
    pub fn verify(&self, document: &str, now: SystemTime) -> Result<SignedPolicy> {
        let policy = self.check(document)?;
        if now >= policy.expires {
            return Err(expired());
        }
        Ok(policy)
    }

    /// [`SignedPolicyVerifier::verify`] without the expiry check.
    fn check(&self, document: &str) -> Result<SignedPolicy> {
        let document = document.trim_ascii();
        if document.len() > MAX_DOCUMENT_LEN {
            return Err(Error::invalid_input(format!(
                "a signed pin policy is {} bytes (at most {MAX_DOCUMENT_LEN})",
                document.len()
            )));
        }
        const SHAPE: &str =
            "a signed pin policy is three base64url parts separated by dots (JWS compact)";
        let (signing_input, signature) = document
            .rsplit_once('.')
            .ok_or_else(|| Error::invalid_input(SHAPE))?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or_else(|| Error::invalid_input(SHAPE))?;
        if payload.contains('.') {
            return Err(Error::invalid_input(SHAPE));
        }
        if header.len() > MAX_HEADER_LEN {
            return Err(Error::invalid_input(format!(
                "a signed pin policy's header is longer than {MAX_HEADER_LEN} bytes"
            )));
        }
        // The signature first: the header and payload parsers only ever see signed bytes, and
        // the algorithm is the verifier's, never the document's choice.
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| bad_signature())?;
        if signature.len() != SIGNATURE_LEN {
            return Err(bad_signature());
        }
        let crypto = Crypto::get()?;
        let trusted = self.keys.iter().any(|key| {
            crypto
                .p256_sha256_verify(key, signing_input.as_bytes(), &signature)
                .is_ok()
        });
        if !trusted {
            return Err(bad_signature());
        }

        // Signed by a trusted key from here on; still checked for form.
        let header: Header =
            serde_json::from_slice(&decode_part(header, "header")?).map_err(|_| {
                Error::invalid_input(
                    "a signed pin policy's header is not a JSON object of alg, typ and kid",
                )
            })?;
        if header.alg != ALGORITHM {
            return Err(Error::tls(
                TlsFailure::PolicySignature,
                "the pin policy's header names another algorithm than ES256",
            ));
        }
        if header.typ.as_deref() != Some(DOCUMENT_TYPE) {
            return Err(Error::invalid_input(format!(
                "a signed pin policy's header needs \"typ\": \"{DOCUMENT_TYPE}\""
            )));
        }
        let payload = String::from_utf8(decode_part(payload, "payload")?)
            .map_err(|_| Error::invalid_input("a signed pin policy's payload is not UTF-8"))?;
        let parsed = parse_document(&payload)?;
        let version = parsed.version.filter(|&v| v >= 1).ok_or_else(|| {
            Error::invalid_input("a signed pin policy needs a \"version\" of at least 1")
        })?;
        let expires = parsed.expires.ok_or_else(|| {
            Error::invalid_input("a signed pin policy needs \"expires\" (RFC 3339 UTC)")
        })?;
        Ok(SignedPolicy {
            policy: parsed.policy,
            version,
            expires,
            document: document.to_owned(),
        })
    }
}

/// The JWS protected header. `kid` is informational: every trusted key is tried.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    kid: Option<String>,
}

/// A base64url part (no padding) of a signed document.
fn decode_part(part: &str, name: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        Error::invalid_input(format!(
            "a signed pin policy's {name} is not base64url without padding"
        ))
    })
}

fn bad_signature() -> Error {
    Error::tls(TlsFailure::PolicySignature, BAD_SIGNATURE)
}

fn expired() -> Error {
    Error::tls(
        TlsFailure::PolicyExpired,
        "the signed pin policy has expired",
    )
}

/// Where the installed signed document is kept. Implementations return exactly what was saved;
/// the document is re-verified on every load, so a store needs durability, not secrecy.
pub trait PolicyStore: Send + Sync {
    /// The saved document, if any.
    ///
    /// # Errors
    /// [`Error::Storage`] (or the backing store's error) when it cannot be read.
    fn load(&self) -> Result<Option<String>>;

    /// Replaces the saved document. Durable when it returns.
    ///
    /// # Errors
    /// [`Error::Storage`] (or the backing store's error) when it cannot be written.
    fn save(&self, document: &str) -> Result<()>;
}

/// A [`PolicyStore`] in one file, replaced atomically (a temporary file in the same directory,
/// flushed, renamed over the old one, then the directory flushed), so a crash leaves the old
/// document or the new one, never a mix.
#[derive(Debug, Clone)]
pub struct FilePolicyStore {
    path: PathBuf,
}

impl FilePolicyStore {
    /// A store in the file at `path` (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl PolicyStore for FilePolicyStore {
    fn load(&self) -> Result<Option<String>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut bytes = Vec::new();
        file.take(u64::try_from(MAX_DOCUMENT_LEN).unwrap_or(u64::MAX) + 1)
            .read_to_end(&mut bytes)?;
        // A damaged file is handed on as text rather than failing the read: it then fails
        // verification and is reported like any other rejected document.
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn save(&self, document: &str) -> Result<()> {
        let file_name = self
            .path
            .file_name()
            .ok_or_else(|| Error::invalid_input("a policy store path names no file"))?;
        let dir = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let suffix: [u8; 8] = Crypto::get()?.random_array()?;
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            file_name.to_string_lossy(),
            hex::encode(suffix)
        ));
        let written = write_and_rename(&temp, &self.path, document.as_bytes());
        if written.is_err() {
            // Best effort: the temporary file is garbage either way.
            let _ = fs::remove_file(&temp);
        }
        written?;
        sync_dir(dir)
    }
}

/// Writes `bytes` to the new file `temp`, flushes it, and renames it to `path`.
fn write_and_rename(temp: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)?;
    Ok(())
}

/// Flushes a directory, so a rename in it survives a crash (a no-op where directories cannot
/// be opened as files).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A [`PolicyStore`] in the vault: namespace `rukasec.tls`, name `pin-policy`, class
/// `Public`, no expiry, for one account (use a fixed device-wide account id, such as
/// `device`, when the policy is not per customer). The document is signed, not secret, and is
/// needed at start, before any unlock: it is read past the vault's unlock gate (older stores
/// kept it as `Internal`; they still load).
pub struct VaultPolicyStore {
    vault: Arc<Vault>,
    account: String,
}

impl VaultPolicyStore {
    /// A store in `vault` under `account`.
    pub fn new(vault: Arc<Vault>, account: &str) -> Self {
        Self {
            vault,
            account: account.to_owned(),
        }
    }
}

impl PolicyStore for VaultPolicyStore {
    fn load(&self) -> Result<Option<String>> {
        let value = self
            .vault
            .get_ungated(&self.account, VAULT_NAMESPACE, VAULT_NAME)?;
        // The document is public (signed, not secret): reading it out of the vault leaks nothing.
        Ok(value.map(|value| String::from_utf8_lossy(value.expose_secret()).into_owned()))
    }

    fn save(&self, document: &str) -> Result<()> {
        self.vault.put(
            &self.account,
            VAULT_NAMESPACE,
            VAULT_NAME,
            document.as_bytes(),
            DataClass::Public,
            None,
        )
    }
}

/// Installs signed pin-policy documents: verifies them, refuses rollback, persists them, and
/// reports every decision as a security event.
///
/// Calls on one updater are serialised. Two updaters (or processes) on the same store are not
/// coordinated: give each store one updater.
pub struct PolicyUpdater {
    verifier: SignedPolicyVerifier,
    store: Arc<dyn PolicyStore>,
    events: Arc<EventBus>,
    /// Held from the rollback check to the save.
    applying: Mutex<()>,
}

impl PolicyUpdater {
    /// An updater verifying with `verifier`, keeping documents in `store`, reporting to
    /// `events`.
    pub fn new(
        verifier: SignedPolicyVerifier,
        store: Arc<dyn PolicyStore>,
        events: Arc<EventBus>,
    ) -> Self {
        Self {
            verifier,
            store,
            events,
            applying: Mutex::new(()),
        }
    }

    /// The installed document, re-verified. `None` when there is none, when it has expired
    /// (with a `PinPolicyRejected` event, `failure` = `policy-expired`), or when it no longer
    /// verifies (tampered, or signed with a key no longer trusted; with a `PinPolicyRejected`
    /// event).
    ///
    /// # Errors
    /// The store's error when it cannot be read; [`Error::CryptoUnavailable`].
    pub fn installed(&self, now: SystemTime) -> Result<Option<SignedPolicy>> {
        let Some(document) = self.store.load()? else {
            return Ok(None);
        };
        match self.verifier.check(&document) {
            Ok(policy) if now < policy.expires => Ok(Some(policy)),
            Ok(policy) => {
                self.reject(TlsFailure::PolicyExpired.as_str(), Some(policy.version));
                Ok(None)
            }
            Err(error) => match rejection(&error) {
                Some(failure) => {
                    self.reject(failure, None);
                    Ok(None)
                }
                None => Err(error),
            },
        }
    }

    /// Installs `document` if it verifies ([`SignedPolicyVerifier::verify`]) and is not a
    /// rollback: its version must be higher than the installed document's (which counts even
    /// when it has expired); the same version is accepted only with the same bytes, as an
    /// idempotent no-op. On success the document is saved and a `PinPolicyUpdated` event
    /// (`version`) emitted; on refusal a `PinPolicyRejected` event (`failure`, and `version`
    /// once the signature verified).
    ///
    /// # Errors
    /// [`Error::Tls`] with [`TlsFailure::PolicySignature`], [`TlsFailure::PolicyExpired`] or
    /// [`TlsFailure::PolicyRollback`]; [`Error::InvalidInput`] for a malformed document; the
    /// store's error; [`Error::CryptoUnavailable`].
    pub fn apply(&self, document: &str, now: SystemTime) -> Result<SignedPolicy> {
        let _applying = self.applying.lock().unwrap_or_else(PoisonError::into_inner);
        let candidate = match self.verifier.check(document) {
            Ok(candidate) => candidate,
            Err(error) => {
                if let Some(failure) = rejection(&error) {
                    self.reject(failure, None);
                }
                return Err(error);
            }
        };
        if now >= candidate.expires {
            self.reject(TlsFailure::PolicyExpired.as_str(), Some(candidate.version));
            return Err(expired());
        }
        if let Some(installed) = self.installed_any_age()? {
            if candidate.version == installed.version && candidate.document == installed.document {
                return Ok(candidate);
            }
            if candidate.version <= installed.version {
                self.reject(TlsFailure::PolicyRollback.as_str(), Some(candidate.version));
                let reason = if candidate.version == installed.version {
                    format!(
                        "pin policy version {} is already installed with other content",
                        candidate.version
                    )
                } else {
                    format!(
                        "pin policy version {} is lower than the installed version {}",
                        candidate.version, installed.version
                    )
                };
                return Err(Error::tls(TlsFailure::PolicyRollback, reason));
            }
        }
        self.store.save(&candidate.document)?;
        self.events.emit(
            SecurityEvent::new(SecurityEventKind::PinPolicyUpdated)
                .with_detail("version", candidate.version.to_string()),
        );
        Ok(candidate)
    }

    /// The installed document if its signature still verifies, expired or not (its version
    /// still bounds rollback). A document that no longer verifies does not count.
    fn installed_any_age(&self) -> Result<Option<SignedPolicy>> {
        let Some(document) = self.store.load()? else {
            return Ok(None);
        };
        match self.verifier.check(&document) {
            Ok(policy) => Ok(Some(policy)),
            Err(error) if rejection(&error).is_some() => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn reject(&self, failure: &'static str, version: Option<u64>) {
        let mut event = SecurityEvent::new(SecurityEventKind::PinPolicyRejected)
            .with_detail("failure", failure);
        if let Some(version) = version {
            event = event.with_detail("version", version.to_string());
        }
        self.events.emit(event);
    }
}

/// The `failure` detail of a refused document, or `None` for errors that are not about the
/// document (crypto unavailable, storage).
fn rejection(error: &Error) -> Option<&'static str> {
    match error {
        Error::Tls { failure, .. } => Some(failure.as_str()),
        Error::InvalidInput { .. } => Some("malformed"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use base64::engine::general_purpose::STANDARD;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};
    use p256::pkcs8::EncodePublicKey as _;

    use super::*;
    use crate::tls::SpkiPin;
    use crate::vault::wrappers::MemoryKeyWrapper;

    const WAIT: Duration = Duration::from_secs(10);
    /// 2027-01-01T00:00:00Z.
    const NOW: u64 = 1_798_761_600;
    const HEADER: &str = r#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt","kid":"2027-a"}"#;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn signing_key(n: u8) -> SigningKey {
        SigningKey::from_slice(&[n; 32]).unwrap()
    }

    fn spki_der(key: &SigningKey) -> Vec<u8> {
        key.verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    fn spki_pem(key: &SigningKey) -> String {
        let body = STANDARD.encode(spki_der(key));
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    fn verifier(keys: &[&SigningKey]) -> SignedPolicyVerifier {
        let ders: Vec<Vec<u8>> = keys.iter().map(|key| spki_der(key)).collect();
        let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        SignedPolicyVerifier::new(&refs).unwrap()
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn pin(n: u8) -> String {
        format!("sha256/{}", STANDARD.encode([n; 32]))
    }

    /// A policy document of `version`, expiring at `expires`, pinning api.rukapay.com to
    /// pins `first` and `first + 1`.
    fn payload(version: u64, expires: &str, first: u8) -> String {
        format!(
            r#"{{"version":{version},"expires":"{expires}","domains":[{{"pattern":"api.rukapay.com","pins":["{}","{}"]}}]}}"#,
            pin(first),
            pin(first + 1)
        )
    }

    fn jws(key: &SigningKey, header: &str, payload: &str) -> String {
        let signing_input = format!("{}.{}", b64(header), b64(payload));
        let signature: Signature = key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(signature.to_bytes()))
    }

    fn document(version: u64, first: u8) -> String {
        jws(
            &signing_key(1),
            HEADER,
            &payload(version, "2027-12-31T00:00:00Z", first),
        )
    }

    fn failure(result: Result<SignedPolicy>) -> Option<TlsFailure> {
        match result {
            Err(Error::Tls { failure, .. }) => Some(failure),
            Err(Error::InvalidInput { .. }) => None,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_good_document_verifies_with_any_trusted_key() {
        let doc = document(3, 1);
        let signed = verifier(&[&signing_key(1)]).verify(&doc, now()).unwrap();
        assert_eq!(signed.version, 3);
        assert_eq!(
            signed.expires,
            UNIX_EPOCH + Duration::from_secs(1_830_211_200)
        );
        assert_eq!(signed.document, doc);
        let api = signed.policy.find("api.rukapay.com").unwrap();
        assert_eq!(api.pins()[0], pin(1).parse::<SpkiPin>().unwrap());

        // PEM keys, several keys (rotation), surrounding whitespace in the document.
        let pem_old = spki_pem(&signing_key(2));
        let pem_new = spki_pem(&signing_key(1));
        let rotating =
            SignedPolicyVerifier::new(&[pem_old.as_bytes(), pem_new.as_bytes()]).unwrap();
        let again = rotating.verify(&format!("\n {doc}\r\n"), now()).unwrap();
        assert_eq!(again, signed);
    }

    #[test]
    fn verifier_keys_must_be_p256_spki() {
        assert!(SignedPolicyVerifier::new(&[]).is_err());
        let der = spki_der(&signing_key(1));
        let sec1 = signing_key(1).verifying_key().to_sec1_bytes();
        let rsa_like = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        for bad in [&b""[..], b"garbage", &der[..der.len() - 1], &sec1, rsa_like] {
            let error = SignedPolicyVerifier::new(&[&der, bad]).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidInput { reason } if reason.starts_with("public key 2")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_changed_byte_in_any_part_breaks_the_signature() {
        let doc = document(3, 1);
        let verifier = verifier(&[&signing_key(1)]);
        let dots: Vec<usize> = doc.match_indices('.').map(|(i, _)| i).collect();
        let positions = [
            0,
            dots[0] / 2,
            dots[0] - 1,
            dots[0] + 1,
            (dots[0] + dots[1]) / 2,
            dots[1] - 1,
            dots[1] + 1,
            (dots[1] + doc.len()) / 2,
            doc.len() - 2,
            doc.len() - 1,
        ];
        for position in positions {
            let mut bytes = doc.clone().into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                failure(verifier.verify(&tampered, now())),
                Some(TlsFailure::PolicySignature),
                "byte {position}"
            );
        }
        // Swapped signatures between documents, truncated or padded signatures.
        let other = document(4, 1);
        let (input, _) = doc.rsplit_once('.').unwrap();
        let (_, other_signature) = other.rsplit_once('.').unwrap();
        for signature in [
            other_signature.to_owned(),
            String::new(),
            b64([0u8; 63]),
            b64([0u8; 65]),
            b64([0u8; 64]),
            format!("{other_signature}=="),
        ] {
            assert_eq!(
                failure(verifier.verify(&format!("{input}.{signature}"), now())),
                Some(TlsFailure::PolicySignature)
            );
        }
    }

    #[test]
    fn another_key_is_not_trusted() {
        let doc = jws(
            &signing_key(2),
            HEADER,
            &payload(3, "2027-12-31T00:00:00Z", 1),
        );
        let error = verifier(&[&signing_key(1)])
            .verify(&doc, now())
            .unwrap_err();
        assert_eq!(
            error,
            Error::tls(TlsFailure::PolicySignature, BAD_SIGNATURE)
        );
    }

    #[test]
    fn only_es256_is_accepted() {
        let verifier = verifier(&[&signing_key(1)]);
        let body = payload(3, "2027-12-31T00:00:00Z", 1);
        // "none": no signature at all.
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"rukasec-pin-policy+jwt"}"#),
            b64(&body)
        );
        assert_eq!(
            failure(verifier.verify(&none, now())),
            Some(TlsFailure::PolicySignature)
        );
        // HS256 keyed with the public key (the classic confusion).
        let header = b64(r#"{"alg":"HS256","typ":"rukasec-pin-policy+jwt"}"#);
        let input = format!("{header}.{}", b64(&body));
        let crypto = Crypto::get().unwrap();
        let tag = crypto.hmac_sha256(&spki_der(&signing_key(1)), input.as_bytes());
        let hs256 = format!("{input}.{}", b64(tag));
        assert_eq!(
            failure(verifier.verify(&hs256, now())),
            Some(TlsFailure::PolicySignature)
        );
        // Even validly ES256-signed, a header naming another algorithm is refused.
        for alg in ["none", "HS256", "ES384", "es256"] {
            let header = format!(r#"{{"alg":"{alg}","typ":"rukasec-pin-policy+jwt"}}"#);
            let doc = jws(&signing_key(1), &header, &body);
            assert_eq!(
                failure(verifier.verify(&doc, now())),
                Some(TlsFailure::PolicySignature),
                "{alg}"
            );
        }
    }

    #[test]
    fn malformed_documents_are_invalid_input() {
        let key = signing_key(1);
        let verifier = verifier(&[&key]);
        let good_body = payload(3, "2027-12-31T00:00:00Z", 1);
        let cases = [
            jws(&key, r#"{"alg":"ES256"}"#, &good_body),
            jws(&key, r#"{"alg":"ES256","typ":"JWT"}"#, &good_body),
            jws(
                &key,
                r#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt","crit":["exp"]}"#,
                &good_body,
            ),
            jws(
                &key,
                r#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt","jku":"https://evil"}"#,
                &good_body,
            ),
            jws(&key, "not json", &good_body),
            jws(&key, HEADER, &payload(0, "2027-12-31T00:00:00Z", 1)),
            jws(&key, HEADER, r#"{"domains":[]}"#),
            jws(&key, HEADER, r#"{"version":1,"domains":[]}"#),
            jws(
                &key,
                HEADER,
                r#"{"version":1,"expires":"2027-12-31","domains":[]}"#,
            ),
            jws(
                &key,
                HEADER,
                r#"{"version":1,"expires":"2027-12-31T00:00:00Z","domains":[],"x":1}"#,
            ),
            jws(&key, HEADER, "\u{0}not json"),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            String::new(),
            "...".to_owned(),
            format!("{}.", "a".repeat(MAX_DOCUMENT_LEN)),
        ];
        for (index, doc) in cases.iter().enumerate() {
            assert_eq!(failure(verifier.verify(doc, now())), None, "case {index}");
        }
        // Signed bytes that are not base64url (padding, standard alphabet, not UTF-8).
        let sign_raw = |header: &str, payload: &str| {
            let input = format!("{header}.{payload}");
            let signature: Signature = key.sign(input.as_bytes());
            format!("{input}.{}", b64(signature.to_bytes()))
        };
        let padded = format!("{}=", b64(&good_body));
        for doc in [
            sign_raw(&b64(HEADER), &padded),
            sign_raw(&STANDARD.encode(HEADER), &b64(&good_body)),
            sign_raw(&b64(HEADER), &b64([0xff, 0xfe, 0x00])),
            sign_raw(&format!("{}=", b64(HEADER)), &b64(&good_body)),
        ] {
            assert_eq!(failure(verifier.verify(&doc, now())), None);
        }
        // The empty policy with version and expiry is fine.
        let empty = jws(
            &key,
            HEADER,
            r#"{"version":1,"expires":"2027-12-31T00:00:00Z","domains":[]}"#,
        );
        assert!(
            verifier
                .verify(&empty, now())
                .unwrap()
                .policy
                .domains()
                .is_empty()
        );
    }

    #[test]
    fn expired_documents_are_refused() {
        let verifier = verifier(&[&signing_key(1)]);
        let doc = jws(
            &signing_key(1),
            HEADER,
            &payload(3, "2027-01-01T00:00:00Z", 1),
        );
        assert_eq!(
            failure(verifier.verify(&doc, now())),
            Some(TlsFailure::PolicyExpired)
        );
        assert!(
            verifier
                .verify(&doc, now() - Duration::from_nanos(1))
                .is_ok()
        );
    }

    // --- The updater ------------------------------------------------------------------------

    type Collect = crate::events::EventCollector;

    struct Fixture {
        dir: tempfile::TempDir,
        collected: Arc<Collect>,
        bus: Arc<EventBus>,
    }

    impl Fixture {
        fn new() -> Self {
            let collected = Arc::new(Collect::default());
            Self {
                dir: tempfile::tempdir().unwrap(),
                bus: Arc::new(EventBus::new(Some(collected.clone()))),
                collected,
            }
        }

        fn file_store(&self) -> Arc<dyn PolicyStore> {
            Arc::new(FilePolicyStore::new(self.dir.path().join("pin-policy.jws")))
        }

        fn updater(&self, store: Arc<dyn PolicyStore>) -> PolicyUpdater {
            PolicyUpdater::new(verifier(&[&signing_key(1)]), store, self.bus.clone())
        }

        /// The events so far as (kind, failure, version), then forgets them.
        fn events(&self) -> Vec<(SecurityEventKind, Option<String>, Option<String>)> {
            assert!(self.bus.flush(WAIT));
            self.collected
                .take()
                .into_iter()
                .map(|e| {
                    (
                        e.kind,
                        e.details.get("failure").cloned(),
                        e.details.get("version").cloned(),
                    )
                })
                .collect()
        }
    }

    fn updated(version: &str) -> (SecurityEventKind, Option<String>, Option<String>) {
        (
            SecurityEventKind::PinPolicyUpdated,
            None,
            Some(version.to_owned()),
        )
    }

    fn rejected(
        failure: &str,
        version: Option<&str>,
    ) -> (SecurityEventKind, Option<String>, Option<String>) {
        (
            SecurityEventKind::PinPolicyRejected,
            Some(failure.to_owned()),
            version.map(str::to_owned),
        )
    }

    #[test]
    fn apply_installs_newer_versions_and_refuses_rollback() {
        let fixture = Fixture::new();
        let updater = fixture.updater(fixture.file_store());
        assert_eq!(updater.installed(now()).unwrap(), None);

        let v2 = document(2, 1);
        assert_eq!(updater.apply(&v2, now()).unwrap().version, 2);
        assert_eq!(updater.installed(now()).unwrap().unwrap().document, v2);
        assert_eq!(fixture.events(), vec![updated("2")]);

        // Lower version, same version with other content: rollback.
        assert_eq!(
            failure(updater.apply(&document(1, 1), now())),
            Some(TlsFailure::PolicyRollback)
        );
        assert_eq!(
            failure(updater.apply(&document(2, 7), now())),
            Some(TlsFailure::PolicyRollback)
        );
        assert_eq!(
            fixture.events(),
            vec![
                rejected("policy-rollback", Some("1")),
                rejected("policy-rollback", Some("2"))
            ]
        );
        // Same version, same bytes: an idempotent success, nothing new to report.
        assert_eq!(
            updater.apply(&format!("{v2}\n"), now()).unwrap().document,
            v2
        );
        assert_eq!(fixture.events(), vec![]);

        // Bad signature, malformed, expired.
        let mut forged = document(9, 1).into_bytes();
        forged[5] ^= 1;
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            failure(updater.apply(&forged, now())),
            Some(TlsFailure::PolicySignature)
        );
        assert_eq!(failure(updater.apply("not a jws", now())), None);
        let stale = jws(
            &signing_key(1),
            HEADER,
            &payload(9, "2026-12-31T00:00:00Z", 1),
        );
        assert_eq!(
            failure(updater.apply(&stale, now())),
            Some(TlsFailure::PolicyExpired)
        );
        assert_eq!(
            fixture.events(),
            vec![
                rejected("policy-signature", None),
                rejected("malformed", None),
                rejected("policy-expired", Some("9")),
            ]
        );
        // None of that replaced v2.
        assert_eq!(updater.installed(now()).unwrap().unwrap().version, 2);

        let v3 = document(3, 5);
        assert_eq!(updater.apply(&v3, now()).unwrap().version, 3);
        let installed = updater.installed(now()).unwrap().unwrap();
        assert_eq!(installed.version, 3);
        assert!(
            installed.policy.find("api.rukapay.com").unwrap().pins()[0] == pin(5).parse().unwrap()
        );
        assert_eq!(fixture.events(), vec![updated("3")]);
    }

    #[test]
    fn an_expired_installed_document_still_bounds_rollback() {
        let fixture = Fixture::new();
        let updater = fixture.updater(fixture.file_store());
        let short = jws(
            &signing_key(1),
            HEADER,
            &payload(5, "2027-02-01T00:00:00Z", 1),
        );
        updater.apply(&short, now()).unwrap();
        let later = UNIX_EPOCH + Duration::from_secs(1_801_440_000); // 2027-02-01T00:00:00Z
        assert_eq!(updater.installed(later).unwrap(), None);
        assert_eq!(
            fixture.events(),
            vec![updated("5"), rejected("policy-expired", Some("5"))]
        );
        // An older (still valid) document cannot come back in.
        assert_eq!(
            failure(updater.apply(&document(4, 1), later)),
            Some(TlsFailure::PolicyRollback)
        );
        assert_eq!(updater.apply(&document(6, 1), later).unwrap().version, 6);
        assert_eq!(updater.installed(later).unwrap().unwrap().version, 6);
    }

    #[test]
    fn file_store_round_trips_atomically_and_detects_tampering() {
        let fixture = Fixture::new();
        let path = fixture.dir.path().join("pin-policy.jws");
        let store = FilePolicyStore::new(&path);
        assert_eq!(store.load().unwrap(), None);
        store.save("first").unwrap();
        store.save("second").unwrap();
        assert_eq!(store.load().unwrap().as_deref(), Some("second"));
        let names: Vec<_> = fs::read_dir(fixture.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("pin-policy.jws")],
            "no temporary files left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // A directory that does not exist: a storage error, nothing left behind.
        let missing = FilePolicyStore::new(fixture.dir.path().join("nope/pin-policy.jws"));
        assert!(matches!(missing.save("x"), Err(Error::Storage { .. })));

        // A new updater on the same file sees the installed document.
        let v2 = document(2, 1);
        fixture
            .updater(fixture.file_store())
            .apply(&v2, now())
            .unwrap();
        let reopened = fixture.updater(Arc::new(FilePolicyStore::new(&path)));
        let installed = reopened.installed(now()).unwrap().unwrap();
        assert_eq!(installed.version, 2);
        assert_eq!(
            installed,
            verifier(&[&signing_key(1)]).verify(&v2, now()).unwrap()
        );
        fixture.events();

        // Tampered on disk: not installed, reported, and no longer bounds rollback.
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        fs::write(&path, &bytes).unwrap();
        assert_eq!(reopened.installed(now()).unwrap(), None);
        fs::write(&path, [0xff, 0xfe, b'.', 0x00]).unwrap();
        assert_eq!(reopened.installed(now()).unwrap(), None);
        fs::write(&path, vec![b'a'; MAX_DOCUMENT_LEN + 10]).unwrap();
        assert_eq!(reopened.installed(now()).unwrap(), None);
        assert_eq!(
            fixture.events(),
            vec![
                rejected("policy-signature", None),
                rejected("malformed", None),
                rejected("malformed", None),
            ]
        );
        assert_eq!(reopened.apply(&document(1, 1), now()).unwrap().version, 1);
    }

    #[test]
    fn a_vault_store_loads_before_any_unlock() {
        // The pin policy is needed at start, before the user has unlocked anything.
        let fixture = Fixture::new();
        let vault = Arc::new(
            Vault::open(
                fixture.dir.path(),
                Arc::new(MemoryKeyWrapper::new()),
                fixture.bus.clone(),
            )
            .unwrap(),
        );
        let gate = Arc::new(
            crate::unlock::UnlockGate::new(
                crate::unlock::UnlockPolicy::default(),
                None,
                Arc::new(crate::unlock::MemoryAttemptStore::default()),
                fixture.bus.clone(),
            )
            .unwrap(),
        );
        vault.attach_unlock_gate(gate).unwrap();
        let store = VaultPolicyStore::new(Arc::clone(&vault), "device");
        store.save(&document(3, 1)).unwrap();
        assert_eq!(store.load().unwrap(), Some(document(3, 1)));
    }

    #[test]
    fn vault_store_round_trips() {
        let fixture = Fixture::new();
        let wrapper = Arc::new(MemoryKeyWrapper::new());
        let open = || {
            Arc::new(Vault::open(fixture.dir.path(), wrapper.clone(), fixture.bus.clone()).unwrap())
        };
        let store = VaultPolicyStore::new(open(), "device");
        assert_eq!(store.load().unwrap(), None);
        let updater = fixture.updater(Arc::new(store));
        let v7 = document(7, 3);
        updater.apply(&v7, now()).unwrap();

        // Another vault instance on the same directory, another updater.
        let vault = open();
        let stored = vault
            .get("device", "rukasec.tls", "pin-policy")
            .unwrap()
            .unwrap();
        assert_eq!(stored.expose_secret(), v7.as_bytes());
        assert!(
            vault
                .contains("device", "rukasec.tls", "pin-policy")
                .unwrap()
        );
        let reopened = fixture.updater(Arc::new(VaultPolicyStore::new(vault, "device")));
        let installed = reopened.installed(now()).unwrap().unwrap();
        assert_eq!(installed.version, 7);
        assert_eq!(installed.document, v7);
        assert_eq!(
            failure(reopened.apply(&document(6, 1), now())),
            Some(TlsFailure::PolicyRollback)
        );
        // Other accounts are separate.
        let other = fixture.updater(Arc::new(VaultPolicyStore::new(open(), "other")));
        assert_eq!(other.installed(now()).unwrap(), None);
    }

    #[test]
    fn a_policy_in_the_vault_cannot_be_rolled_back_to_reopen_older_versions() {
        let fixture = Fixture::new();
        let wrapper = Arc::new(MemoryKeyWrapper::new());
        let open = || {
            Arc::new(Vault::open(fixture.dir.path(), wrapper.clone(), fixture.bus.clone()).unwrap())
        };
        let updater = fixture.updater(Arc::new(VaultPolicyStore::new(open(), "device")));
        updater.apply(&document(1, 1), now()).unwrap();
        let db = rusqlite::Connection::open(fixture.dir.path().join(crate::vault::DATABASE_FILE))
            .unwrap();
        let v1_row: (Vec<u8>, i64) = db
            .query_row("SELECT value, counter FROM items", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        updater.apply(&document(5, 3), now()).unwrap();
        // The attacker puts version 1's row back, hoping version 2 (an old compromised key's
        // pins) is then accepted.
        db.execute(
            "UPDATE items SET value = ?1, counter = ?2",
            rusqlite::params![v1_row.0, v1_row.1],
        )
        .unwrap();
        let reopened = fixture.updater(Arc::new(VaultPolicyStore::new(open(), "device")));
        assert!(
            reopened.apply(&document(2, 5), now()).is_err(),
            "version 2 accepted after a rollback to version 1"
        );
        assert!(reopened.installed(now()).is_err());
    }
}
