//! The SQLite store: schema, settings and row-level statements. Knows rows, not crypto.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::format::{AccountTag, FORMAT_VERSION};
use crate::error::{Error, Result};

/// The database file inside the vault directory.
pub const DATABASE_FILE: &str = "vault.sqlite3";

/// The schema (docs/FORMAT.md §1). Public so the benchmarks measure raw SQLite on the very same
/// tables instead of a copy that could drift.
pub const SCHEMA: &str = "
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

/// Opens (creating if needed) the database in `dir`, durable and crash-safe: WAL journal with
/// `synchronous = FULL`, so a committed transaction survives a crash or power loss.
pub fn open(dir: &Path) -> Result<Connection> {
    std::fs::create_dir_all(dir)?;
    let connection = Connection::open(dir.join(DATABASE_FILE))?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    // Deleted rows are overwritten, not left in free pages (secure disposal).
    connection.pragma_update(None, "secure_delete", "ON")?;
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            connection.execute_batch(&format!(
                "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {FORMAT_VERSION}; COMMIT;"
            ))?;
        }
        v if v == i64::from(FORMAT_VERSION) => {}
        _ => {
            return Err(Error::Storage {
                reason: format!("unsupported vault format version {version}"),
            });
        }
    }
    Ok(connection)
}

/// An `accounts` row.
pub struct AccountRow {
    pub kek_alias: String,
    pub kek_version: u32,
    pub canary: Vec<u8>,
}

pub fn account(conn: &Connection, tag: &AccountTag) -> Result<Option<AccountRow>> {
    Ok(conn
        .query_row(
            "SELECT kek_alias, kek_version, canary FROM accounts WHERE account_tag = ?1",
            [tag.as_slice()],
            |row| {
                Ok(AccountRow {
                    kek_alias: row.get(0)?,
                    kek_version: row.get(1)?,
                    canary: row.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Inserts a new account; fails if it exists (two vault instances creating it at once).
pub fn insert_account(conn: &Connection, tag: &AccountTag, row: &AccountRow) -> Result<()> {
    conn.execute(
        "INSERT INTO accounts (account_tag, kek_alias, kek_version, canary) VALUES (?1, ?2, ?3, ?4)",
        params![tag.as_slice(), row.kek_alias, row.kek_version, row.canary],
    )?;
    Ok(())
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

pub fn upsert_account(conn: &Connection, tag: &AccountTag, row: &AccountRow) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO accounts (account_tag, kek_alias, kek_version, canary) VALUES (?1, ?2, ?3, ?4)",
        params![tag.as_slice(), row.kek_alias, row.kek_version, row.canary],
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
}

pub fn upsert_item(conn: &Connection, tag: &AccountTag, row: &ItemRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (account_tag, item_id, namespace_tag, class, key_version, expires_at, name, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        tag.as_slice(),
        row.item_id.as_slice(),
        row.namespace_tag.as_slice(),
        row.class,
        row.key_version,
        row.expires_at,
        row.name,
        row.value
    ])?;
    Ok(())
}

/// The stored value of an item: class, key version, expiry, value envelope.
pub struct StoredValue {
    pub class: u8,
    pub key_version: u32,
    pub expires_at: i64,
    pub value: Vec<u8>,
}

pub fn item_value(
    conn: &Connection,
    tag: &AccountTag,
    item_id: &[u8; 32],
) -> Result<Option<StoredValue>> {
    Ok(conn
        .prepare_cached(
            "SELECT class, key_version, expires_at, value FROM items WHERE account_tag = ?1 AND item_id = ?2",
        )?
        .query_row(params![tag.as_slice(), item_id.as_slice()], |row| {
            Ok(StoredValue {
                class: row.get(0)?,
                key_version: row.get(1)?,
                expires_at: row.get(2)?,
                value: row.get(3)?,
            })
        })
        .optional()?)
}

pub fn item_expiry(conn: &Connection, tag: &AccountTag, item_id: &[u8; 32]) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT expires_at FROM items WHERE account_tag = ?1 AND item_id = ?2")?
        .query_row(params![tag.as_slice(), item_id.as_slice()], |row| {
            row.get(0)
        })
        .optional()?)
}

pub fn delete_item(conn: &Connection, tag: &AccountTag, item_id: &[u8; 32]) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM items WHERE account_tag = ?1 AND item_id = ?2")?
        .execute(params![tag.as_slice(), item_id.as_slice()])?
        > 0)
}

/// A name as listed: which item, its expiry, its name envelope.
pub struct NameRow {
    pub item_id: [u8; 32],
    pub expires_at: i64,
    pub name: Vec<u8>,
}

/// The names of a namespace's items.
pub fn names_in(
    conn: &Connection,
    tag: &AccountTag,
    namespace_tag: &[u8; 32],
) -> Result<Vec<NameRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT item_id, expires_at, name FROM items WHERE account_tag = ?1 AND namespace_tag = ?2",
    )?;
    let rows = statement.query_map(params![tag.as_slice(), namespace_tag.as_slice()], |row| {
        Ok(NameRow {
            item_id: row.get(0)?,
            expires_at: row.get(1)?,
            name: row.get(2)?,
        })
    })?;
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
    let mut statement = conn.prepare_cached(
        "SELECT item_id, namespace_tag, class, key_version, expires_at, name, value FROM items
         WHERE account_tag = ?1 AND class = ?2 AND key_version != ?3 LIMIT ?4",
    )?;
    let rows = statement.query_map(
        params![
            tag.as_slice(),
            class,
            active,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            Ok(ItemRow {
                item_id: row.get(0)?,
                namespace_tag: row.get(1)?,
                class: row.get(2)?,
                key_version: row.get(3)?,
                expires_at: row.get(4)?,
                name: row.get(5)?,
                value: row.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn set_item_value(
    conn: &Connection,
    tag: &AccountTag,
    item_id: &[u8; 32],
    key_version: u32,
    value: &[u8],
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE items SET key_version = ?3, value = ?4 WHERE account_tag = ?1 AND item_id = ?2",
    )?
    .execute(params![
        tag.as_slice(),
        item_id.as_slice(),
        key_version,
        value
    ])?;
    Ok(())
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

pub fn purge_expired(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM items WHERE expires_at > 0 AND expires_at <= ?1",
        [now],
    )?)
}
