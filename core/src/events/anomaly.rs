//! Anomaly rules over the event stream and the request rate, raising their own alerts.
//!
//! One failed fingerprint is noise; twenty in five minutes is someone trying. One request is
//! normal; ten times the usual rate is a script or a loop. The detector is a sink on the event
//! bus that counts authentication failures (the kinds in [`AnomalyRules::auth_failure_kinds`])
//! in a sliding window and raises [`SecurityEventKind::AuthenticationFailureBurst`] once per
//! burst; the HTTPS client tells it about each request ([`AnomalyDetector::record_request`]) and
//! it raises [`SecurityEventKind::RequestRateAnomaly`] when a window's count is far above the
//! average of the windows before it. The alerts go to the same bus, so listeners, subscriptions
//! and the journal get them like any event.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::{EventBus, ListenerError, SecurityEvent, SecurityEventKind, SecurityEventListener};

/// The detector's clock: never goes back, in milliseconds (any origin). Tests substitute their
/// own.
pub trait AnomalyClock: Send + Sync {
    /// Milliseconds since an arbitrary origin.
    fn now_ms(&self) -> u64;
}

/// The process's monotonic clock.
pub struct SystemAnomalyClock(Instant);

impl Default for SystemAnomalyClock {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl AnomalyClock for SystemAnomalyClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// When the detector raises an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRules {
    /// Authentication failures within `auth_failure_window` that make a burst (default 10).
    pub auth_failure_limit: usize,
    /// The burst window (default 5 minutes).
    pub auth_failure_window: Duration,
    /// The event kinds that count as authentication failures (default: failed unlocks and
    /// server 401/403 answers).
    pub auth_failure_kinds: Vec<SecurityEventKind>,
    /// The request-rate window (default 1 minute).
    pub rate_window: Duration,
    /// How many past windows make the baseline (default 10); no alert before 3 are known.
    pub rate_baseline_windows: usize,
    /// How many times the baseline a window must reach (default 5).
    pub rate_factor: u64,
    /// The fewest requests in a window that can be an anomaly (default 30).
    pub rate_min_requests: u64,
}

impl Default for AnomalyRules {
    fn default() -> Self {
        Self {
            auth_failure_limit: 10,
            auth_failure_window: Duration::from_secs(300),
            auth_failure_kinds: vec![
                SecurityEventKind::UnlockFailed,
                SecurityEventKind::AuthenticationRejected,
            ],
            rate_window: Duration::from_secs(60),
            rate_baseline_windows: 10,
            rate_factor: 5,
            rate_min_requests: 30,
        }
    }
}

/// The fewest past windows a rate alert needs.
const MIN_BASELINE_WINDOWS: usize = 3;

#[derive(Default)]
struct State {
    /// Times of the authentication failures within the window.
    failures: VecDeque<u64>,
    /// The current rate window: its start and count, and whether it alerted.
    window_start: Option<u64>,
    window_count: u64,
    window_alerted: bool,
    /// Counts of the completed windows, newest last.
    past: VecDeque<u64>,
}

/// Applies [`AnomalyRules`] (see the module docs).
pub struct AnomalyDetector {
    rules: AnomalyRules,
    bus: Weak<EventBus>,
    clock: Arc<dyn AnomalyClock>,
    state: Mutex<State>,
}

impl AnomalyDetector {
    /// A detector on `bus` (it watches the bus's events and raises its alerts there).
    pub fn attach(bus: &Arc<EventBus>, rules: AnomalyRules) -> Arc<Self> {
        Self::attach_with_clock(bus, rules, Arc::new(SystemAnomalyClock::default()))
    }

    /// [`AnomalyDetector::attach`] with another clock (tests).
    pub fn attach_with_clock(
        bus: &Arc<EventBus>,
        rules: AnomalyRules,
        clock: Arc<dyn AnomalyClock>,
    ) -> Arc<Self> {
        let detector = Arc::new(Self {
            rules,
            bus: Arc::downgrade(bus),
            clock,
            state: Mutex::new(State::default()),
        });
        bus.add_sink(detector.clone());
        detector
    }

    /// The rules in force.
    pub fn rules(&self) -> &AnomalyRules {
        &self.rules
    }

    /// Counts one request (the HTTPS client calls it for each request it sends).
    pub fn record_request(&self) {
        let now = self.clock.now_ms();
        let window = millis(self.rules.rate_window).max(1);
        let alert = {
            let mut state = self.lock();
            let start = *state.window_start.get_or_insert(now);
            if now.saturating_sub(start) >= window {
                // Windows that passed without requests count as empty ones.
                let elapsed = (now - start) / window;
                let completed = state.window_count;
                state.past.push_back(completed);
                for _ in 1..elapsed.min(self.rules.rate_baseline_windows as u64 + 1) {
                    state.past.push_back(0);
                }
                while state.past.len() > self.rules.rate_baseline_windows.max(1) {
                    state.past.pop_front();
                }
                state.window_start = Some(start + elapsed * window);
                state.window_count = 0;
                state.window_alerted = false;
            }
            state.window_count += 1;
            let baseline_known = state.past.len() >= MIN_BASELINE_WINDOWS;
            let total: u64 = state.past.iter().sum();
            // The average, rounded up so that a baseline of 0.1 requests is not "nothing".
            let baseline = total.div_ceil(state.past.len().max(1) as u64).max(1);
            let limit = baseline
                .saturating_mul(self.rules.rate_factor)
                .max(self.rules.rate_min_requests);
            if baseline_known && !state.window_alerted && state.window_count >= limit {
                state.window_alerted = true;
                Some((state.window_count, baseline))
            } else {
                None
            }
        };
        if let Some((requests, baseline)) = alert {
            self.raise(
                SecurityEvent::new(SecurityEventKind::RequestRateAnomaly)
                    .with_detail("requests", requests.to_string())
                    .with_detail("window_s", self.rules.rate_window.as_secs().to_string())
                    .with_detail("baseline", baseline.to_string()),
            );
        }
    }

    fn on_auth_failure(&self) {
        let now = self.clock.now_ms();
        let window = millis(self.rules.auth_failure_window);
        let burst = {
            let mut state = self.lock();
            state.failures.push_back(now);
            while state
                .failures
                .front()
                .is_some_and(|at| now.saturating_sub(*at) > window)
            {
                state.failures.pop_front();
            }
            if state.failures.len() >= self.rules.auth_failure_limit.max(1) {
                let count = state.failures.len();
                // One alert per burst: the next needs a full set of new failures.
                state.failures.clear();
                Some(count)
            } else {
                None
            }
        };
        if let Some(failures) = burst {
            self.raise(
                SecurityEvent::new(SecurityEventKind::AuthenticationFailureBurst)
                    .with_detail("failures", failures.to_string())
                    .with_detail(
                        "window_s",
                        self.rules.auth_failure_window.as_secs().to_string(),
                    ),
            );
        }
    }

    fn raise(&self, event: SecurityEvent) {
        if let Some(bus) = self.bus.upgrade() {
            bus.emit(event);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Counters only: consistent whatever a panicking holder did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SecurityEventListener for AnomalyDetector {
    fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError> {
        if self.rules.auth_failure_kinds.contains(&event.kind) {
            self.on_auth_failure();
        }
        Ok(())
    }
}

impl std::fmt::Debug for AnomalyDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnomalyDetector")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
