//! The bound on what a live stream may have written and not yet sent
//! (`HTTP_STREAM_MAX_UNSENT_BYTES`).
//!
//! A client that reads nothing used to hold what the kernel's send buffer
//! takes (autotuned up to 4 MiB) before its writes even waited, and then
//! the send timeout's worth of waiting. Once a response is a stream, its
//! socket's send buffer is shrunk to half the bound (set at a quarter: the
//! kernel doubles it for its own bookkeeping, and reports the doubled
//! size), so the kernel holds at most that; the service holds the rest,
//! which hyper offers whole to every write. A write that waits while the
//! service holds more than what the kernel leaves of the bound closes the
//! connection (`http_streams_dropped_total{reason="unsent"}`): the client
//! resumes with `Last-Event-ID` when it reads again.

use std::io;

use socket2::SockRef;
use tokio::net::TcpStream;

/// One connection's bound.
#[derive(Debug)]
pub(super) struct UnsentBound {
    max: usize,
    /// What the service may hold while a write waits; `None` until the
    /// connection's response is a stream.
    allowance: Option<usize>,
}

impl UnsentBound {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            allowance: None,
        }
    }

    /// The connection now carries a stream: shrinks its send buffer (once).
    pub(super) fn start(&mut self, socket: &TcpStream) {
        if self.allowance.is_some() {
            return;
        }
        let socket = SockRef::from(socket);
        let kernel = socket
            .set_send_buffer_size(self.max / 4)
            .and_then(|()| socket.send_buffer_size());
        let kernel = match kernel {
            Ok(kernel) => kernel,
            Err(error) => {
                // The kernel keeps its own size; the service's share is
                // still bounded.
                tracing::debug!(%error, "cannot shrink a stream's send buffer");
                0
            }
        };
        self.allowance = Some(self.max.saturating_sub(kernel));
    }

    /// A write of `held` bytes waits: an error once they are past the
    /// bound.
    pub(super) fn check(&self, held: usize) -> io::Result<()> {
        match self.allowance {
            Some(allowance) if held > allowance => {
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
