//! Delivery of events to the app's listener, off the caller's thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::SecurityEvent;
use super::subscription::{EventSubscription, SubscriberQueue};

/// How many events may wait for the listener before new ones are dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Receives security events. Implemented by the app (through the bindings) or by Rust code.
///
/// Called on RukaSec's event thread, one event at a time, in emission order. It may take its
/// time (the core does not wait for it) but while it runs, further events queue up and are
/// dropped once the queue is full.
pub trait SecurityEventListener: Send + Sync {
    /// Handles one event.
    ///
    /// # Errors
    /// Any error (or panic) is counted in [`EventStats::listener_failures`]; delivery goes on
    /// with the next event.
    fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError>;
}

/// A listener could not handle an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the security event listener failed")]
pub struct ListenerError;

/// Counters of an [`EventBus`], for health checks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Events emitted by the core.
    pub emitted: u64,
    /// Events the listener handled without error.
    pub delivered: u64,
    /// Events dropped because the queue was full (the listener was too slow).
    pub dropped: u64,
    /// Events whose listener call returned an error or panicked.
    pub listener_failures: u64,
}

#[derive(Default)]
struct Shared {
    listener: RwLock<Option<Arc<dyn SecurityEventListener>>>,
    /// RukaSec's own consumers (the event journal, anomaly rules), after the listener.
    sinks: RwLock<Vec<Arc<dyn SecurityEventListener>>>,
    /// Open subscriptions (closed ones are pruned on delivery).
    subscribers: Mutex<Vec<Arc<SubscriberQueue>>>,
    emitted: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    listener_failures: AtomicU64,
    /// Events queued or being delivered; `flush` waits for zero.
    pending: Mutex<u64>,
    settled: Condvar,
}

impl Shared {
    fn settle_one(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.settled.notify_all();
        }
    }
}

/// Queues events and delivers them to the listener on a dedicated thread.
pub struct EventBus {
    shared: Arc<Shared>,
    /// `None` when the delivery thread could not be started: events are then dropped.
    sender: Option<SyncSender<SecurityEvent>>,
}

impl EventBus {
    /// A bus delivering to `listener` (if any) with the default queue capacity.
    pub fn new(listener: Option<Arc<dyn SecurityEventListener>>) -> Self {
        Self::with_capacity(listener, DEFAULT_QUEUE_CAPACITY)
    }

    /// A bus whose queue holds at most `capacity` undelivered events (at least 1).
    pub fn with_capacity(
        listener: Option<Arc<dyn SecurityEventListener>>,
        capacity: usize,
    ) -> Self {
        let shared = Arc::new(Shared::default());
        *shared
            .listener
            .write()
            .unwrap_or_else(PoisonError::into_inner) = listener;
        let (sender, receiver) = sync_channel(capacity.max(1));
        let worker_shared = Arc::clone(&shared);
        let sender = std::thread::Builder::new()
            .name("rukasec-events".to_owned())
            .spawn(move || deliver(&worker_shared, &receiver))
            .ok()
            .map(|_detached| sender);
        Self { shared, sender }
    }

    /// Replaces the listener (or removes it with `None`). Queued events go to the new one.
    pub fn set_listener(&self, listener: Option<Arc<dyn SecurityEventListener>>) {
        *self
            .shared
            .listener
            .write()
            .unwrap_or_else(PoisonError::into_inner) = listener;
    }

    /// Adds a consumer that gets every event after the app's listener, on the delivery thread
    /// (RukaSec's own: the event journal, anomaly rules). Its failures count as listener
    /// failures.
    pub fn add_sink(&self, sink: Arc<dyn SecurityEventListener>) {
        self.shared
            .sinks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sink);
    }

    /// A new subscription to every event emitted from now on, holding at most `capacity`
    /// undelivered ones (at least 1; the oldest are dropped beyond it).
    pub fn subscribe(&self, capacity: usize) -> EventSubscription {
        let queue = Arc::new(SubscriberQueue::new(capacity));
        if self.sender.is_none() {
            // No delivery thread: nothing will ever arrive.
            queue.close();
        } else {
            self.shared
                .subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Arc::clone(&queue));
        }
        EventSubscription::new(queue)
    }

    /// Queues `event` for delivery. Never blocks: when the queue is full the event is dropped
    /// and counted.
    pub fn emit(&self, event: SecurityEvent) {
        self.shared.emitted.fetch_add(1, Ordering::Relaxed);
        *self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        let sent = match &self.sender {
            Some(sender) => match sender.try_send(event) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        if !sent {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.settle_one();
        }
    }

    /// Waits until every event emitted so far was handed to the listener, at most `timeout`.
    /// Returns whether the queue drained. Do not call it from the listener itself.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *pending > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            pending = self
                .shared
                .settled
                .wait_timeout(pending, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// The bus's counters.
    pub fn stats(&self) -> EventStats {
        EventStats {
            emitted: self.shared.emitted.load(Ordering::Relaxed),
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            listener_failures: self.shared.listener_failures.load(Ordering::Relaxed),
        }
    }
}

/// The delivery thread: runs until the bus (the only sender) is dropped and the queue is empty.
fn deliver(shared: &Shared, receiver: &Receiver<SecurityEvent>) {
    while let Ok(event) = receiver.recv() {
        let listener = shared
            .listener
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(listener) = listener {
            // A panicking listener must not kill the delivery thread.
            match catch_unwind(AssertUnwindSafe(|| listener.on_event(&event))) {
                Ok(Ok(())) => shared.delivered.fetch_add(1, Ordering::Relaxed),
                Ok(Err(ListenerError)) | Err(_) => {
                    shared.listener_failures.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
        let sinks = shared
            .sinks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for sink in sinks {
            if !matches!(
                catch_unwind(AssertUnwindSafe(|| sink.on_event(&event))),
                Ok(Ok(()))
            ) {
                shared.listener_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        {
            let mut subscribers = shared
                .subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            subscribers.retain(|queue| !queue.is_closed());
            for queue in subscribers.iter() {
                queue.push(&event);
            }
        }
        shared.settle_one();
    }
    // The bus is gone: subscribers drain what they have, then end.
    for queue in shared
        .subscribers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain(..)
    {
        queue.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Sender, channel};
    use std::thread;

    use super::*;
    use crate::events::{SecurityEventKind, Severity};

    const WAIT: Duration = Duration::from_secs(10);

    /// Forwards every event, with the name of the thread it arrived on.
    struct Forward(Mutex<Sender<(SecurityEvent, Option<String>)>>);

    impl SecurityEventListener for Forward {
        fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError> {
            let name = thread::current().name().map(str::to_owned);
            let _ = self.0.lock().unwrap().send((event.clone(), name));
            Ok(())
        }
    }

    fn forwarding_bus(
        capacity: usize,
    ) -> (
        EventBus,
        std::sync::mpsc::Receiver<(SecurityEvent, Option<String>)>,
    ) {
        let (tx, rx) = channel();
        let bus = EventBus::with_capacity(Some(Arc::new(Forward(Mutex::new(tx)))), capacity);
        (bus, rx)
    }

    #[test]
    fn delivers_in_order_on_the_event_thread() {
        let (bus, rx) = forwarding_bus(16);
        bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestPassed).with_detail("n", "1"));
        bus.emit(SecurityEvent::new(SecurityEventKind::CryptoRefused).with_detail("n", "2"));
        assert!(bus.flush(WAIT));
        let (first, thread_name) = rx.recv_timeout(WAIT).unwrap();
        let (second, _) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(first.kind, SecurityEventKind::SelfTestPassed);
        assert_eq!(first.details["n"], "1");
        assert_eq!(second.kind, SecurityEventKind::CryptoRefused);
        assert_eq!(second.severity, Severity::Error);
        assert_eq!(thread_name.as_deref(), Some("rukasec-events"));
        assert_eq!(
            bus.stats(),
            EventStats {
                emitted: 2,
                delivered: 2,
                dropped: 0,
                listener_failures: 0
            }
        );
    }

    #[test]
    fn events_from_many_threads_all_arrive() {
        let (bus, rx) = forwarding_bus(DEFAULT_QUEUE_CAPACITY);
        let bus = Arc::new(bus);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let bus = Arc::clone(&bus);
                thread::spawn(move || {
                    for i in 0..50 {
                        bus.emit(
                            SecurityEvent::new(SecurityEventKind::SelfTestPassed)
                                .with_detail("id", format!("{t}-{i}")),
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(bus.flush(WAIT));
        let mut ids: Vec<String> = rx
            .try_iter()
            .map(|(e, _)| e.details["id"].clone())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 400);
        assert_eq!(bus.stats().delivered, 400);
    }

    /// Blocks inside `on_event` until released.
    struct Stuck {
        entered: Mutex<Sender<()>>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl SecurityEventListener for Stuck {
        fn on_event(&self, _event: &SecurityEvent) -> Result<(), ListenerError> {
            let _ = self.entered.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv();
            Ok(())
        }
    }

    #[test]
    fn a_stuck_listener_never_blocks_emit_and_overflow_is_counted() {
        let (entered_tx, entered_rx) = channel();
        let (release_tx, release_rx) = channel();
        let listener = Arc::new(Stuck {
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
        });
        let bus = EventBus::with_capacity(Some(listener), 4);
        bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestPassed));
        entered_rx.recv_timeout(WAIT).unwrap(); // the listener now holds the event thread
        for _ in 0..20 {
            bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestPassed));
        }
        // 1 in the listener, 4 queued, 16 dropped: emit returned each time without waiting.
        assert_eq!(bus.stats().dropped, 16);
        assert!(!bus.flush(Duration::from_millis(20)));
        for _ in 0..5 {
            release_tx.send(()).unwrap();
        }
        assert!(bus.flush(WAIT));
        assert_eq!(
            bus.stats(),
            EventStats {
                emitted: 21,
                delivered: 5,
                dropped: 16,
                listener_failures: 0
            }
        );
    }

    struct Failing;

    impl SecurityEventListener for Failing {
        fn on_event(&self, event: &SecurityEvent) -> Result<(), ListenerError> {
            match event.kind {
                SecurityEventKind::CryptoRefused => panic!("listener bug"),
                _ => Err(ListenerError),
            }
        }
    }

    #[test]
    fn failing_and_panicking_listeners_are_counted_and_delivery_goes_on() {
        let bus = EventBus::new(Some(Arc::new(Failing)));
        bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestPassed));
        bus.emit(SecurityEvent::new(SecurityEventKind::CryptoRefused));
        assert!(bus.flush(WAIT));
        let (tx, rx) = channel();
        bus.set_listener(Some(Arc::new(Forward(Mutex::new(tx)))));
        bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestFailed));
        assert!(bus.flush(WAIT));
        assert_eq!(
            rx.recv_timeout(WAIT).unwrap().0.kind,
            SecurityEventKind::SelfTestFailed
        );
        assert_eq!(bus.stats().listener_failures, 2);
        assert_eq!(bus.stats().delivered, 1);
    }

    #[test]
    fn without_a_listener_events_are_discarded_quietly() {
        let bus = EventBus::new(None);
        bus.emit(SecurityEvent::new(SecurityEventKind::SelfTestPassed));
        assert!(bus.flush(WAIT));
        assert_eq!(
            bus.stats(),
            EventStats {
                emitted: 1,
                delivered: 0,
                dropped: 0,
                listener_failures: 0
            }
        );
    }
}
