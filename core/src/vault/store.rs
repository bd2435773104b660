//! The SQLite store: schema, settings and row-level statements. Knows rows, not crypto.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

use super::format::{AccountTag, FORMAT_VERSION};
use crate::error::{Error, Result};

/// The database file inside the vault directory.
pub const DATABASE_FILE: &str = "vault.sqlite3";

/// The schema (docs/FORMAT.md §1). Public so the benchmarks measure raw SQLite on the very same
/// tables instead of a copy that could drift. `store::open` refuses a database whose schema is not
/// exactly this one (a planted trigger, view, index or column).
pub const SCHEMA: &str = "
CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts (
    account_tag BLOB PRIMARY KEY NOT NULL,
    kek_alias   TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    canary      BLOB NOT NULL,
    format      INTEGER NOT NULL,
    state       BLOB
) WITHOUT ROWID;
CREATE TABLE keys (
    account_tag BLOB NOT NULL,
    purpose     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    wrapped     BLOB NOT NULL,
    PRIMARY KEY (account_tag, purpose, version)
) WITHOUT ROWID;
CREATE TABLE items (
    account_tag   BLOB NOT NULL,
    item_id       BLOB NOT NULL,
    namespace_tag BLOB NOT NULL,
    class         INTEGER NOT NULL,
    key_version   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    name          BLOB NOT NULL,
    value         BLOB NOT NULL,
    counter       INTEGER NOT NULL,
    UNIQUE (account_tag, item_id)
);
CREATE INDEX items_by_namespace ON items (account_tag, namespace_tag);
CREATE INDEX items_by_expiry ON items (expires_at) WHERE expires_at > 0;
CREATE TABLE retired_keks (
    alias TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
";

/// Format 1's tables, renamed aside while a format-1 database is migrated.
const MIGRATE_V1: &str = "
DROP INDEX IF EXISTS items_by_namespace;
DROP INDEX IF EXISTS items_by_expiry;
ALTER TABLE accounts RENAME TO v1_accounts;
ALTER TABLE keys RENAME TO v1_keys;
ALTER TABLE items RENAME TO v1_items;
";

/// Copies format 1's rows into the new tables: accounts keep `format = 1` (migrated, with new
/// keys, the first time the app names them) and items counter 0.
const COPY_V1: &str = "
INSERT INTO accounts (account_tag, kek_alias, kek_version, canary, format, state)
    SELECT account_tag, kek_alias, kek_version, canary, 1, NULL FROM v1_accounts;
INSERT INTO keys (account_tag, purpose, version, wrapped)
    SELECT account_tag, purpose, version, wrapped FROM v1_keys;
INSERT INTO items (account_tag, item_id, namespace_tag, class, key_version, expires_at, name, value, counter)
    SELECT account_tag, item_id, namespace_tag, class, key_version, expires_at, name, value, 0 FROM v1_items;
DROP TABLE v1_items;
DROP TABLE v1_keys;
DROP TABLE v1_accounts;
";

/// Opens (creating if needed) the database in `dir`, durable and crash-safe (WAL journal with
/// `synchronous = FULL`, so a committed transaction survives a crash or power loss), with the
/// schema distrusted: `trusted_schema = OFF`, defensive mode, triggers and views disabled, and
/// the stored schema compared with [`SCHEMA`] before anything is read. A format-1 database is
/// migrated to format 2 in one transaction.
pub fn open(dir: &Path) -> Result<Connection> {
    std::fs::create_dir_all(dir)?;
    let connection = Connection::open(dir.join(DATABASE_FILE))?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    // A database is data, not code: nothing stored in it may run (docs/THREAT_MODEL.md).
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    connection.pragma_update(None, "trusted_schema", "OFF")?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    // Deleted rows are overwritten, not left in free pages (secure disposal).
    connection.pragma_update(None, "secure_delete", "ON")?;
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            check_schema(&connection, "")?;
            connection.execute_batch(&format!(
                "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {FORMAT_VERSION}; COMMIT;"
            ))?;
        }
        1 => {
            check_schema(&connection, SCHEMA_V1)?;
            connection.execute_batch(&format!(
                "BEGIN IMMEDIATE; {MIGRATE_V1} {SCHEMA} {COPY_V1} PRAGMA user_version = {FORMAT_VERSION}; COMMIT;"
            ))?;
        }
        v if v == i64::from(FORMAT_VERSION) => {}
        _ => {
            return Err(Error::Storage {
                reason: format!("unsupported vault format version {version}"),
            });
        }
    }
    check_schema(&connection, SCHEMA)?;
    Ok(connection)
}

/// Format 1's schema, as format-1 code created it (checked before migrating).
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    account_tag BLOB PRIMARY KEY NOT NULL,
    kek_alias   TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    canary      BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    account_tag BLOB NOT NULL,
    purpose     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    wrapped     BLOB NOT NULL,
    PRIMARY KEY (account_tag, purpose, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    account_tag   BLOB NOT NULL,
    item_id       BLOB NOT NULL,
    namespace_tag BLOB NOT NULL,
    class         INTEGER NOT NULL,
    key_version   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    name          BLOB NOT NULL,
    value         BLOB NOT NULL,
    UNIQUE (account_tag, item_id)
);
CREATE INDEX IF NOT EXISTS items_by_namespace ON items (account_tag, namespace_tag);
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at) WHERE expires_at > 0;
";

/// Refuses a database whose schema is not `expected`: every object in `sqlite_master` (apart
/// from SQLite's own automatic indexes) must be one of `expected`'s statements, word for word
/// up to whitespace, and every statement must be there. So a planted trigger, view, index,
/// table or altered column is an [`Error::Integrity`] before any row is read.
fn check_schema(conn: &Connection, expected: &str) -> Result<()> {
    let normalise = |sql: &str| {
        sql.replace("IF NOT EXISTS ", "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut wanted: Vec<String> = expected
        .split(';')
        .map(normalise)
        .filter(|s| !s.is_empty())
        .collect();
    wanted.sort();
    let mut statement = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%'",
    )?;
    let mut found = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?
        .map(|row| row.map(|(_, _, sql)| normalise(sql.as_deref().unwrap_or_default())))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    found.sort();
    if found != wanted {
        return Err(Error::Integrity);
    }
    Ok(())
}

/// Moves the WAL's content into the database and truncates the WAL to zero bytes, so that no
/// page image of a deleted value or a retired wrapped key stays in `vault.sqlite3-wal`. Returns
/// whether the checkpoint completed (another connection reading can hold it back; the next one
/// finishes the job).
pub fn checkpoint_truncate(conn: &Connection) -> Result<bool> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    Ok(busy == 0)
}

/// A `meta` value.
pub fn meta(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?)
}

/// Every `meta` row whose name starts with `prefix`, by name.
pub fn meta_with_prefix(conn: &Connection, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, value FROM meta WHERE substr(name, 1, ?2) = ?1 ORDER BY name",
    )?;
    let rows = statement.query_map(
        params![prefix, i64::try_from(prefix.len()).unwrap_or(i64::MAX)],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Sets a `meta` value.
pub fn set_meta(conn: &Connection, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
        params![name, value],
    )?;
    Ok(())
}

/// KEK aliases whose destruction failed, to retry.
pub fn retired_keks(conn: &Connection) -> Result<Vec<String>> {
    let mut statement = conn.prepare_cached("SELECT alias FROM retired_keks ORDER BY alias")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records a KEK to destroy later.
pub fn add_retired_kek(conn: &Connection, alias: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO retired_keks (alias) VALUES (?1)",
        [alias],
    )?;
    Ok(())
}

/// Forgets a KEK that is now destroyed.
pub fn remove_retired_kek(conn: &Connection, alias: &str) -> Result<()> {
    conn.execute("DELETE FROM retired_keks WHERE alias = ?1", [alias])?;
    Ok(())
}

/// Whether any `items` or `keys` row names `tag` (an account whose `accounts` row is gone).
pub fn has_orphan_rows(conn: &Connection, tag: &AccountTag) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM items WHERE account_tag = ?1)
                 OR EXISTS (SELECT 1 FROM keys WHERE account_tag = ?1)",
        )?
        .query_row([tag.as_slice()], |row| row.get(0))?)
}

/// An `accounts` row.
pub struct AccountRow {
    pub kek_alias: String,
    pub kek_version: u32,
    pub canary: Vec<u8>,
    /// 2, or 1 for an account written by format 1 and not yet migrated.
    pub format: u8,
    /// The encoded [`AccountState`](super::format::AccountState); `None` for format 1.
    pub state: Option<Vec<u8>>,
}

pub fn account(conn: &Connection, tag: &AccountTag) -> Result<Option<AccountRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT kek_alias, kek_version, canary, format, state FROM accounts WHERE account_tag = ?1",
        )?
        .query_row([tag.as_slice()], |row| {
            Ok(AccountRow {
                kek_alias: row.get(0)?,
                kek_version: row.get(1)?,
                canary: row.get(2)?,
                format: row.get(3)?,
                state: row.get(4)?,
            })
        })
        .optional()?)
}

/// Inserts a new account; fails if it exists (two vault instances creating it at once).
pub fn insert_account(conn: &Connection, tag: &AccountTag, row: &AccountRow) -> Result<()> {
    conn.execute(
        "INSERT INTO accounts (account_tag, kek_alias, kek_version, canary, format, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![tag.as_slice(), row.kek_alias, row.kek_version, row.canary, row.format, row.state],
    )?;
    Ok(())
}

/// Writes an account's state.
pub fn set_state(conn: &Connection, tag: &AccountTag, state: &[u8]) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET state = ?2 WHERE account_tag = ?1")?
        .execute(params![tag.as_slice(), state])?;
    Ok(())
}

/// Every account tag, with its format.
pub fn account_tags(conn: &Connection) -> Result<Vec<(AccountTag, u8)>> {
    let mut statement = conn.prepare("SELECT account_tag, format FROM accounts")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What identifies an account's key set: its KEK version and canary and every wrapped key with
/// its purpose and version. It changes with every rotation, deletion, reset or re-creation, by any
/// vault instance (new keys are random, so their wrapped forms differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFingerprint {
    kek_version: u32,
    canary: Vec<u8>,
    keys: Vec<(u8, u32, Vec<u8>)>,
}

pub fn key_fingerprint(conn: &Connection, tag: &AccountTag) -> Result<Option<KeyFingerprint>> {
    let Some((kek_version, canary)) = conn
        .prepare_cached("SELECT kek_version, canary FROM accounts WHERE account_tag = ?1")?
        .query_row([tag.as_slice()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let mut statement = conn.prepare_cached(
        "SELECT purpose, version, wrapped FROM keys WHERE account_tag = ?1 ORDER BY purpose, version",
    )?;
    let keys = statement
        .query_map([tag.as_slice()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(KeyFingerprint {
        kek_version,
        canary,
        keys,
    }))
}

/// SQLite's `data_version`: changes whenever another connection commits to the database.
pub fn data_version(conn: &Connection) -> Result<i64> {
    // A cached statement: this runs on every call of the vault.
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))?)
}

/// Points an account at a new KEK (after a KEK rotation).
pub fn set_kek(
    conn: &Connection,
    tag: &AccountTag,
    kek_alias: &str,
    kek_version: u32,
    canary: &[u8],
) -> Result<()> {
    conn.execute(
        "UPDATE accounts SET kek_alias = ?2, kek_version = ?3, canary = ?4 WHERE account_tag = ?1",
        params![tag.as_slice(), kek_alias, kek_version, canary],
    )?;
    Ok(())
}

/// A `keys` row.
pub struct KeyRow {
    pub purpose: u8,
    pub version: u32,
    pub wrapped: Vec<u8>,
}

pub fn keys(conn: &Connection, tag: &AccountTag) -> Result<Vec<KeyRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT purpose, version, wrapped FROM keys WHERE account_tag = ?1 ORDER BY purpose, version",
    )?;
    let rows = statement.query_map([tag.as_slice()], |row| {
        Ok(KeyRow {
            purpose: row.get(0)?,
            version: row.get(1)?,
            wrapped: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn upsert_key(conn: &Connection, tag: &AccountTag, row: &KeyRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO keys (account_tag, purpose, version, wrapped) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![tag.as_slice(), row.purpose, row.version, row.wrapped])?;
    Ok(())
}

pub fn delete_key_versions_except(
    conn: &Connection,
    tag: &AccountTag,
    purpose: u8,
    keep: u32,
) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM keys WHERE account_tag = ?1 AND purpose = ?2 AND version != ?3",
        params![tag.as_slice(), purpose, keep],
    )?)
}

/// An `items` row.
pub struct ItemRow {
    pub item_id: [u8; 32],
    pub namespace_tag: [u8; 32],
    pub class: u8,
    pub key_version: u32,
    pub expires_at: i64,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
    pub counter: u64,
}

impl ItemRow {
    /// A copy without the value (what the state covers).
    pub fn clone_header(&self) -> Self {
        Self {
            item_id: self.item_id,
            namespace_tag: self.namespace_tag,
            class: self.class,
            key_version: self.key_version,
            expires_at: self.expires_at,
            name: self.name.clone(),
            value: Vec::new(),
            counter: self.counter,
        }
    }
}

const ITEM_COLUMNS: &str =
    "item_id, namespace_tag, class, key_version, expires_at, name, value, counter";

fn item_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        item_id: row.get(0)?,
        namespace_tag: row.get(1)?,
        class: row.get(2)?,
        key_version: row.get(3)?,
        expires_at: row.get(4)?,
        name: row.get(5)?,
        value: row.get(6)?,
        // Counters are written from u64 values below 2^63 (see `upsert_item`); anything else
        // in the column is tampering, caught as a state mismatch (counter 0).
        counter: u64::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
    })
}

pub fn upsert_item(conn: &Connection, tag: &AccountTag, row: &ItemRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (account_tag, item_id, namespace_tag, class, key_version, expires_at, name, value, counter)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        tag.as_slice(),
        row.item_id.as_slice(),
        row.namespace_tag.as_slice(),
        row.class,
        row.key_version,
        row.expires_at,
        row.name,
        row.value,
        i64::try_from(row.counter).map_err(|_| Error::Internal {
            reason: "write counter overflow".to_owned(),
        })?
    ])?;
    Ok(())
}

/// One item's row.
pub fn item(conn: &Connection, tag: &AccountTag, item_id: &[u8; 32]) -> Result<Option<ItemRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE account_tag = ?1 AND item_id = ?2"
        ))?
        .query_row(params![tag.as_slice(), item_id.as_slice()], item_row)
        .optional()?)
}

/// One item's row without its value (what the state covers).
pub fn item_header(
    conn: &Connection,
    tag: &AccountTag,
    item_id: &[u8; 32],
) -> Result<Option<ItemRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT item_id, namespace_tag, class, key_version, expires_at, name, x'', counter
             FROM items WHERE account_tag = ?1 AND item_id = ?2",
        )?
        .query_row(params![tag.as_slice(), item_id.as_slice()], item_row)
        .optional()?)
}

/// Every item of an account without its value (to verify the account state).
pub fn item_headers(conn: &Connection, tag: &AccountTag) -> Result<Vec<ItemRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT item_id, namespace_tag, class, key_version, expires_at, name, x'', counter
         FROM items WHERE account_tag = ?1",
    )?;
    let rows = statement.query_map([tag.as_slice()], item_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every item of an account, values included (migration).
pub fn items_of(conn: &Connection, tag: &AccountTag) -> Result<Vec<ItemRow>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE account_tag = ?1"
    ))?;
    let rows = statement.query_map([tag.as_slice()], item_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn delete_item(conn: &Connection, tag: &AccountTag, item_id: &[u8; 32]) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM items WHERE account_tag = ?1 AND item_id = ?2")?
        .execute(params![tag.as_slice(), item_id.as_slice()])?
        > 0)
}

/// The items of a namespace, without values.
pub fn names_in(
    conn: &Connection,
    tag: &AccountTag,
    namespace_tag: &[u8; 32],
) -> Result<Vec<ItemRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT item_id, namespace_tag, class, key_version, expires_at, name, x'', counter
         FROM items WHERE account_tag = ?1 AND namespace_tag = ?2",
    )?;
    let rows = statement.query_map(params![tag.as_slice(), namespace_tag.as_slice()], item_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Up to `limit` items of `class` whose key version is not `active`.
pub fn items_to_reencrypt(
    conn: &Connection,
    tag: &AccountTag,
    class: u8,
    active: u32,
    limit: usize,
) -> Result<Vec<ItemRow>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM items
         WHERE account_tag = ?1 AND class = ?2 AND key_version != ?3 LIMIT ?4"
    ))?;
    let rows = statement.query_map(
        params![
            tag.as_slice(),
            class,
            active,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        item_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn delete_account_rows(conn: &Connection, tag: &AccountTag) -> Result<()> {
    for table in ["items", "keys", "accounts"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE account_tag = ?1"),
            [tag.as_slice()],
        )?;
    }
    Ok(())
}

/// Deletes every row of every table (a vault whose id key is lost for good).
pub fn delete_everything(conn: &Connection) -> Result<()> {
    for table in ["items", "keys", "accounts", "meta"] {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

/// Accounts that have items expired at `now`.
pub fn accounts_with_expired(conn: &Connection, now: i64) -> Result<Vec<AccountTag>> {
    let mut statement = conn.prepare(
        "SELECT DISTINCT account_tag FROM items WHERE expires_at > 0 AND expires_at <= ?1",
    )?;
    let rows = statement.query_map([now], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The ids of an account's items expired at `now`.
pub fn expired_items(conn: &Connection, tag: &AccountTag, now: i64) -> Result<Vec<[u8; 32]>> {
    let mut statement = conn.prepare(
        "SELECT item_id FROM items WHERE account_tag = ?1 AND expires_at > 0 AND expires_at <= ?2",
    )?;
    let rows = statement.query_map(params![tag.as_slice(), now], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
