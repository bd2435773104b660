//! The `Retry-After` response header (RFC 9110 §10.2.3): how long a 429 or 503 asks the
//! client to wait.
//!
//! `Retry-After = HTTP-date / delay-seconds`, with `delay-seconds = 1*DIGIT`. The HTTP-date is
//! parsed in the three forms RFC 9110 §5.6.7 says a recipient must accept (IMF-fixdate,
//! RFC 850, asctime) by the `httpdate` crate (already in the tree through hyper). The header
//! comes from the server, so it is untrusted: anything else is ignored rather than guessed at,
//! and every delay is capped at [`MAX_RETRY_AFTER`] so a hostile or broken server cannot stop
//! the app's requests for days.

use std::time::{Duration, SystemTime};

/// The longest pause a `Retry-After` can impose: one hour.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Longest header value looked at (an IMF-fixdate is 29 characters).
const MAX_VALUE_LEN: usize = 64;

/// The delay a `Retry-After` value asks for, measured from `now` (the wall clock, which an
/// HTTP-date is relative to), capped at [`MAX_RETRY_AFTER`]. A date in the past is a zero
/// delay. `None` for a value that is neither form (empty, signed, fractional, a date that does
/// not parse, too long): such a header is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return None;
    }
    let delay = if value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: too many of them is still a (huge) delay, so it saturates to the cap.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    // 1994-11-06T08:49:37Z, the example of RFC 9110 §5.6.7.
    const EXAMPLE: u64 = 784_111_777;

    #[test]
    fn delay_seconds() {
        let now = at(EXAMPLE);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7\t", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("007", now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn http_date_in_all_three_forms() {
        let now = at(EXAMPLE - 30);
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(30)),
                "{form}"
            );
        }
    }

    #[test]
    fn a_past_date_is_no_delay() {
        let now = at(EXAMPLE + 1000);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn delays_are_capped_at_an_hour() {
        let now = at(EXAMPLE);
        assert_eq!(parse_retry_after("3600", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("3601", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("86400000", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("1800", now),
            Some(Duration::from_secs(1800))
        );
    }

    #[test]
    fn garbage_is_ignored() {
        let now = at(EXAMPLE);
        for value in [
            "",
            "   ",
            "-5",
            "+5",
            "1.5",
            "5s",
            "0x10",
            "soon",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT, 5",
            "5, 6",
            "\u{0661}\u{0662}",
            &"1".repeat(65),
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }
}
