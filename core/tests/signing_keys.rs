//! Device keys, platform signers and DPoP proofs: the public key in every form (checked against
//! RFC 9421's test key and an independently computed RFC 7638 thumbprint), PEM round trips, the
//! vault-backed device key, platform signatures in every shape a platform might return (and the
//! ones it must not), DPoP proofs decoded and verified independently, and no key bytes in any
//! `Debug` or error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

#[allow(dead_code)] // each test crate uses part of the shared helpers
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::EncodePrivateKey as _;
use rukasec_core::crypto::Crypto;
use rukasec_core::events::EventBus;
use rukasec_core::signing::{
    DEVICE_KEY_NAME, DEVICE_KEY_NAMESPACE, DpopOptions, PlatformKey, PlatformSigner, PublicKeyInfo,
    RequestSigner, SoftwareKey, der_to_p1363, dpop_proof,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DataClass, Vault};
use rukasec_core::{Error, SignatureFailure};
use sha2::{Digest as _, Sha256};
use support::load;

/// RFC 9421 appendix B.1.3 `test-key-ecc-p256`, uncompressed SEC1 (decoded from the printed
/// SubjectPublicKeyInfo).
const RFC9421_P256_SEC1: &str = "04a885586552c2acf6471878cfd7b0935b4ffe0fd2dfc341248ea17bc41e058af031ce2737d2d30ce0617e851e83c61ef5679d151867657649035d90a74cd9e85d";

/// Its RFC 7638 canonical JWK: x and y as printed in RFC 9421's JWK.
const RFC9421_P256_JWK: &str = r#"{"crv":"P-256","kty":"EC","x":"qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA","y":"Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0"}"#;

/// Its RFC 7638 thumbprint, computed outside RukaSec twice: Python
/// (`base64.urlsafe_b64encode(hashlib.sha256(json.dumps({crv,kty,x,y}, separators=(',', ':'),
/// sort_keys=True).encode()).digest()).rstrip(b'=')` over the JWK in the vector file) and
/// OpenSSL (x and y cut from `openssl pkey -pubin -outform DER` of the printed PEM, base64url
/// with `openssl base64 | tr '+/' '-_'`, the JSON hashed with `openssl dgst -sha256 -binary`).
const RFC9421_P256_THUMBPRINT: &str = "ydQXMtvbsOsZyFir-Y7A8t7fKEM1gbKPvyFkdpu4fvI";

/// 32 bytes that are a valid P-256 scalar and easy to spot in any output.
const CANARY_SCALAR: &[u8; 32] = b"CANARY-7f3a9c-do-not-log-0000000";

const NOW: u64 = 1_800_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64url(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn signature_failure(error: &Error) -> Option<SignatureFailure> {
    match error {
        Error::Signature { failure, .. } => Some(*failure),
        _ => None,
    }
}

fn open_vault(dir: &std::path::Path, wrapper: &Arc<MemoryKeyWrapper>) -> Vault {
    Vault::open(dir, wrapper.clone(), Arc::new(EventBus::new(None))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Public keys, JWK, thumbprint
// ---------------------------------------------------------------------------------------------

#[test]
fn jwk_and_thumbprint_of_the_rfc_9421_p256_key() {
    let sec1 = hex::decode(RFC9421_P256_SEC1).unwrap();
    let info = PublicKeyInfo::from_sec1(&sec1).unwrap();
    assert_eq!(info.sec1, sec1);
    assert_eq!(info.jwk, RFC9421_P256_JWK);
    assert_eq!(info.thumbprint, RFC9421_P256_THUMBPRINT);
    // The other encodings describe the same key.
    assert_eq!(PublicKeyInfo::from_spki(&info.spki_der).unwrap(), info);
    assert_eq!(
        PublicKeyInfo::from_spki(info.spki_pem.as_bytes()).unwrap(),
        info
    );
    // Compressed SEC1 is accepted and normalised.
    let mut compressed = vec![0x02 | (sec1[64] & 1)];
    compressed.extend_from_slice(&sec1[1..33]);
    assert_eq!(PublicKeyInfo::from_sec1(&compressed).unwrap(), info);
}

#[test]
fn public_key_forms_match_the_rfc_9421_vector_file() {
    let Some(file) = load("rfc9421_http_message_signatures.json") else {
        return;
    };
    let key = &file["keys"]["test-key-ecc-p256"];
    let pem = key["public_key_pem"].as_str().unwrap();
    let info = PublicKeyInfo::from_spki(pem.as_bytes()).unwrap();
    assert_eq!(info.spki_pem, pem, "PEM re-encoded exactly as printed");
    assert_eq!(info.sec1, hex::decode(RFC9421_P256_SEC1).unwrap());
    assert_eq!(
        info.sec1,
        support::hex(&key["public_key_sec1_uncompressed_hex"])
    );
    let jwk: serde_json::Value = serde_json::from_str(&info.jwk).unwrap();
    for member in ["kty", "crv", "x", "y"] {
        assert_eq!(jwk[member], key["jwk"][member], "{member}");
    }
    assert_eq!(info.thumbprint, RFC9421_P256_THUMBPRINT);
    // The private key is printed as SEC1 "EC PRIVATE KEY" PEM.
    let private = SoftwareKey::from_pkcs8_pem(key["private_key_pem"].as_str().unwrap()).unwrap();
    assert_eq!(private.public_key(), info);
    assert_eq!(private.public_key_sec1().unwrap(), info.sec1);
}

#[test]
fn bad_public_keys_are_invalid_input() {
    let sec1 = hex::decode(RFC9421_P256_SEC1).unwrap();
    let mut off_curve = sec1.clone();
    off_curve[64] ^= 1;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("identity", vec![0x00]),
        ("off the curve", off_curve),
        ("truncated", sec1[..64].to_vec()),
        ("too long", [sec1.as_slice(), &[0]].concat()),
    ];
    for (name, bytes) in &cases {
        assert!(
            matches!(
                PublicKeyInfo::from_sec1(bytes),
                Err(Error::InvalidInput { .. })
            ),
            "{name}"
        );
        assert!(
            matches!(
                PublicKeyInfo::from_spki(bytes),
                Err(Error::InvalidInput { .. })
            ),
            "{name}"
        );
    }
    let info = PublicKeyInfo::from_sec1(&sec1).unwrap();
    let trailing = [info.spki_der.as_slice(), &[0]].concat();
    assert!(PublicKeyInfo::from_spki(&trailing).is_err());
    assert!(
        PublicKeyInfo::from_spki(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// Software keys: PEM, signing, vault
// ---------------------------------------------------------------------------------------------

#[test]
fn pkcs8_pem_round_trip() {
    let key = SoftwareKey::generate().unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    // Test: the PEM's shape and re-import are what is checked.
    let text = pem.expose_secret();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    assert!(text.ends_with("\n-----END PRIVATE KEY-----\n"));
    assert!(text.lines().all(|line| line.len() <= 64));
    let again = SoftwareKey::from_pkcs8_pem(text).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    // CRLF line endings and surrounding text are fine.
    let crlf = format!("key follows\r\n{}\r\n", text.replace('\n', "\r\n"));
    assert_eq!(
        SoftwareKey::from_pkcs8_pem(&crlf).unwrap().public_key(),
        key.public_key()
    );
    // The PEM body is the PKCS#8 DER.
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    assert_eq!(
        SoftwareKey::from_pkcs8_der(&der).unwrap().public_key(),
        key.public_key()
    );
    // Deterministic signatures: the same key signs the same message identically.
    assert_eq!(
        again.sign_p1363(b"message").unwrap(),
        key.sign_p1363(b"message").unwrap()
    );
}

#[test]
fn software_keys_sign_verifiable_p1363() {
    let crypto = Crypto::get().unwrap();
    let key = SoftwareKey::generate().unwrap();
    let other = SoftwareKey::generate().unwrap();
    assert_ne!(key.public_key(), other.public_key());
    let public = key.public_key_sec1().unwrap();
    assert_eq!(public.len(), 65);
    let signature = key.sign_p1363(b"GET /accounts").unwrap();
    crypto
        .p256_sha256_verify(&public, b"GET /accounts", &signature)
        .unwrap();
    assert!(
        crypto
            .p256_sha256_verify(&public, b"GET /accountz", &signature)
            .is_err()
    );
    // Independently, with p256 itself.
    let verifier = VerifyingKey::from_sec1_bytes(&public).unwrap();
    verifier
        .verify(
            b"GET /accounts",
            &Signature::from_slice(&signature).unwrap(),
        )
        .unwrap();
}

#[test]
fn load_or_create_keeps_one_key_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = Arc::new(MemoryKeyWrapper::new());
    let vault = open_vault(dir.path(), &wrapper);
    let first = SoftwareKey::load_or_create(&vault, "alice").unwrap();
    let second = SoftwareKey::load_or_create(&vault, "alice").unwrap();
    assert_eq!(first.public_key(), second.public_key());
    let bob = SoftwareKey::load_or_create(&vault, "bob").unwrap();
    assert_ne!(first.public_key(), bob.public_key());
    assert!(
        vault
            .contains("alice", DEVICE_KEY_NAMESPACE, DEVICE_KEY_NAME)
            .unwrap()
    );
    // A new vault instance (fresh key cache) on the same directory finds the same key.
    let reopened = open_vault(dir.path(), &wrapper);
    assert_eq!(
        SoftwareKey::load_or_create(&reopened, "alice")
            .unwrap()
            .public_key(),
        first.public_key()
    );
    // The stored key signs like the original.
    assert_eq!(
        second.sign_p1363(b"m").unwrap(),
        first.sign_p1363(b"m").unwrap()
    );
}

#[test]
fn load_or_create_from_many_threads_creates_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = Arc::new(MemoryKeyWrapper::new());
    let vault = Arc::new(open_vault(dir.path(), &wrapper));
    let thumbprints: HashSet<String> = (0..8)
        .map(|_| {
            let vault = vault.clone();
            thread::spawn(move || {
                SoftwareKey::load_or_create(&vault, "carol")
                    .unwrap()
                    .public_key()
                    .thumbprint
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    assert_eq!(thumbprints.len(), 1, "{thumbprints:?}");
}

#[test]
fn a_stored_item_that_is_not_a_key_is_an_integrity_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = Arc::new(MemoryKeyWrapper::new());
    let vault = open_vault(dir.path(), &wrapper);
    vault
        .put(
            "dave",
            DEVICE_KEY_NAMESPACE,
            DEVICE_KEY_NAME,
            CANARY_SCALAR,
            DataClass::Restricted,
            None,
        )
        .unwrap();
    let error = SoftwareKey::load_or_create(&vault, "dave").unwrap_err();
    assert_eq!(error, Error::Integrity);
    // Not silently replaced: the device key the server enrolled must not change under it.
    // Test: reading back the stored bytes is the assertion.
    assert_eq!(
        vault
            .get("dave", DEVICE_KEY_NAMESPACE, DEVICE_KEY_NAME)
            .unwrap()
            .unwrap()
            .expose_secret(),
        CANARY_SCALAR
    );
}

#[test]
fn key_bytes_never_appear_in_debug_or_errors() {
    let der = p256::SecretKey::from_slice(CANARY_SCALAR)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let key = SoftwareKey::from_pkcs8_der(der.as_bytes()).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let platform = PlatformKey::new(Arc::new(TestSigner::new(3, Shape::Der))).unwrap();

    // Everything that may be printed or returned as an error.
    let mut printed = vec![
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{:?}", key.public_key()),
        format!("{pem:?}"),
        format!("{platform:?}"),
    ];
    let canary_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(CANARY_SCALAR)
    );
    let canary_sec1_pem = canary_pem.replace("PRIVATE KEY", "EC PRIVATE KEY");
    let errors = [
        SoftwareKey::from_pkcs8_der(CANARY_SCALAR).unwrap_err(),
        SoftwareKey::from_pkcs8_der(&der.as_bytes()[..der.as_bytes().len() - 1]).unwrap_err(),
        SoftwareKey::from_pkcs8_pem(&canary_pem).unwrap_err(),
        SoftwareKey::from_pkcs8_pem(&canary_sec1_pem).unwrap_err(),
        SoftwareKey::from_pkcs8_pem(std::str::from_utf8(CANARY_SCALAR).unwrap()).unwrap_err(),
        PublicKeyInfo::from_sec1(CANARY_SCALAR).unwrap_err(),
        PublicKeyInfo::from_spki(CANARY_SCALAR).unwrap_err(),
        der_to_p1363(CANARY_SCALAR).unwrap_err(),
    ];
    for error in &errors {
        printed.push(format!("{error} {error:?} {}", error.reason()));
    }
    let needles = [
        "CANARY".to_owned(),
        "7f3a9c".to_owned(),
        hex::encode(CANARY_SCALAR),
        hex::encode_upper(CANARY_SCALAR),
        hex::encode(&CANARY_SCALAR[..8]),
        STANDARD.encode(CANARY_SCALAR)[..12].to_owned(),
        b64url(CANARY_SCALAR)[..12].to_owned(),
        format!("{:?}", &CANARY_SCALAR[..6]),
        STANDARD.encode(der.as_bytes())[40..60].to_owned(),
    ];
    for text in &printed {
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{needle} in {text}");
        }
    }
    // The export really is the key (the canary is where it should be, and only there).
    // Test: the exported PEM is decoded to find the scalar.
    let body: String = pem
        .expose_secret()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let exported = STANDARD.decode(body).unwrap();
    assert!(
        exported
            .windows(CANARY_SCALAR.len())
            .any(|w| w == CANARY_SCALAR)
    );
}

// ---------------------------------------------------------------------------------------------
// Platform signers
// ---------------------------------------------------------------------------------------------

/// What a [`TestSigner`] returns from `sign`.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// ASN.1 DER, as Android and Apple return.
    Der,
    /// Raw `r‖s`.
    Raw,
    /// DER with a byte appended.
    TrailingDer,
    /// DER with a superfluous leading zero in `r` (BER, not DER).
    NonMinimalDer,
    /// Not a signature.
    Garbage,
    /// A valid DER signature by another key.
    OtherKey,
    /// A valid signature of another message.
    OtherMessage,
    /// The platform refuses (the key was invalidated).
    Refuses,
}

/// A platform keystore stand-in: a p256 key (not RukaSec's code) and a shape of answer.
struct TestSigner {
    key: SigningKey,
    shape: Shape,
    public: PublicForm,
}

#[derive(Clone, Copy)]
enum PublicForm {
    Spki,
    Sec1,
    Broken,
}

impl TestSigner {
    fn new(seed: u8, shape: Shape) -> Self {
        Self {
            key: SigningKey::from_slice(&[seed; 32]).unwrap(),
            shape,
            public: PublicForm::Spki,
        }
    }

    fn with_public(mut self, form: PublicForm) -> Self {
        self.public = form;
        self
    }
}

impl PlatformSigner for TestSigner {
    fn public_key(&self) -> rukasec_core::Result<Vec<u8>> {
        use p256::pkcs8::EncodePublicKey as _;
        let verifying = self.key.verifying_key();
        Ok(match self.public {
            PublicForm::Spki => verifying.to_public_key_der().unwrap().as_bytes().to_vec(),
            PublicForm::Sec1 => verifying.to_sec1_point(false).as_bytes().to_vec(),
            PublicForm::Broken => vec![0x30, 0x03, 0x02, 0x01, 0x01],
        })
    }

    fn sign(&self, message: &[u8]) -> rukasec_core::Result<Vec<u8>> {
        let signature: Signature = self.key.sign(message);
        let der = signature.to_der().as_bytes().to_vec();
        Ok(match self.shape {
            Shape::Der => der,
            Shape::Raw => signature.to_bytes().to_vec(),
            Shape::TrailingDer => [der.as_slice(), &[0]].concat(),
            Shape::NonMinimalDer => {
                let (r, s) = signature.split_bytes();
                let mut out = vec![0x30, 0, 0x02, 34, 0x00, 0x00];
                out.extend_from_slice(&r);
                out.extend_from_slice(&[0x02, 33, 0x00]);
                out.extend_from_slice(&s);
                out[1] = u8::try_from(out.len() - 2).unwrap();
                out
            }
            Shape::Garbage => b"definitely not a signature".to_vec(),
            Shape::OtherKey => {
                let other = SigningKey::from_slice(&[0x55; 32]).unwrap();
                let signature: Signature = other.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Shape::OtherMessage => {
                let signature: Signature = self.key.sign(b"another message");
                signature.to_der().as_bytes().to_vec()
            }
            Shape::Refuses => return Err(Error::KeyUnavailable),
        })
    }
}

#[test]
fn platform_signatures_in_der_or_raw_are_normalised_and_verified() {
    let crypto = Crypto::get().unwrap();
    for shape in [Shape::Der, Shape::Raw] {
        for form in [PublicForm::Spki, PublicForm::Sec1] {
            let signer = Arc::new(TestSigner::new(7, shape).with_public(form));
            let key = PlatformKey::new(signer.clone()).unwrap();
            let public = key.public_key_sec1().unwrap();
            assert_eq!(
                public,
                signer.key.verifying_key().to_sec1_point(false).as_bytes()
            );
            assert_eq!(key.public_key().sec1, public);
            for message in [&b""[..], b"POST /payments", &[0u8; 1000]] {
                let signature = key.sign_p1363(message).unwrap();
                crypto
                    .p256_sha256_verify(&public, message, &signature)
                    .unwrap();
                // Deterministic: the same signature p256 produces, as r||s.
                let expected: Signature = signer.key.sign(message);
                assert_eq!(signature.as_slice(), expected.to_bytes().as_slice());
            }
        }
    }
}

#[test]
fn platform_misbehaviour_is_signer_failed() {
    for shape in [
        Shape::Garbage,
        Shape::OtherKey,
        Shape::OtherMessage,
        Shape::TrailingDer,
        Shape::NonMinimalDer,
    ] {
        let key = PlatformKey::new(Arc::new(TestSigner::new(9, shape))).unwrap();
        let error = key.sign_p1363(b"POST /payments").unwrap_err();
        assert_eq!(
            signature_failure(&error),
            Some(SignatureFailure::SignerFailed),
            "{shape:?}: {error:?}"
        );
    }
    // The platform's own errors pass through, so the app can tell a refusal from a bug.
    let refusing = PlatformKey::new(Arc::new(TestSigner::new(9, Shape::Refuses))).unwrap();
    assert_eq!(
        refusing.sign_p1363(b"m").unwrap_err(),
        Error::KeyUnavailable
    );
    // A public key that is not P-256 is refused when the key is wrapped.
    let broken = TestSigner::new(9, Shape::Der).with_public(PublicForm::Broken);
    let error = PlatformKey::new(Arc::new(broken)).unwrap_err();
    assert_eq!(
        signature_failure(&error),
        Some(SignatureFailure::SignerFailed)
    );
}

#[test]
fn der_to_p1363_is_strict() {
    let key = SigningKey::from_slice(&[0x11; 32]).unwrap();
    let signature: Signature = key.sign(b"message");
    let der = signature.to_der();
    assert_eq!(
        der_to_p1363(der.as_bytes()).unwrap().as_slice(),
        signature.to_bytes().as_slice()
    );
    let mut trailing = der.as_bytes().to_vec();
    trailing.push(0);
    let mut long_form = vec![0x30, 0x81];
    long_form.extend_from_slice(&der.as_bytes()[1..]);
    let mut negative = der.as_bytes().to_vec();
    // Drop r's sign byte if it has one, else set r's top bit: either way r reads negative.
    let r_len = usize::from(negative[3]);
    if negative[4] == 0 {
        negative.remove(4);
        negative[3] = u8::try_from(r_len - 1).unwrap();
        negative[1] -= 1;
    } else {
        negative[4] |= 0x80;
    }
    for (name, bad) in [
        ("trailing", trailing),
        ("long form", long_form),
        ("negative", negative),
        ("raw", signature.to_bytes().to_vec()),
        ("empty", vec![]),
    ] {
        let error = der_to_p1363(&bad).unwrap_err();
        assert_eq!(
            signature_failure(&error),
            Some(SignatureFailure::SignerFailed),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// DPoP
// ---------------------------------------------------------------------------------------------

/// A decoded proof: header, claims, signing input, signature.
struct Proof {
    header: serde_json::Value,
    claims: serde_json::Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn decode_proof(proof: &str) -> Proof {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "JWS compact: {proof}");
    Proof {
        header: serde_json::from_slice(&unb64url(parts[0])).unwrap(),
        claims: serde_json::from_slice(&unb64url(parts[1])).unwrap(),
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: unb64url(parts[2]),
    }
}

/// Verifies the proof with the key in its own header, with p256 directly.
fn verify_with_header_key(proof: &Proof) {
    let jwk = &proof.header["jwk"];
    let x = unb64url(jwk["x"].as_str().unwrap());
    let y = unb64url(jwk["y"].as_str().unwrap());
    let sec1 = [&[0x04][..], &x, &y].concat();
    let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    assert_eq!(proof.signature.len(), 64, "ES256 is raw r||s");
    key.verify(
        proof.signing_input.as_bytes(),
        &Signature::from_slice(&proof.signature).unwrap(),
    )
    .unwrap();
}

#[test]
fn dpop_proof_has_the_rfc_9449_shape_and_verifies() {
    let key = SoftwareKey::generate().unwrap();
    let options = DpopOptions {
        method: "POST",
        url: "https://Server.Example.com:443/token?client=abc#section",
        access_token: None,
        nonce: None,
    };
    let proof = decode_proof(&dpop_proof(&key, &options, now()).unwrap());
    assert_eq!(proof.header["typ"], "dpop+jwt");
    assert_eq!(proof.header["alg"], "ES256");
    let header_members: Vec<&String> = proof.header.as_object().unwrap().keys().collect();
    assert_eq!(header_members.len(), 3, "{:?}", proof.header);
    let jwk = proof.header["jwk"].as_object().unwrap();
    let mut jwk_members: Vec<&str> = jwk.keys().map(String::as_str).collect();
    jwk_members.sort_unstable();
    assert_eq!(jwk_members, ["crv", "kty", "x", "y"], "public members only");
    assert_eq!(
        serde_json::to_string(&proof.header["jwk"]).unwrap(),
        key.public_key().jwk,
        "the header carries the canonical JWK"
    );
    verify_with_header_key(&proof);

    let claims = &proof.claims;
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://server.example.com/token");
    assert_eq!(claims["iat"], NOW);
    assert!(unb64url(claims["jti"].as_str().unwrap()).len() >= 16);
    assert!(claims.get("ath").is_none());
    assert!(claims.get("nonce").is_none());
    let mut members: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["htm", "htu", "iat", "jti"]);
}

#[test]
fn dpop_ath_and_nonce_appear_only_when_given() {
    // RFC 9449 section 7.1's example access token and its `ath`.
    const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const ATH: &str = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";
    assert_eq!(b64url(Sha256::digest(TOKEN.as_bytes())), ATH);

    let key = SoftwareKey::generate().unwrap();
    let options = DpopOptions {
        method: "GET",
        url: "https://resource.example.org/protectedresource",
        access_token: Some(TOKEN),
        nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
    };
    let text = dpop_proof(&key, &options, now()).unwrap();
    assert!(!text.contains(TOKEN));
    let proof = decode_proof(&text);
    verify_with_header_key(&proof);
    assert_eq!(proof.claims["ath"], ATH);
    assert_eq!(proof.claims["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
    assert_eq!(
        proof.claims["htu"],
        "https://resource.example.org/protectedresource"
    );

    let only_nonce = DpopOptions {
        access_token: None,
        ..options
    };
    let claims = decode_proof(&dpop_proof(&key, &only_nonce, now()).unwrap()).claims;
    assert!(claims.get("ath").is_none());
    assert_eq!(claims["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
}

#[test]
fn dpop_jti_is_unique() {
    let key = SoftwareKey::generate().unwrap();
    let options = DpopOptions {
        method: "GET",
        url: "https://api.example.com/accounts",
        access_token: None,
        nonce: None,
    };
    let jtis: HashSet<String> = (0..32)
        .map(|_| {
            decode_proof(&dpop_proof(&key, &options, now()).unwrap()).claims["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 32);
}

#[test]
fn dpop_with_a_platform_key() {
    let signer = Arc::new(TestSigner::new(21, Shape::Der));
    let key = PlatformKey::new(signer).unwrap();
    let options = DpopOptions {
        method: "DELETE",
        url: "https://api.example.com/cards/1",
        access_token: Some("token"),
        nonce: None,
    };
    let proof = decode_proof(&dpop_proof(&key, &options, now()).unwrap());
    verify_with_header_key(&proof);
    assert_eq!(
        serde_json::to_string(&proof.header["jwk"]).unwrap(),
        key.public_key().jwk
    );
}

#[test]
fn dpop_refuses_bad_requests_and_bad_signers() {
    let key = SoftwareKey::generate().unwrap();
    let good = DpopOptions {
        method: "GET",
        url: "https://api.example.com/",
        access_token: None,
        nonce: None,
    };
    let bad = [
        DpopOptions {
            method: "GET /",
            ..good
        },
        DpopOptions { method: "", ..good },
        DpopOptions {
            url: "api.example.com/x",
            ..good
        },
        DpopOptions {
            url: "wss://api.example.com/",
            ..good
        },
        DpopOptions {
            url: "https://user:password@api.example.com/",
            ..good
        },
        DpopOptions {
            access_token: Some(""),
            ..good
        },
        DpopOptions {
            nonce: Some("has space"),
            ..good
        },
        DpopOptions {
            nonce: Some(""),
            ..good
        },
    ];
    for options in &bad {
        let error = dpop_proof(&key, options, now()).unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput { .. }),
            "{options:?}: {error:?}"
        );
        assert!(!error.to_string().contains("password"), "{error}");
    }
    assert!(matches!(
        dpop_proof(&key, &good, UNIX_EPOCH - Duration::from_secs(1)),
        Err(Error::InvalidInput { .. })
    ));
    let misbehaving = PlatformKey::new(Arc::new(TestSigner::new(5, Shape::OtherKey))).unwrap();
    let error = dpop_proof(&misbehaving, &good, now()).unwrap_err();
    assert_eq!(
        signature_failure(&error),
        Some(SignatureFailure::SignerFailed)
    );
}

/// `RequestSigner` is object-safe and shareable across threads.
#[test]
fn signers_are_shareable_trait_objects() {
    let signers: Vec<Arc<dyn RequestSigner>> = vec![
        Arc::new(SoftwareKey::generate().unwrap()),
        Arc::new(PlatformKey::new(Arc::new(TestSigner::new(1, Shape::Raw))).unwrap()),
    ];
    for signer in signers {
        let handle = thread::spawn(move || signer.sign_p1363(b"from another thread").is_ok());
        assert!(handle.join().unwrap());
    }
}
