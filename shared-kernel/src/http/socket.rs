//! The socket as hyper sees it: what it reads is reported to the
//! connection's [`Activity`], a request head too large
//! ([`super::head`]) is refused here with a problem document before hyper
//! sees it (hyper's own 431 has no body), and a live stream's writes are
//! held to the unsent-bytes bound ([`super::unsent`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::connection::Activity;
use super::head::header_too_large_response;
use super::unsent::UnsentBound;

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
