//! Request-signing benchmarks: signing and verifying a POST with a 1 KiB body (RFC 9421 with a
//! SHA-256 Content-Digest) beside a raw P-256 signature or verification of the very same
//! signature base, in the same run, so the difference is what the HTTP signature layer adds
//! (digest, base, structured fields). ring's P-256 is measured for reference.
//!
//! `cargo bench -p rukasec-core --bench signing` (about 1 minute plus the build); results and
//! the target are in docs/PERFORMANCE.md ("Request signing"). Under `cargo test` every
//! benchmark runs once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use criterion::Criterion;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use rukasec_core::crypto::Crypto;
use rukasec_core::signing::{
    RequestSigner, SignOptions, SignatureVerifier, SoftwareKey, VerifierOptions, sign_request,
};
use rukasec_core::tls::HttpRequest;

fn request() -> HttpRequest {
    HttpRequest {
        method: "POST".to_owned(),
        url: "https://api.rukapay.com/v1/payments?idempotency=7f3a".to_owned(),
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            (
                "Authorization".to_owned(),
                "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig".to_owned(),
            ),
        ],
        body: vec![b'x'; 1024],
    }
}

/// The `sig1=:...:` value of a `Signature` header, decoded.
fn signature_bytes(header: &str) -> Vec<u8> {
    let encoded = header.split(':').nth(1).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap()
}

fn main() {
    let crypto = Crypto::get().unwrap();
    let key = SoftwareKey::generate().unwrap();
    let public = key.public_key();
    let options = SignOptions::new("device-1");
    let unsigned = request();
    let now = SystemTime::now();
    let signed = sign_request(&crypto, &key, &unsigned, &options, now).unwrap();
    let base = signed.base.clone();
    let signature = signature_bytes(&signed.signature);
    let mut signed_request = unsigned.clone();
    signed.apply(&mut signed_request);

    let rng = SystemRandom::new();
    let ring_pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ring_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ring_pkcs8.as_ref(), &rng)
            .unwrap();
    let ring_signature = ring_key.sign(&rng, base.as_bytes()).unwrap();
    let ring_public = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        ring_key.public_key().as_ref().to_vec(),
    );

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    let mut sign = criterion.benchmark_group("sign (1 KiB body)");
    sign.bench_function("sign_request", |b| {
        b.iter(|| black_box(sign_request(&crypto, &key, &unsigned, &options, now).unwrap()));
    });
    sign.bench_function("raw p256 sign of the same base", |b| {
        b.iter(|| black_box(key.sign_p1363(base.as_bytes()).unwrap()));
    });
    sign.bench_function("ring p256 sign of the same base", |b| {
        b.iter(|| black_box(ring_key.sign(&rng, base.as_bytes()).unwrap()));
    });
    sign.finish();

    // A verifier without a replay cache in play (no nonce) and a window that the fixed `now`
    // stays inside.
    let keys: HashMap<String, Vec<u8>> =
        HashMap::from([("device-1".to_owned(), public.sec1.clone())]);
    let verifier = SignatureVerifier::new(Arc::new(keys), VerifierOptions::default());
    let mut verify = criterion.benchmark_group("verify (1 KiB body)");
    verify.bench_function("SignatureVerifier::verify", |b| {
        b.iter(|| black_box(verifier.verify(&crypto, &signed_request, now).unwrap()));
    });
    verify.bench_function("raw p256 verify of the same base", |b| {
        b.iter(|| {
            crypto
                .p256_sha256_verify(&public.sec1, base.as_bytes(), &signature)
                .unwrap();
        });
    });
    verify.bench_function("ring p256 verify of the same base", |b| {
        b.iter(|| {
            ring_public
                .verify(base.as_bytes(), ring_signature.as_ref())
                .unwrap();
        });
    });
    verify.finish();
    criterion.final_summary();
}
