//! What one connection is doing, told by its bytes and its requests: the
//! idle and header-read timeouts are measured from here, and a request
//! head too large is refused here with a problem document before hyper
//! sees it (hyper's own 431 has no body).
//!
//! hyper's `header_read_timeout` cannot serve: it also runs between
//! requests, so an idle keep-alive connection would be closed after the
//! header timeout, never after the idle one.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Problem;

/// Largest request line plus headers, in bytes.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Most header lines a request may have.
pub const MAX_HEADERS: usize = 100;
/// hyper's own header limit, above ours so that ours answers first.
pub(super) const HYPER_MAX_HEADERS: usize = MAX_HEADERS + 28;

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
    changed: Notify,
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
            changed: Notify::new(),
        })
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
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
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

    fn deadline(&self, header_read_timeout: Duration, idle_timeout: Duration) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle { since } => Some(since + idle_timeout),
            Phase::Head { since, .. } | Phase::Refusing { since } => {
                Some(since + header_read_timeout)
            }
            Phase::Busy { .. } => None,
        }
    }

    /// Resolves when the connection has been idle, or reading a head, for
    /// too long; never while a request is in hand.
    pub(super) async fn expired(&self, header_read_timeout: Duration, idle_timeout: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(header_read_timeout, idle_timeout) {
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

/// Counts a request head's bytes and lines until its blank line.
#[derive(Debug, Default)]
struct HeadScan {
    bytes: usize,
    lines: usize,
    /// 1 right after a `\n`, 2 after `\n\r`: a `\n` now ends the head.
    after_newline: u8,
    complete: bool,
}

impl HeadScan {
    /// Feeds bytes; `false` when the head is over a limit.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.complete {
                return true;
            }
            self.bytes += 1;
            match (byte, self.after_newline) {
                (b'\n', 0) => {
                    self.lines += 1;
                    self.after_newline = 1;
                }
                (b'\n', _) => self.complete = true,
                (b'\r', 1) => self.after_newline = 2,
                (b'\r', _) => {}
                _ => self.after_newline = 0,
            }
            if !self.complete && (self.bytes > MAX_HEAD_BYTES || self.lines > MAX_HEADERS + 1) {
                return false;
            }
        }
        true
    }
}

/// The socket as hyper sees it: every read is reported to the
/// connection's [`Activity`], and a head too large is answered with a 431
/// problem document, after which hyper sees an error and lets go.
#[derive(Debug)]
pub(super) struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    refusal: Option<Refusal>,
}

#[derive(Debug)]
struct Refusal {
    response: Vec<u8>,
    written: usize,
    shut: bool,
}

impl WatchedStream {
    pub(super) fn new(inner: TcpStream, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            refusal: None,
        }
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

/// The 431 problem document as raw HTTP/1.1, for the connection to close on.
fn header_too_large_response() -> Vec<u8> {
    let problem = Problem::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "header-too-large",
        "Request header fields too large",
        format!(
            "the request line and headers must fit in {MAX_HEAD_BYTES} bytes and \
             {MAX_HEADERS} header lines"
        ),
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: {}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        super::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
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
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
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
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_blank_line_whatever_the_line_ends() {
        for head in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\nHost: a\n\n",
        ] {
            let mut scan = HeadScan::default();
            assert!(scan.feed(head));
            assert!(scan.complete, "{head:?}");
        }
        let mut scan = HeadScan::default();
        assert!(scan.feed(b"GET / HTTP/1.1\r\nHost: a\r\n"));
        assert!(!scan.complete);
    }

    #[test]
    fn a_head_over_the_byte_or_line_limit_is_refused() {
        let mut scan = HeadScan::default();
        assert!(!scan.feed(&vec![b'x'; MAX_HEAD_BYTES + 1]));
        let mut scan = HeadScan::default();
        assert!(!scan.feed("X: y\r\n".repeat(MAX_HEADERS + 2).as_bytes()));
        let mut scan = HeadScan::default();
        let mut head = "GET / HTTP/1.1\r\n".to_owned();
        head.push_str(&"X: y\r\n".repeat(MAX_HEADERS));
        head.push_str("\r\n");
        assert!(scan.feed(head.as_bytes()));
        assert!(scan.complete);
    }

    #[test]
    fn a_body_after_the_head_is_not_counted() {
        let mut scan = HeadScan::default();
        let mut request = b"POST / HTTP/1.1\r\n\r\n".to_vec();
        request.extend(vec![b'x'; MAX_HEAD_BYTES * 2]);
        assert!(scan.feed(&request));
    }
}
