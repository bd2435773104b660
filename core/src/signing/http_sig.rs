//! RFC 9421 HTTP Message Signatures with `ecdsa-p256-sha256`: signature bases, signing requests,
//! and reading `Signature-Input` / `Signature`.
//!
//! Why this shape: the signature covers a *signature base*, a text built from the covered
//! components' values and the signature's own parameters (RFC 9421 §2.5), never the raw bytes on
//! the wire. Signer and verifier must build it byte for byte alike, so everything that goes
//! into it is derived in one place ([`super::components`]) and every structured field is
//! written and read with `sfv`, never by string pasting.
//!
//! Signing ([`sign_request`]) adds a `Content-Digest` first when the body is covered, so the
//! body is bound to the signature too, and stamps `created` (and `expires` when asked) so a
//! server can bound a signature's lifetime. `alg` is always `ecdsa-p256-sha256`: the key is
//! P-256 and a verifier that believed an `alg` the key cannot make would be inviting algorithm
//! confusion.
//!
//! Reading ([`parse_signatures`]) keeps each `Signature-Input` member's parameters in the order
//! the signer wrote them and re-serialises the member with `sfv` for the `@signature-params`
//! line, so a base rebuilt by a verifier matches one built by any RFC 9421 signer. Input is
//! untrusted: every failure is a typed [`Error`], never a panic, and error reasons name
//! components and labels, never header values.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfv::{
    BareItem, DictSerializer, Dictionary, FieldType, InnerList, Integer, Item, Key, KeyRef,
    ListEntry, ListSerializer, Parameters, Parser, Version,
};

use super::components::{Component, SignableMessage};
use super::content_digest::{DigestAlgorithm, content_digest, verify_content_digest};
use super::key::RequestSigner;
use crate::crypto::Crypto;
use crate::error::{Error, Result, SignatureFailure};
use crate::tls::HttpRequest;

/// The one signature algorithm RukaSec makes and accepts (RFC 9421 §3.3.4).
pub const HTTP_SIGNATURE_ALGORITHM: &str = "ecdsa-p256-sha256";

/// Most signatures [`parse_signatures`] reads from one message. Each may cost the verifier an
/// ECDSA verification, so an unbounded count would let one request buy unbounded work.
pub const MAX_SIGNATURES: usize = 16;

/// Most components one signature may cover.
pub const MAX_COMPONENTS: usize = 64;

/// Longest label echoed in an error reason.
const MAX_NAMED_LABEL: usize = 64;

/// The signature parameters RukaSec writes (checked at compile time).
const CREATED: &KeyRef = KeyRef::constant("created");
const EXPIRES: &KeyRef = KeyRef::constant("expires");
const NONCE: &KeyRef = KeyRef::constant("nonce");
const ALG: &KeyRef = KeyRef::constant("alg");
const KEYID: &KeyRef = KeyRef::constant("keyid");
const TAG: &KeyRef = KeyRef::constant("tag");

/// The signature parameters of RFC 9421 §2.3 that RukaSec reads and writes. Written in the
/// order of the fields here (created, expires, nonce, alg, keyid, tag), the order of the RFC's
/// examples; read in any order (unknown parameters are kept in the `@signature-params` line but
/// otherwise ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    /// `created`: when the signature was made (UNIX seconds).
    pub created: Option<u64>,
    /// `expires`: when the signature stops being valid (UNIX seconds).
    pub expires: Option<u64>,
    /// `nonce`: a unique value, for replay detection.
    pub nonce: Option<String>,
    /// `alg`: the algorithm (`ecdsa-p256-sha256`).
    pub alg: Option<String>,
    /// `keyid`: which key made the signature.
    pub keyid: Option<String>,
    /// `tag`: an application-specific tag.
    pub tag: Option<String>,
}

impl SignatureParams {
    /// The parameters as `sfv` parameters, in the documented order.
    fn to_parameters(&self) -> Result<Parameters> {
        let mut params = Parameters::new();
        for (name, value) in [(CREATED, self.created), (EXPIRES, self.expires)] {
            if let Some(value) = value {
                let integer = i64::try_from(value)
                    .ok()
                    .and_then(|v| Integer::try_from(v).ok())
                    .ok_or_else(|| {
                        Error::invalid_input(format!("the `{name}` time is out of range"))
                    })?;
                params.insert(name.to_owned(), BareItem::Integer(integer));
            }
        }
        for (name, value) in [
            (NONCE, &self.nonce),
            (ALG, &self.alg),
            (KEYID, &self.keyid),
            (TAG, &self.tag),
        ] {
            if let Some(value) = value {
                let string = sfv::String::try_from(value.clone()).map_err(|_| {
                    Error::invalid_input(format!("the `{name}` parameter is not printable ASCII"))
                })?;
                params.insert(name.to_owned(), BareItem::String(string));
            }
        }
        Ok(params)
    }

    /// The parameters RukaSec knows, read from a `Signature-Input` member.
    fn from_parameters(params: &Parameters) -> Result<Self> {
        let mut out = Self::default();
        for (name, value) in params {
            match name.as_str() {
                "created" => out.created = Some(time_param(value, "created")?),
                "expires" => out.expires = Some(time_param(value, "expires")?),
                "nonce" => out.nonce = Some(string_param(value, "nonce")?),
                "alg" => out.alg = Some(string_param(value, "alg")?),
                "keyid" => out.keyid = Some(string_param(value, "keyid")?),
                "tag" => out.tag = Some(string_param(value, "tag")?),
                _ => {}
            }
        }
        Ok(out)
    }
}

fn time_param(value: &BareItem, name: &str) -> Result<u64> {
    value
        .as_integer()
        .and_then(|integer| u64::try_from(i64::from(integer)).ok())
        .ok_or_else(|| malformed(format!("`{name}` is not a non-negative integer")))
}

fn string_param(value: &BareItem, name: &str) -> Result<String> {
    value
        .as_string()
        .map(|string| string.as_str().to_owned())
        .ok_or_else(|| malformed(format!("`{name}` is not a string")))
}

/// A signature base (RFC 9421 §2.5) and the `@signature-params` value in it.
///
/// The base holds the covered components' values (an `Authorization` header, say), so `Debug`
/// prints only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureBase {
    /// The signature base: one `"identifier": value` line per covered component, then the
    /// `"@signature-params"` line (no trailing newline). This is what is signed.
    pub base: String,
    /// The `@signature-params` value: the covered components and parameters as an RFC 8941
    /// inner list, exactly as it goes into `Signature-Input`.
    pub params_value: String,
}

impl fmt::Debug for SignatureBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureBase")
            .field("base", &format_args!("<{} bytes>", self.base.len()))
            .field("params_value", &self.params_value)
            .finish()
    }
}

/// The signature base for `components` of `message` with `params` (RFC 9421 §2.5).
///
/// # Errors
/// [`Error::Signature`] with [`SignatureFailure::ComponentNotInMessage`] when a covered
/// component is absent from the message; with [`SignatureFailure::Malformed`] when a component
/// is covered twice or its value cannot go into a base; [`Error::InvalidInput`] when a
/// component or parameter cannot be serialised, or more than [`MAX_COMPONENTS`] are covered.
pub fn signature_base(
    message: &SignableMessage<'_>,
    components: &[Component],
    params: &SignatureParams,
) -> Result<SignatureBase> {
    if components.len() > MAX_COMPONENTS {
        return Err(Error::invalid_input("too many covered components"));
    }
    let items = components
        .iter()
        .map(Component::to_item)
        .collect::<Result<Vec<_>>>()?;
    let params_value = inner_list_value(&items, &params.to_parameters()?);
    let identifiers: Vec<String> = items.iter().map(FieldType::serialize).collect();
    let base = build_base(message, components, &identifiers, &params_value)?;
    Ok(SignatureBase { base, params_value })
}

/// `items` and `params` serialised as one RFC 8941 inner list.
fn inner_list_value(items: &[Item], params: &Parameters) -> String {
    let mut serializer = ListSerializer::new();
    {
        let mut list = serializer.inner_list();
        list.items(items);
        let _ = list.finish().parameters(params);
    }
    // One member was written, so the serializer has output.
    serializer.finish().unwrap_or_default()
}

/// The base from the components, their identifiers as serialised in `Signature-Input`, and the
/// `@signature-params` value.
fn build_base(
    message: &SignableMessage<'_>,
    components: &[Component],
    identifiers: &[String],
    params_value: &str,
) -> Result<String> {
    let mut base = String::new();
    for (index, (component, identifier)) in components.iter().zip(identifiers).enumerate() {
        if components
            .get(..index)
            .is_some_and(|before| before.contains(component))
        {
            return Err(malformed(format!(
                "the component {} is covered twice",
                component.name()
            )));
        }
        let value = component.value(message)?;
        base.push_str(identifier);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params_value);
    Ok(base)
}

/// How [`sign_request`] signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// The signature's label in `Signature-Input` and `Signature` (default `sig1`); an RFC 8941
    /// key (lowercase letters, digits, `_-.*`).
    pub label: String,
    /// The covered components; `None` for the default set: `@method`, `@target-uri`,
    /// `content-digest` when there is a body, `content-type` and `authorization` when present.
    pub components: Option<Vec<Component>>,
    /// When set, the signature carries `expires` this long after `created`.
    pub expires_in: Option<Duration>,
    /// The `nonce` parameter to send; `None` (default) means a fresh [`random_nonce`] unless
    /// [`SignOptions::no_nonce`] is set.
    pub nonce: Option<String>,
    /// Opts out of the default random nonce (default `false`). Without a nonce a captured
    /// request can be replayed until it expires, and verifiers refuse non-safe methods without
    /// one by default: opt out only for a server that cannot keep a replay store.
    pub no_nonce: bool,
    /// The `tag` parameter, if any.
    pub tag: Option<String>,
    /// The `keyid` parameter: how the server finds the public key.
    pub keyid: String,
    /// The `Content-Digest` algorithm (default SHA-256).
    pub digest: DigestAlgorithm,
}

impl SignOptions {
    /// Defaults (label `sig1`, default components, a random nonce, no expiry or tag, SHA-256
    /// digest) with `keyid`.
    pub fn new(keyid: impl Into<String>) -> Self {
        Self {
            label: "sig1".to_owned(),
            components: None,
            expires_in: None,
            nonce: None,
            no_nonce: false,
            tag: None,
            keyid: keyid.into(),
            digest: DigestAlgorithm::Sha256,
        }
    }
}

/// A fresh random nonce for [`SignOptions::nonce`]: 16 random bytes, base64url without padding.
///
/// # Errors
/// As [`Crypto::random_array`].
pub fn random_nonce(crypto: &Crypto) -> Result<String> {
    use base64::Engine as _;
    let bytes: [u8; 16] = crypto.random_array()?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The headers [`sign_request`] made, to add to the request ([`SignedRequestHeaders::apply`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequestHeaders {
    /// A `Content-Digest` value to add, when the body is covered and the request had none.
    pub content_digest: Option<String>,
    /// The `Signature-Input` value.
    pub signature_input: String,
    /// The `Signature` value.
    pub signature: String,
    /// The signature base that was signed (for debugging; it holds header values, so `Debug`
    /// prints only its length).
    pub base: String,
}

impl SignedRequestHeaders {
    /// Appends the headers to `request`: `Content-Digest` (when made), `Signature-Input`,
    /// `Signature`. A request with a signature already gets a second field line of each, which
    /// RFC 8941 reads as one dictionary (labels must differ).
    pub fn apply(self, request: &mut HttpRequest) {
        if let Some(digest) = self.content_digest {
            request.headers.push(("Content-Digest".to_owned(), digest));
        }
        request
            .headers
            .push(("Signature-Input".to_owned(), self.signature_input));
        request
            .headers
            .push(("Signature".to_owned(), self.signature));
    }
}

impl fmt::Debug for SignedRequestHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequestHeaders")
            .field("content_digest", &self.content_digest)
            .field("signature_input", &self.signature_input)
            .field("signature", &self.signature)
            .field("base", &format_args!("<{} bytes>", self.base.len()))
            .finish()
    }
}

/// Signs `request` with `signer` (RFC 9421, `ecdsa-p256-sha256`) at time `now`.
///
/// When `content-digest` is covered and the request has no `Content-Digest`, one is computed
/// with `options.digest` and covered (and returned, to add); a `Content-Digest` the request
/// already has is checked against the body and covered as it is. The parameters are `created`
/// (`now`), `expires` (with `expires_in`), `nonce`, `alg`, `keyid` and `tag`.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad label, keyid, nonce or tag (empty keyid, not printable
/// ASCII), a URL that is not absolute, or a clock before 1970; [`Error::Signature`] with
/// [`SignatureFailure::ComponentNotInMessage`] when a covered header is absent, with
/// [`SignatureFailure::DigestMismatch`] when the request's own `Content-Digest` does not match
/// its body; whatever `signer` reports.
pub fn sign_request(
    crypto: &Crypto,
    signer: &dyn RequestSigner,
    request: &HttpRequest,
    options: &SignOptions,
    now: SystemTime,
) -> Result<SignedRequestHeaders> {
    let prepared = prepare_request_signature(crypto, request, options, now)?;
    let signature = signer.sign_p1363(prepared.base.as_bytes())?;
    prepared.finish(&signature)
}

/// A request signature ready for its bytes: what [`sign_request`] does before and after it asks
/// the key, split for keys that sign asynchronously (a platform key that prompts the user:
/// [`AuthBoundKey`](super::AuthBoundKey)). Sign [`PreparedSignature::base`] with ECDSA P-256
/// SHA-256, then [`PreparedSignature::finish`]. `Debug` prints the base's length only.
#[derive(Clone)]
pub struct PreparedSignature {
    label: sfv::Key,
    components: Vec<Component>,
    params: SignatureParams,
    added_digest: Option<String>,
    base: String,
}

impl std::fmt::Debug for PreparedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedSignature")
            .field("base", &format_args!("<{} bytes>", self.base.len()))
            .finish_non_exhaustive()
    }
}

impl PreparedSignature {
    /// The signature base: the bytes to sign.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The headers, with `signature` (P1363 `r‖s`) over [`PreparedSignature::base`].
    ///
    /// # Errors
    /// [`Error::Internal`] if a component cannot be serialised (checked while preparing).
    pub fn finish(self, signature: &[u8; 64]) -> Result<SignedRequestHeaders> {
        let Self {
            label,
            components,
            params,
            added_digest,
            base,
        } = self;
        let items = components
            .iter()
            .map(Component::to_item)
            .collect::<Result<Vec<_>>>()?;
        let mut input = DictSerializer::new();
        {
            let mut list = input.inner_list(&label);
            list.items(&items);
            let _ = list.finish().parameters(&params.to_parameters()?);
        }
        let mut value = DictSerializer::new();
        let _ = value.bare_item(&label, signature.as_slice());

        Ok(SignedRequestHeaders {
            content_digest: added_digest,
            // Both dictionaries have one member, so both serializers have output.
            signature_input: input.finish().unwrap_or_default(),
            signature: value.finish().unwrap_or_default(),
            base,
        })
    }
}

/// Everything [`sign_request`] does before it asks the key: checks the options, adds or checks
/// `Content-Digest`, fixes the parameters (`created` is `now`, a random nonce unless given or
/// opted out) and builds the signature base.
///
/// # Errors
/// As [`sign_request`], but for the key's.
pub fn prepare_request_signature(
    crypto: &Crypto,
    request: &HttpRequest,
    options: &SignOptions,
    now: SystemTime,
) -> Result<PreparedSignature> {
    let label = KeyRef::from_str(&options.label)
        .map_err(|_| Error::invalid_input("the signature label is not a structured-field key"))?;
    if options.keyid.is_empty() {
        return Err(Error::invalid_input("the keyid is empty"));
    }
    let has = |name: &str| {
        request
            .headers
            .iter()
            .any(|(field, _)| field.trim().eq_ignore_ascii_case(name))
    };
    let components = match &options.components {
        Some(components) => components.clone(),
        None => {
            let mut components = vec![Component::Method, Component::TargetUri];
            if !request.body.is_empty() {
                components.push(header("content-digest"));
            }
            for name in ["content-type", "authorization"] {
                if has(name) {
                    components.push(header(name));
                }
            }
            components
        }
    };

    let mut headers = request.headers.clone();
    let mut added_digest = None;
    if components.contains(&header("content-digest")) {
        let existing = SignableMessage::request(&request.method, &request.url, &request.headers)?
            .header_value("content-digest")?;
        match existing {
            Some(existing) => verify_content_digest(crypto, &existing, &request.body)?,
            None => {
                let digest = content_digest(crypto, &request.body, &[options.digest]);
                headers.push(("Content-Digest".to_owned(), digest.clone()));
                added_digest = Some(digest);
            }
        }
    }

    let created = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::invalid_input("the clock is before 1970"))?
        .as_secs();
    let expires = match options.expires_in {
        Some(lifetime) => {
            let seconds = lifetime
                .as_secs()
                .saturating_add(u64::from(lifetime.subsec_nanos() > 0));
            Some(
                created
                    .checked_add(seconds)
                    .ok_or_else(|| Error::invalid_input("the signature lifetime is too long"))?,
            )
        }
        None => None,
    };
    // Replay protection by default: a random nonce unless the caller gave one or opted out.
    let nonce = match (&options.nonce, options.no_nonce) {
        (Some(nonce), _) => Some(nonce.clone()),
        (None, false) => Some(random_nonce(crypto)?),
        (None, true) => None,
    };
    let params = SignatureParams {
        created: Some(created),
        expires,
        nonce,
        alg: Some(HTTP_SIGNATURE_ALGORITHM.to_owned()),
        keyid: Some(options.keyid.clone()),
        tag: options.tag.clone(),
    };

    let message = SignableMessage::request(&request.method, &request.url, &headers)?;
    let SignatureBase { base, .. } = signature_base(&message, &components, &params)?;
    // Serialisable now, so that `finish` cannot fail later for a reason found here.
    components
        .iter()
        .map(Component::to_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(PreparedSignature {
        label: label.to_owned(),
        components,
        params,
        added_digest,
        base,
    })
}

/// One signature read from `Signature-Input` and `Signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    /// The label (dictionary key) in both fields.
    pub label: String,
    /// The covered components, in order.
    pub components: Vec<Component>,
    /// The parameters RukaSec knows.
    pub params: SignatureParams,
    /// The signature bytes (64 bytes `r‖s` for `ecdsa-p256-sha256`; not checked here).
    pub signature: Vec<u8>,
    /// The `@signature-params` value: the `Signature-Input` member re-serialised, parameters
    /// (known or not) in the signer's order.
    pub params_value: String,
    /// Each component's identifier as serialised in `Signature-Input` (its parameters in the
    /// signer's order).
    identifiers: Vec<String>,
}

impl ParsedSignature {
    /// The signature base this signature claims to cover, rebuilt from `message`.
    ///
    /// # Errors
    /// As [`signature_base`].
    pub fn signature_base(&self, message: &SignableMessage<'_>) -> Result<String> {
        build_base(
            message,
            &self.components,
            &self.identifiers,
            &self.params_value,
        )
    }
}

/// Reads every signature from a `Signature-Input` and a `Signature` field value (each an RFC
/// 8941 dictionary; several field lines joined with `", "`), in `Signature-Input` order.
///
/// # Errors
/// [`Error::Signature`] with [`SignatureFailure::Malformed`] when either field is not a
/// dictionary of the right shape, a label is in one field but not the other, a component or
/// parameter is invalid, or there are more than [`MAX_SIGNATURES`] signatures or
/// [`MAX_COMPONENTS`] components in one.
pub fn parse_signatures(signature_input: &str, signature: &str) -> Result<Vec<ParsedSignature>> {
    let inputs = parse_dictionary(signature_input, "Signature-Input")?;
    let values = parse_dictionary(signature, "Signature")?;
    if inputs.is_empty() {
        return Err(malformed("the Signature-Input field has no signature"));
    }
    if inputs.len() > MAX_SIGNATURES || values.len() > MAX_SIGNATURES {
        return Err(malformed("too many signatures"));
    }
    if let Some(label) = values.keys().find(|label| !inputs.contains_key(*label)) {
        return Err(malformed(format!(
            "{} is in Signature but not in Signature-Input",
            describe_label(label.as_str())
        )));
    }
    inputs
        .iter()
        .map(|(label, entry)| {
            let ListEntry::InnerList(list) = entry else {
                return Err(malformed(format!(
                    "{} in Signature-Input is not an inner list",
                    describe_label(label.as_str())
                )));
            };
            let signature = match values.get(label) {
                Some(ListEntry::Item(Item {
                    bare_item: BareItem::ByteSequence(bytes),
                    ..
                })) => bytes.clone(),
                Some(_) => {
                    return Err(malformed(format!(
                        "{} in Signature is not a byte sequence",
                        describe_label(label.as_str())
                    )));
                }
                None => {
                    return Err(malformed(format!(
                        "{} is in Signature-Input but not in Signature",
                        describe_label(label.as_str())
                    )));
                }
            };
            parse_member(label, list, signature)
        })
        .collect()
}

fn parse_member(label: &Key, list: &InnerList, signature: Vec<u8>) -> Result<ParsedSignature> {
    if list.items.len() > MAX_COMPONENTS {
        return Err(malformed("too many covered components"));
    }
    let components = list
        .items
        .iter()
        .map(Component::from_item)
        .collect::<Result<Vec<_>>>()?;
    let identifiers = list.items.iter().map(FieldType::serialize).collect();
    let params = SignatureParams::from_parameters(&list.params)?;
    let params_value = inner_list_value(&list.items, &list.params);
    Ok(ParsedSignature {
        label: label.as_str().to_owned(),
        components,
        params,
        signature,
        params_value,
        identifiers,
    })
}

fn parse_dictionary(value: &str, field: &str) -> Result<Dictionary> {
    Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse()
        .map_err(|_| {
            malformed(format!(
                "the {field} field is not a structured-field dictionary"
            ))
        })
}

/// `the signature "sig1"`, or a fixed text for a label too long to echo.
pub(crate) fn describe_label(label: &str) -> String {
    if label.len() <= MAX_NAMED_LABEL {
        format!("the signature \"{label}\"")
    } else {
        "a signature".to_owned()
    }
}

fn header(name: &str) -> Component {
    Component::Header(name.to_owned())
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::signature(SignatureFailure::Malformed, reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};

    use super::*;

    /// A software signer for tests: a fixed P-256 scalar.
    struct TestSigner(SigningKey);

    impl TestSigner {
        fn new() -> Self {
            Self(SigningKey::from_slice(&[7; 32]).unwrap())
        }
    }

    impl RequestSigner for TestSigner {
        fn public_key_sec1(&self) -> Result<Vec<u8>> {
            Ok(self
                .0
                .verifying_key()
                .to_sec1_point(false)
                .as_bytes()
                .to_vec())
        }

        fn sign_p1363(&self, message: &[u8]) -> Result<[u8; 64]> {
            let signature: Signature = self.0.sign(message);
            Ok(signature.to_bytes().into())
        }
    }

    struct FailingSigner;

    impl RequestSigner for FailingSigner {
        fn public_key_sec1(&self) -> Result<Vec<u8>> {
            Err(Error::signature(SignatureFailure::SignerFailed, "test"))
        }

        fn sign_p1363(&self, _: &[u8]) -> Result<[u8; 64]> {
            Err(Error::signature(SignatureFailure::SignerFailed, "test"))
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn post() -> HttpRequest {
        HttpRequest {
            method: "POST".to_owned(),
            url: "https://api.example.com/v1/pay?x=1".to_owned(),
            headers: vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Authorization".to_owned(), "Bearer secret-token".to_owned()),
            ],
            body: br#"{"amount":100}"#.to_vec(),
        }
    }

    fn failure<T: fmt::Debug>(result: Result<T>) -> SignatureFailure {
        match result {
            Err(Error::Signature { failure, .. }) => failure,
            other => panic!("expected a signature error, got {other:?}"),
        }
    }

    #[test]
    fn signs_the_default_components_and_verifies() {
        let crypto = Crypto::get().unwrap();
        let signer = TestSigner::new();
        let request = post();
        let mut options = SignOptions::new("device-1");
        options.nonce = Some("n-1".to_owned());
        options.tag = Some("rukapay".to_owned());
        options.expires_in = Some(Duration::from_millis(60_500));
        let signed = sign_request(&crypto, &signer, &request, &options, at(1_700_000_000)).unwrap();
        assert_eq!(
            signed.signature_input,
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\" \"content-type\" \"authorization\")\
             ;created=1700000000;expires=1700000061;nonce=\"n-1\";alg=\"ecdsa-p256-sha256\"\
             ;keyid=\"device-1\";tag=\"rukapay\""
        );
        let digest = signed.content_digest.clone().unwrap();
        assert!(digest.starts_with("sha-256=:"));
        assert_eq!(
            signed.base,
            format!(
                "\"@method\": POST\n\
                 \"@target-uri\": https://api.example.com/v1/pay?x=1\n\
                 \"content-digest\": {digest}\n\
                 \"content-type\": application/json\n\
                 \"authorization\": Bearer secret-token\n\
                 \"@signature-params\": {}",
                signed.signature_input.strip_prefix("sig1=").unwrap()
            )
        );
        let debug = format!("{signed:?}");
        assert!(!debug.contains("secret-token"), "{debug}");

        let mut sent = request.clone();
        signed.clone().apply(&mut sent);
        assert_eq!(sent.headers.len(), request.headers.len() + 3);
        let message = SignableMessage::request(&sent.method, &sent.url, &sent.headers).unwrap();
        let input = message.header_value("signature-input").unwrap().unwrap();
        let value = message.header_value("signature").unwrap().unwrap();
        let parsed = parse_signatures(&input, &value).unwrap();
        assert_eq!(parsed.len(), 1);
        let parsed = &parsed[0];
        assert_eq!(parsed.label, "sig1");
        assert_eq!(parsed.params.keyid.as_deref(), Some("device-1"));
        assert_eq!(parsed.params.created, Some(1_700_000_000));
        assert_eq!(parsed.params.expires, Some(1_700_000_061));
        assert_eq!(parsed.params.alg.as_deref(), Some(HTTP_SIGNATURE_ALGORITHM));
        assert_eq!(parsed.signature.len(), 64);
        let base = parsed.signature_base(&message).unwrap();
        assert_eq!(base, signed.base);
        crypto
            .p256_sha256_verify(
                &signer.public_key_sec1().unwrap(),
                base.as_bytes(),
                &parsed.signature,
            )
            .unwrap();
        verify_content_digest(&crypto, &digest, &sent.body).unwrap();
    }

    #[test]
    fn a_get_without_body_covers_no_digest() {
        let crypto = Crypto::get().unwrap();
        let request = HttpRequest::get("https://example.com/a");
        let options = SignOptions {
            no_nonce: true,
            ..SignOptions::new("k")
        };
        let signed = sign_request(&crypto, &TestSigner::new(), &request, &options, at(1)).unwrap();
        assert_eq!(signed.content_digest, None);
        assert_eq!(
            signed.signature_input,
            "sig1=(\"@method\" \"@target-uri\");created=1;alg=\"ecdsa-p256-sha256\";keyid=\"k\""
        );
        assert!(signed.signature.starts_with("sig1=:") && signed.signature.ends_with(':'));
    }

    #[test]
    fn a_random_nonce_is_added_unless_the_caller_opts_out() {
        let crypto = Crypto::get().unwrap();
        let request = HttpRequest::get("https://example.com/a");
        let sign = |options: &SignOptions| {
            sign_request(&crypto, &TestSigner::new(), &request, options, at(1))
                .unwrap()
                .signature_input
        };
        let nonce_of = |input: &str| {
            let start = input.find(";nonce=\"")? + 8;
            let len = input[start..].find('"')?;
            Some(input[start..start + len].to_owned())
        };
        let (first, second) = (sign(&SignOptions::new("k")), sign(&SignOptions::new("k")));
        let (a, b) = (nonce_of(&first).unwrap(), nonce_of(&second).unwrap());
        assert_eq!(a.len(), 22, "16 random bytes, base64url: {a}");
        assert_ne!(a, b, "a fresh nonce per signature");
        let given = SignOptions {
            nonce: Some("mine".to_owned()),
            ..SignOptions::new("k")
        };
        assert_eq!(nonce_of(&sign(&given)).as_deref(), Some("mine"));
        let none = SignOptions {
            no_nonce: true,
            ..SignOptions::new("k")
        };
        assert_eq!(nonce_of(&sign(&none)), None);
    }

    #[test]
    fn an_existing_content_digest_is_checked_and_kept() {
        let crypto = Crypto::get().unwrap();
        let mut request = post();
        let digest = content_digest(&crypto, &request.body, &[DigestAlgorithm::Sha512]);
        request.headers.push(("content-digest".to_owned(), digest));
        let signed = sign_request(
            &crypto,
            &TestSigner::new(),
            &request,
            &SignOptions::new("k"),
            at(1),
        )
        .unwrap();
        assert_eq!(signed.content_digest, None);
        assert!(signed.base.contains("\"content-digest\": sha-512=:"));

        request.body.push(b' ');
        assert_eq!(
            failure(sign_request(
                &crypto,
                &TestSigner::new(),
                &request,
                &SignOptions::new("k"),
                at(1),
            )),
            SignatureFailure::DigestMismatch
        );
    }

    #[test]
    fn explicit_components_and_bad_options() {
        let crypto = Crypto::get().unwrap();
        let signer = TestSigner::new();
        let request = post();
        let mut options = SignOptions::new("k");
        options.label = "my-sig".to_owned();
        options.digest = DigestAlgorithm::Sha512;
        options.components = Some(vec![
            Component::Authority,
            Component::Path,
            Component::query_param("x"),
            Component::header("content-digest").unwrap(),
        ]);
        let signed = sign_request(&crypto, &signer, &request, &options, at(5)).unwrap();
        assert!(signed.signature_input.starts_with(
            "my-sig=(\"@authority\" \"@path\" \"@query-param\";name=\"x\" \"content-digest\")"
        ));
        assert!(signed.content_digest.unwrap().starts_with("sha-512=:"));
        assert!(signed.base.starts_with(
            "\"@authority\": api.example.com\n\"@path\": /v1/pay\n\"@query-param\";name=\"x\": 1\n"
        ));

        // Covering content-digest of an empty body digests the empty content.
        let get = HttpRequest::get("https://example.com/?x=2");
        let signed = sign_request(&crypto, &signer, &get, &options, at(5)).unwrap();
        assert_eq!(
            signed.content_digest.as_deref(),
            Some(content_digest(&crypto, b"", &[DigestAlgorithm::Sha512]).as_str())
        );

        let bad = |change: fn(&mut SignOptions)| {
            let mut options = SignOptions::new("k");
            change(&mut options);
            sign_request(&crypto, &signer, &request, &options, at(5)).unwrap_err()
        };
        assert!(matches!(
            bad(|o| o.label = "Sig".to_owned()),
            Error::InvalidInput { .. }
        ));
        assert!(matches!(
            bad(|o| o.keyid = String::new()),
            Error::InvalidInput { .. }
        ));
        assert!(matches!(
            bad(|o| o.keyid = "k\u{e9}".to_owned()),
            Error::InvalidInput { .. }
        ));
        assert!(matches!(
            bad(|o| o.nonce = Some("a\nb".to_owned())),
            Error::InvalidInput { .. }
        ));
        assert!(matches!(
            bad(|o| o.expires_in = Some(Duration::MAX)),
            Error::InvalidInput { .. }
        ));
        assert_eq!(
            failure(Err::<(), _>(bad(|o| {
                o.components = Some(vec![Component::header("x-absent").unwrap()]);
            }))),
            SignatureFailure::ComponentNotInMessage
        );
        assert_eq!(
            failure(Err::<(), _>(bad(|o| {
                o.components = Some(vec![Component::Method, Component::Method]);
            }))),
            SignatureFailure::Malformed
        );
        assert_eq!(
            failure(sign_request(
                &crypto,
                &FailingSigner,
                &request,
                &SignOptions::new("k"),
                at(5)
            )),
            SignatureFailure::SignerFailed
        );
        assert!(
            sign_request(
                &crypto,
                &signer,
                &request,
                &SignOptions::new("k"),
                UNIX_EPOCH - Duration::from_secs(1)
            )
            .is_err()
        );
        let mut relative = request.clone();
        relative.url = "/v1/pay".to_owned();
        assert!(matches!(
            sign_request(&crypto, &signer, &relative, &SignOptions::new("k"), at(5)),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn parsing_keeps_the_signers_parameter_order() {
        let input = "sig2=(\"@authority\" \"@query-param\";req;name=\"a\");keyid=\"k\";created=5;\
                     custom=?1;expires=9, sig1=(\"@method\")";
        let signature = "sig1=:AAAA:, sig2=:AQID:";
        let parsed = parse_signatures(input, signature).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].label, "sig2");
        assert_eq!(
            parsed[0].params_value,
            "(\"@authority\" \"@query-param\";req;name=\"a\");keyid=\"k\";created=5;custom;expires=9"
        );
        assert_eq!(parsed[0].identifiers[1], "\"@query-param\";req;name=\"a\"");
        assert_eq!(
            parsed[0].components,
            vec![
                Component::Authority,
                Component::query_param("a").of_request()
            ]
        );
        assert_eq!(
            parsed[0].params,
            SignatureParams {
                created: Some(5),
                expires: Some(9),
                keyid: Some("k".to_owned()),
                ..SignatureParams::default()
            }
        );
        assert_eq!(parsed[0].signature, vec![1, 2, 3]);
        assert_eq!(parsed[1].label, "sig1");
        assert_eq!(parsed[1].params_value, "(\"@method\")");
        assert_eq!(parsed[1].signature, vec![0, 0, 0]);
    }

    #[test]
    fn parsing_refuses_garbage_with_typed_errors() {
        let long_label = format!("{}=(\"@method\")", "a".repeat(200));
        let many = (0..=MAX_SIGNATURES)
            .map(|i| format!("s{i}=()"))
            .collect::<Vec<_>>()
            .join(", ");
        let many_values = (0..=MAX_SIGNATURES)
            .map(|i| format!("s{i}=:AA==:"))
            .collect::<Vec<_>>()
            .join(", ");
        let many_components = format!(
            "sig1=({})",
            (0..=MAX_COMPONENTS)
                .map(|i| format!("\"h{i}\""))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let cases: Vec<(String, String)> = vec![
            (String::new(), String::new()),
            ("sig1=(\"@method\")".into(), String::new()),
            (String::new(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\")".into(), "sig2=:AAAA:".into()),
            (
                "sig1=(\"@method\")".into(),
                "sig1=:AAAA:, sig2=:AAAA:".into(),
            ),
            ("sig1=\"@method\"".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\")".into(), "sig1=\"AAAA\"".into()),
            ("sig1=(\"@method\")".into(), "sig1=(:AAAA:)".into()),
            ("sig1=(@method)".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@bogus\")".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\");created=-1".into(), "sig1=:AAAA:".into()),
            (
                "sig1=(\"@method\");created=1.5".into(),
                "sig1=:AAAA:".into(),
            ),
            ("sig1=(\"@method\");keyid=1".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\");alg=ecdsa".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\"".into(), "sig1=:AAAA:".into()),
            ("sig1=(\"@method\")".into(), "sig1=:AAAA".into()),
            ("sig1=(\"@method\");created=@1".into(), "sig1=:AAAA:".into()),
            ("SIG1=(\"@method\")".into(), "SIG1=:AAAA:".into()),
            ("\u{0}\u{7f}\u{ff}".into(), "((((".into()),
            (long_label, "b=:AA==:".into()),
            (many, many_values),
            (many_components, "sig1=:AA==:".into()),
        ];
        for (input, signature) in &cases {
            let result = parse_signatures(input, signature);
            assert_eq!(
                failure(result.clone()),
                SignatureFailure::Malformed,
                "{input:?} / {signature:?}"
            );
            let reason = result.unwrap_err().reason();
            assert!(reason.len() < 200, "{reason}");
            assert!(!reason.contains("AAAA"), "{reason}");
        }
    }

    #[test]
    fn signature_base_refuses_too_many_components() {
        let headers = Vec::new();
        let message = SignableMessage::request("GET", "https://a/", &headers).unwrap();
        let components = vec![Component::Method; MAX_COMPONENTS + 1];
        assert!(matches!(
            signature_base(&message, &components, &SignatureParams::default()),
            Err(Error::InvalidInput { .. })
        ));
        let base =
            signature_base(&message, &[Component::Method], &SignatureParams::default()).unwrap();
        assert_eq!(
            base.base,
            "\"@method\": GET\n\"@signature-params\": (\"@method\")"
        );
        assert_eq!(base.params_value, "(\"@method\")");
        assert!(format!("{base:?}").contains("bytes"));
        let empty = signature_base(&message, &[], &SignatureParams::default()).unwrap();
        assert_eq!(empty.base, "\"@signature-params\": ()");
    }

    #[test]
    fn random_nonces_differ() {
        let crypto = Crypto::get().unwrap();
        let a = random_nonce(&crypto).unwrap();
        let b = random_nonce(&crypto).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
    }
}
