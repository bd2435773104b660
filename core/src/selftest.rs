//! Power-on self-test of the cryptographic primitives.
//!
//! Before the first cryptographic operation, known-answer tests (KATs) check each primitive
//! against published answers: a miscompiled or backdoored build, a broken CPU feature path, or a
//! bad dependency update shows up here instead of as silently wrong ciphertext. The answers are
//! constants from the standards' own examples, not values this code computed:
//!
//! | primitive | source |
//! | --- | --- |
//! | AES-256-GCM | GCM specification (McGrew & Viega), test case 16: 256-bit key, AAD |
//! | SHA-256 | FIPS 180-2, appendix B.1 (`"abc"`) |
//! | HMAC-SHA256 | RFC 4231, test case 2 |
//! | HMAC-SHA-1 (HOTP/TOTP) | RFC 2202, test case 2 |
//! | HMAC-SHA512 (HOTP/TOTP) | RFC 4231, test case 2 |
//! | ECDSA P-256/SHA-256 verify | RFC 6979, appendix A.2.5 (`"sample"`) |
//!
//! Each KAT also checks that a tampered input is *rejected*, so a primitive that accepts
//! everything fails too. When any KAT fails, the [`CryptoGate`] latches into an error state:
//! [`Crypto::get`] refuses from then on, for the life of the process (FIPS 140-3 style). The
//! tests run once per process, on first use, in about a millisecond.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hex_literal::hex;

use crate::crypto::{Aes256GcmKey, Crypto};
use crate::error::{Error, Result};

/// The outcome of one known-answer test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KatResult {
    /// The primitive tested, e.g. `"AES-256-GCM"`.
    pub name: &'static str,
    /// Whether the primitive gave the published answers and rejected the tampered input.
    pub passed: bool,
}

/// The outcome of a self-test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTestReport {
    /// Whether every KAT passed.
    pub passed: bool,
    /// One result per KAT, in run order.
    pub results: Vec<KatResult>,
    /// How long the run took.
    pub duration: Duration,
}

impl SelfTestReport {
    /// The names of the KATs that failed.
    pub fn failed_names(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.name)
            .collect()
    }
}

/// One known-answer test.
#[derive(Clone, Copy)]
pub(crate) struct Kat {
    pub(crate) name: &'static str,
    pub(crate) run: fn(&Crypto) -> bool,
}

/// The KATs run at start, in order.
const KATS: &[Kat] = &[
    Kat {
        name: "AES-256-GCM",
        run: kat_aes256gcm,
    },
    Kat {
        name: "SHA-256",
        run: kat_sha256,
    },
    Kat {
        name: "HMAC-SHA256",
        run: kat_hmac_sha256,
    },
    Kat {
        name: "ECDSA-P256-SHA256-verify",
        run: kat_ecdsa_p256,
    },
    Kat {
        name: "ECDSA-P256-SHA256-sign",
        run: kat_ecdsa_p256_sign,
    },
    Kat {
        name: "SHA-512",
        run: kat_sha512,
    },
    Kat {
        name: "HMAC-SHA1",
        run: kat_hmac_sha1,
    },
    Kat {
        name: "HMAC-SHA512",
        run: kat_hmac_sha512,
    },
];

/// Runs every KAT once and reports. Does not change the process-wide gate.
pub fn run() -> SelfTestReport {
    run_kats(KATS)
}

fn run_kats(kats: &[Kat]) -> SelfTestReport {
    let crypto = Crypto::for_self_test();
    let start = Instant::now();
    let results: Vec<KatResult> = kats
        .iter()
        .map(|kat| KatResult {
            name: kat.name,
            // A KAT that panics has failed; the panic must not take the app down.
            passed: std::panic::catch_unwind(|| (kat.run)(&crypto)).unwrap_or(false),
        })
        .collect();
    SelfTestReport {
        passed: results.iter().all(|r| r.passed),
        results,
        duration: start.elapsed(),
    }
}

/// Hands out [`Crypto`] only while the self-test has passed; latches shut on the first failure.
pub struct CryptoGate {
    kats: &'static [Kat],
    first_run: OnceLock<SelfTestReport>,
    failed: AtomicBool,
}

impl CryptoGate {
    pub(crate) const fn new(kats: &'static [Kat]) -> Self {
        Self {
            kats,
            first_run: OnceLock::new(),
            failed: AtomicBool::new(false),
        }
    }

    /// The report of the first run, running the self-test now if it has not run yet.
    /// Concurrent first callers wait for the one run.
    pub fn first_report(&self) -> &SelfTestReport {
        self.first_run.get_or_init(|| {
            let report = run_kats(self.kats);
            if !report.passed {
                self.failed.store(true, Ordering::SeqCst);
            }
            report
        })
    }

    /// Runs the KATs again (on demand, e.g. `rukasec self-test`). A failure latches the gate.
    pub fn rerun(&self) -> SelfTestReport {
        self.first_report();
        let report = run_kats(self.kats);
        if !report.passed {
            self.failed.store(true, Ordering::SeqCst);
        }
        report
    }

    /// Whether crypto is available: every run so far passed.
    pub fn is_operational(&self) -> bool {
        self.first_report().passed && !self.failed.load(Ordering::SeqCst)
    }

    /// The primitives, if every self-test run so far passed.
    ///
    /// # Errors
    /// [`Error::CryptoUnavailable`] once any run failed.
    pub fn crypto(&self) -> Result<Crypto> {
        if self.is_operational() {
            Ok(Crypto::for_self_test())
        } else {
            Err(Error::CryptoUnavailable)
        }
    }
}

static GLOBAL_GATE: CryptoGate = CryptoGate::new(KATS);

/// The process-wide gate, shared by every [`RukaSec`](crate::RukaSec) instance.
pub fn global_gate() -> &'static CryptoGate {
    &GLOBAL_GATE
}

/// A gate whose only known-answer test always fails: what a core sees when a primitive is
/// broken, for tests of the refusing state from other languages (feature `test-server`).
#[cfg(feature = "test-server")]
pub(crate) fn failing_gate() -> &'static CryptoGate {
    static BROKEN: &[Kat] = &[Kat {
        name: "deliberately-broken",
        run: |_| false,
    }];
    static FAILING_GATE: CryptoGate = CryptoGate::new(BROKEN);
    &FAILING_GATE
}

fn kat_aes256gcm(crypto: &Crypto) -> bool {
    // GCM specification, test case 16.
    const KEY: [u8; 32] = hex!("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const NONCE: [u8; 12] = hex!("cafebabefacedbaddecaf888");
    const AAD: [u8; 20] = hex!("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const PLAINTEXT: [u8; 60] = hex!(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    );
    const SEALED: [u8; 76] = hex!(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        "76fc6ece0f4e1768cddf8853bb2d551b"
    );
    let Ok(key) = Aes256GcmKey::from_slice(&KEY) else {
        return false;
    };
    let sealed_ok = crypto
        .aes256gcm_seal(&key, &NONCE, &AAD, &PLAINTEXT)
        .is_ok_and(|sealed| sealed == SEALED);
    // Self-test: comparing the decrypted KAT plaintext is the point of the check.
    let opened_ok = crypto
        .aes256gcm_open(&key, &NONCE, &AAD, &SEALED)
        .is_ok_and(|plain| plain.expose_secret() == PLAINTEXT);
    let mut tampered = SEALED;
    tampered[0] ^= 1;
    let tamper_rejected = crypto
        .aes256gcm_open(&key, &NONCE, &AAD, &tampered)
        .is_err();
    sealed_ok && opened_ok && tamper_rejected
}

fn kat_sha256(crypto: &Crypto) -> bool {
    // FIPS 180-2, appendix B.1.
    const DIGEST: [u8; 32] =
        hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto.sha256(b"abc") == DIGEST && crypto.sha256(b"abd") != DIGEST
}

fn kat_hmac_sha256(crypto: &Crypto) -> bool {
    // RFC 4231, test case 2.
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const TAG: [u8; 32] = hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    crypto.hmac_sha256(KEY, DATA) == TAG
        && crypto.hmac_sha256_verify(KEY, DATA, &TAG)
        && !crypto.hmac_sha256_verify(KEY, b"what do ya want for nothing!", &TAG)
}

fn kat_ecdsa_p256(crypto: &Crypto) -> bool {
    // RFC 6979, appendix A.2.5: P-256 public key and the SHA-256 signature of "sample".
    const PUBLIC_KEY: [u8; 65] = hex!(
        "04"
        "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
        "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
    );
    const SIGNATURE: [u8; 64] = hex!(
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
    );
    crypto
        .p256_sha256_verify(&PUBLIC_KEY, b"sample", &SIGNATURE)
        .is_ok()
        && crypto
            .p256_sha256_verify(&PUBLIC_KEY, b"sampld", &SIGNATURE)
            .is_err()
}

fn kat_ecdsa_p256_sign(crypto: &Crypto) -> bool {
    // RFC 6979, appendix A.2.5: the private key, and the deterministic SHA-256 signature of
    // "sample" (the same signature `kat_ecdsa_p256` verifies).
    const PRIVATE_KEY: [u8; 32] =
        hex!("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
    const SIGNATURE: [u8; 64] = hex!(
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
    );
    let Ok(key) = crate::crypto::P256SigningKey::from_scalar(&PRIVATE_KEY) else {
        return false;
    };
    crypto.p256_sha256_sign(&key, b"sample").ok() == Some(SIGNATURE)
        && crypto.p256_sha256_sign(&key, b"sampld").ok() != Some(SIGNATURE)
}

fn kat_sha512(crypto: &Crypto) -> bool {
    // FIPS 180-2, appendix C.1.
    const DIGEST: [u8; 64] = hex!(
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    crypto.sha512(b"abc") == DIGEST && crypto.sha512(b"abd") != DIGEST
}

fn kat_hmac_sha1(crypto: &Crypto) -> bool {
    // RFC 2202, test case 2.
    const TAG: [u8; 20] = hex!("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    crypto.hmac_sha1(b"Jefe", b"what do ya want for nothing?") == TAG
        && crypto.hmac_sha1(b"Jefe", b"what do ya want for nothing!") != TAG
}

fn kat_hmac_sha512(crypto: &Crypto) -> bool {
    // RFC 4231, test case 2.
    const TAG: [u8; 64] = hex!(
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    );
    crypto.hmac_sha512(b"Jefe", b"what do ya want for nothing?") == TAG
        && crypto.hmac_sha512(b"Jefe", b"what do ya want for nothing!") != TAG
}

#[cfg(test)]
mod tests {
    use super::*;

    static BROKEN: &[Kat] = &[
        Kat {
            name: "SHA-256",
            run: kat_sha256,
        },
        Kat {
            name: "always-fails",
            run: |_| false,
        },
    ];

    static PANICKING: &[Kat] = &[Kat {
        name: "panics",
        run: |_| panic!("a KAT that panics"),
    }];

    #[test]
    fn every_kat_passes_with_the_real_primitives() {
        let report = run();
        assert!(report.passed, "{report:?}");
        assert_eq!(report.results.len(), 8);
        assert!(report.failed_names().is_empty());
    }

    #[test]
    fn the_global_gate_hands_out_crypto() {
        assert!(global_gate().is_operational());
        assert!(Crypto::get().is_ok());
    }

    #[test]
    fn a_failing_kat_closes_the_gate() {
        let gate = CryptoGate::new(BROKEN);
        let report = gate.first_report();
        assert!(!report.passed);
        assert_eq!(report.failed_names(), vec!["always-fails"]);
        assert!(!gate.is_operational());
        assert_eq!(gate.crypto().err(), Some(Error::CryptoUnavailable));
    }

    #[test]
    fn a_panicking_kat_fails_without_unwinding_into_the_caller() {
        let gate = CryptoGate::new(PANICKING);
        assert!(!gate.first_report().passed);
        assert!(gate.crypto().is_err());
    }

    #[test]
    fn the_kats_reject_wrong_answers() {
        // The KATs compare against constants; make sure the comparisons are not vacuous by
        // checking the primitives disagree with a neighbour input.
        let crypto = Crypto::for_self_test();
        assert_ne!(crypto.sha256(b"abc"), crypto.sha256(b"abc "));
        assert_ne!(
            crypto.hmac_sha256(b"Jefe", b"x"),
            crypto.hmac_sha256(b"Jeff", b"x")
        );
    }
}
