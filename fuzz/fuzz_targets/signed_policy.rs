//! `SignedPolicyVerifier::verify` with a fixed trusted key. The first byte picks what the rest
//! is, so the fuzzer reaches past the signature check too:
//!
//! - 0: a whole document (nearly always refused at the signature, which must not panic);
//! - 1: a payload, signed here under the fixed valid header;
//! - 2: a header line and a payload (split at the first newline), both signed here.
//!
//! Whatever verifies must have a version of at least 1, expire after `now`, and a policy that
//! round-trips through JSON.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use rukasec_core::tls::{PinPolicy, SignedPolicyVerifier};

const HEADER: &str = r#"{"alg":"ES256","typ":"rukasec-pin-policy+jwt"}"#;

static KEY: LazyLock<SigningKey> =
    LazyLock::new(|| SigningKey::from_slice(&[7; 32]).expect("a valid fixed scalar"));

static VERIFIER: LazyLock<SignedPolicyVerifier> = LazyLock::new(|| {
    let der = KEY
        .verifying_key()
        .to_public_key_der()
        .expect("SPKI encoding");
    SignedPolicyVerifier::new(&[der.as_bytes()]).expect("a P-256 SPKI")
});

fn sign(header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature: Signature = KEY.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let document = match mode % 3 {
        0 => text.to_owned(),
        1 => sign(HEADER, text),
        _ => {
            let (header, payload) = text.split_once('\n').unwrap_or((text, ""));
            sign(header, payload)
        }
    };
    // 2027-01-01T00:00:00Z.
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(1_798_761_600);
    if let Ok(signed) = VERIFIER.verify(&document, now) {
        assert!(signed.version >= 1);
        assert!(now < signed.expires);
        let again = PinPolicy::from_json(&signed.policy.to_json()).expect("round trip");
        assert_eq!(again, signed.policy);
    }
});
