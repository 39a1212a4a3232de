//! The bound on what a live stream may have written and not yet sent
//! (`HTTP_STREAM_MAX_UNSENT_BYTES`).
//!
//! A client that reads nothing used to hold what the kernel's send buffer
//! takes (autotuned up to 4 MiB) before its writes even waited, and then
//! the send timeout's worth of waiting. Once a response is a stream, its
//! socket's send buffer is shrunk to the bound (set at half: the kernel
//! doubles it, and counts its own bookkeeping in it, so it holds less
//! data than that); what waits beyond it is held by the service, which
//! hyper offers whole to every write. A write that waits while the
//! service holds more than the bound closes the connection
//! (`http_streams_dropped_total{reason="unsent"}`): the client resumes
//! with `Last-Event-ID` when it reads again. A stream's unsent bytes are
//! so kept below twice the bound.
//!
//! The kernel's share is not made smaller: it counts a few hundred bytes
//! of bookkeeping for every small write a stream makes, so a send buffer
//! of a few KiB would stall a client that reads, during a burst of
//! changes, as surely as one that does not.

use std::io;

use socket2::SockRef;
use tokio::net::TcpStream;

/// One connection's bound.
#[derive(Debug)]
pub(super) struct UnsentBound {
    max: usize,
    /// Whether the connection's response is a stream (its send buffer
    /// shrunk).
    started: bool,
}

impl UnsentBound {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            started: false,
        }
    }

    /// The connection now carries a stream: shrinks its send buffer (once).
    pub(super) fn start(&mut self, socket: &TcpStream) {
        if self.started {
            return;
        }
        self.started = true;
        if let Err(error) = SockRef::from(socket).set_send_buffer_size(self.max / 2) {
            // The kernel keeps its own size; the service's share is still
            // bounded.
            tracing::debug!(%error, "cannot shrink a stream's send buffer");
        }
    }

    /// A write of `held` bytes waits: an error once they are past the
    /// bound.
    pub(super) fn check(&self, held: usize) -> io::Result<()> {
        match self.started {
            true if held > self.max => {
                metrics::counter!("http_streams_dropped_total", "reason" => "unsent").increment(1);
                tracing::debug!(
                    held,
                    max = self.max,
                    "closing a stream whose client lets too much go unsent"
                );
                Err(io::Error::other(
                    "a live stream's unsent bytes passed HTTP_STREAM_MAX_UNSENT_BYTES",
                ))
            }
            _ => Ok(()),
        }
    }
}
