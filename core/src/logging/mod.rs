//! Log lines of the core, redacted, for the app's logger (Logcat, `os_log`, a server's log).
//!
//! The core writes its log lines with [`tracing`] (`info!`, `debug!`, `warn!`), the field's
//! standard, so a line costs an atomic load when nobody listens. They never carry values, keys
//! or item names: request start and end (method, host, redacted path), TLS and pin failures,
//! vault opens, locks and unlocks, key rotations. An app receives them through a [`Logger`]
//! installed on its core with [`RukaSec::set_logger`](crate::RukaSec::set_logger) and a
//! [`LogLevel`] filter.
//!
//! # One dispatcher per process, one logger per core
//!
//! `tracing` has one global dispatcher per process and it can be set only once. The first
//! `set_logger` sets ours (a small `Subscriber` of our own: no `tracing-subscriber`, no spans);
//! it forwards every event whose target is the core's own (`rukasec*`; dependencies' events are
//! dropped: hyper's and h2's would not follow our rules) to every core's logger whose level
//! allows it. A line cannot be attributed to one core (the event thread, tokio's workers), so
//! with two cores each logger sees the lines of both. When the process already has another
//! global subscriber (a Rust server with its own), `set_logger` fails with `InvalidInput`: such
//! a server reads the core's events through its own subscriber and runs [`Redactor::redact`]
//! itself.
//!
//! # Redaction, delivery and failures
//!
//! Each line is formatted (message, then `field=value` pairs; a field whose name is sensitive
//! is written `[redacted]`), then passed through the process-wide [`Redactor`] (registered
//! secrets, bearer tokens, API keys: see its rules) on the thread that logs, so only redacted
//! text is ever queued. Registered secrets are process-wide for the same reason as above.
//! Delivery is off that thread: a bounded queue ([`QUEUE_CAPACITY`] lines) drained by one
//! thread, `rukasec-log`, so a slow or blocked logger never blocks the core; lines beyond the
//! queue are dropped and counted ([`LogStats`]). A logger that fails or panics is counted and
//! delivery goes on; a line the logger itself causes while logging (it calls the core back) is dropped,
//! so logging cannot recurse.

mod dispatch;
mod redactor;

pub use dispatch::{LogLevel, LogRecord, LogStats, Logger, LoggerError, QUEUE_CAPACITY};
pub use redactor::{MIN_SECRET_LEN, REDACTED, Redactor};

pub(crate) use dispatch::{flush, install, redactor, stats};
