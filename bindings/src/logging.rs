//! The core's redacted log lines, for a Logcat or `os_log` logger written in Kotlin or Swift.
//!
//! The core formats and redacts every line before it reaches this module
//! (`rukasec_core::logging`): an app logger only ever receives redacted text. Secrets an app
//! registers (`RukaSec.registerSecret`) arrive as `ByteArray`/`Data` or text and are wrapped into
//! the core's wiped-on-drop types before anything else runs; nothing here keeps a copy.

use std::sync::Arc;

use rukasec_core::logging as core;
use rukasec_core::secret::{SecretBytes, SecretString};

use crate::numbers;

/// How much a logger is told, from least to most verbose: a filter at `INFO` passes `ERROR`,
/// `WARN` and `INFO` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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

impl From<LogLevel> for core::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => Self::Error,
            LogLevel::Warn => Self::Warn,
            LogLevel::Info => Self::Info,
            LogLevel::Debug => Self::Debug,
            LogLevel::Trace => Self::Trace,
        }
    }
}

impl From<core::LogLevel> for LogLevel {
    fn from(level: core::LogLevel) -> Self {
        match level {
            core::LogLevel::Error => Self::Error,
            core::LogLevel::Warn => Self::Warn,
            core::LogLevel::Info => Self::Info,
            core::LogLevel::Debug => Self::Debug,
            core::LogLevel::Trace => Self::Trace,
        }
    }
}

/// One redacted log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// Where it comes from: the core's module path, e.g. `rukasec_core::tls::client` (a good
    /// Logcat tag suffix or `os_log` category).
    pub target: String,
    /// The message and its fields (`message key=value ...`), already redacted.
    pub message: String,
}

impl From<&core::LogRecord> for LogRecord {
    fn from(record: &core::LogRecord) -> Self {
        Self {
            level: record.level.into(),
            target: record.target.clone(),
            message: record.message.clone(),
        }
    }
}

/// Counters of the process-wide log queue, for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LogStats {
    /// Lines formatted and queued (at or above the most verbose logger's level).
    pub emitted: i64,
    /// Logger calls that returned.
    pub delivered: i64,
    /// Lines dropped because the queue was full.
    pub dropped: i64,
    /// Logger calls that failed (threw, or panicked in Rust).
    pub logger_failures: i64,
}

impl From<core::LogStats> for LogStats {
    fn from(stats: core::LogStats) -> Self {
        Self {
            emitted: numbers::long(stats.emitted),
            delivered: numbers::long(stats.delivered),
            dropped: numbers::long(stats.dropped),
            logger_failures: numbers::long(stats.logger_failures),
        }
    }
}

/// Receives the core's log lines; implemented by the app (Logcat on Android, `os_log` on iOS).
///
/// Called on RukaSec's log thread (`rukasec-log`), one line at a time, in order. It may be slow:
/// the core does not wait for it, and lines beyond the queue are dropped and counted in
/// `LogStats.dropped`. Throwing (a Kotlin `Exception`, any Swift `Error`) is allowed: it is
/// counted in `LogStats.loggerFailures` and delivery goes on. A line the logger causes by
/// calling the core back is dropped, so logging cannot recurse.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// Writes one line.
    fn log(&self, record: LogRecord) -> Result<(), crate::RukaSecError>;
}

/// Lets an app logger receive the core's lines.
struct ForeignLogger(Arc<dyn Logger>);

impl core::Logger for ForeignLogger {
    fn log(&self, record: &core::LogRecord) -> Result<(), core::LoggerError> {
        // The app's exception text is not kept: the core only counts the failure.
        self.0.log(record.into()).map_err(|_| core::LoggerError)
    }
}

pub(crate) fn to_core_logger(logger: Option<Arc<dyn Logger>>) -> Option<Arc<dyn core::Logger>> {
    logger.map(|l| Arc::new(ForeignLogger(l)) as Arc<dyn core::Logger>)
}

/// Wraps a secret the app registers for redaction, before anything else runs.
pub(crate) fn secret_bytes(secret: Vec<u8>) -> SecretBytes {
    SecretBytes::new(secret)
}

/// [`secret_bytes`] for text.
pub(crate) fn secret_text(secret: String) -> SecretString {
    SecretString::new(secret)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn levels_map_both_ways() {
        for level in [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ] {
            assert_eq!(LogLevel::from(core::LogLevel::from(level)), level);
        }
        assert_eq!(core::LogLevel::from(LogLevel::Warn), core::LogLevel::Warn);
    }

    struct Recording(Mutex<Vec<LogRecord>>, bool);

    impl Logger for Recording {
        fn log(&self, record: LogRecord) -> Result<(), crate::RukaSecError> {
            self.0.lock().unwrap().push(record);
            if self.1 {
                Err(crate::RukaSecError::Internal {
                    reason: "thrown".to_owned(),
                })
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn a_foreign_logger_receives_the_record() {
        let app = Arc::new(Recording(Mutex::new(Vec::new()), false));
        let logger = to_core_logger(Some(app.clone())).unwrap();
        logger
            .log(&core::LogRecord {
                level: core::LogLevel::Info,
                target: "rukasec_core::vault".to_owned(),
                message: "vault opened".to_owned(),
            })
            .unwrap();
        let got = app.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].level, LogLevel::Info);
        assert_eq!(got[0].target, "rukasec_core::vault");
        assert_eq!(got[0].message, "vault opened");
    }

    #[test]
    fn a_throwing_foreign_logger_is_a_logger_error() {
        let app = Arc::new(Recording(Mutex::new(Vec::new()), true));
        let logger = to_core_logger(Some(app)).unwrap();
        let record = core::LogRecord {
            level: core::LogLevel::Warn,
            target: "rukasec_core".to_owned(),
            message: "m".to_owned(),
        };
        assert_eq!(logger.log(&record), Err(core::LoggerError));
    }
}
