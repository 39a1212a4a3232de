//! Bodies as the server hands them on: a request body that must arrive
//! within `HTTP_BODY_READ_TIMEOUT_MS` of its head, and a response body
//! that tells the connection when its response is done.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::connection::{Activity, RequestGuard};

/// The request body did not arrive within the body read timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body read timeout")]
pub(super) struct BodyReadTimedOut;

/// A request body that fails with [`BodyReadTimedOut`] once its deadline
/// passes before its end, and tells the connection when it is done with
/// (read to its end, or dropped): until then the connection's watchdog
/// holds it to the deadline too, in case nothing reads it.
#[derive(Debug)]
pub(super) struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    activity: Arc<Activity>,
    timed_out: Arc<AtomicBool>,
    finished: bool,
}

impl TimedBody {
    /// `inner`, due by `due`; `timed_out` is set when it was not.
    pub(super) fn new(
        inner: Incoming,
        due: Instant,
        activity: Arc<Activity>,
        timed_out: Arc<AtomicBool>,
    ) -> Self {
        activity.body_expected(due);
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(due)),
            activity,
            timed_out,
            finished: false,
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.activity.body_done();
        }
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.finish();
                Poll::Ready(Some(Err(Box::new(error))))
            }
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.timed_out.store(true, Ordering::Relaxed);
                metrics::counter!("http_body_read_timeouts_total").increment(1);
                this.finish();
                Poll::Ready(Some(Err(Box::new(BodyReadTimedOut))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TimedBody {
    /// A body dropped before its end is never read again: hyper closes
    /// the connection after the response rather than wait for the rest.
    fn drop(&mut self) {
        self.finish();
    }
}

/// A response body that marks its request finished when dropped.
#[derive(Debug)]
pub(super) struct TrackedBody {
    pub(super) body: Body,
    pub(super) _guard: RequestGuard,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
