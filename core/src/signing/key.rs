//! The device key: what signs requests, and the public half the server enrols.
//!
//! Everything that signs goes through one small trait, [`RequestSigner`], so RFC 9421 request
//! signatures and DPoP proofs do not care where the key lives: in the platform keystore
//! ([`PlatformKey`](super::PlatformKey), preferred: the private key never enters this process)
//! or in software ([`SoftwareKey`], for devices without a usable keystore, servers, the CLI and
//! tests). A software key is kept in the vault as a `Restricted` item, so it is encrypted under
//! the account's keys like any other credential and is crypto-shredded with the account.
//!
//! The private key never appears in `Debug`, errors or events: [`SoftwareKey`] prints only its
//! public thumbprint, exports are [`SecretString`] / [`SecretBytes`](crate::secret::SecretBytes),
//! and PEM decoding and encoding run in buffers that are wiped when dropped (no intermediate
//! copy is left behind by a growing `Vec` or `String`; their capacities are reserved up front).
//!
//! [`PublicKeyInfo`] is the public half in every form a server or a JOSE library wants: SEC1,
//! SubjectPublicKeyInfo (DER and PEM), a JWK and its RFC 7638 thumbprint (a stable key id).

use std::fmt;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject as _;
use zeroize::Zeroizing;

use crate::crypto::{Crypto, P256_PUBLIC_KEY_LEN, P256_SIGNATURE_LEN, P256SigningKey};
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::vault::{DataClass, Vault};

/// The vault namespace of the device key ([`SoftwareKey::load_or_create`]).
pub const DEVICE_KEY_NAMESPACE: &str = "rukasec.signing";
/// The vault item name of the device key ([`SoftwareKey::load_or_create`]).
pub const DEVICE_KEY_NAME: &str = "device-key";

/// Length of one coordinate of a P-256 point.
const COORDINATE_LEN: usize = 32;
/// Characters per line of a PEM body (RFC 7468).
const PEM_LINE_LEN: usize = 64;

const PKCS8_LABEL: &str = "PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Serialises [`SoftwareKey::load_or_create`] in this process, so two threads asking for the
/// same account's key on first use cannot each create one and keep different keys.
static CREATION: Mutex<()> = Mutex::new(());

/// Something that signs requests with a P-256 key: ECDSA with SHA-256, P1363 signatures.
///
/// Implemented by [`SoftwareKey`] and [`PlatformKey`](super::PlatformKey).
pub trait RequestSigner: Send + Sync {
    /// The uncompressed SEC1 P-256 public key (65 bytes).
    ///
    /// # Errors
    /// Whatever the key's backend reports.
    fn public_key_sec1(&self) -> Result<Vec<u8>>;

    /// An ECDSA P-256 SHA-256 signature of `message`, raw `r‖s` (64 bytes).
    ///
    /// # Errors
    /// [`Error::Signature`] with [`SignatureFailure::SignerFailed`](crate::SignatureFailure)
    /// when the key could not sign; [`Error::CryptoUnavailable`].
    fn sign_p1363(&self, message: &[u8]) -> Result<[u8; 64]>;
}

/// A software P-256 key: the device key when no hardware key is available.
///
/// The private scalar is wiped on drop; `Debug` shows only the public key's thumbprint.
pub struct SoftwareKey {
    key: P256SigningKey,
    public: PublicKeyInfo,
}

impl SoftwareKey {
    /// A new random key from the OS generator.
    ///
    /// # Errors
    /// [`Error::CryptoUnavailable`]; [`Error::Internal`] if the OS generator fails.
    pub fn generate() -> Result<Self> {
        let crypto = Crypto::get()?;
        Self::from_key(crypto.p256_generate()?)
    }

    /// A key from a PKCS#8 `PrivateKeyInfo` in DER.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `der` is not an unencrypted P-256 PKCS#8 key;
    /// [`Error::CryptoUnavailable`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        Self::from_key(P256SigningKey::from_pkcs8_der(der)?)
    }

    /// A key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, what
    /// `openssl ecparam -genkey` writes). Other PEM blocks before the key (`EC PARAMETERS`) are
    /// skipped. Encrypted keys are refused: decrypt them first.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no unencrypted P-256 private key is found;
    /// [`Error::CryptoUnavailable`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let (format, der) = decode_private_key_pem(pem)?;
        let key = match format {
            PrivateKeyFormat::Pkcs8 => P256SigningKey::from_pkcs8_der(&der)?,
            PrivateKeyFormat::Sec1 => P256SigningKey::from_sec1_der(&der)?,
        };
        Self::from_key(key)
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), e.g. for `rukasec keygen --out`.
    ///
    /// # Errors
    /// [`Error::Internal`] if encoding fails (it does not for a valid key).
    pub fn to_pkcs8_pem(&self) -> Result<SecretString> {
        let der = self.key.to_pkcs8_der()?;
        // PEM export is the one place the key leaves its type on purpose; the base64 text is
        // wiped on drop and the result is a `SecretString`.
        let body = Zeroizing::new(STANDARD.encode(der.expose_secret()));
        let mut pem = String::with_capacity(pem_len(PKCS8_LABEL, body.len()));
        push_pem(&mut pem, PKCS8_LABEL, &body);
        Ok(SecretString::new(pem))
    }

    /// The public half, for enrolment with the server.
    pub fn public_key(&self) -> PublicKeyInfo {
        self.public.clone()
    }

    /// The device key of `account`, kept in the vault as [`DataClass::Restricted`] (namespace
    /// [`DEVICE_KEY_NAMESPACE`], name [`DEVICE_KEY_NAME`], PKCS#8 DER); created on first use.
    ///
    /// Calls from several threads of this process are serialised, so they all get the same
    /// key. Two *processes* creating the same account's key at the same moment are not
    /// coordinated (the last write wins); create the key once, at enrolment.
    ///
    /// # Errors
    /// The vault's errors (`KeyUnavailable`, `Integrity`, `Storage`, ...); [`Error::Integrity`]
    /// when the stored item is not a P-256 PKCS#8 key; [`Error::CryptoUnavailable`].
    pub fn load_or_create(vault: &Vault, account: &str) -> Result<Self> {
        let _creating = CREATION.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stored) = vault.get(account, DEVICE_KEY_NAMESPACE, DEVICE_KEY_NAME)? {
            // Parsing the stored key needs its bytes; they stay in `stored`, wiped on drop.
            let key = P256SigningKey::from_pkcs8_der(stored.expose_secret())
                .map_err(|_| Error::Integrity)?;
            return Self::from_key(key);
        }
        let key = Self::generate()?;
        let der = key.key.to_pkcs8_der()?;
        vault.put(
            account,
            DEVICE_KEY_NAMESPACE,
            DEVICE_KEY_NAME,
            // Storing the key means handing its bytes to the vault, which encrypts them.
            der.expose_secret(),
            DataClass::Restricted,
            None,
        )?;
        Ok(key)
    }

    fn from_key(key: P256SigningKey) -> Result<Self> {
        let public = PublicKeyInfo::from_sec1(&key.public_key_sec1())?;
        Ok(Self { key, public })
    }
}

impl RequestSigner for SoftwareKey {
    fn public_key_sec1(&self) -> Result<Vec<u8>> {
        Ok(self.public.sec1.clone())
    }

    fn sign_p1363(&self, message: &[u8]) -> Result<[u8; P256_SIGNATURE_LEN]> {
        Crypto::get()?.p256_sha256_sign(&self.key, message)
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("thumbprint", &self.public.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The public half of a P-256 signing key, for enrolment with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// Uncompressed SEC1 (`0x04‖x‖y`, 65 bytes).
    pub sec1: Vec<u8>,
    /// SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// SubjectPublicKeyInfo, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub spki_pem: String,
    /// The public JWK in RFC 7638 canonical form: `{"crv":"P-256","kty":"EC","x":..,"y":..}`
    /// (members in lexicographic order, no whitespace).
    pub jwk: String,
    /// The RFC 7638 JWK thumbprint: base64url (no padding) SHA-256 of [`PublicKeyInfo::jwk`].
    pub thumbprint: String,
}

impl PublicKeyInfo {
    /// The public key from SEC1 (uncompressed or compressed).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `sec1` is not a P-256 point; [`Error::CryptoUnavailable`].
    pub fn from_sec1(sec1: &[u8]) -> Result<Self> {
        let key = VerifyingKey::from_sec1_bytes(sec1)
            .map_err(|_| Error::invalid_input("not a SEC1-encoded P-256 public key"))?;
        Self::from_verifying_key(&key)
    }

    /// The public key from a SubjectPublicKeyInfo, DER or PEM (`PUBLIC KEY`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `der_or_pem` is not a P-256 SubjectPublicKeyInfo;
    /// [`Error::CryptoUnavailable`].
    pub fn from_spki(der_or_pem: &[u8]) -> Result<Self> {
        let pem_der;
        let der = if der_or_pem.trim_ascii_start().starts_with(b"-----BEGIN ") {
            pem_der = SubjectPublicKeyInfoDer::from_pem_slice(der_or_pem)
                .map_err(|_| Error::invalid_input("no \"PUBLIC KEY\" PEM block"))?;
            pem_der.as_ref()
        } else {
            der_or_pem
        };
        let key = VerifyingKey::from_public_key_der(der).map_err(|_| {
            Error::invalid_input("not a P-256 SubjectPublicKeyInfo (PEM \"PUBLIC KEY\" or DER)")
        })?;
        Self::from_verifying_key(&key)
    }

    fn from_verifying_key(key: &VerifyingKey) -> Result<Self> {
        let crypto = Crypto::get()?;
        let point = key.to_sec1_point(false);
        let sec1 = point.as_bytes().to_vec();
        let (Some(x), Some(y), P256_PUBLIC_KEY_LEN) = (
            sec1.get(1..=COORDINATE_LEN),
            sec1.get(1 + COORDINATE_LEN..),
            sec1.len(),
        ) else {
            return Err(Error::Internal {
                reason: "an uncompressed P-256 point is not 65 bytes".to_owned(),
            });
        };
        let jwk = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y)
        );
        let thumbprint = URL_SAFE_NO_PAD.encode(crypto.sha256(jwk.as_bytes()));
        let spki_der = key
            .to_public_key_der()
            .map_err(|_| Error::Internal {
                reason: "a P-256 public key could not be encoded as SubjectPublicKeyInfo"
                    .to_owned(),
            })?
            .as_bytes()
            .to_vec();
        let body = STANDARD.encode(&spki_der);
        let mut spki_pem = String::with_capacity(pem_len("PUBLIC KEY", body.len()));
        push_pem(&mut spki_pem, "PUBLIC KEY", &body);
        Ok(Self {
            sec1,
            spki_der,
            spki_pem,
            jwk,
            thumbprint,
        })
    }
}

/// The two private-key encodings [`SoftwareKey::from_pkcs8_pem`] reads.
enum PrivateKeyFormat {
    Pkcs8,
    Sec1,
}

/// The DER of the first private-key block of `pem`, in a buffer wiped on drop.
fn decode_private_key_pem(pem: &str) -> Result<(PrivateKeyFormat, Zeroizing<Vec<u8>>)> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let no_key = || Error::invalid_input("no PEM \"PRIVATE KEY\" or \"EC PRIVATE KEY\" block");
    let mut rest = pem;
    loop {
        let after_begin = rest
            .find(BEGIN)
            .and_then(|at| rest.get(at + BEGIN.len()..))
            .ok_or_else(no_key)?;
        let label_end = after_begin.find(DASHES).ok_or_else(malformed_pem)?;
        let label = after_begin.get(..label_end).ok_or_else(malformed_pem)?;
        if label.is_empty() || !label.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(malformed_pem());
        }
        let after_label = after_begin
            .get(label_end + DASHES.len()..)
            .ok_or_else(malformed_pem)?;
        let end_marker = format!("-----END {label}-----");
        let body_end = after_label.find(&end_marker).ok_or_else(malformed_pem)?;
        let body = after_label.get(..body_end).ok_or_else(malformed_pem)?;
        match label {
            PKCS8_LABEL => return Ok((PrivateKeyFormat::Pkcs8, decode_pem_body(body)?)),
            SEC1_LABEL => return Ok((PrivateKeyFormat::Sec1, decode_pem_body(body)?)),
            ENCRYPTED_PKCS8_LABEL => {
                return Err(Error::invalid_input(
                    "encrypted private keys are not supported; decrypt the key first",
                ));
            }
            _ => {
                rest = after_label
                    .get(body_end + end_marker.len()..)
                    .ok_or_else(malformed_pem)?;
            }
        }
    }
}

/// The bytes of a PEM body (base64 with line breaks), in a buffer wiped on drop.
fn decode_pem_body(body: &str) -> Result<Zeroizing<Vec<u8>>> {
    if body.contains(':') {
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: ...`): an encrypted key.
        return Err(Error::invalid_input(
            "encrypted private keys are not supported; decrypt the key first",
        ));
    }
    // Capacities are reserved up front so that no reallocation leaves an unwiped copy behind.
    let mut compact = Zeroizing::new(Vec::with_capacity(body.len()));
    compact.extend(body.bytes().filter(|b| !b.is_ascii_whitespace()));
    let mut der = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(compact.len())]);
    let written = STANDARD
        .decode_slice(compact.as_slice(), der.as_mut_slice())
        .map_err(|_| Error::invalid_input("a PEM body is not valid base64"))?;
    der.truncate(written);
    Ok(der)
}

fn malformed_pem() -> Error {
    Error::invalid_input(
        "malformed PEM: expected -----BEGIN <label>----- ... -----END <label>-----",
    )
}

/// The exact length of a PEM block with `label` around `body_len` base64 characters.
fn pem_len(label: &str, body_len: usize) -> usize {
    let lines = body_len.div_ceil(PEM_LINE_LEN);
    let markers = "-----BEGIN -----\n".len() + "-----END -----\n".len() + 2 * label.len();
    markers + body_len + lines
}

/// Appends a PEM block: `label` around `body` (base64) in lines of 64 characters.
fn push_pem(out: &mut String, label: &str, body: &str) {
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(PEM_LINE_LEN) {
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    #[test]
    fn pem_length_is_exact() {
        for len in [0, 1, 63, 64, 65, 128, 184] {
            let body = "A".repeat(len);
            let mut out = String::new();
            push_pem(&mut out, "PRIVATE KEY", &body);
            assert_eq!(out.len(), pem_len("PRIVATE KEY", len), "{len}");
        }
    }

    #[test]
    fn pem_blocks_before_the_key_are_skipped() {
        let key = SoftwareKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        // Test: the exported PEM is re-imported behind another block.
        let text = format!(
            "comment\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            pem.expose_secret()
        );
        let again = SoftwareKey::from_pkcs8_pem(&text).unwrap();
        assert_eq!(again.public_key(), key.public_key());
    }

    #[test]
    fn malformed_pem_is_refused_without_echoing_it() {
        let cases = [
            "",
            "no pem here",
            "-----BEGIN PRIVATE KEY-----\nQUJD",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nQUJD\n-----END EC PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nQUJD\n-----END PUBLIC KEY-----\n",
            "-----BEGIN \nPRIVATE KEY-----\nQUJD\n-----END \nPRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY",
        ];
        for pem in cases {
            let error = SoftwareKey::from_pkcs8_pem(pem).unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { .. }),
                "{pem:?}: {error:?}"
            );
            assert!(!error.to_string().contains("QUJD"), "{error}");
        }
    }
}
