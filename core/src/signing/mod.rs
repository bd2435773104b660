//! Request signing: a device-bound P-256 key signs API requests (RFC 9421 HTTP Message
//! Signatures with RFC 9530 Content-Digest) and DPoP proofs (RFC 9449); the verifier is for
//! servers.
//!
//! Why sign at all when TLS is pinned: TLS proves who the server is, not which device sent a
//! request. A signature with a key that never leaves the device (the vault, or the platform's
//! keystore through [`PlatformSigner`]) lets the server tie each request to an enrolled device,
//! reject replays, and notice a body changed by a proxy or a compromised middlebox.

// Keys, signers, JWK and DPoP.
mod dpop;
mod key;
mod platform;

// RFC 9530 digests, RFC 9421 signature bases, signing and verifying.
mod components;
mod content_digest;
mod http_sig;
mod replay;
#[cfg(feature = "redis")]
mod replay_redis;
mod verifier;

// -- re-exports: keys, signers, JWK, DPoP --
pub use dpop::{DpopOptions, PreparedDpopProof, dpop_proof, prepare_dpop_proof};
pub use key::{DEVICE_KEY_NAME, DEVICE_KEY_NAMESPACE, PublicKeyInfo, RequestSigner, SoftwareKey};
pub use platform::{AuthBoundKey, AuthBoundSigner, PlatformKey, PlatformSigner, der_to_p1363};

// -- re-exports: digests, signatures, verifier --
pub use components::{Component, SignableMessage};
pub use content_digest::{DigestAlgorithm, content_digest, verify_content_digest};
pub use http_sig::{
    HTTP_SIGNATURE_ALGORITHM, MAX_COMPONENTS, MAX_SIGNATURES, ParsedSignature, PreparedSignature,
    SignOptions, SignatureBase, SignatureParams, SignedRequestHeaders, parse_signatures,
    prepare_request_signature, random_nonce, sign_request, signature_base,
};
pub use replay::{MemoryReplayStore, NonceVerdict, ReplayStore, ReplayStoreUnavailable};
#[cfg(feature = "redis")]
pub use replay_redis::RedisReplayStore;
pub use verifier::{
    KeyResolver, MAX_NONCE_LEN, SignatureVerifier, VerifiedSignature, VerifierOptions,
};
