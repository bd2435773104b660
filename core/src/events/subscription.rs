//! Several consumers of one event stream: each [`EventSubscription`] gets every event emitted
//! after it subscribed, in order, through its own bounded queue.
//!
//! The app's single [`SecurityEventListener`](super::SecurityEventListener) is the telemetry
//! hook; subscriptions are for screens and services that come and go (a security-centre
//! screen, an uploader, a test) and want the stream as a Kotlin `Flow` or a Swift
//! `AsyncStream`. A subscriber that falls behind loses its oldest events (counted in
//! [`EventSubscription::missed`]); it never slows the core, the listener or other subscribers.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::SecurityEvent;

/// How many undelivered events a subscription holds by default.
pub const DEFAULT_SUBSCRIPTION_CAPACITY: usize = 256;

/// One subscriber's queue, shared by the bus (which pushes) and the [`EventSubscription`].
pub(super) struct SubscriberQueue {
    events: Mutex<VecDeque<SecurityEvent>>,
    capacity: usize,
    missed: AtomicU64,
    closed: AtomicBool,
    /// Closed by the subscription's owner (queued events discarded), not by the bus.
    owner_closed: AtomicBool,
    notify: Notify,
}

impl SubscriberQueue {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            events: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            missed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            owner_closed: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    /// Queues `event`, dropping the oldest when full.
    pub(super) fn push(&self, event: &SecurityEvent) {
        if self.is_closed() {
            return;
        }
        {
            let mut events = self.lock();
            if events.len() >= self.capacity {
                events.pop_front();
                self.missed.fetch_add(1, Ordering::Relaxed);
            }
            events.push_back(event.clone());
        }
        self.notify.notify_one();
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Wakes a waiting `next` (notify_one keeps a permit if none waits yet).
        self.notify.notify_one();
        self.notify.notify_waiters();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn closed_by_owner(&self) -> bool {
        self.owner_closed.load(Ordering::SeqCst)
    }

    fn pop(&self) -> Option<SecurityEvent> {
        self.lock().pop_front()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<SecurityEvent>> {
        // A queue of cloned events: consistent whatever a panicking holder did.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A subscription to an [`EventBus`](super::EventBus): every event emitted after
/// [`EventBus::subscribe`](super::EventBus::subscribe), in emission order. Closed by
/// [`EventSubscription::close`], by drop, or when the bus goes away; events already queued are
/// still returned after a close by the bus, not after an explicit one.
pub struct EventSubscription {
    queue: std::sync::Arc<SubscriberQueue>,
}

impl EventSubscription {
    pub(super) fn new(queue: std::sync::Arc<SubscriberQueue>) -> Self {
        Self { queue }
    }

    /// The next event, waiting for one; `None` once the subscription is closed (and, when the
    /// bus closed it, drained).
    pub async fn next(&self) -> Option<SecurityEvent> {
        loop {
            let mut notified = pin!(self.queue.notify.notified());
            notified.as_mut().enable();
            if let Some(event) = self.try_next() {
                return Some(event);
            }
            if self.queue.is_closed() {
                return None;
            }
            notified.await;
        }
    }

    /// The next event if one is queued, without waiting; `None` after an explicit close.
    pub fn try_next(&self) -> Option<SecurityEvent> {
        if self.queue.closed_by_owner() {
            return None;
        }
        self.queue.pop()
    }

    /// Events this subscription lost because its queue was full.
    pub fn missed(&self) -> u64 {
        self.queue.missed.load(Ordering::Relaxed)
    }

    /// Stops the subscription: queued events are discarded, a waiting [`EventSubscription::next`]
    /// returns `None`, later events are not queued.
    pub fn close(&self) {
        self.queue.owner_closed.store(true, Ordering::SeqCst);
        self.queue.lock().clear();
        self.queue.close();
    }

    /// Whether the subscription is closed (by its owner or by the bus).
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl Drop for EventSubscription {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for EventSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSubscription")
            .field("closed", &self.is_closed())
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}
