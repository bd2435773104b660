//! The crypto primitives against published vectors: Wycheproof (pass, fail and edge cases) and
//! the GCM specification's known answers. Each vector file drives one loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

mod support;

use rukasec_core::crypto::{Aes256GcmKey, Crypto};
use support::{hex, load, wycheproof_tests};

#[test]
fn aes_256_gcm_wycheproof() {
    let Some(file) = load("aes_gcm_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for (group, test) in wycheproof_tests(&file) {
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        let id = &test["tcId"];
        let key = Aes256GcmKey::from_slice(&hex(&test["key"])).unwrap();
        let nonce: [u8; 12] = hex(&test["iv"]).try_into().unwrap();
        let (aad, msg) = (hex(&test["aad"]), hex(&test["msg"]));
        let sealed = [hex(&test["ct"]), hex(&test["tag"])].concat();
        let opened = crypto.aes256gcm_open(&key, &nonce, &aad, &sealed);
        match test["result"].as_str().unwrap() {
            "valid" => {
                valid += 1;
                assert_eq!(
                    crypto.aes256gcm_seal(&key, &nonce, &aad, &msg).unwrap(),
                    sealed,
                    "tcId {id}"
                );
                // Test: comparing the decrypted vector plaintext is the assertion.
                assert_eq!(opened.unwrap().expose_secret(), msg.as_slice(), "tcId {id}");
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
            "invalid" => {
                invalid += 1;
                assert_eq!(
                    opened.unwrap_err(),
                    rukasec_core::Error::Crypto,
                    "tcId {id}"
                );
            }
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    assert!(
        valid > 20 && invalid > 10,
        "{valid} valid, {invalid} invalid cases ran"
    );
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
    let (mut valid, mut invalid) = (0, 0);
    for (group, test) in wycheproof_tests(&file) {
        let id = &test["tcId"];
        let key = hex(&group["publicKey"]["uncompressed"]);
        let verified = crypto.p256_sha256_verify(&key, &hex(&test["msg"]), &hex(&test["sig"]));
        match test["result"].as_str().unwrap() {
            "valid" => {
                valid += 1;
                assert!(verified.is_ok(), "tcId {id}: {}", test["comment"]);
            }
            "invalid" => {
                invalid += 1;
                assert!(verified.is_err(), "tcId {id}: {}", test["comment"]);
            }
            _acceptable => {}
        }
    }
    assert!(
        valid > 50 && invalid > 50,
        "{valid} valid, {invalid} invalid cases ran"
    );
}

#[test]
fn hmac_sha256_wycheproof() {
    let Some(file) = load("hmac_sha256_test.json") else {
        return;
    };
    let crypto = Crypto::get().unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for (group, test) in wycheproof_tests(&file) {
        let id = &test["tcId"];
        let (key, msg, tag) = (hex(&test["key"]), hex(&test["msg"]), hex(&test["tag"]));
        let verified = crypto.hmac_sha256_verify(&key, &msg, &tag);
        match test["result"].as_str().unwrap() {
            "valid" => {
                valid += 1;
                assert!(verified, "tcId {id}");
                let full = crypto.hmac_sha256(&key, &msg);
                let bytes = group["tagSize"].as_u64().unwrap() as usize / 8;
                assert_eq!(&full[..bytes], tag.as_slice(), "tcId {id}");
            }
            "invalid" => {
                invalid += 1;
                assert!(!verified, "tcId {id}");
            }
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    assert!(
        valid > 50 && invalid > 50,
        "{valid} valid, {invalid} invalid cases ran"
    );
}
