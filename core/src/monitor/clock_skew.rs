//! How far this device's clock is from the servers', measured from their `Date` headers.
//!
//! Phones' clocks drift, and some customers set them by hand. A signature whose `created` is
//! minutes off is refused by the server (`NotYetValid` / `Expired`), a TOTP code computed for
//! the wrong step does not verify, and neither failure says why. The HTTPS client reads the
//! `Date` header (RFC 9110 §6.6.1, one-second resolution) of every response from a pinned
//! server, keeps the median offset of the last [`SAMPLES`] responses (so one slow response or
//! one odd server does not move it), uses it for the `created` of the signatures it makes, and
//! reports a skew of [`REPORT_THRESHOLD`] or more once as a `ClockSkewDetected` event (again
//! only when it moves by half that). Offsets beyond [`MAX_SKEW`] are ignored as garbage: a
//! server that far off is not a clock to follow.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many responses the estimate is the median of.
pub const SAMPLES: usize = 5;
/// The smallest skew reported as an event.
pub const REPORT_THRESHOLD: Duration = Duration::from_secs(60);
/// The largest offset taken as a measurement (30 days).
pub const MAX_SKEW: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Default)]
struct State {
    /// Offsets (server minus local, milliseconds), newest last.
    samples: VecDeque<i64>,
    /// The skew last reported, if any.
    reported: Option<i64>,
}

/// The running estimate (see the module docs). Safe to share between threads.
#[derive(Default)]
pub struct ClockSkew {
    state: Mutex<State>,
}

/// What one `Date` header changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewUpdate {
    /// The estimate after it, in milliseconds (server minus local).
    pub skew_ms: i64,
    /// Whether the estimate is now worth reporting (it crossed [`REPORT_THRESHOLD`] or moved by
    /// half of it since the last report).
    pub report: bool,
}

impl ClockSkew {
    /// A new estimate with no measurement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the `Date` header `value` of a response received at `local_now`. `None` when the
    /// value is not an HTTP-date or is off by more than [`MAX_SKEW`].
    pub fn observe(&self, value: &str, local_now: SystemTime) -> Option<SkewUpdate> {
        let server = httpdate::parse_http_date(value.trim()).ok()?;
        let offset = signed_ms(server, local_now)?;
        if offset.unsigned_abs() > millis(MAX_SKEW) {
            return None;
        }
        let mut state = self.lock();
        state.samples.push_back(offset);
        while state.samples.len() > SAMPLES {
            state.samples.pop_front();
        }
        let skew_ms = median(&state.samples);
        let threshold = i64::try_from(millis(REPORT_THRESHOLD)).unwrap_or(i64::MAX);
        let report = match state.reported {
            None => skew_ms.abs() >= threshold,
            Some(last) => (skew_ms - last).abs() >= threshold / 2,
        };
        if report {
            state.reported = Some(skew_ms);
        }
        Some(SkewUpdate { skew_ms, report })
    }

    /// The estimate in milliseconds (server minus local), once a response was measured.
    pub fn skew_ms(&self) -> Option<i64> {
        let state = self.lock();
        (!state.samples.is_empty()).then(|| median(&state.samples))
    }

    /// `local_now` moved by the estimate: the servers' time (unchanged before any measurement).
    pub fn corrected(&self, local_now: SystemTime) -> SystemTime {
        match self.skew_ms() {
            Some(skew) if skew >= 0 => local_now + Duration::from_millis(skew.unsigned_abs()),
            Some(skew) => local_now
                .checked_sub(Duration::from_millis(skew.unsigned_abs()))
                .unwrap_or(UNIX_EPOCH),
            None => local_now,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Numbers only: consistent whatever a panicking holder did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for ClockSkew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockSkew")
            .field("skew_ms", &self.skew_ms())
            .finish()
    }
}

/// `a - b` in milliseconds, `None` beyond `i64`.
fn signed_ms(a: SystemTime, b: SystemTime) -> Option<i64> {
    match a.duration_since(b) {
        Ok(ahead) => i64::try_from(ahead.as_millis()).ok(),
        Err(behind) => i64::try_from(behind.duration().as_millis())
            .ok()
            .map(|ms| -ms),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The median of a non-empty list (the lower middle one for an even count).
fn median(samples: &VecDeque<i64>) -> i64 {
    let mut sorted: Vec<i64> = samples.iter().copied().collect();
    sorted.sort_unstable();
    sorted
        .get((sorted.len().saturating_sub(1)) / 2)
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1994-11-06T08:49:37Z, the example of RFC 9110 §5.6.7.
    const EXAMPLE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const EXAMPLE_UNIX: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_fast_local_clock_is_a_negative_skew_and_corrected_back() {
        let skew = ClockSkew::new();
        assert_eq!(skew.skew_ms(), None);
        assert_eq!(skew.corrected(at(10)), at(10));
        let update = skew.observe(EXAMPLE, at(EXAMPLE_UNIX + 300)).unwrap();
        assert_eq!(
            update,
            SkewUpdate {
                skew_ms: -300_000,
                report: true
            }
        );
        assert_eq!(
            skew.corrected(at(EXAMPLE_UNIX + 400)),
            at(EXAMPLE_UNIX + 100)
        );
    }

    #[test]
    fn the_median_ignores_one_odd_response_and_small_skews_are_not_reported() {
        let skew = ClockSkew::new();
        for local in [EXAMPLE_UNIX - 2, EXAMPLE_UNIX - 2, EXAMPLE_UNIX - 3600 * 5] {
            let update = skew.observe(EXAMPLE, at(local)).unwrap();
            assert!(
                !update.report || update.skew_ms.abs() < 60_000,
                "{update:?}"
            );
        }
        // Samples +2 s, +2 s, +5 h: the median is 2 s, not reported.
        assert_eq!(skew.skew_ms(), Some(2_000));
    }

    #[test]
    fn a_report_comes_once_and_again_only_when_the_skew_moves() {
        let skew = ClockSkew::new();
        let reports: Vec<bool> = [120, 120, 125, 125, 125, 200, 200, 200]
            .iter()
            .map(|ahead| {
                skew.observe(EXAMPLE, at(EXAMPLE_UNIX - ahead))
                    .unwrap()
                    .report
            })
            .collect();
        // +120 s reported; the median reaches +200 s only at the third 200 (moved by 75 s).
        assert_eq!(
            reports,
            [true, false, false, false, false, false, false, true]
        );
    }

    #[test]
    fn garbage_and_absurd_dates_are_ignored() {
        let skew = ClockSkew::new();
        for value in ["", "yesterday", "Sun, 06 Nov 1994 08:49:37", "99999999999"] {
            assert_eq!(skew.observe(value, at(EXAMPLE_UNIX)), None, "{value}");
        }
        assert_eq!(
            skew.observe(EXAMPLE, at(EXAMPLE_UNIX + 40 * 24 * 3600)),
            None
        );
        assert_eq!(skew.skew_ms(), None);
    }
}
