//! A bounded, persistent record of security events, kept in the vault until the app uploads it.
//!
//! Listeners and subscriptions see events only while the app runs; a fraud backend also wants
//! what happened while it was offline, and before a crash. The journal is a sink on the event
//! bus ([`EventBus::add_sink`](crate::events::EventBus::add_sink)) that writes each event as an
//! item of the reserved account [`JOURNAL_ACCOUNT`] (class Public: events carry no secrets and
//! must be readable before any unlock; the values are still sealed and state-covered like every
//! vault item, so an edited journal is an integrity failure, not a lie). It keeps at most its
//! capacity; beyond it the oldest entries go. The app reads [`EventJournal::entries`], uploads
//! them, and [`EventJournal::acknowledge`]s what the server accepted.
//!
//! A journal write that fails (a locked keystore, a full disk) must not feed itself: the
//! failure's own event would be journaled, fail, and so on. After a failure the journal pauses
//! for [`FAILURE_PAUSE`] and counts what it skipped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{DataClass, PutItem, Vault};
use crate::error::{Error, Result};
use crate::events::{
    ListenerError, SecurityEvent, SecurityEventKind, SecurityEventListener, Severity,
};
use crate::secret::SecretBytes;

/// The reserved vault account holding the journal.
pub const JOURNAL_ACCOUNT: &str = "rukasec.events";
const JOURNAL_NAMESPACE: &str = "journal";
/// The item holding the journal's bounds: next and oldest sequence numbers.
const BOUNDS_NAME: &str = "bounds";
/// How many entries a journal keeps by default.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 500;
/// How long the journal stops recording after a failed write.
pub const FAILURE_PAUSE: Duration = Duration::from_secs(60);

/// One journaled event and its sequence number (increasing, never reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Its position in the journal.
    pub seq: u64,
    /// The event.
    pub event: SecurityEvent,
}

/// An entry as stored (docs/FORMAT.md, "Event journal").
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    seq: u64,
    kind: String,
    severity: String,
    timestamp_ms: u64,
    details: BTreeMap<String, String>,
}

/// `next` is the sequence number the next entry gets; entries `oldest..next` exist.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Bounds {
    next: u64,
    oldest: u64,
}

impl Bounds {
    fn encode(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.next.to_be_bytes());
        out[8..].copy_from_slice(&self.oldest.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let next = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let oldest = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        (bytes.len() == 16 && oldest <= next).then_some(Self { next, oldest })
    }
}

/// The event journal of one vault (see the module docs). Holds the vault weakly: the vault's
/// event bus holds the journal as a sink.
pub struct EventJournal {
    vault: Weak<Vault>,
    capacity: u64,
    /// Serialises writers and caches the bounds.
    bounds: Mutex<Option<Bounds>>,
    paused_until: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl EventJournal {
    /// A journal in `vault` keeping at most `capacity` entries (at least 1), recording every
    /// event of the vault's bus from now on.
    pub fn attach(vault: &Arc<Vault>, capacity: usize) -> Arc<Self> {
        let journal = Arc::new(Self::new(vault, capacity));
        vault.events().add_sink(journal.clone());
        journal
    }

    /// A journal in `vault` that records only what it is given ([`EventJournal::record`]).
    pub fn new(vault: &Arc<Vault>, capacity: usize) -> Self {
        Self {
            vault: Arc::downgrade(vault),
            capacity: u64::try_from(capacity.max(1)).unwrap_or(u64::MAX),
            bounds: Mutex::new(None),
            paused_until: Mutex::new(None),
            skipped: AtomicU64::new(0),
        }
    }

    /// Appends `event`; the oldest entry goes when the journal is full. Returns the entry's
    /// sequence number.
    ///
    /// # Errors
    /// The vault's errors (`Storage`, `KeyUnavailable`, `Integrity`).
    pub fn record(&self, event: &SecurityEvent) -> Result<u64> {
        let vault = self.vault()?;
        let mut cached = self.bounds.lock().unwrap_or_else(PoisonError::into_inner);
        let mut bounds = match *cached {
            Some(bounds) => bounds,
            None => load_bounds(&vault)?,
        };
        let seq = bounds.next;
        let stored = StoredEntry {
            seq,
            kind: event.kind.as_str().to_owned(),
            severity: event.severity.as_str().to_owned(),
            timestamp_ms: event.timestamp_ms,
            details: event.details.clone(),
        };
        let value = serde_json::to_vec(&stored).map_err(|_| Error::Internal {
            reason: "a journal entry could not be serialised".to_owned(),
        })?;
        bounds.next = seq.saturating_add(1);
        let evicted = bounds.next.saturating_sub(self.capacity);
        let first_evicted = bounds.oldest;
        bounds.oldest = bounds.oldest.max(evicted);
        let put = |name: String, value: Vec<u8>| PutItem {
            namespace: JOURNAL_NAMESPACE.to_owned(),
            name,
            value: SecretBytes::new(value),
            class: DataClass::Public,
            ttl: None,
        };
        vault.put_batch(
            JOURNAL_ACCOUNT,
            &[
                put(entry_name(seq), value),
                put(BOUNDS_NAME.to_owned(), bounds.encode().to_vec()),
            ],
        )?;
        *cached = Some(bounds);
        for old in first_evicted..bounds.oldest {
            vault.delete(JOURNAL_ACCOUNT, JOURNAL_NAMESPACE, &entry_name(old))?;
        }
        Ok(seq)
    }

    /// Every entry, oldest first.
    ///
    /// # Errors
    /// The vault's errors; `Integrity` for an entry that is not one.
    pub fn entries(&self) -> Result<Vec<JournalEntry>> {
        let vault = self.vault()?;
        let _writer = self.bounds.lock().unwrap_or_else(PoisonError::into_inner);
        let bounds = load_bounds(&vault)?;
        let mut entries = Vec::new();
        for seq in bounds.oldest..bounds.next {
            // Acknowledged entries are gone; an entry beyond the bounds never exists.
            let Some(value) = vault.get(JOURNAL_ACCOUNT, JOURNAL_NAMESPACE, &entry_name(seq))?
            else {
                continue;
            };
            // Journal entries hold no secrets (events never do); reading them is the point.
            entries.push(decode_entry(value.expose_secret(), seq)?);
        }
        Ok(entries)
    }

    /// Removes every entry up to and including `seq` (what the server has accepted). Returns
    /// how many went.
    ///
    /// # Errors
    /// The vault's errors.
    pub fn acknowledge(&self, seq: u64) -> Result<usize> {
        let vault = self.vault()?;
        let mut cached = self.bounds.lock().unwrap_or_else(PoisonError::into_inner);
        let mut bounds = load_bounds(&vault)?;
        let end = seq.saturating_add(1).min(bounds.next);
        let mut removed = 0;
        for old in bounds.oldest..end {
            removed +=
                usize::from(vault.delete(JOURNAL_ACCOUNT, JOURNAL_NAMESPACE, &entry_name(old))?);
        }
        if end > bounds.oldest {
            bounds.oldest = end;
            vault.put(
                JOURNAL_ACCOUNT,
                JOURNAL_NAMESPACE,
                BOUNDS_NAME,
                &bounds.encode(),
                DataClass::Public,
                None,
            )?;
        }
        *cached = Some(bounds);
        Ok(removed)
    }

    /// Events not journaled because a write failed shortly before (see the module docs).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    fn vault(&self) -> Result<Arc<Vault>> {
        self.vault.upgrade().ok_or_else(|| Error::Storage {
            reason: "the vault holding the event journal was closed".to_owned(),
        })
    }
}

impl SecurityEventListener for EventJournal {
    fn on_event(&self, event: &SecurityEvent) -> std::result::Result<(), ListenerError> {
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_some_and(|until| Instant::now() < until) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        *paused = None;
        drop(paused);
        if self.record(event).is_err() {
            *self
                .paused_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + FAILURE_PAUSE);
            // The cached bounds may be ahead of what was stored.
            *self.bounds.lock().unwrap_or_else(PoisonError::into_inner) = None;
            return Err(ListenerError);
        }
        Ok(())
    }
}

impl std::fmt::Debug for EventJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventJournal")
            .field("capacity", &self.capacity)
            .field("skipped", &self.skipped())
            .finish_non_exhaustive()
    }
}

/// An entry's item name: its sequence number, zero-padded so names sort in order.
fn entry_name(seq: u64) -> String {
    format!("{seq:020}")
}

fn load_bounds(vault: &Vault) -> Result<Bounds> {
    match vault.get(JOURNAL_ACCOUNT, JOURNAL_NAMESPACE, BOUNDS_NAME)? {
        None => Ok(Bounds::default()),
        // Two counters, not secret.
        Some(bytes) => Bounds::decode(bytes.expose_secret()).ok_or(Error::Integrity),
    }
}

fn decode_entry(bytes: &[u8], seq: u64) -> Result<JournalEntry> {
    let stored: StoredEntry = serde_json::from_slice(bytes).map_err(|_| Error::Integrity)?;
    let kind = SecurityEventKind::from_name(&stored.kind);
    let severity = Severity::from_name(&stored.severity);
    match (kind, severity) {
        (Some(kind), Some(severity)) if stored.seq == seq => Ok(JournalEntry {
            seq,
            event: SecurityEvent {
                kind,
                severity,
                timestamp_ms: stored.timestamp_ms,
                details: stored.details,
            },
        }),
        // A kind from a newer version, or an entry moved to another name: not this journal's.
        _ => Err(Error::Integrity),
    }
}
