//! The core's log lines through an app `Logger`: the level filter, redaction of messages and
//! fields (registered secrets, bearer tokens, sensitive field names), and loggers that panic,
//! block or call the core back. The dispatcher is process-wide, so the tests run one at a time
//! and each looks only at the lines carrying its own tag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use rukasec_core::RukaSec;
use rukasec_core::logging::{LogLevel, LogRecord, Logger, LoggerError, QUEUE_CAPACITY, REDACTED};
use rukasec_core::secret::{SecretBytes, SecretString};

const WAIT: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Capture(Mutex<Vec<LogRecord>>);

impl Logger for Capture {
    fn log(&self, record: &LogRecord) -> Result<(), LoggerError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

impl Capture {
    fn tagged(&self, tag: &str) -> Vec<LogRecord> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.message.contains(tag))
            .cloned()
            .collect()
    }
}

fn with_logger(level: LogLevel) -> (RukaSec, Arc<Capture>) {
    let core = RukaSec::new(None);
    let capture = Arc::new(Capture::default());
    core.set_logger(Some(capture.clone()), level).unwrap();
    (core, capture)
}

#[test]
fn the_level_filter_passes_its_level_and_above() {
    let _serial = serial();
    let (core, capture) = with_logger(LogLevel::Warn);
    tracing::error!(target: "rukasec_test", "tag-level error");
    tracing::warn!(target: "rukasec_test", "tag-level warn");
    tracing::info!(target: "rukasec_test", "tag-level info");
    tracing::debug!(target: "rukasec_test", "tag-level debug");
    tracing::trace!(target: "rukasec_test", "tag-level trace");
    // A dependency's line is never forwarded, whatever its level.
    tracing::error!(target: "hyper::proto", "tag-level dependency");
    assert!(core.flush_logs(WAIT));
    let levels: Vec<_> = capture
        .tagged("tag-level")
        .iter()
        .map(|r| r.level)
        .collect();
    assert_eq!(levels, [LogLevel::Error, LogLevel::Warn]);
    let record = &capture.tagged("tag-level warn")[0];
    assert_eq!(record.target, "rukasec_test");
    assert_eq!(record.message, "tag-level warn");

    core.set_logger(Some(capture.clone()), LogLevel::Trace)
        .unwrap();
    tracing::trace!(target: "rukasec_test", "tag-level now trace");
    assert!(core.flush_logs(WAIT));
    core.set_logger(None, LogLevel::Trace).unwrap();
    tracing::error!(target: "rukasec_test", "tag-level after removal");
    assert!(core.flush_logs(WAIT));
    assert_eq!(capture.tagged("tag-level now trace").len(), 1);
    assert!(capture.tagged("tag-level after removal").is_empty());
}

#[test]
fn a_dropped_core_removes_its_logger() {
    let _serial = serial();
    let (core, capture) = with_logger(LogLevel::Trace);
    let other = RukaSec::new(None);
    drop(core);
    tracing::error!(target: "rukasec_test", "tag-drop after");
    assert!(other.flush_logs(WAIT));
    assert!(capture.tagged("tag-drop").is_empty());
}

#[test]
fn messages_and_fields_are_redacted() {
    let _serial = serial();
    let (core, capture) = with_logger(LogLevel::Trace);
    let secret = SecretBytes::from_slice(b"canary-registered-5e1f");
    let text = SecretString::new("canary-text-secret-0a0a".to_owned());
    core.register_secret(&secret).unwrap();
    core.register_secret_text(&text).unwrap();
    // Test: the secrets are written into log lines to prove they are removed.
    let raw = String::from_utf8(secret.expose_secret().to_vec()).unwrap();
    let hex_form = hex::encode(secret.expose_secret());
    tracing::info!(target: "rukasec_test", value = %raw, "tag-redact message {raw} {}", text.expose_secret());
    tracing::info!(target: "rukasec_test", encoded = %hex_form, "tag-redact hex");
    tracing::warn!(
        target: "rukasec_test",
        header = "Authorization: Bearer canary-bearer-9d9d9d",
        "tag-redact bearer"
    );
    tracing::info!(target: "rukasec_test", token = "canary-field-token", api_key = 7, "tag-redact fields");
    tracing::info!(target: "rukasec_test", "tag-redact url https://x.test/p?api_key=canary-query-1&page=2");
    tracing::info!(target: "rukasec_test", pin = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "tag-redact pin");
    assert!(core.flush_logs(WAIT));
    let lines: Vec<String> = capture
        .tagged("tag-redact")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    let all = lines.join("\n");
    for canary in [
        "canary-registered-5e1f",
        "canary-text-secret",
        "canary-bearer",
        "canary-field",
        "canary-query",
        &hex_form,
    ] {
        assert!(!all.contains(canary), "{canary} in {all}");
    }
    assert_eq!(
        lines[0],
        format!("tag-redact message {REDACTED} {REDACTED} value={REDACTED}")
    );
    assert_eq!(lines[1], format!("tag-redact hex encoded={REDACTED}"));
    assert!(
        lines[2].contains("Authorization: [redacted]"),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "tag-redact fields token=[redacted] api_key=[redacted]"
    );
    assert!(
        lines[4].contains("api_key=[redacted]&page=2"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].ends_with("pin=sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        "{}",
        lines[5]
    );

    assert_eq!(
        core.redact(&format!("x {raw} y")),
        format!("x {REDACTED} y")
    );
    assert!(core.unregister_secret(&secret));
    assert!(core.unregister_secret_text(&text));
    assert_eq!(core.redact(&raw), raw);
    assert!(
        core.register_secret(&SecretBytes::from_slice(b"ab"))
            .is_err()
    );
}

struct Panicking;

impl Logger for Panicking {
    fn log(&self, _record: &LogRecord) -> Result<(), LoggerError> {
        panic!("the logger broke");
    }
}

#[test]
fn a_panicking_logger_is_counted_and_others_go_on() {
    let _serial = serial();
    let bad = RukaSec::new(None);
    bad.set_logger(Some(Arc::new(Panicking)), LogLevel::Trace)
        .unwrap();
    let (core, capture) = with_logger(LogLevel::Info);
    let before = core.log_stats();
    tracing::info!(target: "rukasec_test", "tag-panic one");
    tracing::info!(target: "rukasec_test", "tag-panic two");
    assert!(core.flush_logs(WAIT));
    assert_eq!(capture.tagged("tag-panic").len(), 2);
    let after = core.log_stats();
    assert!(
        after.logger_failures >= before.logger_failures + 2,
        "{after:?}"
    );
    // The core still works.
    assert!(bad.self_test().passed);
}

/// Answers every line with an error, as an app logger that throws does.
struct Failing;

impl Logger for Failing {
    fn log(&self, _record: &LogRecord) -> Result<(), LoggerError> {
        Err(LoggerError)
    }
}

#[test]
fn a_failing_logger_is_counted_not_delivered() {
    let _serial = serial();
    let bad = RukaSec::new(None);
    bad.set_logger(Some(Arc::new(Failing)), LogLevel::Trace)
        .unwrap();
    let (core, capture) = with_logger(LogLevel::Info);
    let before = core.log_stats();
    tracing::info!(target: "rukasec_test", "tag-fail one");
    assert!(core.flush_logs(WAIT));
    assert_eq!(capture.tagged("tag-fail").len(), 1);
    let after = core.log_stats();
    assert!(after.logger_failures > before.logger_failures, "{after:?}");
    drop(bad);
}

/// Calls the core back from inside `log`: the line it causes is dropped, nothing recurses.
struct Reentrant(Arc<Capture>);

impl Logger for Reentrant {
    fn log(&self, record: &LogRecord) -> Result<(), LoggerError> {
        if record.message.contains("tag-reenter outer") {
            tracing::error!(target: "rukasec_test", "tag-reenter inner");
        }
        self.0.log(record)
    }
}

#[test]
fn a_logger_that_logs_does_not_recurse() {
    let _serial = serial();
    let core = RukaSec::new(None);
    let capture = Arc::new(Capture::default());
    core.set_logger(Some(Arc::new(Reentrant(capture.clone()))), LogLevel::Trace)
        .unwrap();
    tracing::info!(target: "rukasec_test", "tag-reenter outer");
    assert!(core.flush_logs(WAIT));
    assert_eq!(capture.tagged("tag-reenter outer").len(), 1);
    assert!(capture.tagged("tag-reenter inner").is_empty());
}

/// Holds every call until released.
struct Blocked(Mutex<mpsc::Receiver<()>>);

impl Logger for Blocked {
    fn log(&self, _record: &LogRecord) -> Result<(), LoggerError> {
        let _ = self.0.lock().unwrap().recv_timeout(WAIT);
        Ok(())
    }
}

#[test]
fn a_blocked_logger_never_blocks_the_core_and_excess_lines_are_dropped() {
    let _serial = serial();
    let (release, held) = mpsc::channel();
    let core = RukaSec::new(None);
    core.set_logger(Some(Arc::new(Blocked(Mutex::new(held)))), LogLevel::Trace)
        .unwrap();
    tracing::info!(target: "rukasec_test", "tag-block first");
    let before = core.log_stats();
    let started = std::time::Instant::now();
    for n in 0..QUEUE_CAPACITY + 100 {
        tracing::info!(target: "rukasec_test", n, "tag-block line");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "logging waited for the logger"
    );
    assert!(
        core.log_stats().dropped >= before.dropped + 99,
        "{:?}",
        core.log_stats()
    );
    assert!(!core.flush_logs(Duration::from_millis(50)));
    drop(release);
    assert!(core.flush_logs(WAIT));
    core.set_logger(None, LogLevel::Trace).unwrap();
}
