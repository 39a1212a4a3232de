//! Following the log for many watchers at a bounded cost to the database,
//! whatever their number:
//!
//! - **catching up** (a watcher behind the end of the log) reads and
//!   sends a page at a time, at most [`FeedSettings::readers`] watchers at
//!   once for all watchers together, and a full page once read is kept
//!   for the next watchers (a full page never changes: see
//!   [`ChangeLog::read_after`]), so a thousand watchers replaying from the
//!   start read the log about once and take turns sending it;
//! - **live** (a watcher at the end) is fed by one tail per process,
//!   which reads each new change once and fans it out through a broadcast
//!   channel. A watcher that falls more than [`LIVE_CAPACITY`] changes
//!   behind it goes back to catching up from its own position, so nothing
//!   is missed or sent twice.
//!
//! Why switching to live misses nothing: a watcher subscribes first, then
//! reads until a page is not full, at position `p`. The tail had sent up to
//! some `t` when the watcher subscribed; that read came later and saw all
//! the tail had seen, so `t <= p`. Everything after `t` reaches the
//! watcher through the channel, in log order; it skips what is `<= p`.
//!
//! Metrics: `watch_feed_broadcast_total` (changes the tail sent) and
//! `watch_feed_lagged_total` (watchers that fell behind it).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::{LogPosition, LoggedChange, StartAt};
use crate::application::EventError;
use crate::application::ports::{ChangeLog, RepositoryError};

/// Changes the live tail keeps for watchers that are a little behind.
pub const LIVE_CAPACITY: usize = 1024;

/// How long a catching-up watcher may wait for room in its stream while
/// holding a catch-up slot.
const SEND_PATIENCE: Duration = Duration::from_millis(100);

/// Full pages kept for watchers catching up (each of `page_size`
/// changes).
const CACHED_PAGES: usize = 64;

/// How a feed reads the log.
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Changes read at once: what one watcher holds in memory at most,
    /// beside what its channel holds.
    pub page_size: u32,
    /// How often to look for changes no notification announced.
    pub sweep_interval: Duration,
    /// Watchers catching up at once, all together (at least 1): each
    /// reads (one query at most) and sends a page in turn, so this is what
    /// watchers can take of the database pool, besides the tail's one
    /// query at a time, and of the server's time.
    pub readers: usize,
}

/// Why a watcher cannot start where it asked.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The position names a transaction that has not even begun: no
    /// change was ever there, and waiting for one would wait for ever
    /// (`INVALID_ARGUMENT` naming `after`).
    #[error("is beyond the end of the change log: no change was ever at {position}")]
    BeyondTheEnd {
        /// The position asked for.
        position: LogPosition,
    },
    /// Reading where the log ends failed.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// What a feed sends: a change, or the failure that ended the feed.
pub type FeedItem = Result<LoggedChange, EventError>;

/// A page of the log: the changes after a position.
type Page = Arc<[LoggedChange]>;

/// Full pages by the position they follow, the oldest dropped first.
#[derive(Debug, Default)]
struct PageCache {
    pages: HashMap<LogPosition, Page>,
    order: VecDeque<LogPosition>,
}

/// What all watchers of a process share.
struct Shared {
    readers: Semaphore,
    pages: Mutex<PageCache>,
    live: broadcast::Sender<LoggedChange>,
    /// Whether the tail knows where it started: until then watchers keep
    /// catching up.
    tail_started: AtomicBool,
}

/// Follows the change log for watchers. Clones share the readers, the
/// page cache and the tail.
#[derive(Clone)]
pub struct ChangeFeed {
    log: Arc<dyn ChangeLog>,
    settings: FeedSettings,
    shared: Arc<Shared>,
}

impl fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Whether a watcher goes on.
enum Next {
    Continue,
    Stop,
}

impl ChangeFeed {
    /// A feed over `log`. Watchers only catch up until [`run_tail`]
    /// (Self::run_tail) runs.
    pub fn new(log: Arc<dyn ChangeLog>, settings: FeedSettings) -> Self {
        let shared = Shared {
            readers: Semaphore::new(settings.readers.max(1)),
            pages: Mutex::default(),
            live: broadcast::channel(LIVE_CAPACITY).0,
            tail_started: AtomicBool::new(false),
        };
        Self {
            log,
            settings,
            shared: Arc::new(shared),
        }
    }

    /// The position a watcher starting at `at` reads after. A position
    /// whose transaction has not begun yet is refused: the log never gave
    /// it out (a reader's positions are all of committed transactions), so
    /// it is a client's invention, and following it would wait for ever
    /// (the sequence part cannot do that: past a transaction's last
    /// change, the next transaction's changes follow).
    pub async fn start(&self, at: StartAt) -> Result<LogPosition, StartError> {
        match at {
            StartAt::Beginning => Ok(LogPosition::START),
            StartAt::Now => Ok(self.log.end().await?),
            StartAt::After(position) => {
                if position.transaction >= self.log.next_transaction().await? {
                    return Err(StartError::BeyondTheEnd { position });
                }
                Ok(position)
            }
        }
    }

    /// Sends every change after `after` into `sink`, in log order, then
    /// each new one as it commits, until `stop` is cancelled or the
    /// receiver is dropped. Each change waits for room in `sink`, so a
    /// slow watcher slows its own reading instead of making the server
    /// hold its changes. A storage failure while catching up is sent as
    /// the last item.
    pub async fn follow(
        &self,
        after: LogPosition,
        sink: mpsc::Sender<FeedItem>,
        stop: CancellationToken,
    ) {
        let mut position = after;
        let mut growth = self.log.growth();
        loop {
            growth.borrow_and_update();
            if let Next::Stop = self.catch_up(&mut position, &sink, &stop).await {
                return;
            }
            if self.shared.tail_started.load(Ordering::Acquire) {
                let live = self.shared.live.subscribe();
                if let Next::Stop = self.catch_up(&mut position, &sink, &stop).await {
                    return;
                }
                if let Next::Stop = self.follow_live(live, &mut position, &sink, &stop).await {
                    return;
                }
                // Fell behind the tail: catch up from where it is.
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = sink.closed() => return,
                _ = growth.changed() => {}
                () = tokio::time::sleep(self.settings.sweep_interval) => {}
            }
        }
    }

    /// Reads and sends pages after `position` until one is not full, each
    /// page under a catch-up slot held while it is read and sent: what
    /// replays cost the server (queries, and the time spent encoding and
    /// sending) stays that of a few watchers whatever their number. A
    /// watcher whose stream does not take a change within
    /// [`SEND_PATIENCE`] gives its slot up for the rest of the page, so
    /// watchers that read nothing cannot hold the slots.
    async fn catch_up(
        &self,
        position: &mut LogPosition,
        sink: &mpsc::Sender<FeedItem>,
        stop: &CancellationToken,
    ) -> Next {
        loop {
            let slot = tokio::select! {
                () = stop.cancelled() => return Next::Stop,
                () = sink.closed() => return Next::Stop,
                slot = self.shared.readers.acquire() => slot,
            };
            let mut slot = slot.ok();
            let page = tokio::select! {
                () = stop.cancelled() => return Next::Stop,
                () = sink.closed() => return Next::Stop,
                page = self.page_after(*position) => page,
            };
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    let _ = sink.send(Err(error.into())).await;
                    return Next::Stop;
                }
            };
            for change in page.iter() {
                let room = match sink.try_reserve() {
                    Ok(room) => room,
                    Err(mpsc::error::TrySendError::Closed(())) => return Next::Stop,
                    Err(mpsc::error::TrySendError::Full(())) => {
                        match tokio::time::timeout(SEND_PATIENCE, sink.reserve()).await {
                            Ok(Ok(room)) => room,
                            Ok(Err(_)) => return Next::Stop,
                            Err(_) => {
                                slot = None;
                                let room = tokio::select! {
                                    () = stop.cancelled() => return Next::Stop,
                                    room = sink.reserve() => room,
                                };
                                let Ok(room) = room else { return Next::Stop };
                                room
                            }
                        }
                    }
                };
                room.send(Ok(change.clone()));
                *position = change.position;
            }
            drop(slot);
            if page.len() < self.page_size() {
                return Next::Continue;
            }
        }
    }

    /// Sends what the tail broadcasts after `position`, until the watcher
    /// falls behind (`Continue`: catch up again) or goes away.
    async fn follow_live(
        &self,
        mut live: broadcast::Receiver<LoggedChange>,
        position: &mut LogPosition,
        sink: &mpsc::Sender<FeedItem>,
        stop: &CancellationToken,
    ) -> Next {
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return Next::Stop,
                () = sink.closed() => return Next::Stop,
                received = live.recv() => received,
            };
            match received {
                Ok(change) if change.position <= *position => {}
                Ok(change) => {
                    let at = change.position;
                    if let Next::Stop = send(sink, stop, change).await {
                        return Next::Stop;
                    }
                    *position = at;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    metrics::counter!("watch_feed_lagged_total").increment(1);
                    return Next::Continue;
                }
                Err(broadcast::error::RecvError::Closed) => return Next::Stop,
            }
        }
    }

    /// The page after `position`: from the cache, or read (and kept when
    /// full). The caller holds a catch-up slot.
    async fn page_after(&self, position: LogPosition) -> Result<Page, RepositoryError> {
        if let Some(page) = self.cached(position) {
            return Ok(page);
        }
        let page: Page = self
            .log
            .read_after(position, self.settings.page_size)
            .await?
            .into();
        if page.len() >= self.page_size() {
            self.keep(position, page.clone());
        }
        Ok(page)
    }

    fn page_size(&self) -> usize {
        usize::try_from(self.settings.page_size).unwrap_or(usize::MAX)
    }

    fn cached(&self, position: LogPosition) -> Option<Page> {
        self.pages().pages.get(&position).cloned()
    }

    fn keep(&self, position: LogPosition, page: Page) {
        let mut cache = self.pages();
        if cache.pages.insert(position, page).is_none() {
            cache.order.push_back(position);
        }
        while cache.order.len() > CACHED_PAGES {
            if let Some(oldest) = cache.order.pop_front() {
                cache.pages.remove(&oldest);
            }
        }
    }

    /// The cache stays consistent even if a holder panicked: it is never
    /// left half-updated across a call that can panic.
    fn pages(&self) -> std::sync::MutexGuard<'_, PageCache> {
        self.shared
            .pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live tail: from the log's end when it starts, reads each new
    /// change once and broadcasts it to the live watchers, until `stop`.
    /// A failed read is logged and tried again at the next sweep: live
    /// watchers wait meanwhile, missing nothing.
    pub async fn run_tail(self, stop: CancellationToken) {
        let mut growth = self.log.growth();
        let mut position = loop {
            match self.log.end().await {
                Ok(end) => break end,
                Err(error) => {
                    tracing::warn!(error = %shared_kernel::storage::chain(&error), "the change feed's tail cannot start; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(self.settings.sweep_interval) => continue,
                    }
                }
            }
        };
        self.shared.tail_started.store(true, Ordering::Release);
        loop {
            growth.borrow_and_update();
            match self.log.read_after(position, self.settings.page_size).await {
                Ok(page) => {
                    let full = page.len() >= self.page_size();
                    metrics::counter!("watch_feed_broadcast_total").increment(page.len() as u64);
                    for change in page {
                        position = change.position;
                        // No receiver is no error: nobody is live.
                        let _ = self.shared.live.send(change);
                    }
                    if full {
                        continue;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %shared_kernel::storage::chain(&error), "the change feed's tail cannot read; retrying");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                _ = growth.changed() => {}
                () = tokio::time::sleep(self.settings.sweep_interval) => {}
            }
        }
    }
}

/// Sends `change` once `sink` has room, unless the watcher goes away or
/// `stop` comes first.
async fn send(
    sink: &mpsc::Sender<FeedItem>,
    stop: &CancellationToken,
    change: LoggedChange,
) -> Next {
    let room = tokio::select! {
        () = stop.cancelled() => return Next::Stop,
        room = sink.reserve() => room,
    };
    match room {
        Ok(room) => {
            room.send(Ok(change));
            Next::Continue
        }
        Err(_) => Next::Stop,
    }
}

#[cfg(test)]
mod tests;
