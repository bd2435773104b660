//! The CLI's security-event listener: collects what the core reports, so a command can show
//! it at a point of its choosing (the demo after each step, `fetch` as warnings on stderr).
//!
//! The core delivers events on its own thread and never waits for the listener; printing from
//! that thread would interleave with the command's output, so events are only collected here
//! and printed by the command's thread after [`EventBus::flush`](rukasec_core::events::EventBus::flush).

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use rukasec_core::RukaSec;
use rukasec_core::events::{EventBus, ListenerError, SecurityEvent, SecurityEventListener};

use crate::failure::{Failure, INTERNAL};

/// How long a command waits for the core to deliver the events emitted so far.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Collects events until a command takes them.
#[derive(Default)]
pub struct EventLog(Mutex<Vec<SecurityEvent>>);

impl SecurityEventListener for EventLog {
    fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError> {
        self.0
            .lock()
            .map_err(|_| ListenerError)?
            .push(event.clone());
        Ok(())
    }
}

impl EventLog {
    /// Every event `core` emitted so far and that has not been taken yet, oldest first.
    pub fn take_new(&self, core: &RukaSec) -> Result<Vec<SecurityEvent>, Failure> {
        self.take_new_on(core.events())
    }

    /// [`EventLog::take_new`] of the events emitted on `bus` (a bus of its own, such as an
    /// unlock gate's, with this log as its listener).
    pub fn take_new_on(&self, bus: &EventBus) -> Result<Vec<SecurityEvent>, Failure> {
        if !bus.flush(FLUSH_TIMEOUT) {
            return Err(Failure::new(
                INTERNAL,
                format!(
                    "events were not delivered within {} s",
                    FLUSH_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(std::mem::take(&mut *self.0.lock().map_err(|_| {
            Failure::new(INTERNAL, "event log poisoned")
        })?))
    }

    /// Prints the new events, one `  event: <kind> [<severity>] key=value ...` line each (the
    /// demo's format).
    pub fn print_new(&self, core: &RukaSec, out: &mut impl Write) -> Result<(), Failure> {
        self.print_new_on(core.events(), out)
    }

    /// [`EventLog::print_new`] of the events emitted on `bus`.
    pub fn print_new_on(&self, bus: &EventBus, out: &mut impl Write) -> Result<(), Failure> {
        for event in self.take_new_on(bus)? {
            let details: Vec<String> = event
                .details
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(
                out,
                "  event: {} [{:?}] {}",
                event.kind.as_str(),
                event.severity,
                details.join(" ")
            )?;
        }
        Ok(())
    }
}
