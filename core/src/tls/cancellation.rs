//! Cancelling a request from outside its future.
//!
//! In Rust a request is cancelled by dropping its future, and Kotlin's coroutines do exactly that
//! through UniFFI (a cancelled coroutine frees the Rust future). Swift's UniFFI bindings (0.32)
//! do not: they await the future to its end whatever happens to the `Task`, so a cancelled
//! screen's request would keep its connection, its signature and its rate-limit token until the
//! server answers or the client times out. A [`Cancellation`] is the handle that closes the gap:
//! the caller keeps it, the request carries it, and [`Cancellation::cancel`] (from any thread,
//! for example Swift's `withTaskCancellationHandler`) makes the request end at once with
//! [`TlsFailure::Cancelled`], dropping what it held. A request whose handle is already cancelled
//! is not started.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::sync::Notify;

use crate::{Error, Result, TlsFailure};

/// A handle that cancels the requests carrying it. Clones share one state; once cancelled it
/// stays cancelled (make a new one for the next request).
#[derive(Debug, Clone, Default)]
pub struct Cancellation {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancellation {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every request carrying this handle, now and later. Idempotent.
    pub fn cancel(&self) {
        self.shared.cancelled.store(true, Ordering::SeqCst);
        self.shared.notify.notify_waiters();
    }

    /// Whether [`Cancellation::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Completes when the handle is cancelled.
    async fn cancelled(&self) {
        loop {
            let mut notified = pin!(self.shared.notify.notified());
            // Registered before the flag is read, so a `cancel` between the two still wakes us.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `future` until it completes or this handle is cancelled, whichever comes first; on
    /// cancellation `future` is dropped (its connection closed) and the result is
    /// [`TlsFailure::Cancelled`]. A handle already cancelled never polls `future`.
    ///
    /// # Errors
    /// [`Error::Tls`] with [`TlsFailure::Cancelled`]; otherwise what `future` returns.
    pub async fn run<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        let mut future = pin!(future);
        let mut cancelled = pin!(self.cancelled());
        std::future::poll_fn(|cx| {
            // Cancellation first: a request cancelled while ready still reports the cancel.
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(cancelled_error()));
            }
            future.as_mut().poll(cx)
        })
        .await
    }
}

fn cancelled_error() -> Error {
    Error::tls(
        TlsFailure::Cancelled,
        "the caller cancelled the request before it completed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn is_cancelled_error(result: &Result<u8>) -> bool {
        matches!(
            result,
            Err(Error::Tls {
                failure: TlsFailure::Cancelled,
                ..
            })
        )
    }

    #[tokio::test]
    async fn an_uncancelled_handle_returns_the_future_s_result() {
        let handle = Cancellation::new();
        assert_eq!(handle.run(async { Ok(7u8) }).await, Ok(7));
        let failed: Result<u8> = handle.run(async { Err(Error::Crypto) }).await;
        assert_eq!(failed, Err(Error::Crypto));
        assert!(!handle.is_cancelled());
    }

    #[tokio::test]
    async fn a_handle_cancelled_before_never_polls_the_future() {
        let handle = Cancellation::new();
        handle.cancel();
        let polled = AtomicUsize::new(0);
        let result = handle
            .run(async {
                polled.fetch_add(1, Ordering::SeqCst);
                Ok(1u8)
            })
            .await;
        assert!(is_cancelled_error(&result), "{result:?}");
        assert_eq!(polled.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn cancelling_from_another_thread_ends_a_pending_future_and_drops_it() {
        struct DropFlag(Arc<AtomicBool>);
        impl Drop for DropFlag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(Arc::clone(&dropped));
        let handle = Cancellation::new();
        let canceller = handle.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            canceller.cancel();
        });
        let result = handle
            .run(async move {
                let _held = flag;
                std::future::pending::<()>().await;
                Ok(0u8)
            })
            .await;
        assert!(is_cancelled_error(&result), "{result:?}");
        assert!(
            dropped.load(Ordering::SeqCst),
            "the request's future was not dropped"
        );
        assert!(handle.is_cancelled());
        thread.join().expect("the cancelling thread panicked");
    }

    #[tokio::test]
    async fn the_cancel_message_names_the_cause() {
        let message = cancelled_error().to_string();
        assert!(message.starts_with("cancelled: "), "{message}");
    }
}
