//! Vault benchmarks: each vault operation measured beside the raw parts it is made of (a SQLite
//! statement with the vault's pragmas on a plain key-value table, HMAC-SHA256, AES-256-GCM), in
//! the same run, so the vault's own overhead is the difference.
//!
//! `cargo bench -p rukasec-core --bench vault` (about 4 minutes on 2 cores, plus the build);
//! results and the targets they are checked against are in docs/PERFORMANCE.md ("Vault").
//! Under `cargo test` every benchmark runs once, on fixtures a hundredth of the size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};
use rukasec_core::crypto::{Aes256GcmKey, Crypto};
use rukasec_core::events::EventBus;
use rukasec_core::secret::SecretBytes;
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DATABASE_FILE, DataClass, KeyWrapper, PutItem, Vault};
use rusqlite::{Connection, params};
use tempfile::TempDir;

const ACCOUNT: &str = "acct-0001";
const NAMESPACE: &str = "bench";
/// What an envelope adds to a value: version (1) + nonce (12) + tag (16).
const ENVELOPE_OVERHEAD: usize = 1 + 12 + 16;

/// A set of items: value size, label (also the names' prefix) and how many.
#[derive(Clone, Copy)]
struct Set {
    size: usize,
    label: &'static str,
    items: usize,
}

/// 1,000 values of 256 B.
const SMALL: Set = Set {
    size: 256,
    label: "256B",
    items: 1_000,
};
/// 100 values of 64 KiB.
const LARGE: Set = Set {
    size: 64 * 1024,
    label: "64KiB",
    items: 100,
};
/// Items per `put_batch`, and single puts it is compared with.
const BATCH: usize = 1_000;
/// Items of the vault that is opened, written by `put_batch` in chunks.
const OPEN_ITEMS: usize = 100_000;
const OPEN_CHUNK: usize = 10_000;

/// Whether this is a real measurement (`cargo bench`), not the single pass of `cargo test`.
fn full_run() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// `full` in a real measurement, a hundredth (at least 1) under `cargo test`.
fn count(full: usize) -> usize {
    if full_run() {
        full
    } else {
        (full / 100).max(1)
    }
}

fn name(label: &str, i: usize) -> String {
    format!("{label}-{i:06}")
}

fn value(len: usize, i: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (i.wrapping_mul(31) ^ j.wrapping_mul(7)) as u8)
        .collect()
}

/// The 32-byte primary key of a raw row.
fn raw_key(label: &str, i: usize) -> [u8; 32] {
    Crypto::get().unwrap().sha256(name(label, i).as_bytes())
}

/// The input the vault MACs for an item id: label ‖ lp(namespace) ‖ lp(name) (format.rs).
fn item_id_input(name: &str) -> Vec<u8> {
    let mut input = b"rukasec.vault.item.v1\0".to_vec();
    for part in [NAMESPACE, name] {
        input.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    input
}

/// An AAD as long as the vault's value AAD for `name` (format.rs `value_aad`).
fn value_aad(name: &str) -> Vec<u8> {
    let len = 23 + 1 + 32 + 4 + NAMESPACE.len() + 4 + name.len() + 1 + 4 + 8;
    vec![0xa5; len]
}

fn put_items(set: Set, range: std::ops::Range<usize>) -> Vec<PutItem> {
    range
        .map(|i| PutItem {
            namespace: NAMESPACE.to_owned(),
            name: name(set.label, i),
            value: SecretBytes::new(value(set.size, i)),
            class: DataClass::Confidential,
            ttl: None,
        })
        .collect()
}

struct VaultFixture {
    _dir: TempDir,
    vault: Vault,
}

/// A vault holding `sets` (one batch each), warm: keys unwrapped and cached, statements
/// prepared.
fn vault_fixture(sets: &[Set]) -> VaultFixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(
        dir.path(),
        Arc::new(MemoryKeyWrapper::new()),
        Arc::new(EventBus::new(None)),
    )
    .unwrap();
    for set in sets {
        vault
            .put_batch(ACCOUNT, &put_items(*set, 0..count(set.items)))
            .unwrap();
    }
    let first = sets[0];
    let got = vault
        .get(ACCOUNT, NAMESPACE, &name(first.label, 0))
        .unwrap();
    assert_eq!(
        got.unwrap().expose_secret(),
        value(first.size, 0).as_slice()
    );
    VaultFixture { _dir: dir, vault }
}

/// A connection with the vault's settings (store.rs).
fn raw_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "secure_delete", "ON").unwrap();
    conn
}

struct RawFixture {
    _dir: TempDir,
    conn: Connection,
}

/// The vault's own schema (`items` and its indexes among it), for raw inserts and reads with the
/// vault's layout but without its crypto.
use rukasec_core::vault::SCHEMA as ITEMS_SCHEMA;

const ITEMS_INSERT: &str = "INSERT OR REPLACE INTO items (account_tag, item_id, namespace_tag,
    class, key_version, expires_at, name, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// Stand-ins for the columns the vault writes besides the item id and the value.
const RAW_ACCOUNT_TAG: [u8; 32] = [0x11; 32];
const RAW_NAMESPACE_TAG: [u8; 32] = [0x22; 32];
/// As long as a name envelope: header + lp(namespace) + name + tag.
const RAW_NAME_ENVELOPE: [u8; 1 + 12 + 4 + NAMESPACE.len() + 12 + 16] =
    [0x33; 1 + 12 + 4 + NAMESPACE.len() + 12 + 16];

fn items_params<'a>(item_id: &'a [u8; 32], value: &'a [u8]) -> impl rusqlite::Params + 'a {
    (
        RAW_ACCOUNT_TAG.as_slice(),
        item_id.as_slice(),
        RAW_NAMESPACE_TAG.as_slice(),
        2,
        1,
        0,
        RAW_NAME_ENVELOPE.as_slice(),
        value,
    )
}

/// The same rows without the vault, each as long as the vault's envelope of its value, in two
/// tables: `kv`, WITHOUT ROWID with a 32-byte BLOB key (the vault's layout), and `kv_rowid`, an
/// ordinary rowid table with a UNIQUE key (values out of the key's B-tree); and the same rows in
/// `items`, the vault's schema.
fn raw_fixture(sets: &[Set]) -> RawFixture {
    let dir = tempfile::tempdir().unwrap();
    let conn = raw_connection(&dir.path().join("raw.sqlite3"));
    conn.execute_batch(
        "CREATE TABLE kv (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID;
         CREATE TABLE kv_rowid (k BLOB NOT NULL UNIQUE, v BLOB NOT NULL);",
    )
    .unwrap();
    conn.execute_batch(ITEMS_SCHEMA).unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for set in sets {
        for i in 0..count(set.items) {
            let (k, v) = (
                raw_key(set.label, i),
                value(set.size + ENVELOPE_OVERHEAD, i),
            );
            for table in ["kv", "kv_rowid"] {
                tx.execute(
                    &format!("INSERT INTO {table} (k, v) VALUES (?1, ?2)"),
                    params![k.as_slice(), v],
                )
                .unwrap();
            }
            tx.execute(ITEMS_INSERT, items_params(&k, &v)).unwrap();
        }
    }
    tx.commit().unwrap();
    RawFixture { _dir: dir, conn }
}

fn fast_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group
}

/// `vault.get` cycling through `set`'s items.
fn bench_vault_get(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, vault: &Vault, set: Set) {
    let names: Vec<String> = (0..count(set.items)).map(|i| name(set.label, i)).collect();
    let mut i = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            black_box(vault.get(ACCOUNT, NAMESPACE, &names[i]).unwrap().unwrap())
        });
    });
}

/// A point read by primary key from `table`, cycling through `set`'s rows.
fn bench_raw_read(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    raw: &RawFixture,
    table: &str,
    set: Set,
) {
    let keys: Vec<[u8; 32]> = (0..count(set.items))
        .map(|i| raw_key(set.label, i))
        .collect();
    let sql = format!("SELECT v FROM {table} WHERE k = ?1");
    let mut i = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let v: Vec<u8> = raw
                .conn
                .prepare_cached(&sql)
                .unwrap()
                .query_row([keys[i].as_slice()], |row| row.get(0))
                .unwrap();
            black_box(v)
        });
    });
}

/// The vault's own point read (store.rs `item_value`) on the raw `items` table.
fn bench_raw_read_items(group: &mut BenchmarkGroup<'_, WallTime>, raw: &RawFixture, set: Set) {
    let keys: Vec<[u8; 32]> = (0..count(set.items))
        .map(|i| raw_key(set.label, i))
        .collect();
    let mut i = 0;
    group.bench_function("raw_sqlite_point_read_vault_schema", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let row: (u8, u32, i64, Vec<u8>) = raw
                .conn
                .prepare_cached(
                    "SELECT class, key_version, expires_at, value FROM items
                     WHERE account_tag = ?1 AND item_id = ?2",
                )
                .unwrap()
                .query_row(
                    params![RAW_ACCOUNT_TAG.as_slice(), keys[i].as_slice()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .unwrap();
            black_box(row)
        });
    });
}

/// `get` of 256 B and of 64 KiB (each from a vault holding only that size), beside its parts.
fn bench_get(c: &mut Criterion) {
    let crypto = Crypto::get().unwrap();
    let key = Aes256GcmKey::from_slice(&[7; 32]).unwrap();
    let nonce = [9; 12];
    for set in [SMALL, LARGE] {
        let fixture = vault_fixture(&[set]);
        let raw = raw_fixture(&[set]);
        let mut group = fast_group(c, &format!("get_{}", set.label));
        bench_vault_get(&mut group, "vault_get", &fixture.vault, set);
        bench_raw_read(&mut group, "raw_sqlite_point_read", &raw, "kv", set);
        bench_raw_read(
            &mut group,
            "raw_sqlite_point_read_rowid_table",
            &raw,
            "kv_rowid",
            set,
        );
        bench_raw_read_items(&mut group, &raw, set);
        let index_key = [3; 32];
        let input = item_id_input(&name(set.label, 0));
        group.bench_function("raw_hmac_sha256_name", |b| {
            b.iter(|| black_box(crypto.hmac_sha256(black_box(&index_key), black_box(&input))));
        });
        let aad = value_aad(&name(set.label, 0));
        let sealed = crypto
            .aes256gcm_seal(&key, &nonce, &aad, &value(set.size, 0))
            .unwrap();
        group.bench_function("raw_aes256gcm_open", |b| {
            b.iter(|| {
                black_box(
                    crypto
                        .aes256gcm_open(&key, &nonce, black_box(&aad), black_box(&sealed))
                        .unwrap(),
                )
            });
        });
        group.finish();
    }
}

/// `get` of 256 B from a vault that also holds 64 KiB values: the vault's layout (WITHOUT
/// ROWID, values inline) beside the same read from both raw layouts.
fn bench_get_mixed(c: &mut Criterion) {
    let fixture = vault_fixture(&[SMALL, LARGE]);
    let raw = raw_fixture(&[SMALL, LARGE]);
    let mut group = fast_group(c, "get_256B_mixed_with_64KiB");
    bench_vault_get(&mut group, "vault_get", &fixture.vault, SMALL);
    bench_raw_read(&mut group, "raw_sqlite_point_read", &raw, "kv", SMALL);
    bench_raw_read(
        &mut group,
        "raw_sqlite_point_read_rowid_table",
        &raw,
        "kv_rowid",
        SMALL,
    );
    group.finish();
}

/// Durable `put` of 256 B and 64 KiB, beside a durable raw insert; then the crypto parts.
fn bench_put(c: &mut Criterion) {
    let crypto = Crypto::get().unwrap();
    for set in [SMALL, LARGE] {
        let fixture = vault_fixture(&[set]);
        let raw = raw_fixture(&[set]);
        // Every write waits for an fsync: few, long samples.
        let mut group = c.benchmark_group(format!("put_{}", set.label));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(4));
        let names: Vec<String> = (0..count(set.items)).map(|i| name(set.label, i)).collect();
        let data = value(set.size, 1);
        let mut i = 0;
        group.bench_function("vault_put_durable", |b| {
            b.iter(|| {
                i = (i + 1) % names.len();
                fixture
                    .vault
                    .put(
                        ACCOUNT,
                        NAMESPACE,
                        &names[i],
                        &data,
                        DataClass::Confidential,
                        None,
                    )
                    .unwrap();
            });
        });
        let keys: Vec<[u8; 32]> = (0..names.len()).map(|i| raw_key(set.label, i)).collect();
        let mut row = value(set.size + ENVELOPE_OVERHEAD, 1);
        let mut i = 0;
        let mut n: u64 = 0;
        group.bench_function("raw_sqlite_insert_durable", |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                // New bytes every time, as the vault's fresh nonce gives: SQLite skips
                // rewriting a row with identical content (no page written, no fsync).
                n += 1;
                row[..8].copy_from_slice(&n.to_le_bytes());
                raw.conn
                    .prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                    .unwrap()
                    .execute(params![keys[i].as_slice(), row])
                    .unwrap();
            });
        });
        group.finish();
    }

    let key = Aes256GcmKey::from_slice(&[7; 32]).unwrap();
    let nonce = [9; 12];
    let mut group = fast_group(c, "put_parts");
    for set in [SMALL, LARGE] {
        let aad = value_aad(&name(set.label, 0));
        let data = value(set.size, 1);
        group.bench_function(format!("raw_aes256gcm_seal/{}", set.label), |b| {
            b.iter(|| {
                black_box(
                    crypto
                        .aes256gcm_seal(&key, &nonce, black_box(&aad), black_box(&data))
                        .unwrap(),
                )
            });
        });
    }
    // Each envelope draws a fresh random nonce (getrandom).
    group.bench_function("raw_random_nonce", |b| {
        b.iter(|| black_box(crypto.random_array::<12>().unwrap()));
    });
    group.finish();
}

/// `put_batch` of 1,000 items of 256 B against 1,000 single durable puts, and raw 1,000-row
/// transactions (plain table, and the vault's schema).
fn bench_batch(c: &mut Criterion) {
    let fixture = vault_fixture(&[SMALL]);
    let raw = raw_fixture(&[SMALL]);
    let batch = count(BATCH);
    let names: Vec<String> = (0..batch).map(|i| name("batch", i)).collect();
    let data = value(256, 2);
    let mut group = c.benchmark_group("batch_1000x256B");
    // One iteration is 1,000 items (one or 1,000 commits): samples of one iteration each.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(100));
    group.bench_function("vault_put_batch", |b| {
        b.iter_batched(
            || {
                names
                    .iter()
                    .map(|name| PutItem {
                        namespace: NAMESPACE.to_owned(),
                        name: name.clone(),
                        value: SecretBytes::from_slice(&data),
                        class: DataClass::Confidential,
                        ttl: None,
                    })
                    .collect::<Vec<_>>()
            },
            |items| fixture.vault.put_batch(ACCOUNT, &items).unwrap(),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("vault_put_x1000", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for name in &names {
                    fixture
                        .vault
                        .put(
                            ACCOUNT,
                            NAMESPACE,
                            name,
                            &data,
                            DataClass::Confidential,
                            None,
                        )
                        .unwrap();
                }
            }
            start.elapsed()
        });
    });
    let keys: Vec<[u8; 32]> = (0..batch).map(|i| raw_key("batch", i)).collect();
    let mut row = value(256 + ENVELOPE_OVERHEAD, 2);
    let mut n: u64 = 0;
    group.bench_function("raw_sqlite_insert_x1000_one_tx", |b| {
        b.iter(|| {
            let tx = raw.conn.unchecked_transaction().unwrap();
            for key in &keys {
                n += 1;
                row[..8].copy_from_slice(&n.to_le_bytes());
                tx.prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                    .unwrap()
                    .execute(params![key.as_slice(), row])
                    .unwrap();
            }
            tx.commit().unwrap();
        });
    });
    // The same rows as the vault writes (64-byte key, three indexes, name envelope), without
    // the crypto: what SQLite alone costs the batch.
    group.bench_function("raw_sqlite_insert_x1000_one_tx_vault_schema", |b| {
        b.iter(|| {
            let tx = raw.conn.unchecked_transaction().unwrap();
            for key in &keys {
                n += 1;
                row[..8].copy_from_slice(&n.to_le_bytes());
                tx.prepare_cached(ITEMS_INSERT)
                    .unwrap()
                    .execute(items_params(key, &row))
                    .unwrap();
            }
            tx.commit().unwrap();
        });
    });
    group.finish();
}

struct OpenFixture {
    dir: TempDir,
    wrapper: Arc<dyn KeyWrapper>,
    events: Arc<EventBus>,
    probe: String,
}

/// A closed vault of `items` items of 256 B, filled with `put_batch` in chunks.
fn open_fixture(items: usize) -> OpenFixture {
    let dir = tempfile::tempdir().unwrap();
    let wrapper: Arc<dyn KeyWrapper> = Arc::new(MemoryKeyWrapper::new());
    let events = Arc::new(EventBus::new(None));
    let started = Instant::now();
    {
        let vault = Vault::open(dir.path(), Arc::clone(&wrapper), Arc::clone(&events)).unwrap();
        for chunk in (0..items).step_by(OPEN_CHUNK) {
            let range = chunk..items.min(chunk + OPEN_CHUNK);
            vault.put_batch(ACCOUNT, &put_items(SMALL, range)).unwrap();
        }
    }
    let size = std::fs::metadata(dir.path().join(DATABASE_FILE)).map_or(0, |m| m.len());
    eprintln!(
        "open fixture: {items} items, {:.1} MB, written in {:.2?}",
        size as f64 / 1e6,
        started.elapsed()
    );
    OpenFixture {
        dir,
        wrapper,
        events,
        probe: name(SMALL.label, items / 2),
    }
}

/// Times `routine` only, one call at a time; what it returns is dropped (closed) untimed.
fn time_each<T>(iters: u64, mut routine: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let out = black_box(routine());
        total += start.elapsed();
        drop(out);
    }
    total
}

/// Opening a vault of 100,000 items, alone and with the first `get` (which loads and unwraps
/// the account's keys), beside opening the same database with rusqlite.
fn bench_open(c: &mut Criterion) {
    let items = count(OPEN_ITEMS);
    // Made on first use, so a filter that skips this group skips writing it.
    let mut fixture: Option<OpenFixture> = None;
    let mut group = c.benchmark_group(format!("open_{items}_items"));
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("raw_sqlite_open", |b| {
        let f = fixture.get_or_insert_with(|| open_fixture(items));
        let path = f.dir.path().join(DATABASE_FILE);
        b.iter_custom(|iters| {
            time_each(iters, || {
                let conn = raw_connection(&path);
                let version: i64 = conn
                    .pragma_query_value(None, "user_version", |row| row.get(0))
                    .unwrap();
                (conn, version)
            })
        });
    });
    group.bench_function("vault_open", |b| {
        let f = fixture.get_or_insert_with(|| open_fixture(items));
        b.iter_custom(|iters| {
            time_each(iters, || {
                Vault::open(f.dir.path(), Arc::clone(&f.wrapper), Arc::clone(&f.events)).unwrap()
            })
        });
    });
    group.bench_function("vault_open_and_first_get", |b| {
        let f = fixture.get_or_insert_with(|| open_fixture(items));
        b.iter_custom(|iters| {
            time_each(iters, || {
                let vault =
                    Vault::open(f.dir.path(), Arc::clone(&f.wrapper), Arc::clone(&f.events))
                        .unwrap();
                let got = vault.get(ACCOUNT, NAMESPACE, &f.probe).unwrap();
                assert!(got.is_some());
                (vault, got)
            })
        });
    });
    group.bench_function("vault_open_first_get_close", |b| {
        let f = fixture.get_or_insert_with(|| open_fixture(items));
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let vault =
                    Vault::open(f.dir.path(), Arc::clone(&f.wrapper), Arc::clone(&f.events))
                        .unwrap();
                black_box(vault.get(ACCOUNT, NAMESPACE, &f.probe).unwrap());
            }
            start.elapsed()
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_get(&mut c);
    bench_get_mixed(&mut c);
    bench_put(&mut c);
    bench_batch(&mut c);
    bench_open(&mut c);
    c.final_summary();
}
