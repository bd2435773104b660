//! The process-wide `tracing` subscriber, the loggers of the cores and the delivery thread
//! (see the module documentation of `logging` for why it is one per process).

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use zeroize::Zeroize;

use super::redactor::{REDACTED, Redactor, is_sensitive_key};
use crate::error::{Error, Result};

/// How many redacted lines may wait for the loggers before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 1024;

/// How much a logger is told, from least to most: a filter at `Info` passes `Error`, `Warn` and
/// `Info` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// An operation failed.
    Error,
    /// Something unexpected that the core handled (a pin or TLS failure, a refused request).
    Warn,
    /// A step worth a line in production: a vault opened, a request finished, a lock.
    Info,
    /// Detail for developers: request starts, unlock decisions.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }

    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warn => "WARN",
            Self::Info => "INFO",
            Self::Debug => "DEBUG",
            Self::Trace => "TRACE",
        }
    }

    fn rank(self) -> u8 {
        self as u8
    }
}

/// One redacted log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// Where it comes from: the core's module path, e.g. `rukasec_core::tls::client`.
    pub target: String,
    /// The message and its fields (`message key=value ...`), redacted.
    pub message: String,
}

/// Receives the core's log lines (see the module documentation of `logging`).
///
/// Called on RukaSec's log thread, one line at a time, in order. It may be slow (the core does
/// not wait for it; lines beyond the queue are dropped and counted).
pub trait Logger: Send + Sync {
    /// Writes one line.
    ///
    /// # Errors
    /// Any error (or panic) is counted in [`LogStats::logger_failures`]; delivery goes on with
    /// the next line.
    fn log(&self, record: &LogRecord) -> Result<(), LoggerError>;
}

/// A logger could not write a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the logger failed")]
pub struct LoggerError;

/// Counters of the log queue, for health checks and tests. Process-wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Lines formatted and queued (at or above the most verbose logger's level).
    pub emitted: u64,
    /// Logger calls that returned.
    pub delivered: u64,
    /// Lines dropped because the queue was full.
    pub dropped: u64,
    /// Logger calls that failed or panicked.
    pub logger_failures: u64,
}

struct Sink {
    owner: u64,
    logger: Arc<dyn Logger>,
    level: LogLevel,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<LogRecord>,
    /// A line is being delivered.
    busy: bool,
}

#[derive(Default)]
struct Hub {
    sinks: RwLock<Vec<Sink>>,
    /// The rank of the most verbose level a sink takes, plus one; 0 while there is no sink.
    max: AtomicU8,
    redactor: Redactor,
    queue: Mutex<Queue>,
    ready: Condvar,
    settled: Condvar,
    worker: OnceLock<bool>,
    emitted: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    failures: AtomicU64,
}

static HUB: LazyLock<Hub> = LazyLock::new(Hub::default);

/// Whether our subscriber is the process's global dispatcher (decided at the first install).
static DISPATCH: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while a logger runs on this thread: lines it causes are dropped (no recursion).
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

/// The process-wide redactor.
pub(crate) fn redactor() -> &'static Redactor {
    &HUB.redactor
}

/// Installs (`Some`) or removes (`None`) the logger of core `owner`.
pub(crate) fn install(owner: u64, logger: Option<(Arc<dyn Logger>, LogLevel)>) -> Result<()> {
    let hub = &*HUB;
    if logger.is_some() {
        let ours = *DISPATCH.get_or_init(|| {
            tracing::dispatcher::set_global_default(tracing::Dispatch::new(HubSubscriber)).is_ok()
        });
        if !ours {
            return Err(Error::InvalidInput {
                reason: "this process already has another global tracing subscriber".to_owned(),
            });
        }
        if !*hub.worker.get_or_init(start_worker) {
            return Err(Error::Internal {
                reason: "the log thread could not be started".to_owned(),
            });
        }
    }
    let mut sinks = hub.sinks.write().unwrap_or_else(PoisonError::into_inner);
    sinks.retain(|sink| sink.owner != owner);
    if let Some((logger, level)) = logger {
        sinks.push(Sink {
            owner,
            logger,
            level,
        });
    }
    let max = sinks.iter().map(|s| s.level.rank() + 1).max().unwrap_or(0);
    hub.max.store(max, Ordering::Release);
    Ok(())
}

/// Waits until every line queued so far reached the loggers, at most `timeout`.
pub(crate) fn flush(timeout: Duration) -> bool {
    let hub = &*HUB;
    let deadline = Instant::now() + timeout;
    let mut queue = hub.queue.lock().unwrap_or_else(PoisonError::into_inner);
    while queue.busy || !queue.lines.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        queue = hub
            .settled
            .wait_timeout(queue, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

/// The process-wide counters.
pub(crate) fn stats() -> LogStats {
    let hub = &*HUB;
    LogStats {
        emitted: hub.emitted.load(Ordering::Relaxed),
        delivered: hub.delivered.load(Ordering::Relaxed),
        dropped: hub.dropped.load(Ordering::Relaxed),
        logger_failures: hub.failures.load(Ordering::Relaxed),
    }
}

fn start_worker() -> bool {
    std::thread::Builder::new()
        .name("rukasec-log".to_owned())
        .spawn(|| {
            IN_LOGGER.with(|flag| flag.set(true));
            deliver_forever(&HUB);
        })
        .is_ok()
}

fn deliver_forever(hub: &Hub) {
    loop {
        let record = {
            let mut queue = hub.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(record) = queue.lines.pop_front() {
                    queue.busy = true;
                    break record;
                }
                queue = hub
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let targets: Vec<Arc<dyn Logger>> = hub
            .sinks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|sink| record.level <= sink.level)
            .map(|sink| Arc::clone(&sink.logger))
            .collect();
        for logger in targets {
            match catch_unwind(AssertUnwindSafe(|| logger.log(&record))) {
                Ok(Ok(())) => hub.delivered.fetch_add(1, Ordering::Relaxed),
                Ok(Err(LoggerError)) | Err(_) => hub.failures.fetch_add(1, Ordering::Relaxed),
            };
        }
        let mut queue = hub.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.busy = false;
        if queue.lines.is_empty() {
            hub.settled.notify_all();
        }
    }
}

/// Our `tracing` subscriber: events only (spans are accepted and ignored).
struct HubSubscriber;

impl HubSubscriber {
    fn wanted(metadata: &Metadata<'_>) -> bool {
        let max = HUB.max.load(Ordering::Acquire);
        max > LogLevel::of(metadata.level()).rank()
            && metadata.target().starts_with("rukasec")
            && !IN_LOGGER.with(Cell::get)
    }
}

impl Subscriber for HubSubscriber {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // Loggers and levels change at run time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::wanted(metadata)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if !Self::wanted(metadata) {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        line.message.push_str(&line.fields);
        let hub = &*HUB;
        let record = LogRecord {
            level: LogLevel::of(metadata.level()),
            target: metadata.target().to_owned(),
            message: hub.redactor.redact(&line.message),
        };
        line.message.zeroize();
        line.fields.zeroize();
        hub.emitted.fetch_add(1, Ordering::Relaxed);
        let mut queue = hub.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.lines.len() >= QUEUE_CAPACITY {
            hub.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queue.lines.push_back(record);
        hub.ready.notify_one();
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// The message and the other fields of one event, formatted.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Writing to a String cannot fail.
        let _ = if field.name() == "message" {
            write!(self.message, "{value:?}")
        } else if is_sensitive_key(field.name()) {
            write!(self.fields, " {}={REDACTED}", field.name())
        } else {
            write!(self.fields, " {}={value:?}", field.name())
        };
    }
}
