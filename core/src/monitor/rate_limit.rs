//! Client-side rate limiting: a token bucket per key (an API credential's id), and pauses a
//! server asked for.
//!
//! The bucket holds up to `capacity` tokens and gains `refill_per_second`; each request takes
//! one. It is kept as the GCRA form of a token bucket (RFC-free but standard: ATM's "generic
//! cell rate algorithm"): one instant per key, the *theoretical arrival time* `tat` of the next
//! token, so the arithmetic is exact integer `Duration`s with no floating-point drift. With
//! `interval = 1 / refill_per_second` and `burst = capacity × interval`, a request at `now` is
//! allowed when `max(tat, now) + interval - burst <= now`, and then `tat` becomes
//! `max(tat, now) + interval`; otherwise it may go out after the difference. A full bucket
//! lets `capacity` requests through at once, then one per `interval`.
//!
//! A server's `Retry-After` (429 / 503) pauses the key until then, whatever the bucket holds.
//!
//! Time is monotonic ([`MonotonicClock`]), so a wall clock set back or forward neither lets a
//! burst through nor blocks requests. The default is tokio's clock ([`TokioClock`]), which
//! `tokio::time::pause` controls in tests; [`ManualClock`] is set by hand.
//!
//! Waiting ([`RateLimitMode::Wait`]) takes nothing until a token is there: the future sleeps,
//! then tries again. Dropping it while it waits (a cancelled coroutine, a `select!` timeout)
//! leaves the bucket as it was: nothing is reserved, so nothing leaks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::{Error, Result};

/// Keys whose state is kept before idle ones (a full bucket, no pause) are dropped.
const MAX_KEYS: usize = 4096;

/// A monotonic clock: time since an arbitrary fixed origin, never going back.
pub trait MonotonicClock: Send + Sync {
    /// Time elapsed since the clock's origin.
    fn now(&self) -> Duration;
}

/// Tokio's clock (`tokio::time::Instant`): the real monotonic clock, or the paused and
/// auto-advancing one of a test runtime under `tokio::time::pause`.
#[derive(Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MonotonicClock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
}

/// A clock set by hand, for tests of the bucket's arithmetic. [`RateLimitMode::Wait`] sleeps on
/// tokio's timer, which does not move this clock: use it with [`RateLimitMode::Fail`] (or
/// advance it from another task).
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(by))
            });
    }
}

impl MonotonicClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    capacity: u32,
    /// Time to gain one token.
    interval: Duration,
}

impl RateLimit {
    /// Up to `capacity` requests at once (1 to 1,000,000), then `refill_per_second` (a token
    /// per `1 / refill_per_second` seconds; from one a day to 1,000,000 a second).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a capacity or rate out of range (or not a number).
    pub fn new(capacity: u32, refill_per_second: f64) -> Result<Self> {
        if !(1..=1_000_000).contains(&capacity) {
            return Err(Error::invalid_input(
                "a rate limit's capacity must be from 1 to 1,000,000",
            ));
        }
        if !(refill_per_second.is_finite()
            && (1.0 / 86_400.0..=1_000_000.0).contains(&refill_per_second))
        {
            return Err(Error::invalid_input(
                "a rate limit's refill must be from one a day to 1,000,000 a second",
            ));
        }
        let interval = Duration::try_from_secs_f64(1.0 / refill_per_second)
            .map_err(|_| Error::invalid_input("a rate limit's refill is out of range"))?;
        Ok(Self { capacity, interval })
    }

    /// Tokens a full bucket holds.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Tokens gained per second.
    pub fn refill_per_second(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }

    fn burst(&self) -> Duration {
        self.interval.saturating_mul(self.capacity)
    }
}

impl Default for RateLimit {
    /// 10 at once, then 5 a second.
    fn default() -> Self {
        Self {
            capacity: 10,
            interval: Duration::from_millis(200),
        }
    }
}

/// What a request does when its key has no token (or is paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateLimitMode {
    /// Wait (asynchronously) until a token is there, then go.
    Wait,
    /// Fail at once with [`Error::RateLimited`], saying how long to wait.
    Fail,
}

/// One key's state, on the limiter's clock.
#[derive(Debug, Clone, Copy, Default)]
struct KeyState {
    /// When the bucket is full again (GCRA's theoretical arrival time).
    tat: Duration,
    /// No request before this (a server's `Retry-After`).
    paused_until: Duration,
}

impl KeyState {
    fn idle(&self, now: Duration) -> bool {
        self.tat <= now && self.paused_until <= now
    }
}

/// Token buckets and pauses, one per key. Cheap to share (`Arc` it); safe from many threads.
pub struct RateLimiter {
    limit: Option<RateLimit>,
    clock: Arc<dyn MonotonicClock>,
    keys: Mutex<HashMap<String, KeyState>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter on tokio's clock; `None` for no bucket (only server pauses apply).
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self::with_clock(limit, Arc::new(TokioClock::new()))
    }

    /// A limiter on `clock`.
    pub fn with_clock(limit: Option<RateLimit>, clock: Arc<dyn MonotonicClock>) -> Self {
        Self {
            limit,
            clock,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket's size and rate, if there is one.
    pub fn limit(&self) -> Option<RateLimit> {
        self.limit
    }

    /// Takes a token for `key` now, or says how long until one is there.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the wait when the bucket is empty or the key is paused;
    /// nothing is taken then.
    pub fn try_acquire(&self, key: &str) -> Result<()> {
        self.take(key)
            .map_err(|retry_after| Error::RateLimited { retry_after })
    }

    /// Takes a token for `key`: at once, or in [`RateLimitMode::Wait`] after waiting for one.
    /// Cancel-safe: a dropped future has taken nothing.
    ///
    /// # Errors
    /// In [`RateLimitMode::Fail`], as [`RateLimiter::try_acquire`].
    pub async fn acquire(&self, key: &str, mode: RateLimitMode) -> Result<()> {
        loop {
            match self.take(key) {
                Ok(()) => return Ok(()),
                Err(retry_after) if mode == RateLimitMode::Fail => {
                    return Err(Error::RateLimited { retry_after });
                }
                // Another waiter may take the token first: then this one waits again.
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Pauses `key` for `duration` from now (a server's `Retry-After`). A pause already longer
    /// is kept.
    pub fn pause(&self, key: &str, duration: Duration) {
        let now = self.clock.now();
        let until = now.saturating_add(duration);
        let mut keys = self.lock();
        let state = entry(&mut keys, key, now);
        state.paused_until = state.paused_until.max(until);
    }

    /// How long `key` stays paused, if it is.
    pub fn paused_for(&self, key: &str) -> Option<Duration> {
        let now = self.clock.now();
        let keys = self.lock();
        let until = keys.get(key)?.paused_until;
        (until > now).then(|| until.saturating_sub(now))
    }

    /// Tokens `key` could take now (0 while paused).
    pub fn available(&self, key: &str) -> u32 {
        let Some(limit) = self.limit else {
            return u32::MAX;
        };
        let now = self.clock.now();
        let state = self.lock().get(key).copied().unwrap_or_default();
        if state.paused_until > now {
            return 0;
        }
        // Tokens = (now + burst - max(tat, now)) / interval.
        let room = now
            .saturating_add(limit.burst())
            .saturating_sub(state.tat.max(now));
        let tokens = room.as_nanos() / limit.interval.as_nanos().max(1);
        u32::try_from(tokens)
            .unwrap_or(u32::MAX)
            .min(limit.capacity)
    }

    /// Forgets `key` (a revoked credential): a full bucket and no pause.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Takes a token, or returns the wait.
    fn take(&self, key: &str) -> std::result::Result<(), Duration> {
        let now = self.clock.now();
        let mut keys = self.lock();
        let state = entry(&mut keys, key, now);
        if state.paused_until > now {
            return Err(state.paused_until.saturating_sub(now));
        }
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let next = state.tat.max(now).saturating_add(limit.interval);
        let allowed_at = next.saturating_sub(limit.burst());
        if allowed_at > now {
            return Err(allowed_at.saturating_sub(now));
        }
        state.tat = next;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyState>> {
        // Each entry is two instants written together: valid whatever a panicking holder did.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `key`'s state, made when missing (after dropping idle keys when the map is full).
fn entry<'a>(
    keys: &'a mut HashMap<String, KeyState>,
    key: &str,
    now: Duration,
) -> &'a mut KeyState {
    if !keys.contains_key(key) && keys.len() >= MAX_KEYS {
        keys.retain(|_, state| !state.idle(now));
    }
    keys.entry(key.to_owned()).or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(capacity: u32, per_second: f64) -> (RateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::with_clock(
            Some(RateLimit::new(capacity, per_second).unwrap()),
            clock.clone(),
        );
        (limiter, clock)
    }

    fn retry_after(result: Result<()>) -> Duration {
        match result {
            Err(Error::RateLimited { retry_after }) => retry_after,
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_refuses() {
        let (limiter, _clock) = limiter(3, 1.0);
        assert_eq!(limiter.available("k"), 3);
        for _ in 0..3 {
            limiter.try_acquire("k").unwrap();
        }
        assert_eq!(limiter.available("k"), 0);
        assert_eq!(
            retry_after(limiter.try_acquire("k")),
            Duration::from_secs(1)
        );
        // A refusal takes nothing.
        assert_eq!(
            retry_after(limiter.try_acquire("k")),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn tokens_refill_at_the_rate_up_to_the_capacity() {
        let (limiter, clock) = limiter(2, 4.0); // one token per 250 ms
        limiter.try_acquire("k").unwrap();
        limiter.try_acquire("k").unwrap();
        clock.advance(Duration::from_millis(100));
        assert_eq!(
            retry_after(limiter.try_acquire("k")),
            Duration::from_millis(150)
        );
        clock.advance(Duration::from_millis(150));
        limiter.try_acquire("k").unwrap();
        assert!(limiter.try_acquire("k").is_err());
        // A long idle time refills to the capacity, no more.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(limiter.available("k"), 2);
        limiter.try_acquire("k").unwrap();
        limiter.try_acquire("k").unwrap();
        assert!(limiter.try_acquire("k").is_err());
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let (limiter, _clock) = limiter(1, 1.0);
        limiter.try_acquire("a").unwrap();
        assert!(limiter.try_acquire("a").is_err());
        limiter.try_acquire("b").unwrap();
        limiter.forget("a");
        limiter.try_acquire("a").unwrap();
    }

    #[test]
    fn a_pause_holds_whatever_the_bucket_has_and_the_longer_one_wins() {
        let (limiter, clock) = limiter(5, 1.0);
        limiter.pause("k", Duration::from_secs(10));
        limiter.pause("k", Duration::from_secs(2));
        assert_eq!(limiter.paused_for("k"), Some(Duration::from_secs(10)));
        assert_eq!(limiter.available("k"), 0);
        assert_eq!(
            retry_after(limiter.try_acquire("k")),
            Duration::from_secs(10)
        );
        clock.advance(Duration::from_secs(10));
        assert_eq!(limiter.paused_for("k"), None);
        limiter.try_acquire("k").unwrap();
        assert!(limiter.try_acquire("other").is_ok());
    }

    #[test]
    fn without_a_bucket_only_pauses_apply() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::with_clock(None, clock.clone());
        for _ in 0..10_000 {
            limiter.try_acquire("k").unwrap();
        }
        limiter.pause("k", Duration::from_secs(1));
        assert!(limiter.try_acquire("k").is_err());
        clock.advance(Duration::from_secs(1));
        limiter.try_acquire("k").unwrap();
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        assert!(RateLimit::new(0, 1.0).is_err());
        assert!(RateLimit::new(1_000_001, 1.0).is_err());
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e7, 1.0 / 100_000.0] {
            assert!(RateLimit::new(1, rate).is_err(), "{rate}");
        }
        let limit = RateLimit::new(7, 0.5).unwrap();
        assert_eq!(limit.capacity(), 7);
        assert!((limit.refill_per_second() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn idle_keys_are_dropped_when_the_map_is_full() {
        let (limiter, clock) = limiter(1, 1.0);
        for i in 0..MAX_KEYS {
            limiter.try_acquire(&format!("k{i}")).unwrap();
        }
        limiter.pause("held", Duration::from_secs(100));
        clock.advance(Duration::from_secs(2));
        limiter.try_acquire("new").unwrap();
        let keys = limiter.lock();
        assert!(keys.len() <= 3, "{}", keys.len());
        assert!(keys.contains_key("held"));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_mode_waits_for_the_next_token() {
        let limiter = RateLimiter::new(Some(RateLimit::new(1, 2.0).unwrap()));
        let start = tokio::time::Instant::now();
        limiter.acquire("k", RateLimitMode::Wait).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire("k", RateLimitMode::Wait).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        assert_eq!(
            retry_after(limiter.acquire("k", RateLimitMode::Fail).await),
            Duration::from_millis(500)
        );
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_mode_waits_out_a_pause() {
        let limiter = RateLimiter::new(Some(RateLimit::default()));
        limiter.pause("k", Duration::from_secs(2));
        let start = tokio::time::Instant::now();
        limiter.acquire("k", RateLimitMode::Wait).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_takes_nothing() {
        let limiter = Arc::new(RateLimiter::new(Some(RateLimit::new(1, 1.0).unwrap())));
        limiter.try_acquire("k").unwrap();
        // A waiter given up on after 300 ms: dropped mid-sleep.
        let waited = tokio::time::timeout(
            Duration::from_millis(300),
            limiter.acquire("k", RateLimitMode::Wait),
        )
        .await;
        assert!(waited.is_err());
        // The token due at 1 s is still there for the next caller, at 1 s.
        tokio::time::sleep(Duration::from_millis(700)).await;
        limiter.try_acquire("k").unwrap();
        assert!(limiter.try_acquire("k").is_err());
        // Many waiters dropped before their token (due at 2 s) leave it in the bucket.
        let mut waiters = Vec::new();
        for _ in 0..10 {
            let limiter = Arc::clone(&limiter);
            waiters.push(tokio::spawn(async move {
                limiter.acquire("k", RateLimitMode::Wait).await
            }));
        }
        tokio::task::yield_now().await;
        for waiter in &waiters {
            waiter.abort();
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(limiter.available("k"), 1);
    }
}
