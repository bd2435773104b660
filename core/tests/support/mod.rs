//! Finding the shared test vectors (never copied into this repo).
//!
//! Looked up in `$RUKASEC_VECTORS`, else in `shared/vectors` beside the repository (the
//! workplace layout: `<root>/main` is the repo, `<root>/shared/vectors` the vectors). When they
//! are missing the tests fail with a message saying where to put them, unless
//! `RUKASEC_SKIP_VECTORS=1` says to skip them (`scripts/test.sh --skip-vectors`).

use std::path::PathBuf;

/// The parsed JSON of vector file `name`, or `None` when vectors are explicitly skipped.
pub fn load(name: &str) -> Option<serde_json::Value> {
    if std::env::var("RUKASEC_SKIP_VECTORS").is_ok_and(|v| v == "1") {
        eprintln!("RUKASEC_SKIP_VECTORS=1: skipping the vector file {name}");
        return None;
    }
    let dir = match std::env::var_os("RUKASEC_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    };
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vectors not found at {} ({e}).\n\
             Put the shared vectors folder beside the repository (../shared/vectors), \
             point RUKASEC_VECTORS at it, or run scripts/test.sh --skip-vectors to skip them.",
            path.display()
        )
    });
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Decodes a hex field of a vector.
pub fn hex(value: &serde_json::Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("a hex string")).expect("valid hex")
}

/// Iterates over `(group, test)` pairs of a Wycheproof file.
pub fn wycheproof_tests(
    file: &serde_json::Value,
) -> impl Iterator<Item = (&serde_json::Value, &serde_json::Value)> {
    file["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .flat_map(|group| {
            group["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .map(move |t| (group, t))
        })
}

/// Counts of the Wycheproof cases that ran, by expected result.
#[derive(Debug, Default)]
pub struct Tally {
    pub valid: usize,
    pub invalid: usize,
    pub acceptable: usize,
}

impl Tally {
    /// Asserts that `accepted` (did the primitive accept the case?) matches the case's `result`
    /// ("acceptable" allows either outcome) and counts the case.
    pub fn check(&mut self, test: &serde_json::Value, accepted: bool) {
        let id = &test["tcId"];
        match test["result"].as_str() {
            Some("valid") => {
                self.valid += 1;
                assert!(
                    accepted,
                    "tcId {id} should be accepted: {}",
                    test["comment"]
                );
            }
            Some("invalid") => {
                self.invalid += 1;
                assert!(
                    !accepted,
                    "tcId {id} should be rejected: {}",
                    test["comment"]
                );
            }
            Some("acceptable") => self.acceptable += 1,
            other => panic!("tcId {id}: unexpected result {other:?}"),
        }
    }

    /// Asserts that enough valid and invalid cases ran for the run to mean something.
    pub fn assert_ran_at_least(&self, valid: usize, invalid: usize) {
        assert!(
            self.valid >= valid && self.invalid >= invalid,
            "too few cases ran: {self:?}"
        );
    }
}

/// A Wycheproof AES-GCM case of the shape RukaSec uses: 256-bit key, 96-bit nonce, 128-bit tag.
pub struct AesGcmCase {
    pub key: Vec<u8>,
    pub nonce: [u8; 12],
    pub aad: Vec<u8>,
    pub msg: Vec<u8>,
    /// `ciphertext ‖ tag`.
    pub sealed: Vec<u8>,
}

/// The `(test, case)` pairs of `aes_gcm_test.json` with a 256-bit key, a 96-bit nonce and a
/// 128-bit tag.
pub fn aes256_gcm96_cases(
    file: &serde_json::Value,
) -> impl Iterator<Item = (&serde_json::Value, AesGcmCase)> {
    wycheproof_tests(file)
        .filter(|(group, _)| {
            group["keySize"] == 256 && group["ivSize"] == 96 && group["tagSize"] == 128
        })
        .map(|(_, test)| {
            let case = AesGcmCase {
                key: hex(&test["key"]),
                nonce: hex(&test["iv"]).try_into().expect("a 96-bit nonce"),
                aad: hex(&test["aad"]),
                msg: hex(&test["msg"]),
                sealed: [hex(&test["ct"]), hex(&test["tag"])].concat(),
            };
            (test, case)
        })
}
