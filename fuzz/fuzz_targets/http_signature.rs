//! RFC 9421 / RFC 9530 parsing on arbitrary text. The input is split at its first three
//! newlines into a `Signature-Input` value, a `Signature` value, a `Content-Digest` value and a
//! body, which go to:
//!
//! - `parse_signatures`: must never panic; whatever it accepts must survive re-serialisation
//!   (`label=params_value` and `label=:signature:`) and parse back to the same signatures, and
//!   every component's identifier must parse back to the same component;
//! - `verify_content_digest` with the body: must never panic;
//! - a `SignatureVerifier` (fixed key) on a request carrying all three fields: must never panic
//!   and refuse with a signature error (a forgery verifying would be a finding).
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::SigningKey;
use rukasec_core::Error;
use rukasec_core::crypto::Crypto;
use rukasec_core::signing::{
    Component, SignatureVerifier, VerifierOptions, parse_signatures, verify_content_digest,
};
use rukasec_core::tls::HttpRequest;

static VERIFIER: LazyLock<SignatureVerifier> = LazyLock::new(|| {
    let key = SigningKey::from_slice(&[7; 32]).expect("a valid fixed scalar");
    let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    SignatureVerifier::new(
        Arc::new(move |_: &str| Some(public.clone())),
        VerifierOptions {
            required: Vec::new(),
            require_created: false,
            ..VerifierOptions::default()
        },
    )
});

fuzz_target!(|data: &[u8]| {
    // Header values are text; other bytes cannot reach the parsers.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\n');
    let input = parts.next().unwrap_or("");
    let signature = parts.next().unwrap_or("");
    let digest = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let crypto = Crypto::get().expect("the self-test passes");

    if let Ok(signatures) = parse_signatures(input, signature) {
        assert!(!signatures.is_empty());
        let inputs: Vec<String> = signatures
            .iter()
            .map(|s| format!("{}={}", s.label, s.params_value))
            .collect();
        let values: Vec<String> = signatures
            .iter()
            .map(|s| format!("{}=:{}:", s.label, STANDARD.encode(&s.signature)))
            .collect();
        let again = parse_signatures(&inputs.join(", "), &values.join(", "))
            .expect("re-serialised signatures parse");
        assert_eq!(again, signatures, "re-serialisation changed the signatures");
        for component in signatures.iter().flat_map(|s| &s.components) {
            let identifier = component
                .identifier()
                .expect("a parsed component serialises");
            assert_eq!(
                &Component::parse(&identifier).expect("its identifier parses"),
                component
            );
        }
    }

    let _ = verify_content_digest(&crypto, digest, body.as_bytes());

    let request = HttpRequest {
        method: "POST".to_owned(),
        url: "https://api.example.com/v1/pay?x=1".to_owned(),
        headers: vec![
            ("Content-Digest".to_owned(), digest.to_owned()),
            ("Signature-Input".to_owned(), input.to_owned()),
            ("Signature".to_owned(), signature.to_owned()),
        ],
        body: body.as_bytes().to_vec(),
    };
    match VERIFIER.verify(
        &crypto,
        &request,
        UNIX_EPOCH + Duration::from_secs(1_750_000_000),
    ) {
        Err(Error::Signature { .. }) => {}
        other => panic!("unexpected verifier outcome: {other:?}"),
    }
});
