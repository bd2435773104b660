//! Numbers at the boundary in the types Java can call: signed `Long` / `Int`, checked here.
//!
//! Why: Kotlin's unsigned types (`ULong`, `UInt`, `UShort`) are inline classes, so a Kotlin
//! function taking or returning one gets a mangled JVM name that Java code cannot call, and a
//! Java caller cannot make one. Every number of the API is therefore `i64` (or `i32` where an
//! `Int` is natural); a negative value where none makes sense is `InvalidInput`, and a count or
//! time that could exceed the signed range (it cannot in practice) saturates.

use std::time::Duration;

use rukasec_core::Error;

/// `value` as an unsigned quantity, or `InvalidInput` naming `what` when it is negative.
pub(crate) fn non_negative(value: i64, what: &str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| Error::InvalidInput {
        reason: format!("{what} must not be negative"),
    })
}

/// A duration of `value` seconds, or `InvalidInput` naming `what` when it is negative.
pub(crate) fn seconds(value: i64, what: &str) -> Result<Duration, Error> {
    non_negative(value, what).map(Duration::from_secs)
}

/// A duration of `value` milliseconds, or `InvalidInput` naming `what` when it is negative.
pub(crate) fn millis(value: i64, what: &str) -> Result<Duration, Error> {
    non_negative(value, what).map(Duration::from_millis)
}

/// A size or count as a `usize`, or `InvalidInput` naming `what` when it is negative.
pub(crate) fn size(value: i64, what: &str) -> Result<usize, Error> {
    non_negative(value, what).map(|value| usize::try_from(value).unwrap_or(usize::MAX))
}

/// [`non_negative`] for an `i32`.
pub(crate) fn non_negative_i32(value: i32, what: &str) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::InvalidInput {
        reason: format!("{what} must not be negative"),
    })
}

/// An unsigned quantity as a `Long`, saturating at `i64::MAX`.
pub(crate) fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count as a `Long`, saturating at `i64::MAX`.
pub(crate) fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count as an `Int`, saturating at `i32::MAX`.
pub(crate) fn int(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    #[test]
    fn negative_values_are_invalid_input_and_large_ones_saturate() {
        assert_eq!(non_negative(7, "ttl").unwrap(), 7);
        assert!(matches!(
            non_negative(-1, "ttlSeconds"),
            Err(Error::InvalidInput { reason }) if reason == "ttlSeconds must not be negative"
        ));
        assert!(non_negative_i32(-5, "maxRedirects").is_err());
        assert_eq!(seconds(2, "s").unwrap(), Duration::from_secs(2));
        assert_eq!(millis(2, "ms").unwrap(), Duration::from_millis(2));
        assert!(millis(-2, "ms").is_err() && size(-1, "n").is_err());
        assert_eq!(size(9, "n").unwrap(), 9);
        assert_eq!(long(u64::MAX), i64::MAX);
        assert_eq!(count(3), 3);
        assert_eq!(int(usize::MAX), i32::MAX);
    }
}
