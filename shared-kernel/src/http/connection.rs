//! What one connection is doing, told by its bytes and its requests: the
//! idle and header-read timeouts are measured from here, and a request
//! head too large ([`super::head`]) is refused here with a problem
//! document before hyper sees it (hyper's own 431 has no body).
//!
//! hyper's `header_read_timeout` cannot serve: it also runs between
//! requests, so an idle keep-alive connection would be closed after the
//! header timeout, never after the idle one.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::head::{HeadScan, header_too_large_response};
use super::unsent::UnsentBound;

/// Where a connection is between requests.
#[derive(Debug)]
enum Phase {
    /// No request in hand since `since`.
    Idle { since: Instant },
    /// A request head is arriving, its first byte at `since`.
    Head { since: Instant, scan: HeadScan },
    /// Requests handed to the service whose responses are not yet sent.
    Busy { requests: usize },
    /// The head was too large: our 431 is being sent since `since`.
    Refusing { since: Instant },
}

/// A connection's phase, shared by its socket, its requests and its
/// watchdog.
#[derive(Debug)]
pub(super) struct Activity {
    phase: Mutex<Phase>,
    /// Since when a write has been waiting for the client to read.
    blocked_since: Mutex<Option<Instant>>,
    /// When the body of the request in hand is due, while it is neither
    /// read to its end nor dropped.
    body_due: Mutex<Option<Instant>>,
    /// Whether a response on this connection is a live stream.
    streaming: AtomicBool,
    changed: Notify,
}

/// How long after a body's deadline the watchdog closes a connection whose
/// body nobody read: a handler that was reading it has answered 408 by
/// then.
const BODY_TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// How long each phase of a connection may last.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// Reading a request head.
    pub(super) header_read: Duration,
    /// Idle between requests.
    pub(super) idle: Duration,
    /// A write waiting for the client to read.
    pub(super) send: Duration,
}

impl Timeouts {
    /// The timeouts of a connection refused for its client's cap: a
    /// request head within a second at most, so that it cannot hold a
    /// place of the global cap for long.
    pub(super) fn refusing(self) -> Self {
        let short = Duration::from_secs(1);
        Self {
            header_read: self.header_read.min(short),
            idle: self.idle.min(short),
            send: self.send.min(short),
        }
    }
}

impl Activity {
    /// A new connection: its first request head is due within the
    /// header-read timeout (an opened, silent connection is not idle).
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head {
                since: Instant::now(),
                scan: HeadScan::default(),
            }),
            blocked_since: Mutex::new(None),
            body_due: Mutex::new(None),
            streaming: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    /// The request in hand has a body, due by `due`.
    pub(super) fn body_expected(&self, due: Instant) {
        *self.body_due.lock().unwrap_or_else(PoisonError::into_inner) = Some(due);
        self.changed.notify_one();
    }

    /// The request's body was read to its end, or will never be read.
    pub(super) fn body_done(&self) {
        *self.body_due.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.changed.notify_one();
    }

    fn body_pending(&self) -> bool {
        self.body_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// A response on this connection is a live stream: from now on its
    /// writes are held to the unsent-bytes bound.
    pub(super) fn stream_started(&self) {
        self.streaming.store(true, Ordering::Relaxed);
    }

    fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    /// A write could not go out (`true`) or went out (`false`).
    fn write_blocked(&self, blocked: bool) {
        let mut since = self
            .blocked_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if since.is_some() != blocked {
            *since = blocked.then(Instant::now);
            self.changed.notify_one();
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: &mut Phase, next: Phase) {
        *phase = next;
        self.changed.notify_one();
    }

    /// Bytes arrived; `false` when they make the request head too large.
    fn bytes_read(&self, bytes: &[u8]) -> bool {
        // The rest of a body arriving after its response is not a head.
        let body_pending = self.body_pending();
        let mut phase = self.phase();
        if let (Phase::Idle { .. }, false) = (&*phase, body_pending) {
            let head = Phase::Head {
                since: Instant::now(),
                scan: HeadScan::default(),
            };
            self.set(&mut phase, head);
        }
        let Phase::Head { scan, .. } = &mut *phase else {
            return true;
        };
        if scan.feed(bytes) {
            return true;
        }
        let refusing = Phase::Refusing {
            since: Instant::now(),
        };
        self.set(&mut phase, refusing);
        false
    }

    /// A request reached the service; the guard marks its response sent.
    pub(super) fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut phase = self.phase();
        let requests = match *phase {
            Phase::Busy { requests } => requests + 1,
            _ => 1,
        };
        self.set(&mut phase, Phase::Busy { requests });
        RequestGuard(Arc::clone(self))
    }

    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        let phase = match *self.phase() {
            Phase::Idle { since } => Some(since + timeouts.idle),
            Phase::Head { since, .. } | Phase::Refusing { since } => {
                Some(since + timeouts.header_read)
            }
            Phase::Busy { .. } => None,
        };
        let blocked = self
            .blocked_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|since| since + timeouts.send);
        let body = self
            .body_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|due| due + BODY_TIMEOUT_GRACE);
        [phase, blocked, body].into_iter().flatten().min()
    }

    /// Resolves when the connection has been idle, or reading a head, for
    /// too long, or its client has read nothing of a response for too
    /// long, or a request's body has not come in time; never while a
    /// request is in hand and its response flows.
    pub(super) async fn expired(&self, timeouts: Timeouts) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(timeouts) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// Held by a response body: dropped when hyper has sent it (or given up).
#[derive(Debug)]
pub(super) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        let mut phase = activity.phase();
        let next = match *phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            Phase::Busy { .. } => Phase::Idle {
                since: Instant::now(),
            },
            _ => return,
        };
        activity.set(&mut phase, next);
    }
}

/// The socket as hyper sees it: every read is reported to the
/// connection's [`Activity`], and a head too large is answered with a 431
/// problem document, after which hyper sees an error and lets go.
#[derive(Debug)]
pub(super) struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// Read before hyper took over (after a PROXY header): hyper reads it
    /// first.
    prefix: Vec<u8>,
    prefix_read: usize,
    refusal: Option<Refusal>,
    /// Whether the last write had to wait.
    write_blocked: bool,
    /// The unsent-bytes bound, once a response is a live stream.
    unsent: UnsentBound,
}

#[derive(Debug)]
struct Refusal {
    response: Vec<u8>,
    written: usize,
    shut: bool,
}

impl WatchedStream {
    /// `inner`, whose first bytes were `prefix` (read already); a live
    /// stream on it may have `max_unsent` bytes unsent.
    pub(super) fn new(
        inner: TcpStream,
        activity: Arc<Activity>,
        prefix: Vec<u8>,
        max_unsent: usize,
    ) -> Self {
        Self {
            inner,
            activity,
            prefix,
            prefix_read: 0,
            refusal: None,
            write_blocked: false,
            unsent: UnsentBound::new(max_unsent),
        }
    }

    /// Hands out what was read before hyper took over; `false` when
    /// there is none left.
    fn read_prefix(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let rest = self.prefix.get(self.prefix_read..).unwrap_or_default();
        if rest.is_empty() {
            return false;
        }
        let taken = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..taken).unwrap_or_default());
        self.prefix_read += taken;
        if self.prefix_read >= self.prefix.len() {
            self.prefix = Vec::new();
            self.prefix_read = 0;
        }
        true
    }

    /// Sends the 431, closes our side, and reads (discarding) until the
    /// client closes, so that the unread rest of its head cannot reset the
    /// connection before the answer is read. The header-read timeout
    /// bounds this.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = self.refusal.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut inner = Pin::new(&mut self.inner);
        while refusal.written < refusal.response.len() {
            let rest = refusal.response.get(refusal.written..).unwrap_or_default();
            refusal.written += ready!(inner.as_mut().poll_write(cx, rest))?;
        }
        if !refusal.shut {
            ready!(inner.as_mut().poll_shutdown(cx))?;
            refusal.shut = true;
        }
        let mut scratch = [0_u8; 4096];
        loop {
            let mut discard = ReadBuf::new(&mut scratch);
            ready!(inner.as_mut().poll_read(cx, &mut discard))?;
            if discard.filled().is_empty() {
                return Poll::Ready(Err(io::Error::other(
                    "the request head was too large; answered 431",
                )));
            }
        }
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return this.poll_refuse(cx);
        }
        let before = buf.filled().len();
        if !this.read_prefix(buf) {
            ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        }
        let fresh = buf.filled().get(before..).unwrap_or_default();
        if fresh.is_empty() || this.activity.bytes_read(fresh) {
            return Poll::Ready(Ok(()));
        }
        buf.set_filled(before);
        this.refusal = Some(Refusal {
            response: header_too_large_response(),
            written: 0,
            shut: false,
        });
        this.poll_refuse(cx)
    }
}

impl AsyncWrite for WatchedStream {
    /// Notes when a write waits for the client to read, and when it goes
    /// out again (only the changes reach the shared [`Activity`]); on a
    /// live stream, fails once what waits passes the unsent-bytes bound.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.activity.is_streaming() {
            this.unsent.start(&this.inner);
        }
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        let blocked = written.is_pending();
        if blocked {
            // hyper offers everything it holds (its write buffer is flat).
            this.unsent.check(buf.len())?;
        }
        if blocked != this.write_blocked {
            this.write_blocked = blocked;
            this.activity.write_blocked(blocked);
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
