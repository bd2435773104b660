//! The demo's vault step: an encrypted vault in a temporary directory, keys wrapped by an
//! in-memory keystore ([`MemoryKeyWrapper`], standing in for Android Keystore / Secure Enclave).
//!
//! Two accounts store items of every class; the demo reads them back, shows that nothing is in
//! plaintext on disk, that a value moved to another row does not open, rotates a data key and
//! the key-encryption key, lets an item expire and purges it, and crypto-shreds one account:
//! its data is gone (even from a copy of the database) while the other account's remains.
//! Values are never printed; every check that fails stops the demo.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DATABASE_FILE, DataClass, PutItem, Vault};
use rukasec_core::{Error, RukaSec};

use crate::failure::{Failure, INTERNAL};

/// One demo item: account, namespace, name, class, value.
type Item = (
    &'static str,
    &'static str,
    &'static str,
    DataClass,
    &'static [u8],
);

const ALICE: &str = "alice";
const BOB: &str = "bob";

const ITEMS: [Item; 6] = [
    (
        ALICE,
        "profile",
        "display-name",
        DataClass::Public,
        b"Alice Wanjiru",
    ),
    (ALICE, "settings", "language", DataClass::Internal, b"sw-KE"),
    (
        ALICE,
        "history",
        "last-payment",
        DataClass::Confidential,
        b"KES 1,250.00 to Java House on 2026-11-28",
    ),
    (
        ALICE,
        "auth",
        "refresh-token",
        DataClass::Restricted,
        b"rt.alice.3f9c2e7d41b8a6055e1d",
    ),
    (
        BOB,
        "profile",
        "display-name",
        DataClass::Public,
        b"Bob Otieno",
    ),
    (
        BOB,
        "auth",
        "refresh-token",
        DataClass::Restricted,
        b"rt.bob.a81d07c94e2f3b6610c5",
    ),
];

/// Runs the step; the caller prints the security events afterwards.
pub fn run(core: &RukaSec, out: &mut impl Write) -> Result<(), Failure> {
    let temp = tempfile::Builder::new()
        .prefix("rukasec-demo-")
        .tempdir()
        .map_err(|e| Failure::from(e).context("making the demo's temporary directory"))?;
    let dir = temp.path().join("vault");
    let keystore = Arc::new(MemoryKeyWrapper::new());
    let vault = core.open_vault(&dir, keystore.clone())?;
    writeln!(
        out,
        "  vault: {} (keys wrapped by an in-memory demo keystore)",
        dir.join(DATABASE_FILE).display()
    )?;

    // Alice's items in one atomic batch, Bob's one by one.
    let batch: Vec<PutItem> = items(ALICE)
        .map(|(_, namespace, name, class, value)| PutItem {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            value: SecretBytes::from_slice(value),
            class,
            ttl: None,
        })
        .collect();
    vault.put_batch(ALICE, &batch)?;
    for (account, namespace, name, class, value) in items(BOB) {
        vault.put(account, namespace, name, value, class, None)?;
    }
    for account in [ALICE, BOB] {
        let classes: Vec<&str> = items(account).map(|item| item.3.as_str()).collect();
        let intact = read_back(&vault, account)?;
        writeln!(
            out,
            "  {account}: {intact} of {} items stored and read back ({})",
            classes.len(),
            classes.join(", ")
        )?;
    }
    check(
        no_plaintext_on_disk(&dir)?,
        "a name or value is in plaintext on disk",
    )?;
    writeln!(
        out,
        "  on disk: no name or value in plaintext (database and WAL searched)"
    )?;

    moved_value(&vault, &dir, out)?;
    rolled_back(&vault, &dir, out)?;

    let rotation = vault.rotate_dek(ALICE, DataClass::Restricted)?;
    writeln!(
        out,
        "  rotate DEK (alice, restricted): now version {}, {} item re-encrypted, old version destroyed",
        rotation.active_version, rotation.reencrypted
    )?;
    vault.rotate_kek(ALICE)?;
    let intact = read_back(&vault, ALICE)?;
    writeln!(
        out,
        "  rotate KEK (alice): keys re-wrapped under a new keystore key; {intact} items still read back"
    )?;

    expiry(&vault, out)?;
    crypto_shred(core, &vault, &dir, keystore, out)?;

    drop(vault);
    temp.close()
        .map_err(|e| Failure::from(e).context("removing the demo's temporary directory"))?;
    Ok(())
}

fn items(account: &'static str) -> impl Iterator<Item = Item> {
    ITEMS.into_iter().filter(move |item| item.0 == account)
}

/// Reads every item of `account` back and checks its value; returns how many.
fn read_back(vault: &Vault, account: &'static str) -> Result<usize, Failure> {
    let mut intact = 0;
    for (_, namespace, name, _, value) in items(account) {
        let stored = vault.get(account, namespace, name)?;
        check(
            stored.is_some_and(|v| v.expose_secret() == value),
            "an item did not read back as stored",
        )?;
        intact += 1;
    }
    Ok(intact)
}

/// Whether no demo name or value appears in the database or its WAL.
fn no_plaintext_on_disk(dir: &Path) -> Result<bool, Failure> {
    let mut bytes = std::fs::read(dir.join(DATABASE_FILE))?;
    if let Ok(wal) = std::fs::read(dir.join(format!("{DATABASE_FILE}-wal"))) {
        bytes.extend_from_slice(&wal);
    }
    let found = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    Ok(!ITEMS.iter().any(|(_, namespace, name, _, value)| {
        found(value) || found(name.as_bytes()) || found(namespace.as_bytes())
    }))
}

/// Copies Alice's confidential value (the only class-2 row) over her internal one (the only
/// class-1 row) with plain SQL, shows the read fail, then restores the row.
fn moved_value(vault: &Vault, dir: &Path, out: &mut impl Write) -> Result<(), Failure> {
    let sql = |e: rusqlite::Error| Failure::new("storage", e.to_string());
    let db = rusqlite::Connection::open(dir.join(DATABASE_FILE)).map_err(sql)?;
    let class = |class: DataClass| i64::from(class.code());
    let original: Vec<u8> = db
        .query_row(
            "SELECT value FROM items WHERE class = ?1",
            [class(DataClass::Internal)],
            |row| row.get(0),
        )
        .map_err(sql)?;
    let moved = db
        .execute(
            "UPDATE items SET value = (SELECT value FROM items WHERE class = ?1) WHERE class = ?2",
            [class(DataClass::Confidential), class(DataClass::Internal)],
        )
        .map_err(sql)?;
    check(moved == 1, "the demo row to overwrite was not found")?;
    let result = vault.get(ALICE, "settings", "language");
    check(
        matches!(result, Err(Error::Integrity)),
        "a value moved to another row was not rejected",
    )?;
    writeln!(
        out,
        "  alice's confidential value copied over her internal one (SQL): get -> Integrity error"
    )?;
    db.execute(
        "UPDATE items SET value = ?1 WHERE class = ?2",
        rusqlite::params![original, class(DataClass::Internal)],
    )
    .map_err(sql)?;
    check(
        read_back(vault, ALICE)? == 4,
        "the restored row did not open",
    )?;
    writeln!(out, "  row restored: it opens again")?;
    Ok(())
}

/// An older value put back into its row (an attacker restoring a higher limit): refused, because
/// the account's authenticated state names the newer write.
fn rolled_back(vault: &Vault, dir: &Path, out: &mut impl Write) -> Result<(), Failure> {
    const CAROL: &str = "carol";
    let sql = |e: rusqlite::Error| Failure::new("storage", e.to_string());
    vault.put(
        CAROL,
        "limits",
        "daily",
        b"100000",
        DataClass::Confidential,
        None,
    )?;
    let db = rusqlite::Connection::open(dir.join(DATABASE_FILE)).map_err(sql)?;
    let (rowid, old): (i64, Vec<u8>) = db
        .query_row(
            "SELECT rowid, value FROM items ORDER BY rowid DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(sql)?;
    let old_counter: i64 = db
        .query_row(
            "SELECT counter FROM items WHERE rowid = ?1",
            [rowid],
            |row| row.get(0),
        )
        .map_err(sql)?;
    vault.put(
        CAROL,
        "limits",
        "daily",
        b"500",
        DataClass::Confidential,
        None,
    )?;
    let restored = db
        .execute(
            "UPDATE items SET value = ?1, counter = ?2 WHERE rowid = (SELECT max(rowid) FROM items)",
            rusqlite::params![old, old_counter],
        )
        .map_err(sql)?;
    check(restored == 1, "the demo row to roll back was not found")?;
    let result = vault.get(CAROL, "limits", "daily");
    check(
        matches!(result, Err(Error::Integrity)),
        "a rolled-back value was not rejected",
    )?;
    writeln!(
        out,
        "  carol's older limit put back into its row (SQL): get -> Integrity error (the account state names the newer write)"
    )?;
    vault.reset_account(CAROL)?;
    writeln!(out, "  carol's account reset: it starts again empty")?;
    Ok(())
}

/// A one-time code with a 1-second TTL: returned, then expired, then purged.
fn expiry(vault: &Vault, out: &mut impl Write) -> Result<(), Failure> {
    vault.put(
        BOB,
        "auth",
        "otp",
        b"482913",
        DataClass::Restricted,
        Some(Duration::from_secs(1)),
    )?;
    let stored_by = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Failure::new(INTERNAL, "the clock is before 1970"))?;
    check(
        vault.contains(BOB, "auth", "otp")?,
        "a fresh item is missing",
    )?;
    // Expiry has whole-second resolution: the item expires at (its put's second) + 1, i.e. at
    // the latest when the next whole second after the put begins.
    let next_second = Duration::from_secs(stored_by.as_secs() + 1) + Duration::from_millis(20);
    std::thread::sleep(next_second.saturating_sub(stored_by));
    check(
        vault.get(BOB, "auth", "otp")?.is_none(),
        "an expired item was returned",
    )?;
    let purged = vault.purge_expired()?;
    check(purged == 1, "purge_expired did not remove the expired item")?;
    writeln!(
        out,
        "  bob auth/otp with a 1 s TTL: present, then expired (not returned), then purged ({purged} row)"
    )?;
    Ok(())
}

/// Deletes Alice's account after taking a copy of the database, and shows that neither the
/// vault nor the copy opens her data any more, while Bob's is intact in both.
fn crypto_shred(
    core: &RukaSec,
    vault: &Vault,
    dir: &Path,
    keystore: Arc<MemoryKeyWrapper>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let copy_dir = dir.with_file_name("copy");
    std::fs::create_dir_all(&copy_dir)?;
    let copy = copy_dir.join(DATABASE_FILE);
    let copy_path = copy
        .to_str()
        .ok_or_else(|| Failure::new(INTERNAL, "the temporary path is not UTF-8"))?;
    rusqlite::Connection::open(dir.join(DATABASE_FILE))
        .and_then(|db| db.execute("VACUUM INTO ?1", [copy_path]))
        .map_err(|e| Failure::new("storage", e.to_string()))?;

    check(
        vault.delete_account(ALICE)?,
        "alice's account did not exist",
    )?;
    let gone = items(ALICE).try_fold(true, |gone, (_, namespace, name, _, _)| {
        Ok::<_, Failure>(
            gone && vault.get(ALICE, namespace, name)?.is_none()
                && vault.list(ALICE, namespace)?.is_empty(),
        )
    })?;
    check(gone, "alice's data is still there after deletion")?;
    let bob = read_back(vault, BOB)?;
    writeln!(
        out,
        "  delete alice (crypto-shred: KEK destroyed first, then rows): alice has 0 items, bob reads {bob} of 2"
    )?;

    let old_copy = core.open_vault(&copy_dir, keystore)?;
    let alice = old_copy.get(ALICE, "auth", "refresh-token");
    check(
        matches!(alice, Err(Error::KeyUnavailable)),
        "the copy still opened alice's data",
    )?;
    let bob = read_back(&old_copy, BOB)?;
    writeln!(
        out,
        "  a copy of the database taken before the deletion: alice -> KeyUnavailable, bob reads {bob} of 2"
    )?;
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(INTERNAL, format!("vault demo: {what}")))
    }
}
