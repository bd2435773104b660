//! OTP enrolments kept in the vault (`otp::stored`): the round trip, the secret not in the
//! database files, and the Restricted class enforced by an unlock gate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::sync::Arc;

use rukasec_core::Error;
use rukasec_core::events::EventBus;
use rukasec_core::otp::{OTP_NAMESPACE, OtpAlgorithm, OtpAuthUri, OtpKind, Totp, stored};
use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{
    AuthFuture, AuthMethod, AuthOutcome, AuthRequest, Authenticator, MemoryAttemptStore,
    UnlockGate, UnlockPolicy,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DataClass, Vault};

/// A secret no other byte sequence of the database could match by chance.
const CANARY: &[u8] = b"OTP-CANARY-5e1d77a0c4";
const ALICE: &str = "alice";

fn vault(dir: &tempfile::TempDir) -> Arc<Vault> {
    Arc::new(
        Vault::open(
            dir.path(),
            Arc::new(MemoryKeyWrapper::new()),
            Arc::new(EventBus::new(None)),
        )
        .unwrap(),
    )
}

fn enrolment() -> OtpAuthUri {
    let totp = Totp::new(SecretBytes::from_slice(CANARY), OtpAlgorithm::Sha256, 8, 60).unwrap();
    OtpAuthUri::for_totp(totp, "alice@example.com", Some("Rukapay")).unwrap()
}

/// Test: comparing the URIs' text is what the round trip asserts.
fn text(uri: &OtpAuthUri) -> String {
    uri.to_uri().expose_secret().to_owned()
}

#[test]
fn an_enrolment_round_trips_through_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    assert!(stored::load(&vault, ALICE, "rukapay").unwrap().is_none());
    let saved = enrolment();
    stored::save(&vault, ALICE, "rukapay", &saved).unwrap();
    let loaded = stored::load(&vault, ALICE, "rukapay").unwrap().unwrap();
    assert_eq!(text(&loaded), text(&saved));
    assert_eq!(loaded.kind(), OtpKind::Totp { period: 60 });
    assert_eq!(loaded.algorithm(), OtpAlgorithm::Sha256);
    assert_eq!(loaded.account(), "alice@example.com");
    assert_eq!(loaded.issuer(), Some("Rukapay"));
    assert_eq!(
        loaded.into_totp().unwrap().code_at(59).unwrap(),
        saved.into_totp().unwrap().code_at(59).unwrap()
    );
    assert_eq!(
        vault.class_of(ALICE, OTP_NAMESPACE, "rukapay").unwrap(),
        Some(DataClass::Restricted)
    );
    assert_eq!(vault.list(ALICE, OTP_NAMESPACE).unwrap(), ["rukapay"]);
    // Another account does not see it; deleting removes it.
    assert!(stored::load(&vault, "bob", "rukapay").unwrap().is_none());
    assert!(stored::delete(&vault, ALICE, "rukapay").unwrap());
    assert!(stored::load(&vault, ALICE, "rukapay").unwrap().is_none());
}

#[test]
fn a_value_that_is_not_an_enrolment_is_an_integrity_failure() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    vault
        .put(
            ALICE,
            OTP_NAMESPACE,
            "x",
            b"otpauth://totp/a?secret=AB",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    assert_eq!(
        stored::load(&vault, ALICE, "x").err(),
        Some(Error::Integrity)
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn neither_the_raw_nor_the_base32_secret_is_in_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let saved = enrolment();
    let base32 = rukasec_core::otp::encode_base32(&SecretBytes::from_slice(CANARY));
    {
        let vault = vault(&dir);
        stored::save(&vault, ALICE, "rukapay", &saved).unwrap();
        // Read back while open too, so the WAL holds whatever the read left.
        assert!(stored::load(&vault, ALICE, "rukapay").unwrap().is_some());
        let mut files = 0;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            files += 1;
            assert!(!contains(&bytes, CANARY), "raw secret in a file");
            // Test: the base32 form is the needle.
            assert!(
                !contains(&bytes, base32.expose_secret().as_bytes()),
                "base32 secret in a file"
            );
            assert!(!contains(&bytes, b"alice@example.com"), "account in a file");
            assert!(!contains(&bytes, b"otpauth"), "URI text in a file");
        }
        assert!(files > 0);
    }
}

/// Answers every prompt with a strong biometric.
struct Always;

impl Authenticator for Always {
    fn authenticate(&self, _request: AuthRequest) -> AuthFuture<'_> {
        Box::pin(async {
            AuthOutcome::Success {
                method: AuthMethod::StrongBiometric,
            }
        })
    }
}

#[test]
fn a_gated_vault_refuses_a_blocking_load_until_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(&dir);
    // Restricted: a strong biometric for each read (window 0), so only a grant opens it.
    let mut policy = UnlockPolicy::default();
    policy.classes[3].0 = rukasec_core::unlock::ClassRequirement::Recent {
        window: std::time::Duration::ZERO,
    };
    let gate = Arc::new(
        UnlockGate::new(
            policy,
            Some(Arc::new(Always)),
            Arc::new(MemoryAttemptStore::default()),
            vault.events(),
        )
        .unwrap(),
    );
    vault.attach_unlock_gate(gate.clone()).unwrap();
    // Writing needs no unlock; reading does.
    stored::save(&vault, ALICE, "rukapay", &enrolment()).unwrap();
    assert_eq!(
        stored::load(&vault, ALICE, "rukapay").err(),
        Some(Error::UserAuthenticationRequired)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let grant = runtime
        .block_on(gate.unlock(DataClass::Restricted, Some(ALICE), "Show the code"))
        .unwrap();
    let loaded = stored::load_granted(&vault, &grant, ALICE, "rukapay")
        .unwrap()
        .unwrap();
    assert_eq!(loaded.issuer(), Some("Rukapay"));
    // The grant served that read; the blocking form still needs one.
    assert_eq!(
        stored::load(&vault, ALICE, "rukapay").err(),
        Some(Error::UserAuthenticationRequired)
    );
}

#[test]
fn of_totp_keeps_the_object_usable_and_writes_the_same_uri() {
    let totp = Totp::new(SecretBytes::from_slice(CANARY), OtpAlgorithm::Sha1, 6, 30).unwrap();
    let copy = OtpAuthUri::of_totp(&totp, "alice", None).unwrap();
    assert_eq!(
        copy.into_totp().unwrap().code_at(1).unwrap(),
        totp.code_at(1).unwrap()
    );
    let hotp =
        OtpAuthUri::parse(&text(&OtpAuthUri::of_totp(&totp, "alice", None).unwrap())).unwrap();
    assert_eq!(hotp.kind(), OtpKind::Totp { period: 30 });
    let h = rukasec_core::otp::Hotp::new(SecretBytes::from_slice(CANARY), OtpAlgorithm::Sha1, 6)
        .unwrap();
    let uri = OtpAuthUri::of_hotp(&h, 7, "alice", Some("Rukapay")).unwrap();
    assert_eq!(uri.kind(), OtpKind::Hotp { counter: 7 });
    assert_eq!(
        uri.into_hotp().unwrap().code(7).unwrap(),
        h.code(7).unwrap()
    );
}
