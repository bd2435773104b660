//! Keys in the platform keystore (Android Keystore / StrongBox, Apple Secure Enclave).
//!
//! The preferred device key is one the app creates in the platform keystore: its private half
//! never exists in this process, so not even a memory disclosure here can leak it. The app
//! implements [`PlatformSigner`] in Kotlin or Swift; [`PlatformKey`] adapts it to
//! [`RequestSigner`].
//!
//! The adapter trusts the platform for secrecy, not for correctness. Android and Apple return
//! ASN.1 DER signatures, some wrappers return raw `r‖s`; [`PlatformKey`] accepts both, reads
//! DER strictly ([`der_to_p1363`]: one encoding per signature, nothing trailing), and verifies
//! every signature with the public key before returning it. A platform bug (wrong key alias,
//! a prehash applied twice, a truncated buffer) then fails here, with
//! [`SignatureFailure::SignerFailed`], instead of producing requests the server rejects for
//! reasons nobody can see from the client.

use std::fmt;
use std::sync::Arc;

use super::key::{PublicKeyInfo, RequestSigner};
use crate::crypto::{Crypto, P256_SIGNATURE_LEN, der_signature_to_p1363};
use crate::error::{Error, Result, SignatureFailure};

/// A key in the platform keystore (Android Keystore / Secure Enclave), implemented by the app.
///
/// The key must be ECDSA P-256 with SHA-256 (`KeyProperties.KEY_ALGORITHM_EC` with
/// `secp256r1` and `DIGEST_SHA256`; `kSecAttrKeyTypeECSECPrimeRandom` with
/// `ecdsaSignatureMessageX962SHA256`).
pub trait PlatformSigner: Send + Sync {
    /// The public key: SubjectPublicKeyInfo DER or uncompressed SEC1.
    ///
    /// # Errors
    /// The app's error when the key cannot be read (it is passed through unchanged).
    fn public_key(&self) -> Result<Vec<u8>>;

    /// A signature of `message` (the platform hashes with SHA-256): ASN.1 DER (what Android and
    /// Apple return) or raw `r‖s`.
    ///
    /// # Errors
    /// The app's error when the platform refuses (user cancelled, key invalidated); it is
    /// passed through unchanged so the app can tell those apart.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// A [`RequestSigner`] over a [`PlatformSigner`]: normalises signatures to P1363 and checks each
/// one against the public key read when the key was wrapped.
pub struct PlatformKey {
    signer: Arc<dyn PlatformSigner>,
    public: PublicKeyInfo,
}

impl PlatformKey {
    /// Wraps `signer`, reading and validating its public key once.
    ///
    /// # Errors
    /// [`Error::Signature`] with [`SignatureFailure::SignerFailed`] when the platform's public
    /// key is not a P-256 SubjectPublicKeyInfo or SEC1 point; the platform's own error when it
    /// cannot return one; [`Error::CryptoUnavailable`].
    pub fn new(signer: Arc<dyn PlatformSigner>) -> Result<Self> {
        let encoded = signer.public_key()?;
        let parsed = match encoded.first() {
            // A DER SEQUENCE: SubjectPublicKeyInfo.
            Some(0x30) => PublicKeyInfo::from_spki(&encoded),
            _ => PublicKeyInfo::from_sec1(&encoded),
        };
        let public = parsed.map_err(|error| match error {
            Error::InvalidInput { .. } => Error::signature(
                SignatureFailure::SignerFailed,
                "the platform key's public key is not a P-256 SubjectPublicKeyInfo or SEC1 point",
            ),
            other => other,
        })?;
        Ok(Self { signer, public })
    }

    /// The public half, for enrolment with the server.
    pub fn public_key(&self) -> PublicKeyInfo {
        self.public.clone()
    }
}

impl RequestSigner for PlatformKey {
    fn public_key_sec1(&self) -> Result<Vec<u8>> {
        Ok(self.public.sec1.clone())
    }

    fn sign_p1363(&self, message: &[u8]) -> Result<[u8; P256_SIGNATURE_LEN]> {
        let crypto = Crypto::get()?;
        let returned = self.signer.sign(message)?;
        // DER first (what the platforms return); 64 bytes that are not strict DER are r‖s. A
        // 64-byte r‖s that happens to parse as DER is tried both ways: verification decides.
        let candidates = [
            der_signature_to_p1363(&returned),
            <[u8; P256_SIGNATURE_LEN]>::try_from(returned.as_slice()).ok(),
        ];
        let mut well_formed = false;
        for signature in candidates.into_iter().flatten() {
            well_formed = true;
            if crypto
                .p256_sha256_verify(&self.public.sec1, message, &signature)
                .is_ok()
            {
                return Ok(signature);
            }
        }
        Err(Error::signature(
            SignatureFailure::SignerFailed,
            if well_formed {
                "the platform signer's signature does not verify with its public key"
            } else {
                "the platform signer returned neither a DER nor a 64-byte r||s signature"
            },
        ))
    }
}

impl fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformKey")
            .field("thumbprint", &self.public.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The P1363 form (`r‖s`, 64 bytes) of an ASN.1 DER ECDSA P-256 signature.
///
/// DER is read strictly: a `SEQUENCE` of exactly two `INTEGER`s with minimal lengths, no
/// negative, oversized (more than 32 bytes of value) or non-minimally encoded integers, nothing
/// after the sequence. Whether the signature verifies is not checked here.
///
/// # Errors
/// [`Error::Signature`] with [`SignatureFailure::SignerFailed`] when `der` is not such a
/// signature.
pub fn der_to_p1363(der: &[u8]) -> Result<[u8; P256_SIGNATURE_LEN]> {
    der_signature_to_p1363(der).ok_or_else(|| {
        Error::signature(
            SignatureFailure::SignerFailed,
            "not a strict DER ECDSA P-256 signature",
        )
    })
}
