//! Security monitoring: several subscribers on one event stream, RukaSec's own sinks, the
//! persistent journal in the vault (bounded, acknowledged after upload, tamper-evident,
//! surviving a reopen), and the anomaly rules (a burst of authentication failures, a jump in the
//! request rate) under a fake clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rukasec_core::events::{
    AnomalyClock, AnomalyDetector, AnomalyRules, EventBus, EventCollector, ListenerError,
    SecurityEvent, SecurityEventKind, SecurityEventListener, Severity,
};
use rukasec_core::vault::wrappers::MemoryKeyWrapper;
use rukasec_core::vault::{DATABASE_FILE, EventJournal, JOURNAL_ACCOUNT, Vault};

const WAIT: Duration = Duration::from_secs(10);

fn event(n: usize) -> SecurityEvent {
    SecurityEvent::new(SecurityEventKind::PinMismatch).with_detail("n", n.to_string())
}

fn n_of(event: &SecurityEvent) -> usize {
    event.details["n"].parse().unwrap()
}

async fn next(subscription: &rukasec_core::events::EventSubscription) -> Option<SecurityEvent> {
    tokio::time::timeout(WAIT, subscription.next())
        .await
        .expect("an event in time")
}

#[tokio::test]
async fn every_subscriber_gets_every_later_event_in_order() {
    let listener = Arc::new(EventCollector::new());
    let bus = EventBus::new(Some(listener.clone()));
    bus.emit(event(0));
    assert!(bus.flush(WAIT));
    let first = bus.subscribe(16);
    let second = bus.subscribe(16);
    for n in 1..=5 {
        bus.emit(event(n));
    }
    for subscription in [&first, &second] {
        for n in 1..=5 {
            assert_eq!(n_of(&next(subscription).await.unwrap()), n);
        }
        assert!(subscription.try_next().is_none());
    }
    // The listener still gets everything too.
    assert!(bus.flush(WAIT));
    assert_eq!(listener.events().len(), 6);
}

#[tokio::test]
async fn a_slow_subscriber_loses_its_oldest_events_and_no_one_else_does() {
    let bus = EventBus::new(None);
    let small = bus.subscribe(3);
    let large = bus.subscribe(100);
    for n in 0..10 {
        bus.emit(event(n));
    }
    assert!(bus.flush(WAIT));
    assert_eq!(small.missed(), 7);
    let kept: Vec<usize> = std::iter::from_fn(|| small.try_next())
        .map(|e| n_of(&e))
        .collect();
    assert_eq!(kept, vec![7, 8, 9]);
    assert_eq!(large.missed(), 0);
    assert_eq!(std::iter::from_fn(|| large.try_next()).count(), 10);
}

#[tokio::test]
async fn closing_wakes_a_waiting_subscriber_and_ends_it() {
    let bus = EventBus::new(None);
    let subscription = Arc::new(bus.subscribe(4));
    let waiting = {
        let subscription = subscription.clone();
        tokio::spawn(async move { subscription.next().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    subscription.close();
    let ended = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert!(ended.is_none());
    bus.emit(event(1));
    assert!(bus.flush(WAIT));
    assert!(subscription.try_next().is_none());
    assert!(subscription.is_closed());
}

#[tokio::test]
async fn when_the_bus_goes_a_subscriber_drains_then_ends() {
    let bus = EventBus::new(None);
    let subscription = bus.subscribe(8);
    bus.emit(event(1));
    bus.emit(event(2));
    assert!(bus.flush(WAIT));
    drop(bus);
    assert_eq!(n_of(&next(&subscription).await.unwrap()), 1);
    assert_eq!(n_of(&next(&subscription).await.unwrap()), 2);
    assert!(next(&subscription).await.is_none());
}

/// Counts events; panics on the first when told to.
struct CountingSink {
    seen: AtomicUsize,
    panic_first: bool,
}

impl SecurityEventListener for CountingSink {
    fn on_event(&self, _event: &SecurityEvent) -> Result<(), ListenerError> {
        let before = self.seen.fetch_add(1, Ordering::SeqCst);
        assert!(!(self.panic_first && before == 0), "deliberate sink panic");
        Ok(())
    }
}

#[test]
fn a_failing_sink_is_counted_and_delivery_goes_on() {
    let listener = Arc::new(EventCollector::new());
    let bus = EventBus::new(Some(listener.clone()));
    let bad = Arc::new(CountingSink {
        seen: AtomicUsize::new(0),
        panic_first: true,
    });
    let good = Arc::new(CountingSink {
        seen: AtomicUsize::new(0),
        panic_first: false,
    });
    bus.add_sink(bad.clone());
    bus.add_sink(good.clone());
    for n in 0..3 {
        bus.emit(event(n));
    }
    assert!(bus.flush(WAIT));
    assert_eq!(bad.seen.load(Ordering::SeqCst), 3);
    assert_eq!(good.seen.load(Ordering::SeqCst), 3);
    assert_eq!(listener.events().len(), 3);
    assert_eq!(bus.stats().listener_failures, 1);
}

struct Journaled {
    dir: tempfile::TempDir,
    wrapper: Arc<MemoryKeyWrapper>,
    bus: Arc<EventBus>,
}

impl Journaled {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            wrapper: Arc::new(MemoryKeyWrapper::new()),
            bus: Arc::new(EventBus::new(None)),
        }
    }

    fn vault(&self) -> Arc<Vault> {
        Arc::new(Vault::open(self.dir.path(), self.wrapper.clone(), self.bus.clone()).unwrap())
    }
}

#[test]
fn the_journal_keeps_the_newest_entries_up_to_its_capacity_across_a_reopen() {
    let world = Journaled::new();
    {
        let vault = world.vault();
        let _journal = EventJournal::attach(&vault, 5);
        for n in 0..8 {
            world.bus.emit(event(n));
        }
        assert!(world.bus.flush(WAIT));
    }
    let vault = world.vault();
    let journal = EventJournal::new(&vault, 5);
    let entries = journal.entries().unwrap();
    let kept: Vec<usize> = entries.iter().map(|e| n_of(&e.event)).collect();
    assert_eq!(kept, vec![3, 4, 5, 6, 7]);
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5, 6, 7]);
    assert_eq!(entries[0].event.kind, SecurityEventKind::PinMismatch);
    assert_eq!(entries[0].event.severity, Severity::Error);
    // Numbering goes on after a reopen.
    assert_eq!(journal.record(&event(8)).unwrap(), 8);
    assert_eq!(journal.entries().unwrap().len(), 5);
    // The evicted entries are gone from the vault, not only hidden.
    assert_eq!(
        vault.list(JOURNAL_ACCOUNT, "journal").unwrap().len(),
        6,
        "five entries and the bounds"
    );
}

#[test]
fn acknowledged_entries_are_removed_and_later_ones_kept() {
    let world = Journaled::new();
    let vault = world.vault();
    let journal = EventJournal::new(&vault, 50);
    for n in 0..6 {
        journal.record(&event(n)).unwrap();
    }
    assert_eq!(journal.acknowledge(3).unwrap(), 4);
    let kept: Vec<u64> = journal.entries().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(kept, vec![4, 5]);
    // Acknowledging again, or beyond the end, removes only what is there.
    assert_eq!(journal.acknowledge(3).unwrap(), 0);
    assert_eq!(journal.acknowledge(100).unwrap(), 2);
    assert!(journal.entries().unwrap().is_empty());
    assert_eq!(journal.record(&event(9)).unwrap(), 6);
}

#[test]
fn an_edited_journal_is_an_integrity_failure() {
    let world = Journaled::new();
    let vault = world.vault();
    let journal = EventJournal::new(&vault, 10);
    journal.record(&event(1)).unwrap();
    journal.record(&event(2)).unwrap();
    drop(journal);
    drop(vault);
    // Flip a byte in every stored value of the journal account: the attacker's edit.
    let db = rusqlite::Connection::open(world.dir.path().join(DATABASE_FILE)).unwrap();
    db.execute("UPDATE items SET value = CAST(value || X'00' AS BLOB)", [])
        .unwrap();
    drop(db);
    let vault = world.vault();
    let journal = EventJournal::new(&vault, 10);
    assert!(matches!(
        journal.entries().unwrap_err(),
        rukasec_core::Error::Integrity
    ));
}

#[test]
fn the_journal_holds_no_secret_and_pauses_after_a_failed_write() {
    let world = Journaled::new();
    let vault = world.vault();
    let journal = EventJournal::attach(&vault, 10);
    world
        .bus
        .emit(SecurityEvent::new(SecurityEventKind::UnlockFailed).with_detail("failures", "1"));
    assert!(world.bus.flush(WAIT));
    assert_eq!(journal.entries().unwrap().len(), 1);
    // A journal whose vault is gone fails once, then skips instead of feeding on its own errors.
    drop(vault);
    world.bus.emit(event(1));
    world.bus.emit(event(2));
    assert!(world.bus.flush(WAIT));
    assert_eq!(journal.skipped(), 1);
}

/// A clock the test moves.
struct FakeClock(AtomicU64);

impl AnomalyClock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl FakeClock {
    fn advance(&self, by: Duration) {
        self.0
            .fetch_add(u64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

struct Watched {
    bus: Arc<EventBus>,
    events: Arc<EventCollector>,
    clock: Arc<FakeClock>,
    detector: Arc<AnomalyDetector>,
}

fn watched(rules: AnomalyRules) -> Watched {
    let events = Arc::new(EventCollector::new());
    let bus = Arc::new(EventBus::new(Some(events.clone())));
    let clock = Arc::new(FakeClock(AtomicU64::new(1_000)));
    let detector = AnomalyDetector::attach_with_clock(&bus, rules, clock.clone());
    Watched {
        bus,
        events,
        clock,
        detector,
    }
}

impl Watched {
    fn alerts(&self, kind: SecurityEventKind) -> Vec<SecurityEvent> {
        // Twice: an alert raised while delivering is queued behind the event that raised it.
        assert!(self.bus.flush(WAIT));
        assert!(self.bus.flush(WAIT));
        self.events.of_kind(kind)
    }

    fn fail(&self) {
        self.bus
            .emit(SecurityEvent::new(SecurityEventKind::UnlockFailed));
        // Failures are counted on delivery: settle each before the clock moves.
        assert!(self.bus.flush(WAIT));
    }
}

#[test]
fn a_burst_of_failed_authentications_raises_one_critical_alert() {
    let world = watched(AnomalyRules {
        auth_failure_limit: 4,
        auth_failure_window: Duration::from_secs(60),
        ..AnomalyRules::default()
    });
    // Spread out: three in a window, never four.
    for _ in 0..6 {
        world.fail();
        world.clock.advance(Duration::from_secs(25));
    }
    assert!(
        world
            .alerts(SecurityEventKind::AuthenticationFailureBurst)
            .is_empty()
    );
    // Close together: four within the window, and the alert comes once.
    for _ in 0..5 {
        world.fail();
        world.clock.advance(Duration::from_secs(1));
    }
    let alerts = world.alerts(SecurityEventKind::AuthenticationFailureBurst);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(alerts[0].details["failures"], "4");
    // Other kinds are not failures.
    for _ in 0..10 {
        world.bus.emit(event(0));
    }
    assert_eq!(
        world
            .alerts(SecurityEventKind::AuthenticationFailureBurst)
            .len(),
        1
    );
}

#[test]
fn a_jump_in_the_request_rate_raises_an_alert_once_per_window() {
    let world = watched(AnomalyRules {
        rate_window: Duration::from_secs(60),
        rate_factor: 5,
        rate_min_requests: 20,
        ..AnomalyRules::default()
    });
    let requests = |n: usize| {
        for _ in 0..n {
            world.detector.record_request();
        }
    };
    // Three quiet windows of 6 requests: the baseline.
    for _ in 0..3 {
        requests(6);
        world.clock.advance(Duration::from_secs(60));
    }
    // 29 requests stay under 5 × 6 = 30.
    requests(29);
    assert!(
        world
            .alerts(SecurityEventKind::RequestRateAnomaly)
            .is_empty()
    );
    requests(50);
    let alerts = world.alerts(SecurityEventKind::RequestRateAnomaly);
    assert_eq!(alerts.len(), 1, "one alert per window");
    assert_eq!(alerts[0].details["requests"], "30");
    assert_eq!(alerts[0].details["baseline"], "6");
}

#[test]
fn no_rate_alert_without_a_baseline() {
    let world = watched(AnomalyRules {
        rate_min_requests: 10,
        ..AnomalyRules::default()
    });
    for _ in 0..1_000 {
        world.detector.record_request();
    }
    assert!(
        world
            .alerts(SecurityEventKind::RequestRateAnomaly)
            .is_empty()
    );
}
