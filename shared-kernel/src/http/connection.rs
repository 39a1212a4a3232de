//! What one connection is doing, told by its bytes and its requests: the
//! idle, header-read and body-read timeouts are measured from here (the
//! socket, [`super::socket`], reports what it reads and writes).
//!
//! hyper's `header_read_timeout` cannot serve: it also runs between
//! requests, so an idle keep-alive connection would be closed after the
//! header timeout, never after the idle one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::head::HeadScan;

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

    pub(super) fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    /// A write could not go out (`true`) or went out (`false`).
    pub(super) fn write_blocked(&self, blocked: bool) {
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
    pub(super) fn bytes_read(&self, bytes: &[u8]) -> bool {
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
