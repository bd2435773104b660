//! The server side of RFC 9421: verifying a signed request.
//!
//! Why it is here, in a mobile security core: the server's check and the app's signing must
//! agree byte for byte, and the surest way is one implementation, tested against the RFC's
//! vectors, used by both (a Rust backend links this crate; others port its tests).
//!
//! What "verified" means, in the order it is checked (cheap and local first, the ECDSA
//! verification only once nothing else can refuse, the replay cache only after the signature
//! verified, so an attacker cannot fill it with forged nonces):
//!
//! 1. `Signature-Input` / `Signature` parse ([`parse_signatures`](super::parse_signatures));
//! 2. `alg`, when present, is `ecdsa-p256-sha256` (the key decides the algorithm, RFC 9421
//!    §3.3.7; `alg` can only confirm it);
//! 3. the signature covers every required component (by default `@method`, `@target-uri` and,
//!    with a body, `content-digest`): a signature that does not cover the method or URL could
//!    be moved to another request;
//! 4. `created` is present, not in the future beyond the clock skew and not older than
//!    `max_age` (plus skew); `expires`, when present, has not passed (minus skew);
//! 5. the `keyid` resolves to a public key;
//! 6. the signature base is rebuilt from the request and the signature verifies;
//! 7. a covered `Content-Digest` matches the body;
//! 8. the `nonce` (required or not, when present) has not been seen for this key within the
//!    signature's validity window.
//!
//! The replay cache is bounded in time (an entry lives only as long as its signature could pass
//! step 4) and in memory (a fixed number of entries, and a quota per key id). When a key's quota
//! or the whole cache is full, it drops the entry expiring first of that key (or of the key
//! holding the most) and from then on refuses that key's nonces expiring no later than the one
//! dropped: under a flood the flooding key's acceptance window shrinks instead of letting a
//! dropped nonce replay, and the other keys are untouched.
//!
//! By default a request with a method that is not safe (anything but GET, HEAD, OPTIONS,
//! TRACE) must carry a nonce: without one a captured payment could be replayed for as long as
//! its signature is valid. The signer adds a random one unless told not to.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::components::{Component, SignableMessage};
use super::content_digest::verify_content_digest;
use super::http_sig::{
    HTTP_SIGNATURE_ALGORITHM, ParsedSignature, describe_label, parse_signatures,
};
use super::replay::{MemoryReplayStore, NonceVerdict, ReplayStore};
use crate::crypto::Crypto;
use crate::error::{Error, Result, SignatureFailure};
use crate::tls::HttpRequest;

/// Longest `nonce` accepted (bytes). Nonces are stored in the replay cache, so their size is
/// bounded like its entry count.
pub const MAX_NONCE_LEN: usize = 256;

/// Finds the public key for a `keyid`.
pub trait KeyResolver: Send + Sync {
    /// The uncompressed (or compressed) SEC1 P-256 public key for `keyid`, or `None` when the
    /// key is unknown (or revoked).
    fn resolve(&self, keyid: &str) -> Option<Vec<u8>>;
}

impl<F> KeyResolver for F
where
    F: Fn(&str) -> Option<Vec<u8>> + Send + Sync,
{
    fn resolve(&self, keyid: &str) -> Option<Vec<u8>> {
        self(keyid)
    }
}

impl KeyResolver for HashMap<String, Vec<u8>> {
    fn resolve(&self, keyid: &str) -> Option<Vec<u8>> {
        self.get(keyid).cloned()
    }
}

/// How a [`SignatureVerifier`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierOptions {
    /// Components every accepted signature must cover (default `@method`, `@target-uri`).
    pub required: Vec<Component>,
    /// Whether a request with a body must have `content-digest` covered (default `true`).
    pub require_digest_with_body: bool,
    /// Whether `created` must be present (default `true`; without it a signature's age is
    /// unknown and `max_age` cannot apply).
    pub require_created: bool,
    /// Oldest accepted `created`, measured from now (default 300 s).
    pub max_age: Duration,
    /// Clock difference tolerated between signer and verifier (default 30 s).
    pub clock_skew: Duration,
    /// Whether a `nonce` must be present on every request (default `false`; a nonce present is
    /// always checked).
    pub require_nonce: bool,
    /// Whether a `nonce` must be present on requests whose method is not safe (anything but
    /// `GET`, `HEAD`, `OPTIONS` and `TRACE`; RFC 9110 §9.2.1), default `true`: a captured
    /// payment must not be replayable within its validity window.
    pub require_nonce_for_unsafe_methods: bool,
    /// Most nonces remembered (default 10 000).
    pub replay_cache_capacity: usize,
    /// Most nonces remembered for one key id (default 1 000; at most the capacity): a key that
    /// floods the verifier evicts only its own nonces.
    pub replay_cache_per_key: usize,
    /// The label of the signature to check; `None` (default) checks them in order and accepts
    /// the first that verifies.
    pub label: Option<String>,
    /// When set, only signatures with this `tag` are accepted.
    pub tag: Option<String>,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            required: vec![Component::Method, Component::TargetUri],
            require_digest_with_body: true,
            require_created: true,
            max_age: Duration::from_secs(300),
            clock_skew: Duration::from_secs(30),
            require_nonce: false,
            require_nonce_for_unsafe_methods: true,
            replay_cache_capacity: 10_000,
            replay_cache_per_key: 1_000,
            label: None,
            tag: None,
        }
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Its label.
    pub label: String,
    /// The key that made it.
    pub keyid: String,
    /// The components it covers.
    pub components: Vec<Component>,
    /// `created` (UNIX seconds).
    pub created: Option<u64>,
    /// `expires` (UNIX seconds).
    pub expires: Option<u64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
}

/// Verifies RFC 9421 `ecdsa-p256-sha256` request signatures (see the module documentation for
/// the checks). Thread-safe: share it (`Arc`) between request handlers.
pub struct SignatureVerifier {
    keys: Arc<dyn KeyResolver>,
    options: VerifierOptions,
    replay: Arc<dyn ReplayStore>,
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SignatureVerifier {
    /// A verifier finding keys with `keys`, deciding with `options`, remembering nonces in
    /// memory ([`MemoryReplayStore`] sized by `replay_cache_capacity` and
    /// `replay_cache_per_key`).
    pub fn new(keys: Arc<dyn KeyResolver>, options: VerifierOptions) -> Self {
        let store =
            MemoryReplayStore::new(options.replay_cache_capacity, options.replay_cache_per_key);
        Self::with_replay_store(keys, options, Arc::new(store))
    }

    /// A verifier remembering nonces in `replay` (shared by a fleet: for example
    /// `RedisReplayStore`, feature `redis`). The options' cache sizes do not apply.
    pub fn with_replay_store(
        keys: Arc<dyn KeyResolver>,
        options: VerifierOptions,
        replay: Arc<dyn ReplayStore>,
    ) -> Self {
        Self {
            keys,
            options,
            replay,
        }
    }

    /// The options.
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// Verifies `request` at time `now`.
    ///
    /// # Errors
    /// As [`SignatureVerifier::verify_message`]; [`Error::InvalidInput`] when the URL is not
    /// absolute.
    pub fn verify(
        &self,
        crypto: &Crypto,
        request: &HttpRequest,
        now: SystemTime,
    ) -> Result<VerifiedSignature> {
        let message = SignableMessage::request(&request.method, &request.url, &request.headers)?;
        self.verify_message(crypto, &message, &request.body, now)
    }

    /// Verifies the request `message` with body `body` at time `now`.
    ///
    /// # Errors
    /// [`Error::Signature`] with the failure's cause: [`SignatureFailure::Malformed`] (bad or
    /// missing fields or parameters), [`SignatureFailure::MissingComponent`] (no signature, no
    /// signature with the expected label or tag, a required component not covered),
    /// [`SignatureFailure::UnsupportedAlgorithm`], [`SignatureFailure::Expired`],
    /// [`SignatureFailure::NotYetValid`], [`SignatureFailure::UnknownKey`],
    /// [`SignatureFailure::ComponentNotInMessage`], [`SignatureFailure::BadSignature`],
    /// [`SignatureFailure::DigestMismatch`], [`SignatureFailure::Replayed`]. With several
    /// signatures and none verifying, the first one's failure. [`Error::InvalidInput`] when the
    /// key resolver returned something that is not a P-256 public key.
    pub fn verify_message(
        &self,
        crypto: &Crypto,
        message: &SignableMessage<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedSignature> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::invalid_input("the clock is before 1970"))?
            .as_secs();
        let input = message.header_value("signature-input")?;
        let value = message.header_value("signature")?;
        let (Some(input), Some(value)) = (input, value) else {
            return Err(Error::signature(
                SignatureFailure::MissingComponent,
                "the request has no Signature-Input and Signature fields",
            ));
        };
        let signatures = parse_signatures(&input, &value)?;
        let candidates: Vec<&ParsedSignature> = match &self.options.label {
            Some(label) => {
                let found: Vec<_> = signatures.iter().filter(|s| &s.label == label).collect();
                if found.is_empty() {
                    return Err(Error::signature(
                        SignatureFailure::MissingComponent,
                        format!("{} is not in the request", describe_label(label)),
                    ));
                }
                found
            }
            None => signatures.iter().collect(),
        };
        let mut first_error = None;
        for signature in candidates {
            match self.check(crypto, message, body, signature, now) {
                Ok((verified, valid_until)) => {
                    if let Some(nonce) = &verified.nonce {
                        self.remember(&verified.keyid, nonce, valid_until, now)?;
                    }
                    return Ok(verified);
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            Error::signature(SignatureFailure::MissingComponent, "no signature to check")
        }))
    }

    /// Step 8: the nonce is recorded, or the request refused.
    fn remember(&self, keyid: &str, nonce: &str, valid_until: u64, now: u64) -> Result<()> {
        let verdict = self
            .replay
            .check_and_remember(keyid, nonce, valid_until, now)
            .map_err(|unavailable| {
                Error::signature(
                    SignatureFailure::ReplayStoreUnavailable,
                    format!("the replay store did not answer: {}", unavailable.reason()),
                )
            })?;
        match verdict {
            NonceVerdict::Fresh => Ok(()),
            NonceVerdict::Seen => Err(Error::signature(
                SignatureFailure::Replayed,
                "the nonce was already used with this key",
            )),
            NonceVerdict::TooOld => Err(Error::signature(
                SignatureFailure::Replayed,
                "the replay store cannot vouch for a signature this old",
            )),
        }
    }

    /// Steps 2 to 7 for one signature: the verified signature and until when (UNIX seconds)
    /// its nonce must be remembered.
    fn check(
        &self,
        crypto: &Crypto,
        message: &SignableMessage<'_>,
        body: &[u8],
        signature: &ParsedSignature,
        now: u64,
    ) -> Result<(VerifiedSignature, u64)> {
        let params = &signature.params;
        let label = describe_label(&signature.label);
        if let Some(alg) = &params.alg
            && alg != HTTP_SIGNATURE_ALGORITHM
        {
            return Err(Error::signature(
                SignatureFailure::UnsupportedAlgorithm,
                format!("{label} is not {HTTP_SIGNATURE_ALGORITHM}"),
            ));
        }
        if let Some(tag) = &self.options.tag
            && params.tag.as_ref() != Some(tag)
        {
            return Err(Error::signature(
                SignatureFailure::MissingComponent,
                format!("{label} does not have the expected tag"),
            ));
        }
        for required in &self.options.required {
            if !signature.components.contains(required) {
                return Err(Error::signature(
                    SignatureFailure::MissingComponent,
                    format!("{label} does not cover {}", required.name()),
                ));
            }
        }
        let digest = Component::Header("content-digest".to_owned());
        let covers_digest = signature.components.contains(&digest);
        if self.options.require_digest_with_body && !body.is_empty() && !covers_digest {
            return Err(Error::signature(
                SignatureFailure::MissingComponent,
                format!("{label} does not cover content-digest, and the request has a body"),
            ));
        }

        let valid_until = self.check_times(signature, &label, now)?;
        let nonce = params.nonce.clone();
        match &nonce {
            Some(nonce) if nonce.len() > MAX_NONCE_LEN => {
                return Err(malformed(format!("{label} has a nonce that is too long")));
            }
            None if self.options.require_nonce => {
                return Err(malformed(format!("{label} has no nonce")));
            }
            None if self.options.require_nonce_for_unsafe_methods
                && message
                    .method()
                    .is_some_and(|method| !is_safe_method(method)) =>
            {
                return Err(malformed(format!(
                    "{label} has no nonce, and the method is not safe"
                )));
            }
            _ => {}
        }

        let keyid = params.keyid.clone().ok_or_else(|| {
            Error::signature(
                SignatureFailure::UnknownKey,
                format!("{label} has no keyid"),
            )
        })?;
        let public_key = self.keys.resolve(&keyid).ok_or_else(|| {
            Error::signature(
                SignatureFailure::UnknownKey,
                format!("{label} is by an unknown key"),
            )
        })?;
        let base = signature.signature_base(message)?;
        crypto
            .p256_sha256_verify(&public_key, base.as_bytes(), &signature.signature)
            .map_err(|error| match error {
                Error::Crypto => Error::signature(
                    SignatureFailure::BadSignature,
                    format!("{label} does not verify"),
                ),
                other => other,
            })?;
        if covers_digest {
            let header = message.header_value("content-digest")?.ok_or_else(|| {
                Error::signature(
                    SignatureFailure::ComponentNotInMessage,
                    "content-digest is not in the message",
                )
            })?;
            verify_content_digest(crypto, &header, body)?;
        }
        Ok((
            VerifiedSignature {
                label: signature.label.clone(),
                keyid,
                components: signature.components.clone(),
                created: params.created,
                expires: params.expires,
                nonce,
                tag: params.tag.clone(),
            },
            valid_until,
        ))
    }

    /// The `created` / `expires` window; returns until when the signature can pass it.
    fn check_times(&self, signature: &ParsedSignature, label: &str, now: u64) -> Result<u64> {
        let skew = self.options.clock_skew.as_secs();
        let max_age = self.options.max_age.as_secs();
        let params = &signature.params;
        let mut valid_until = now.saturating_add(max_age).saturating_add(skew);
        match params.created {
            Some(created) => {
                if created > now.saturating_add(skew) {
                    return Err(Error::signature(
                        SignatureFailure::NotYetValid,
                        format!("{label} was created in the future"),
                    ));
                }
                let until = created.saturating_add(max_age).saturating_add(skew);
                if now > until {
                    return Err(Error::signature(
                        SignatureFailure::Expired,
                        format!("{label} is older than allowed"),
                    ));
                }
                valid_until = until;
            }
            None if self.options.require_created => {
                return Err(malformed(format!("{label} has no `created` time")));
            }
            None => {}
        }
        if let Some(expires) = params.expires {
            if params.created.is_some_and(|created| expires < created) {
                return Err(malformed(format!("{label} expires before it was created")));
            }
            let until = expires.saturating_add(skew);
            if now > until {
                return Err(Error::signature(
                    SignatureFailure::Expired,
                    format!("{label} has expired"),
                ));
            }
            valid_until = valid_until.min(until);
        }
        Ok(valid_until)
    }
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::signature(SignatureFailure::Malformed, reason)
}

/// Whether `method` is safe (RFC 9110 §9.2.1): replaying it changes nothing on the server.
fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}
