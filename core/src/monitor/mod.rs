//! Monitoring of the app's API use: API credentials kept in the vault and checked against the
//! request's host and environment, client-side rate limiting per credential, and the
//! server's `Retry-After`, and the device's clock skew against the servers' `Date` headers.
//!
//! Below `tls/` (whose [`crate::tls::HttpsClient::send_with_credential`] puts these together)
//! and above `vault/`. Nothing here sends a request: a [`CredentialStore`] decides whether a
//! credential may go to a URL and hands it out; a [`RateLimiter`] decides when.

mod clock_skew;
mod credentials;
mod rate_limit;
mod retry_after;

pub use clock_skew::{ClockSkew, MAX_SKEW, REPORT_THRESHOLD, SAMPLES, SkewUpdate};
pub use credentials::{
    AuthHeader, Credential, CredentialMetadata, CredentialSpec, CredentialStore,
    DEFAULT_ROTATE_AFTER, Environment, HostEnvironments, METADATA_NAMESPACE, NAMESPACE,
};
pub use rate_limit::{
    ManualClock, MonotonicClock, RateLimit, RateLimitMode, RateLimiter, TokioClock,
};
pub use retry_after::{MAX_RETRY_AFTER, parse_retry_after};
