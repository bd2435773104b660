//! A listener that keeps every event in memory, for tests, tools and the CLI (an app forwards
//! events to its telemetry instead).

use std::sync::Mutex;

use super::{ListenerError, SecurityEvent, SecurityEventKind, SecurityEventListener};

/// Keeps the events it receives, in order.
#[derive(Debug, Default)]
pub struct EventCollector(Mutex<Vec<SecurityEvent>>);

impl EventCollector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events received so far (call `EventBus::flush` first to include queued ones).
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.lock().clone()
    }

    /// The events of one kind received so far.
    pub fn of_kind(&self, kind: SecurityEventKind) -> Vec<SecurityEvent> {
        self.lock()
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect()
    }

    /// Takes the events received so far, leaving none.
    pub fn take(&self) -> Vec<SecurityEvent> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SecurityEvent>> {
        // A list of events stays valid whatever a panicking holder did.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SecurityEventListener for EventCollector {
    fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError> {
        self.lock().push(event.clone());
        Ok(())
    }
}
