//! Request signing for the app: the device key (software, in the vault, or in the platform
//! keystore through an app-implemented [`PlatformSigner`]), RFC 9421 request signatures,
//! DPoP proofs, the verifier, and the signing area's error enum. Records mirrored with `From`,
//! objects forwarding to the core's `rukasec_core::signing`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use rukasec_core::crypto::Crypto;
use rukasec_core::secret::SecretString;
use rukasec_core::signing as core;
use rukasec_core::unlock;
use rukasec_core::{Error, SignatureFailure};

use crate::guard::{guard_future, guard_with};
use crate::numbers;
use crate::unlock::{AuthMethod, AuthOutcome, AuthRequest, UnlockGate};
use crate::{HttpRequest, RukaSecError, Vault};

/// What can go wrong in a signing or verifying call. Kotlin sees `SignatureException`, Swift a
/// thrown `SignatureError`. One case per cause, plus the core's generic ones. `reason` holds fixed
/// text and component names, never header values, bodies or keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SignatureError {
    /// `Signature-Input` / `Signature` (or a component identifier) is not well-formed.
    #[error("malformed-signature: {reason}")]
    Malformed {
        /// What was malformed.
        reason: String,
    },
    /// No signature with the expected label or tag, or a required component is not covered.
    #[error("missing-component: {reason}")]
    MissingComponent {
        /// Which component or label.
        reason: String,
    },
    /// A covered component is absent from the message.
    #[error("component-not-in-message: {reason}")]
    ComponentNotInMessage {
        /// Which component.
        reason: String,
    },
    /// The algorithm is not `ecdsa-p256-sha256`.
    #[error("unsupported-algorithm: {reason}")]
    UnsupportedAlgorithm {
        /// A fixed explanation.
        reason: String,
    },
    /// No key is known for the signature's `keyid`.
    #[error("unknown-key: {reason}")]
    UnknownKey {
        /// A fixed explanation.
        reason: String,
    },
    /// The signature does not verify (message altered, wrong key).
    #[error("bad-signature: {reason}")]
    BadSignature {
        /// A fixed explanation.
        reason: String,
    },
    /// `expires` has passed, or `created` is older than allowed.
    #[error("signature-expired: {reason}")]
    Expired {
        /// A fixed explanation.
        reason: String,
    },
    /// `created` is in the future beyond the allowed clock skew.
    #[error("signature-not-yet-valid: {reason}")]
    NotYetValid {
        /// A fixed explanation.
        reason: String,
    },
    /// The `nonce` was seen before within its window.
    #[error("replayed-nonce: {reason}")]
    Replayed {
        /// A fixed explanation.
        reason: String,
    },
    /// The `Content-Digest` does not match the body, or none has a supported algorithm.
    #[error("digest-mismatch: {reason}")]
    DigestMismatch {
        /// A fixed explanation.
        reason: String,
    },
    /// The device key is kept in a vault whose unlock gate needs the user first (a Restricted
    /// item): `UnlockGate.unlock(RESTRICTED, ...)`, then call again.
    #[error("user-authentication-required: {reason}")]
    UserAuthenticationRequired {
        /// A fixed explanation.
        reason: String,
    },
    /// The user cancelled the prompt of a key that needs the user (`AuthBoundDeviceKey`): not
    /// counted as a failed attempt; nothing was signed.
    #[error("user-cancelled: {reason}")]
    UserCancelled {
        /// A fixed explanation.
        reason: String,
    },
    /// The user failed to authenticate for a signature; `remaining_attempts` more failures lock
    /// out.
    #[error("authentication-failed: {reason}")]
    AuthenticationFailed {
        /// A fixed explanation.
        reason: String,
        /// Failures left before a lockout.
        remaining_attempts: i32,
    },
    /// Too many failed attempts (RukaSec's counter or the platform's): signing with a key that
    /// needs the user, or unlocking the vault holding the device key, is refused until
    /// `until_unix_ms`.
    #[error("locked-out: {reason}")]
    LockedOut {
        /// A fixed explanation.
        reason: String,
        /// When it may be tried again, milliseconds since the Unix epoch.
        until_unix_ms: i64,
    },
    /// The platform invalidated the device key (a new biometric enrolment): make a new key and
    /// enrol it with the server (docs/ERRORS.md).
    #[error("key-invalidated: {reason}")]
    KeyInvalidated {
        /// A fixed explanation.
        reason: String,
    },
    /// The signing key failed to sign: a [`PlatformSigner`] threw, returned a public key that is
    /// not P-256, or a signature that does not verify with its public key.
    #[error("signer-failed: {reason}")]
    SignerFailed {
        /// A fixed explanation (an app signer's own error text is never copied).
        reason: String,
    },
    /// The input could not be used: a malformed PEM key, public key, URL, method, label, keyid,
    /// nonce or tag.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong (never the content).
        reason: String,
    },
    /// The crypto self-test failed: signing and verifying are refused.
    #[error("crypto unavailable: {reason}")]
    CryptoUnavailable {
        /// A fixed explanation.
        reason: String,
    },
    /// The vault holding the device key failed: disk, database, keystore or integrity.
    #[error("storage failed: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// A bug in RukaSec (including a caught Rust panic); `reason` says which.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl From<Error> for SignatureError {
    fn from(error: Error) -> Self {
        let reason = error.reason();
        match error {
            Error::Signature { failure, .. } => match failure {
                SignatureFailure::Malformed => Self::Malformed { reason },
                SignatureFailure::MissingComponent => Self::MissingComponent { reason },
                SignatureFailure::ComponentNotInMessage => Self::ComponentNotInMessage { reason },
                SignatureFailure::UnsupportedAlgorithm => Self::UnsupportedAlgorithm { reason },
                SignatureFailure::UnknownKey => Self::UnknownKey { reason },
                SignatureFailure::BadSignature => Self::BadSignature { reason },
                SignatureFailure::Expired => Self::Expired { reason },
                SignatureFailure::NotYetValid => Self::NotYetValid { reason },
                SignatureFailure::Replayed => Self::Replayed { reason },
                SignatureFailure::DigestMismatch => Self::DigestMismatch { reason },
                SignatureFailure::SignerFailed => Self::SignerFailed { reason },
                // A cause this version of the bindings does not know, or one it cannot produce
                // (`ReplayStoreUnavailable`: its verifier keeps nonces in memory, which always
                // answers): the core's text names it.
                _ => Self::Internal {
                    reason: error.to_string(),
                },
            },
            Error::InvalidInput { .. } => Self::InvalidInput { reason },
            Error::CryptoUnavailable => Self::CryptoUnavailable { reason },
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
            // The vault holding the device key failed; the core's text says how.
            Error::Storage { .. }
            | Error::Integrity
            | Error::KeyUnavailable
            | Error::KeyWrapper { .. } => Self::Storage {
                reason: error.to_string(),
            },
            _ => Self::Internal {
                reason: error.to_string(),
            },
        }
    }
}

impl From<RukaSecError> for SignatureError {
    fn from(error: RukaSecError) -> Self {
        // Only a caught panic reaches here (see `guard_with`); keep its fixed reason.
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SignatureError {
    fn from(_error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::SignerFailed {
            reason: "the platform signer threw an exception that is not a SignatureError"
                .to_owned(),
        }
    }
}

/// The public half of a device key, in every form a server or a JOSE library wants.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PublicKeyInfo {
    /// Uncompressed SEC1 (`0x04‖x‖y`, 65 bytes).
    pub sec1: Vec<u8>,
    /// SubjectPublicKeyInfo, DER (Java's `X509EncodedKeySpec`).
    pub spki_der: Vec<u8>,
    /// SubjectPublicKeyInfo, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub spki_pem: String,
    /// The public JWK in RFC 7638 canonical form (`{"crv":"P-256","kty":"EC","x":..,"y":..}`).
    pub jwk: String,
    /// The RFC 7638 JWK thumbprint (base64url SHA-256 of `jwk`): a stable key id.
    pub thumbprint: String,
}

impl From<core::PublicKeyInfo> for PublicKeyInfo {
    fn from(info: core::PublicKeyInfo) -> Self {
        Self {
            sec1: info.sec1,
            spki_der: info.spki_der,
            spki_pem: info.spki_pem,
            jwk: info.jwk,
            thumbprint: info.thumbprint,
        }
    }
}

/// A P-256 key in the platform keystore, implemented by the app: Android Keystore / StrongBox
/// (`KeyProperties.KEY_ALGORITHM_EC`, `secp256r1`, `DIGEST_SHA256`) in Kotlin, the Secure Enclave
/// (`kSecAttrKeyTypeECSECPrimeRandom`, `.ecdsaSignatureMessageX962SHA256`) in Swift. The private
/// key never enters RukaSec; wrap it with `DeviceKey.platform`.
///
/// Called from whatever thread the signing call runs on. Every signature is checked against the
/// public key before use; whatever this throws reaches the caller as
/// `SignatureError.SignerFailed` with a fixed reason (the thrown message is not copied).
#[uniffi::export(with_foreign)]
pub trait PlatformSigner: Send + Sync {
    /// The public key: SubjectPublicKeyInfo DER (Java's `PublicKey.encoded`) or uncompressed
    /// SEC1 (`SecKeyCopyExternalRepresentation`).
    fn public_key(&self) -> Result<Vec<u8>, SignatureError>;
    /// An ECDSA P-256 signature of `message` with SHA-256 (the platform hashes): ASN.1 DER (what
    /// `SHA256withECDSA` and the Secure Enclave return) or raw `r‖s` (64 bytes).
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, SignatureError>;
}

/// Lets an app's platform key serve as the core's platform signer.
struct ForeignPlatformSigner(Arc<dyn PlatformSigner>);

/// The core error for a failed app signer: fixed text only (the app's message could hold
/// anything).
fn signer_failed(reason: &str) -> Error {
    Error::Signature {
        failure: SignatureFailure::SignerFailed,
        reason: reason.to_owned(),
    }
}

impl core::PlatformSigner for ForeignPlatformSigner {
    fn public_key(&self) -> rukasec_core::Result<Vec<u8>> {
        self.0
            .public_key()
            .map_err(|_| signer_failed("the platform signer could not return its public key"))
    }

    fn sign(&self, message: &[u8]) -> rukasec_core::Result<Vec<u8>> {
        self.0
            .sign(message.to_vec())
            .map_err(|_| signer_failed("the platform signer failed to sign"))
    }
}

/// A P-256 key in the platform keystore that needs the user for each signature, implemented by
/// the app: an Android Keystore key with `setUserAuthenticationParameters(0, BIOMETRIC_STRONG)`
/// signed through BiometricPrompt with a `CryptoObject` around its `Signature`; a Secure Enclave
/// key whose access control has `.biometryCurrentSet`, signed with an `LAContext`. The platform
/// prompts and signs in one step; RukaSec decides which methods count, counts failures and
/// locks out (the `UnlockGate`'s Restricted policy). Wrap it with `AuthBoundDeviceKey`.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AuthBoundSigner: Send + Sync {
    /// The public key: SubjectPublicKeyInfo DER or uncompressed SEC1 (no prompt).
    fn public_key(&self) -> Result<Vec<u8>, SignatureError>;
    /// Shows the prompt `request` describes and signs `message` (ECDSA P-256 with SHA-256, the
    /// platform hashes): `Signed` with the method used and the signature (DER or `r‖s`), or
    /// `Refused` with how the prompt ended. Throw only when the key itself failed.
    async fn sign(
        &self,
        message: Vec<u8>,
        request: AuthRequest,
    ) -> Result<PromptedSignature, SignatureError>;
}

/// How an `AuthBoundSigner`'s prompt ended.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PromptedSignature {
    /// The user authenticated with `method` and the key signed.
    Signed {
        /// The method used.
        method: AuthMethod,
        /// ASN.1 DER or raw `r‖s` (64 bytes).
        signature: Vec<u8>,
    },
    /// The prompt ended without a signature: cancelled, failed, locked out, not enrolled,
    /// unavailable, key invalidated.
    Refused {
        /// How it ended (a `Success` here counts as `Unavailable`).
        outcome: AuthOutcome,
    },
}

impl fmt::Debug for PromptedSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signed { method, signature } => f
                .debug_struct("Signed")
                .field("method", method)
                .field("signature", &format_args!("<{} bytes>", signature.len()))
                .finish(),
            Self::Refused { outcome } => {
                f.debug_struct("Refused").field("outcome", outcome).finish()
            }
        }
    }
}

/// Lets an app's auth-bound platform key serve as the core's.
struct ForeignAuthBoundSigner(Arc<dyn AuthBoundSigner>);

impl core::AuthBoundSigner for ForeignAuthBoundSigner {
    fn public_key(&self) -> rukasec_core::Result<Vec<u8>> {
        self.0
            .public_key()
            .map_err(|_| signer_failed("the platform signer could not return its public key"))
    }

    fn sign(
        &self,
        message: Vec<u8>,
        request: unlock::AuthRequest,
    ) -> unlock::AuthenticatedUseFuture<'_, Vec<u8>> {
        Box::pin(async move {
            match self.0.sign(message, request.into()).await {
                Ok(PromptedSignature::Signed { method, signature }) => {
                    Ok(unlock::AuthenticatedUse::Done {
                        method: method.into(),
                        value: signature,
                    })
                }
                Ok(PromptedSignature::Refused { outcome }) => {
                    Ok(unlock::AuthenticatedUse::Refused(outcome.into()))
                }
                Err(_) => Err(signer_failed("the platform signer failed to sign")),
            }
        })
    }
}

/// A device key in the platform keystore that needs the user for each signature (see
/// `AuthBoundSigner`), under an `UnlockGate`'s Restricted policy. Signs only from async calls:
/// `suspend` in Kotlin, `async` in Swift.
#[derive(uniffi::Object)]
pub struct AuthBoundDeviceKey(pub(crate) core::AuthBoundKey);

#[uniffi::export(async_runtime = "tokio")]
impl AuthBoundDeviceKey {
    /// Wraps `signer` under `gate`: its allowed methods for Restricted data, its failure
    /// counter and lockout. Reads the public key once; throws `SignerFailed` when that fails or
    /// is not a P-256 key.
    #[uniffi::constructor]
    pub fn new(
        signer: Arc<dyn AuthBoundSigner>,
        gate: Arc<UnlockGate>,
    ) -> Result<Arc<Self>, SignatureError> {
        guard_with(|| {
            core::AuthBoundKey::new(Arc::new(ForeignAuthBoundSigner(signer)), gate.0.clone())
                .map(|key| Arc::new(Self(key)))
        })
    }

    /// The public half, for enrolment with the server.
    pub fn public_key(&self) -> Result<PublicKeyInfo, SignatureError> {
        guard_with(|| Ok::<_, Error>(self.0.public_key().into()))
    }

    /// `DeviceKey.signRequest`, after one prompt showing `reason`. Throws its errors, and
    /// `UserCancelled`, `AuthenticationFailed`, `LockedOut`, `KeyInvalidated`, or
    /// `UserAuthenticationRequired` (nothing enrolled, the prompt unavailable, a method the
    /// policy does not allow).
    pub async fn sign_request(
        &self,
        request: HttpRequest,
        options: SignOptions,
        reason: String,
    ) -> Result<SignedRequestHeaders, SignatureError> {
        guard_future(async {
            let options = core::SignOptions::try_from(options)?;
            self.0
                .sign_request(&request.into(), &options, SystemTime::now(), &reason)
                .await
                .map(SignedRequestHeaders::from)
        })
        .await
    }

    /// `DeviceKey.dpopProof`, after one prompt showing `reason`; errors as `signRequest`.
    pub async fn dpop_proof(
        &self,
        method: String,
        url: String,
        access_token: Option<String>,
        nonce: Option<String>,
        reason: String,
    ) -> Result<String, SignatureError> {
        let access_token = access_token.map(SecretString::new);
        guard_future(async {
            let options = core::DpopOptions {
                method: &method,
                url: &url,
                // The token's hash goes into the proof; the token is wiped on drop.
                access_token: access_token.as_ref().map(SecretString::expose_secret),
                nonce: nonce.as_deref(),
            };
            self.0
                .dpop_proof(&options, SystemTime::now(), &reason)
                .await
        })
        .await
    }
}

/// How `DeviceKey.signRequest` signs (RFC 9421, `ecdsa-p256-sha256`). Only `key_id` has no
/// default.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignOptions {
    /// The `keyid` parameter: how the server finds the public key (e.g. the key's thumbprint).
    pub key_id: String,
    /// The signature's label in `Signature-Input` and `Signature`.
    #[uniffi(default = "sig1")]
    pub label: String,
    /// The covered components as identifiers, written as in `Signature-Input`: `"\"@method\""`,
    /// `"\"content-type\""`, `"\"@query-param\";name=\"id\""`. `null`/`nil`: `@method`,
    /// `@target-uri`, `content-digest` when there is a body, `content-type` and `authorization`
    /// when present.
    #[uniffi(default = None)]
    pub components: Option<Vec<String>>,
    /// When set, the signature carries `expires` this many seconds after `created`.
    #[uniffi(default = None)]
    pub expires_in_seconds: Option<i64>,
    /// The `nonce` parameter; `null`/`nil`: a fresh random one unless `no_nonce`.
    #[uniffi(default = None)]
    pub nonce: Option<String>,
    /// Opts out of the default random nonce (verifiers refuse non-safe methods without one by
    /// default).
    #[uniffi(default = false)]
    pub no_nonce: bool,
    /// The `tag` parameter, if any.
    #[uniffi(default = None)]
    pub tag: Option<String>,
    /// `Content-Digest` with SHA-512 instead of SHA-256.
    #[uniffi(default = false)]
    pub sha512: bool,
}

impl TryFrom<SignOptions> for core::SignOptions {
    type Error = Error;

    fn try_from(options: SignOptions) -> Result<Self, Error> {
        let components = options
            .components
            .map(|list| {
                list.iter()
                    .map(|identifier| core::Component::parse(identifier))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            label: options.label,
            components,
            expires_in: options
                .expires_in_seconds
                .map(|seconds| numbers::seconds(seconds, "expiresInSeconds"))
                .transpose()?,
            nonce: options.nonce,
            no_nonce: options.no_nonce,
            tag: options.tag,
            digest: if options.sha512 {
                core::DigestAlgorithm::Sha512
            } else {
                core::DigestAlgorithm::Sha256
            },
            ..core::SignOptions::new(options.key_id)
        })
    }
}

/// The headers `DeviceKey.signRequest` made: add `Content-Digest` (when set), `Signature-Input`
/// and `Signature` to the request. Rust `Debug`, Kotlin `toString` and Swift
/// `description`/`debugDescription` print the signature base's length only.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SignedRequestHeaders {
    /// A `Content-Digest` value to add, when the body is covered and the request had none.
    pub content_digest: Option<String>,
    /// The `Signature-Input` value.
    pub signature_input: String,
    /// The `Signature` value (`sig1=:<base64>:`).
    pub signature: String,
    /// The signature base that was signed, for debugging. It holds header values (e.g.
    /// `authorization`): do not log it in production.
    pub signature_base: String,
}

impl fmt::Debug for SignedRequestHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequestHeaders")
            .field("content_digest", &self.content_digest)
            .field("signature_input", &self.signature_input)
            .field("signature", &self.signature)
            // It holds header values: only its length.
            .field("signature_base_len", &self.signature_base.len())
            .finish()
    }
}

display_as_redacted_debug!(SignedRequestHeaders);

impl From<core::SignedRequestHeaders> for SignedRequestHeaders {
    fn from(headers: core::SignedRequestHeaders) -> Self {
        Self {
            content_digest: headers.content_digest,
            signature_input: headers.signature_input,
            signature: headers.signature,
            signature_base: headers.base,
        }
    }
}

/// The device's P-256 signing key: signs API requests (RFC 9421 with RFC 9530 `Content-Digest`)
/// and DPoP proofs (RFC 9449). Either a software key (generated, imported, or kept in the vault)
/// or a key in the platform keystore. The private key cannot be exported through the bindings.
/// Safe from many threads.
#[derive(uniffi::Object)]
pub struct DeviceKey {
    signer: Arc<dyn core::RequestSigner>,
    public: core::PublicKeyInfo,
}

impl DeviceKey {
    fn software(key: core::SoftwareKey) -> Arc<Self> {
        Arc::new(Self {
            public: key.public_key(),
            signer: Arc::new(key),
        })
    }

    /// The key as the core's signer (for the HTTPS client).
    pub(crate) fn signer(&self) -> &dyn core::RequestSigner {
        self.signer.as_ref()
    }
}

#[uniffi::export]
impl DeviceKey {
    /// A new random software key (not stored anywhere: see `loadOrCreate`).
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>, SignatureError> {
        guard_with(|| core::SoftwareKey::generate().map(Self::software))
    }

    /// A software key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), unencrypted.
    #[uniffi::constructor]
    pub fn from_pkcs8_pem(pem: String) -> Result<Arc<Self>, SignatureError> {
        let pem = SecretString::new(pem);
        guard_with(|| {
            // Parsing the key needs its text; it is wiped when `pem` drops.
            core::SoftwareKey::from_pkcs8_pem(pem.expose_secret()).map(Self::software)
        })
    }

    /// The software device key of `account`, kept in `vault` as a `Restricted` item; created on
    /// first use, the same key afterwards. Throws `Storage` when the vault fails, and
    /// `UserAuthenticationRequired` when the vault's unlock gate needs the user: await
    /// `UnlockGate.unlock(RESTRICTED, account, reason)` first.
    #[uniffi::constructor]
    pub fn load_or_create(vault: Arc<Vault>, account: String) -> Result<Arc<Self>, SignatureError> {
        guard_with(|| core::SoftwareKey::load_or_create(&vault.0, &account).map(Self::software))
    }

    /// A key in the platform keystore, signing through `signer`. Reads its public key once;
    /// throws `SignerFailed` when that fails or is not a P-256 key.
    #[uniffi::constructor]
    pub fn platform(signer: Arc<dyn PlatformSigner>) -> Result<Arc<Self>, SignatureError> {
        guard_with(|| {
            core::PlatformKey::new(Arc::new(ForeignPlatformSigner(signer))).map(|key| {
                Arc::new(Self {
                    public: key.public_key(),
                    signer: Arc::new(key),
                })
            })
        })
    }

    /// The public half, for enrolment with the server.
    pub fn public_key(&self) -> Result<PublicKeyInfo, SignatureError> {
        guard_with(|| Ok::<_, Error>(self.public.clone().into()))
    }

    /// Signs `request` now (`created` is the current time). Covering `content-digest` of a
    /// request without one computes it (returned, to add); a `Content-Digest` the request has is
    /// checked against the body (`DigestMismatch`). Throws `ComponentNotInMessage` for a covered
    /// header the request lacks, `Malformed` for a bad component identifier, `InvalidInput` for
    /// a bad label, keyid, nonce, tag or URL, `SignerFailed` when the key fails.
    pub fn sign_request(
        &self,
        request: HttpRequest,
        options: SignOptions,
    ) -> Result<SignedRequestHeaders, SignatureError> {
        guard_with(|| {
            let options = core::SignOptions::try_from(options)?;
            core::sign_request(
                &Crypto::get()?,
                self.signer(),
                &request.into(),
                &options,
                SystemTime::now(),
            )
            .map(SignedRequestHeaders::from)
        })
    }

    /// A DPoP proof (RFC 9449, ES256 JWT) for a request with `method` to `url`, issued now: the
    /// value of its `DPoP` header. `access_token` adds `ath`, `nonce` the server's `DPoP-Nonce`.
    /// Throws `InvalidInput` for a bad method, URL, empty token or nonce.
    pub fn dpop_proof(
        &self,
        method: String,
        url: String,
        access_token: Option<String>,
        nonce: Option<String>,
    ) -> Result<String, SignatureError> {
        let access_token = access_token.map(SecretString::new);
        guard_with(|| {
            let options = core::DpopOptions {
                method: &method,
                url: &url,
                // The token's hash goes into the proof; the token is wiped on drop.
                access_token: access_token.as_ref().map(SecretString::expose_secret),
                nonce: nonce.as_deref(),
            };
            core::dpop_proof(self.signer(), &options, SystemTime::now())
        })
    }
}

/// How a [`SignatureVerifier`] decides. Every field has a default: the core's defaults.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifierOptions {
    /// Components every accepted signature must cover, as identifiers (`"\"@method\""`);
    /// `null`/`nil`: `@method` and `@target-uri`.
    #[uniffi(default = None)]
    pub required: Option<Vec<String>>,
    /// Whether a request with a body must have `content-digest` covered.
    #[uniffi(default = true)]
    pub require_digest_with_body: bool,
    /// Whether `created` must be present.
    #[uniffi(default = true)]
    pub require_created: bool,
    /// Oldest accepted `created`, in seconds before now.
    #[uniffi(default = 300)]
    pub max_age_seconds: i64,
    /// Clock difference tolerated between signer and verifier, in seconds.
    #[uniffi(default = 30)]
    pub clock_skew_seconds: i64,
    /// Whether a `nonce` must be present on every request (a nonce present is always checked
    /// for replay).
    #[uniffi(default = false)]
    pub require_nonce: bool,
    /// Whether a `nonce` must be present on requests with a method that is not safe (anything
    /// but GET, HEAD, OPTIONS, TRACE).
    #[uniffi(default = true)]
    pub require_nonce_for_unsafe_methods: bool,
    /// Most nonces remembered.
    #[uniffi(default = 10000)]
    pub replay_cache_capacity: i64,
    /// Most nonces remembered for one key id (a key that floods evicts only its own).
    #[uniffi(default = 1000)]
    pub replay_cache_per_key: i64,
    /// The label of the signature to check; `null`/`nil`: the first that verifies.
    #[uniffi(default = None)]
    pub label: Option<String>,
    /// When set, only signatures with this `tag` are accepted.
    #[uniffi(default = None)]
    pub tag: Option<String>,
}

impl TryFrom<VerifierOptions> for core::VerifierOptions {
    type Error = Error;

    fn try_from(options: VerifierOptions) -> Result<Self, Error> {
        let defaults = Self::default();
        let required = match options.required {
            Some(list) => list
                .iter()
                .map(|identifier| core::Component::parse(identifier))
                .collect::<Result<Vec<_>, _>>()?,
            None => defaults.required,
        };
        Ok(Self {
            required,
            require_digest_with_body: options.require_digest_with_body,
            require_created: options.require_created,
            max_age: numbers::seconds(options.max_age_seconds, "maxAgeSeconds")?,
            clock_skew: numbers::seconds(options.clock_skew_seconds, "clockSkewSeconds")?,
            require_nonce: options.require_nonce,
            require_nonce_for_unsafe_methods: options.require_nonce_for_unsafe_methods,
            replay_cache_capacity: numbers::size(
                options.replay_cache_capacity,
                "replayCacheCapacity",
            )?,
            replay_cache_per_key: numbers::size(options.replay_cache_per_key, "replayCachePerKey")?,
            label: options.label,
            tag: options.tag,
        })
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedSignature {
    /// Its label.
    pub label: String,
    /// The `keyid` of the key that made it.
    pub keyid: String,
    /// The components it covers, as identifiers (`"@method"` with its quotes).
    pub components: Vec<String>,
    /// `created`, Unix seconds.
    pub created: Option<i64>,
    /// `expires`, Unix seconds.
    pub expires: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
}

impl TryFrom<core::VerifiedSignature> for VerifiedSignature {
    type Error = Error;

    fn try_from(verified: core::VerifiedSignature) -> Result<Self, Error> {
        Ok(Self {
            label: verified.label,
            keyid: verified.keyid,
            components: verified
                .components
                .iter()
                .map(core::Component::identifier)
                .collect::<Result<_, _>>()?,
            created: verified.created.map(numbers::long),
            expires: verified.expires.map(numbers::long),
            nonce: verified.nonce,
            tag: verified.tag,
        })
    }
}

/// Verifies RFC 9421 `ecdsa-p256-sha256` request signatures, e.g. in a test server or a
/// companion device. Remembers nonces to refuse replays. Safe from many threads.
#[derive(uniffi::Object)]
pub struct SignatureVerifier(core::SignatureVerifier);

#[uniffi::export]
impl SignatureVerifier {
    /// A verifier knowing `keys` (keyid → public key: SubjectPublicKeyInfo DER or PEM, or SEC1),
    /// deciding with `options`. Throws `InvalidInput` for a key that is not P-256, `Malformed`
    /// for a bad required component.
    #[uniffi::constructor]
    pub fn new(
        keys: HashMap<String, Vec<u8>>,
        options: VerifierOptions,
    ) -> Result<Arc<Self>, SignatureError> {
        guard_with(|| {
            let keys = keys
                .into_iter()
                .map(|(keyid, key)| {
                    let info = match key.first() {
                        Some(0x02..=0x04) => core::PublicKeyInfo::from_sec1(&key),
                        _ => core::PublicKeyInfo::from_spki(&key),
                    }?;
                    Ok((keyid, info.sec1))
                })
                .collect::<Result<HashMap<_, _>, Error>>()?;
            let options = core::VerifierOptions::try_from(options)?;
            Ok::<_, Error>(Arc::new(Self(core::SignatureVerifier::new(
                Arc::new(keys),
                options,
            ))))
        })
    }

    /// Verifies `request` (its `Signature-Input`, `Signature` and, with a body,
    /// `Content-Digest` headers) now. Throws the `SignatureError` case naming the cause.
    pub fn verify(&self, request: HttpRequest) -> Result<VerifiedSignature, SignatureError> {
        guard_with(|| {
            self.0
                .verify(&Crypto::get()?, &request.into(), SystemTime::now())
                .and_then(VerifiedSignature::try_from)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The record with the values of its `#[uniffi(default)]`s.
    fn uniffi_defaults() -> VerifierOptions {
        VerifierOptions {
            required: None,
            require_digest_with_body: true,
            require_created: true,
            max_age_seconds: 300,
            clock_skew_seconds: 30,
            require_nonce: false,
            require_nonce_for_unsafe_methods: true,
            replay_cache_capacity: 10000,
            replay_cache_per_key: 1000,
            label: None,
            tag: None,
        }
    }

    #[test]
    fn the_foreign_verifier_defaults_are_the_core_defaults() {
        assert_eq!(
            core::VerifierOptions::try_from(uniffi_defaults()),
            Ok(core::VerifierOptions::default())
        );
    }

    #[test]
    fn the_foreign_sign_defaults_are_the_core_defaults() {
        let options = SignOptions {
            key_id: "k".to_owned(),
            label: "sig1".to_owned(),
            components: None,
            expires_in_seconds: None,
            nonce: None,
            no_nonce: false,
            tag: None,
            sha512: false,
        };
        assert_eq!(
            core::SignOptions::try_from(options),
            Ok(core::SignOptions::new("k"))
        );
    }

    #[test]
    fn every_sign_option_reaches_the_core() {
        let options = SignOptions {
            key_id: "k".to_owned(),
            label: "app".to_owned(),
            components: Some(vec!["\"@method\"".to_owned(), "\"x-a\"".to_owned()]),
            expires_in_seconds: Some(60),
            nonce: Some("n".to_owned()),
            no_nonce: true,
            tag: Some("t".to_owned()),
            sha512: true,
        };
        let core = core::SignOptions::try_from(options.clone()).unwrap();
        assert_eq!(core.label, "app");
        assert_eq!(
            core.components,
            Some(vec![
                core::Component::Method,
                core::Component::header("x-a").unwrap()
            ])
        );
        assert_eq!(core.expires_in, Some(Duration::from_secs(60)));
        assert_eq!(core.nonce.as_deref(), Some("n"));
        assert!(core.no_nonce);
        assert_eq!(core.tag.as_deref(), Some("t"));
        assert_eq!(core.digest, core::DigestAlgorithm::Sha512);
        let bad = SignOptions {
            components: Some(vec!["@method".to_owned()]),
            ..options
        };
        assert!(matches!(
            core::SignOptions::try_from(bad).map_err(SignatureError::from),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn every_failure_maps_to_its_case() {
        let map = |failure| {
            SignatureError::from(Error::Signature {
                failure,
                reason: "r".to_owned(),
            })
        };
        assert_eq!(
            map(SignatureFailure::UnknownKey),
            SignatureError::UnknownKey {
                reason: "r".to_owned()
            }
        );
        assert!(matches!(
            map(SignatureFailure::SignerFailed),
            SignatureError::SignerFailed { .. }
        ));
        assert!(matches!(
            SignatureError::from(Error::KeyUnavailable),
            SignatureError::Storage { .. }
        ));
    }

    #[test]
    fn a_foreign_signer_error_keeps_no_foreign_text() {
        struct Throwing;
        impl PlatformSigner for Throwing {
            fn public_key(&self) -> Result<Vec<u8>, SignatureError> {
                Err(SignatureError::Internal {
                    reason: "card 4111111111111111".to_owned(),
                })
            }
            fn sign(&self, _message: Vec<u8>) -> Result<Vec<u8>, SignatureError> {
                Err(SignatureError::from(
                    uniffi::UnexpectedUniFFICallbackError::new("card 4111111111111111"),
                ))
            }
        }
        let signer = ForeignPlatformSigner(Arc::new(Throwing));
        for error in [
            core::PlatformSigner::public_key(&signer).unwrap_err(),
            core::PlatformSigner::sign(&signer, b"m").unwrap_err(),
        ] {
            match SignatureError::from(error) {
                SignatureError::SignerFailed { reason } => {
                    assert!(!reason.contains("4111"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
