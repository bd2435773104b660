//! Where a verifier remembers the nonces it has accepted: the [`ReplayStore`] trait, with an
//! in-memory store as the default and a Redis store (feature `redis`) for server fleets.
//!
//! Why a trait: one verifier process remembers only what it saw. A fleet of API servers behind
//! a load balancer must share what they saw, or a request captured on its way to instance A is
//! replayed to instance B within its validity window. The verifier decides *how long* a nonce
//! must be remembered (as long as its signature could pass the time checks); the store only
//! keeps it that long, atomically ("insert if absent").
//!
//! A store that cannot answer fails closed: the verifier refuses the request with
//! [`SignatureFailure::ReplayStoreUnavailable`](crate::SignatureFailure::ReplayStoreUnavailable)
//! rather than accept a nonce it could not record.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// What a [`ReplayStore`] says about a nonce it was asked to remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonceVerdict {
    /// Not seen before for this key id: now remembered until the given time.
    Fresh,
    /// Already used with this key id within its window: a replay.
    Seen,
    /// The store cannot vouch for a signature expiring this early (it had to forget entries of
    /// this key expiring no later): refused like a replay.
    TooOld,
}

/// The store could not answer (unreachable, timed out, an unexpected reply). The verifier
/// refuses the request: a nonce that was not recorded cannot be refused the second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayStoreUnavailable {
    reason: String,
}

impl ReplayStoreUnavailable {
    /// An error with a fixed description of what failed. Never put a connection string (it
    /// may hold a password), a key id or a nonce in it: it reaches callers and logs.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// What failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ReplayStoreUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ReplayStoreUnavailable {}

/// Remembers, per key id, the nonces a verifier accepted.
pub trait ReplayStore: Send + Sync {
    /// Atomically: when `nonce` is not remembered for `keyid`, remembers it until
    /// `valid_until` (UNIX seconds, inclusive) and returns [`NonceVerdict::Fresh`]; otherwise
    /// [`NonceVerdict::Seen`] (or [`NonceVerdict::TooOld`]). `now` is the verifier's clock
    /// (UNIX seconds); `valid_until >= now`.
    ///
    /// Key ids and nonces are compared byte for byte, and a `(keyid, nonce)` pair must never
    /// collide with another (`("a", "bc")` is not `("ab", "c")`).
    ///
    /// # Errors
    /// [`ReplayStoreUnavailable`] when the store cannot answer; the request is then refused.
    fn check_and_remember(
        &self,
        keyid: &str,
        nonce: &str,
        valid_until: u64,
        now: u64,
    ) -> Result<NonceVerdict, ReplayStoreUnavailable>;
}

/// The default store: nonces in this process's memory, bounded in time and in memory with a
/// quota per key id (the rules are in [`SignatureVerifier`](super::SignatureVerifier)'s module
/// documentation). Right for one server process; a fleet needs a shared store.
pub struct MemoryReplayStore {
    cache: Mutex<ReplayCache>,
}

impl MemoryReplayStore {
    /// A store remembering at most `capacity` nonces in all and `per_key` for one key id.
    pub fn new(capacity: usize, per_key: usize) -> Self {
        Self {
            cache: Mutex::new(ReplayCache::new(capacity, per_key)),
        }
    }

    /// How many nonces are remembered now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayCache> {
        // A panic while holding the lock leaves the cache consistent (each step of
        // `check_and_insert` keeps its indexes in step), so a poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn check_and_remember(
        &self,
        keyid: &str,
        nonce: &str,
        valid_until: u64,
        now: u64,
    ) -> Result<NonceVerdict, ReplayStoreUnavailable> {
        Ok(self.lock().check_and_insert(keyid, nonce, valid_until, now))
    }
}

/// Nonces seen, per key, each until its signature could no longer pass the time checks.
///
/// Bounded twice: at most `per_key` entries for one key id and `capacity` in all. An eviction
/// never forgets silently: it raises a *floor* below which nonces are refused (their signature
/// is too close to expiry to be vouched for). Floors are kept per key id, and a full cache
/// evicts from the key holding the most entries, so one enrolled key flooding the verifier
/// shrinks only its own window and cannot evict, or lock out, the others.
struct ReplayCache {
    capacity: usize,
    per_key: usize,
    /// Every live entry, ordered by expiry: `(valid until, keyid, nonce)`.
    by_expiry: BTreeSet<(u64, String, String)>,
    /// What each key id has seen.
    keys: HashMap<String, KeyNonces>,
    /// The highest floor of key records dropped to bound memory: applies to every key.
    floor: Option<u64>,
}

/// One key id's nonces and floor.
#[derive(Default)]
struct KeyNonces {
    /// nonce → valid until.
    seen: HashMap<String, u64>,
    /// The same, ordered by expiry.
    by_expiry: BTreeSet<(u64, String)>,
    /// This key's entries valid until this time or earlier may have been evicted.
    floor: Option<u64>,
}

impl KeyNonces {
    /// Evicts this key's entry expiring first and raises its floor; returns what went.
    fn evict_first(&mut self) -> Option<(u64, String)> {
        let (until, nonce) = self.by_expiry.pop_first()?;
        self.seen.remove(&nonce);
        self.floor = Some(self.floor.map_or(until, |floor| floor.max(until)));
        Some((until, nonce))
    }
}

impl ReplayCache {
    fn new(capacity: usize, per_key: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            per_key: per_key.clamp(1, capacity.max(1)),
            by_expiry: BTreeSet::new(),
            keys: HashMap::new(),
            floor: None,
        }
    }

    fn len(&self) -> usize {
        self.by_expiry.len()
    }

    fn check_and_insert(
        &mut self,
        keyid: &str,
        nonce: &str,
        valid_until: u64,
        now: u64,
    ) -> NonceVerdict {
        self.purge(now);
        if let Some(key) = self.keys.get(keyid) {
            if key.seen.contains_key(nonce) {
                return NonceVerdict::Seen;
            }
            if key.floor.is_some_and(|floor| valid_until <= floor) {
                return NonceVerdict::TooOld;
            }
        }
        if self.floor.is_some_and(|floor| valid_until <= floor) {
            return NonceVerdict::TooOld;
        }
        // This key's quota first: a flood from one key costs only that key.
        let key = self.keys.entry(keyid.to_owned()).or_default();
        if key.seen.len() >= self.per_key
            && let Some((until, evicted)) = key.evict_first()
        {
            self.by_expiry.remove(&(until, keyid.to_owned(), evicted));
        }
        // Then the total: evict from whichever key holds the most.
        while self.len() >= self.capacity {
            let Some(largest) = self
                .keys
                .iter()
                .max_by_key(|(_, key)| key.seen.len())
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            let Some((until, evicted)) =
                self.keys.get_mut(&largest).and_then(KeyNonces::evict_first)
            else {
                break;
            };
            self.by_expiry.remove(&(until, largest, evicted));
        }
        let key = self.keys.entry(keyid.to_owned()).or_default();
        key.seen.insert(nonce.to_owned(), valid_until);
        key.by_expiry.insert((valid_until, nonce.to_owned()));
        self.by_expiry
            .insert((valid_until, keyid.to_owned(), nonce.to_owned()));
        NonceVerdict::Fresh
    }

    /// Drops what can no longer pass the time checks, floors that no longer refuse anything,
    /// and key records with neither; folds the floors of surplus empty records into the global
    /// floor so that the number of records stays bounded too.
    fn purge(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            if let Some((until, keyid, nonce)) = self.by_expiry.pop_first()
                && let Some(key) = self.keys.get_mut(&keyid)
            {
                key.seen.remove(&nonce);
                key.by_expiry.remove(&(until, nonce));
            }
        }
        let past = |floor: &mut Option<u64>| {
            if floor.is_some_and(|f| f < now) {
                *floor = None;
            }
        };
        past(&mut self.floor);
        for key in self.keys.values_mut() {
            past(&mut key.floor);
        }
        self.keys
            .retain(|_, key| !key.seen.is_empty() || key.floor.is_some());
        if self.keys.len() > self.capacity.saturating_mul(2) {
            let mut folded = self.floor;
            self.keys.retain(|_, key| {
                if key.seen.is_empty() {
                    folded = folded.max(key.floor);
                    false
                } else {
                    true
                }
            });
            self.floor = folded;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    fn refused(verdict: NonceVerdict) -> bool {
        verdict != NonceVerdict::Fresh
    }

    fn fresh(verdict: NonceVerdict) {
        assert_eq!(verdict, NonceVerdict::Fresh);
    }

    #[test]
    fn replay_cache_refuses_repeats_per_key() {
        let mut cache = ReplayCache::new(10, 10);
        fresh(cache.check_and_insert("k1", "n", 100, 10));
        assert!(refused(cache.check_and_insert("k1", "n", 100, 20)),);
        fresh(cache.check_and_insert("k2", "n", 100, 20));
        // Expired entries are purged (their signatures fail the time checks anyway).
        fresh(cache.check_and_insert("k1", "n", 200, 101));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.keys.len(), 1, "k2's empty record went too");
    }

    #[test]
    fn a_full_replay_cache_shrinks_the_window_instead_of_forgetting() {
        let mut cache = ReplayCache::new(2, 2);
        fresh(cache.check_and_insert("k", "a", 100, 0));
        fresh(cache.check_and_insert("k", "b", 110, 0));
        // Full: "a" (expiring first) is evicted, and nothing expiring by 100 is accepted.
        fresh(cache.check_and_insert("k", "c", 120, 0));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.keys["k"].floor, Some(100));
        for (nonce, until) in [("a", 100), ("fresh-but-old", 99), ("b", 110)] {
            assert!(
                refused(cache.check_and_insert("k", nonce, until, 0)),
                "{nonce}"
            );
        }
        fresh(cache.check_and_insert("k", "d", 130, 0));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn one_key_flooding_the_cache_cannot_evict_or_lock_out_another() {
        // The attack: an attacker with one enrolled device key sends thousands of validly
        // signed requests with fresh nonces. With one shared cache and one floor, that evicted
        // the other keys' nonces (so their captured requests replayed) or, with the floor,
        // refused their fresh requests. Now the flood costs only the flooding key.
        let mut cache = ReplayCache::new(100, 10);
        fresh(cache.check_and_insert("victim", "paid", 300, 0));
        for i in 0..1000 {
            fresh(cache.check_and_insert("attacker", &format!("n{i}"), 300 + i, 0));
        }
        assert!(
            refused(cache.check_and_insert("victim", "paid", 300, 1)),
            "the victim's nonce is still remembered"
        );
        fresh(cache.check_and_insert("victim", "next", 300, 1));
        assert!(cache.keys["attacker"].seen.len() <= 10);
        assert!(cache.len() <= 100);
        // The attacker's own old nonces are refused by its floor, not forgotten.
        assert!(refused(cache.check_and_insert("attacker", "n0", 300, 1)),);
    }

    #[test]
    fn a_full_cache_evicts_from_the_largest_key_and_stays_bounded() {
        let mut cache = ReplayCache::new(6, 6);
        for i in 0..4 {
            fresh(cache.check_and_insert("big", &format!("b{i}"), 200 + i, 0));
        }
        fresh(cache.check_and_insert("small", "s", 100, 0));
        fresh(cache.check_and_insert("other", "o", 100, 0));
        fresh(cache.check_and_insert("new", "x", 500, 0));
        assert_eq!(cache.len(), 6);
        assert_eq!(cache.keys["big"].seen.len(), 3, "the largest key paid");
        assert!(cache.keys["small"].floor.is_none() && cache.keys["other"].floor.is_none());
        // Many keys with one nonce each: entries and records stay bounded.
        for i in 0..10_000 {
            fresh(cache.check_and_insert(&format!("k{i}"), "n", 1_000 + i, 0));
        }
        assert!(cache.len() <= 6);
        assert!(cache.keys.len() <= 13, "{} records", cache.keys.len());
    }
}
