//! Security events: what the core tells the app about attacks, failures and policy decisions.
//!
//! The app registers a [`SecurityEventListener`] (in Kotlin or Swift through the bindings) and
//! forwards events to its telemetry or fraud backend. The core emits events from whatever thread
//! it is on; an [`EventBus`] hands them to one delivery thread through a bounded queue, so the
//! core never waits for the app's listener, and a slow or stuck listener costs dropped events
//! (counted in [`EventStats`]), never a blocked payment.
//!
//! Besides the one listener, RukaSec's own sinks see every event ([`EventBus::add_sink`]: the
//! vault's event journal, the [`AnomalyDetector`]), and any number of
//! [`EventSubscription`]s (a Kotlin `Flow`, a Swift `AsyncStream`) each get the stream through
//! their own bounded queue.
//!
//! Events carry no secrets and no personal data: the kind, a severity, a timestamp, and
//! `details` built by the core from fixed keys and non-secret values (a KAT name, a host name,
//! a count).

mod anomaly;
mod bus;
mod collector;
mod event;
mod subscription;

pub use anomaly::{AnomalyClock, AnomalyDetector, AnomalyRules, SystemAnomalyClock};
pub use bus::{EventBus, EventStats, ListenerError, SecurityEventListener};
pub use collector::EventCollector;
pub use event::{SecurityEvent, SecurityEventKind, Severity};
pub use subscription::{DEFAULT_SUBSCRIPTION_CAPACITY, EventSubscription};
