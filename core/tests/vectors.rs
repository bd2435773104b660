//! The crypto primitives against published vectors: Wycheproof (pass, fail and edge cases) and
//! the GCM specification's known answers. Each vector file drives one loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

mod support;

use rukasec_core::SignatureFailure;
use rukasec_core::crypto::{Aes256GcmKey, Crypto};
use rukasec_core::signing::{PublicKeyInfo, der_to_p1363};
use support::{AesGcmCase, Tally, aes256_gcm96_cases, hex, load, wycheproof_tests};

#[test]
fn aes_256_gcm_wycheproof() {
    let Some(file) = load("aes_gcm_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut tally = Tally::default();
    for (test, case) in aes256_gcm96_cases(&file) {
        let id = &test["tcId"];
        let key = Aes256GcmKey::from_slice(&case.key).unwrap();
        let AesGcmCase {
            nonce,
            aad,
            msg,
            sealed,
            ..
        } = case;
        let opened = crypto.aes256gcm_open(&key, &nonce, &aad, &sealed);
        tally.check(test, opened.is_ok());
        match opened {
            Ok(plaintext) => {
                // Test: comparing the decrypted vector plaintext is the assertion.
                assert_eq!(plaintext.expose_secret(), msg.as_slice(), "tcId {id}");
                assert_eq!(
                    crypto.aes256gcm_seal(&key, &nonce, &aad, &msg).unwrap(),
                    sealed,
                    "tcId {id}"
                );
                let mut tampered = sealed.clone();
                let last = tampered.len() - 1;
                tampered[last] ^= 0x80;
                assert!(
                    crypto
                        .aes256gcm_open(&key, &nonce, &aad, &tampered)
                        .is_err(),
                    "tcId {id}"
                );
            }
            Err(error) => assert_eq!(
                error,
                rukasec_core::Error::Crypto,
                "tcId {id}: opaque error"
            ),
        }
    }
    tally.assert_ran_at_least(20, 10);
}

#[test]
fn aes_256_gcm_specification_known_answers() {
    let Some(file) = load("aes_gcm_spec_test_cases.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut ran = 0;
    for test in file["tests"].as_array().unwrap() {
        if test["keySize"] != 256 || test["ivSize"] != 96 {
            continue;
        }
        let key = Aes256GcmKey::from_slice(&hex(&test["key"])).unwrap();
        let nonce: [u8; 12] = hex(&test["iv"]).try_into().unwrap();
        let sealed = [hex(&test["ct"]), hex(&test["tag"])].concat();
        let (aad, pt) = (hex(&test["aad"]), hex(&test["pt"]));
        assert_eq!(
            crypto.aes256gcm_seal(&key, &nonce, &aad, &pt).unwrap(),
            sealed
        );
        // Test: comparing the decrypted vector plaintext is the assertion.
        assert_eq!(
            crypto
                .aes256gcm_open(&key, &nonce, &aad, &sealed)
                .unwrap()
                .expose_secret(),
            pt.as_slice()
        );
        ran += 1;
    }
    assert_eq!(
        ran, 4,
        "the GCM spec has four 256-bit cases with 96-bit IVs"
    );
}

#[test]
fn ecdsa_p256_sha256_p1363_wycheproof() {
    let Some(file) = load("ecdsa_secp256r1_sha256_p1363_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut tally = Tally::default();
    for (group, test) in wycheproof_tests(&file) {
        let key = hex(&group["publicKey"]["uncompressed"]);
        let verified = crypto.p256_sha256_verify(&key, &hex(&test["msg"]), &hex(&test["sig"]));
        tally.check(test, verified.is_ok());
    }
    tally.assert_ran_at_least(50, 50);
    check_public_key_forms(&file);
}

/// The DER file through RukaSec's own path: the strict `der_to_p1363` reader, then the P1363
/// verifier (what `PlatformKey` does with a platform's DER signature), and the one-call
/// `p256_sha256_verify_der`, which must agree. BER encodings (long-form lengths, superfluous
/// zeros, trailing bytes) are "invalid" in this file, so the reader's strictness is tested too.
#[test]
fn ecdsa_p256_sha256_der_wycheproof() {
    let Some(file) = load("ecdsa_secp256r1_sha256_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut tally = Tally::default();
    let mut strict_der_refused = 0;
    for (group, test) in wycheproof_tests(&file) {
        let key = hex(&group["publicKey"]["uncompressed"]);
        let (msg, sig) = (hex(&test["msg"]), hex(&test["sig"]));
        let accepted = match der_to_p1363(&sig) {
            Ok(p1363) => crypto.p256_sha256_verify(&key, &msg, &p1363).is_ok(),
            Err(error) => {
                assert!(
                    matches!(
                        error,
                        rukasec_core::Error::Signature {
                            failure: SignatureFailure::SignerFailed,
                            ..
                        }
                    ),
                    "tcId {}: {error:?}",
                    test["tcId"]
                );
                strict_der_refused += 1;
                false
            }
        };
        tally.check(test, accepted);
        assert_eq!(
            crypto.p256_sha256_verify_der(&key, &msg, &sig).is_ok(),
            accepted,
            "tcId {}: p256_sha256_verify_der disagrees",
            test["tcId"]
        );
    }
    tally.assert_ran_at_least(150, 250);
    assert!(
        strict_der_refused >= 50,
        "the DER reader refused only {strict_der_refused} encodings"
    );
    check_public_key_forms(&file);
}

/// Every group's key, given as SubjectPublicKeyInfo DER and PEM (and JWK where present), reads
/// back to the same uncompressed SEC1 point, and the JWK we produce matches Wycheproof's.
fn check_public_key_forms(file: &serde_json::Value) {
    let mut groups = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let sec1 = hex(&group["publicKey"]["uncompressed"]);
        let from_der = PublicKeyInfo::from_spki(&hex(&group["publicKeyDer"])).unwrap();
        let pem = group["publicKeyPem"].as_str().unwrap();
        let from_pem = PublicKeyInfo::from_spki(pem.as_bytes()).unwrap();
        assert_eq!(from_der.sec1, sec1);
        assert_eq!(from_der, from_pem);
        assert_eq!(from_der, PublicKeyInfo::from_sec1(&sec1).unwrap());
        assert_eq!(from_der.spki_der, hex(&group["publicKeyDer"]));
        if let Some(jwk) = group.get("publicKeyJwk") {
            let ours: serde_json::Value = serde_json::from_str(&from_der.jwk).unwrap();
            for member in ["kty", "crv", "x", "y"] {
                assert_eq!(ours[member], jwk[member], "{member}");
            }
        }
        groups += 1;
    }
    assert!(groups > 10, "only {groups} key groups");
}

#[test]
fn hmac_sha256_wycheproof() {
    let Some(file) = load("hmac_sha256_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let mut tally = Tally::default();
    for (group, test) in wycheproof_tests(&file) {
        let (key, msg, tag) = (hex(&test["key"]), hex(&test["msg"]), hex(&test["tag"]));
        tally.check(test, crypto.hmac_sha256_verify(&key, &msg, &tag));
        if test["result"] == "valid" {
            let bytes = group["tagSize"].as_u64().unwrap() as usize / 8;
            let full = crypto.hmac_sha256(&key, &msg);
            assert_eq!(&full[..bytes], tag.as_slice(), "tcId {}", test["tcId"]);
        }
    }
    tally.assert_ran_at_least(50, 50);
}
