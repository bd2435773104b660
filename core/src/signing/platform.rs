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
//!
//! A key the keystore binds to user authentication cannot sign without a prompt, and the
//! prompt and the signature are one platform operation. Such a key is an [`AuthBoundSigner`]:
//! [`AuthBoundKey`] asks it asynchronously, under the unlock gate's policy for Restricted data
//! (allowed methods, failure counter, lockout, events), so the core decides and counts while
//! the platform holds the key.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::dpop::{DpopOptions, prepare_dpop_proof};
use super::http_sig::{SignOptions, SignedRequestHeaders, prepare_request_signature};
use super::key::{PublicKeyInfo, RequestSigner};
use crate::crypto::{Crypto, P256_SIGNATURE_LEN, der_signature_to_p1363};
use crate::error::{Error, Result, SignatureFailure};
use crate::tls::HttpRequest;
use crate::unlock::{AuthRequest, AuthenticatedUseFuture, UnlockGate};
use crate::vault::DataClass;

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
        let public = platform_public_key(&signer.public_key()?)?;
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
        let returned = self.signer.sign(message)?;
        checked_signature(&self.public, message, &returned)
    }
}

/// The P1363 form of what a platform signer returned for `message`, once it verifies with
/// `public`.
fn checked_signature(
    public: &PublicKeyInfo,
    message: &[u8],
    returned: &[u8],
) -> Result<[u8; P256_SIGNATURE_LEN]> {
    let crypto = Crypto::get()?;
    // DER first (what the platforms return); 64 bytes that are not strict DER are r‖s. A
    // 64-byte r‖s that happens to parse as DER is tried both ways: verification decides.
    let candidates = [
        der_signature_to_p1363(returned),
        <[u8; P256_SIGNATURE_LEN]>::try_from(returned).ok(),
    ];
    let mut well_formed = false;
    for signature in candidates.into_iter().flatten() {
        well_formed = true;
        if crypto
            .p256_sha256_verify(&public.sec1, message, &signature)
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

/// Reads a platform key's public key: SubjectPublicKeyInfo DER or SEC1.
fn platform_public_key(encoded: &[u8]) -> Result<PublicKeyInfo> {
    let parsed = match encoded.first() {
        // A DER SEQUENCE: SubjectPublicKeyInfo.
        Some(0x30) => PublicKeyInfo::from_spki(encoded),
        _ => PublicKeyInfo::from_sec1(encoded),
    };
    parsed.map_err(|error| match error {
        Error::InvalidInput { .. } => Error::signature(
            SignatureFailure::SignerFailed,
            "the platform key's public key is not a P-256 SubjectPublicKeyInfo or SEC1 point",
        ),
        other => other,
    })
}

/// A key in the platform keystore that needs the user for its signatures
/// (`setUserAuthenticationParameters` on Android, an access control with `.biometryCurrentSet`
/// on iOS), implemented by the app: the platform prompts and signs in one step (BiometricPrompt
/// with a `CryptoObject` around the `Signature`; `SecKeyCreateSignature` with an `LAContext`).
pub trait AuthBoundSigner: Send + Sync {
    /// The public key: SubjectPublicKeyInfo DER or uncompressed SEC1 (reading it needs no
    /// prompt on either platform).
    ///
    /// # Errors
    /// The app's error when the key cannot be read.
    fn public_key(&self) -> Result<Vec<u8>>;

    /// Prompts as `request` says and signs `message` (the platform hashes with SHA-256): ASN.1
    /// DER or raw `r‖s`, with the method the user authenticated with; or how the prompt ended
    /// without a signature.
    ///
    /// # Errors
    /// The app's error when the key failed otherwise.
    fn sign(&self, message: Vec<u8>, request: AuthRequest) -> AuthenticatedUseFuture<'_, Vec<u8>>;
}

/// A device key whose signatures need the user: an [`AuthBoundSigner`] under an
/// [`UnlockGate`]'s policy for [`DataClass::Restricted`] (its allowed methods, the failure
/// counter and lockout, the events). Signs asynchronously only; every signature is checked
/// against the public key as [`PlatformKey`] does.
pub struct AuthBoundKey {
    signer: Arc<dyn AuthBoundSigner>,
    public: PublicKeyInfo,
    gate: Arc<UnlockGate>,
}

impl AuthBoundKey {
    /// Wraps `signer` under `gate`, reading and validating its public key once.
    ///
    /// # Errors
    /// As [`PlatformKey::new`].
    pub fn new(signer: Arc<dyn AuthBoundSigner>, gate: Arc<UnlockGate>) -> Result<Self> {
        let public = platform_public_key(&signer.public_key()?)?;
        Ok(Self {
            signer,
            public,
            gate,
        })
    }

    /// The public half, for enrolment with the server.
    pub fn public_key(&self) -> PublicKeyInfo {
        self.public.clone()
    }

    /// A P1363 signature of `message`, after the user authenticated for `reason` (shown by the
    /// prompt).
    ///
    /// # Errors
    /// [`Error::LockedOut`] (before any prompt while the gate is locked out, or from the
    /// platform), [`Error::UserCancelled`], [`Error::AuthenticationFailed`],
    /// [`Error::KeyInvalidated`], [`Error::UserAuthenticationRequired`] (nothing enrolled, the
    /// prompt unavailable, a method the policy does not allow); [`Error::Signature`] with
    /// [`SignatureFailure::SignerFailed`] when the key failed or its signature does not verify.
    pub async fn sign_p1363(
        &self,
        message: &[u8],
        reason: &str,
    ) -> Result<[u8; P256_SIGNATURE_LEN]> {
        let (returned, _grant) = self
            .gate
            .authenticate_use(DataClass::Restricted, None, reason, |request| {
                self.signer.sign(message.to_vec(), request)
            })
            .await?;
        checked_signature(&self.public, message, &returned)
    }

    /// [`sign_request`](super::sign_request) with this key: prompts once.
    ///
    /// # Errors
    /// As [`sign_request`](super::sign_request) and [`AuthBoundKey::sign_p1363`].
    pub async fn sign_request(
        &self,
        request: &HttpRequest,
        options: &SignOptions,
        now: SystemTime,
        reason: &str,
    ) -> Result<SignedRequestHeaders> {
        let prepared = prepare_request_signature(&Crypto::get()?, request, options, now)?;
        let signature = self.sign_p1363(prepared.base().as_bytes(), reason).await?;
        prepared.finish(&signature)
    }

    /// [`dpop_proof`](super::dpop_proof) with this key: prompts once.
    ///
    /// # Errors
    /// As [`dpop_proof`](super::dpop_proof) and [`AuthBoundKey::sign_p1363`].
    pub async fn dpop_proof(
        &self,
        options: &DpopOptions<'_>,
        now: SystemTime,
        reason: &str,
    ) -> Result<String> {
        let prepared = prepare_dpop_proof(&self.public.sec1, options, now)?;
        let signature = self
            .sign_p1363(prepared.signing_input().as_bytes(), reason)
            .await?;
        Ok(prepared.finish(&signature))
    }
}

impl fmt::Debug for AuthBoundKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBoundKey")
            .field("thumbprint", &self.public.thumbprint)
            .finish_non_exhaustive()
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
