//! A first round trip through the vault (the full suite is vault.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use rukasec_core::RukaSec;
use rukasec_core::vault::{DataClass, wrappers::MemoryKeyWrapper};
use std::sync::Arc;
#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let core = RukaSec::new(None);
    let vault = core
        .open_vault(dir.path(), Arc::new(MemoryKeyWrapper::new()))
        .unwrap();
    vault
        .put(
            "acct-1",
            "tokens",
            "refresh",
            b"secret-value",
            DataClass::Restricted,
            None,
        )
        .unwrap();
    assert_eq!(
        vault
            .get("acct-1", "tokens", "refresh")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"secret-value"
    );
    assert_eq!(
        vault.list("acct-1", "tokens").unwrap(),
        vec!["refresh".to_owned()]
    );
    let p = vault.rotate_dek("acct-1", DataClass::Restricted).unwrap();
    assert_eq!(p.reencrypted, 1);
    vault.rotate_kek("acct-1").unwrap();
    assert_eq!(
        vault
            .get("acct-1", "tokens", "refresh")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"secret-value"
    );
    assert!(vault.get("acct-2", "tokens", "refresh").unwrap().is_none());
}
