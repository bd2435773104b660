//! Times for people: RFC 3339 in UTC, whole seconds (`2026-12-01T20:04:12Z`).
//!
//! The core counts lockouts in Unix milliseconds and has no calendar library; this is the one
//! conversion the CLI needs, so it is written out here (days to a civil date by Howard
//! Hinnant's `civil_from_days`, proleptic Gregorian calendar, no leap seconds, as RFC 3339 and
//! Unix time agree) rather than pulling in a date crate for one function.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// `unix_ms` as `YYYY-MM-DDTHH:MM:SSZ`, rounded *up* to a whole second: a lockout shown as
/// ending at a time has ended by then.
pub fn rfc3339_ceil(unix_ms: i64) -> String {
    let seconds =
        unix_ms.div_euclid(MS_PER_SECOND) + i64::from(unix_ms.rem_euclid(MS_PER_SECOND) != 0);
    let (days, of_day) = (
        seconds.div_euclid(SECONDS_PER_DAY),
        seconds.rem_euclid(SECONDS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// Milliseconds since the Unix epoch now (0 for a clock before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// `until (in N s)`: when a lockout ends and how long that is from `now_ms`.
pub fn until_text(until_ms: i64, now_ms: i64) -> String {
    let remaining_ms = until_ms.saturating_sub(now_ms).max(0);
    // Rounded up like the time, so "in 0 s" means it has ended.
    let remaining = remaining_ms / MS_PER_SECOND + i64::from(remaining_ms % MS_PER_SECOND != 0);
    format!("{} (in {remaining} s)", rfc3339_ceil(until_ms))
}

/// The civil date (year, month 1–12, day 1–31) `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shift the epoch to 0000-03-01: a year then ends with February and its leap day.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], 0 = March
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_796_155_452_000, "2026-12-01T20:04:12Z"),
            // Leap days, century rules, the end of a year.
            (951_696_000_000, "2000-02-28T00:00:00Z"),
            (951_868_799_000, "2000-02-29T23:59:59Z"),
            (951_868_800_000, "2000-03-01T00:00:00Z"),
            (1_709_164_800_000, "2024-02-29T00:00:00Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00Z"),
            (1_767_225_599_000, "2025-12-31T23:59:59Z"),
            (253_402_300_799_000, "9999-12-31T23:59:59Z"),
            (-1_000, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339_ceil(ms), text, "{ms}");
        }
    }

    #[test]
    fn fractions_round_up() {
        assert_eq!(rfc3339_ceil(1_796_155_452_001), "2026-12-01T20:04:13Z");
        assert_eq!(rfc3339_ceil(1_796_155_452_999), "2026-12-01T20:04:13Z");
        assert_eq!(rfc3339_ceil(-1), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_ceil(86_399_500), "1970-01-02T00:00:00Z");
    }

    #[test]
    fn each_of_four_centuries_of_days_follows_the_one_before() {
        let leap = |year: i64| (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let length = |year: i64, month: i64| match month {
            2 if leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut previous = civil_from_days(-1);
        assert_eq!(previous, (1969, 12, 31));
        // 146,097 days: one whole cycle of the Gregorian calendar.
        for days in 0..146_097 {
            let (year, month, day) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let expected = if pd < length(py, pm) {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((year, month, day), expected, "day {days}");
            previous = (year, month, day);
        }
        assert_eq!(previous, (2369, 12, 31));
    }

    #[test]
    fn until_says_how_long() {
        let now = 1_796_155_452_000;
        assert_eq!(
            until_text(now + 30_000, now),
            "2026-12-01T20:04:42Z (in 30 s)"
        );
        assert_eq!(
            until_text(now + 29_001, now),
            "2026-12-01T20:04:42Z (in 30 s)"
        );
        assert_eq!(until_text(now - 5, now), "2026-12-01T20:04:12Z (in 0 s)");
    }
}
