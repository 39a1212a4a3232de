//! The reader of the feed and its fan-out: one reader per replica, however
//! many subscribers, so the database's work does not grow with them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::subscription::Subscription;
use super::{ChangeLog, FeedChange, FeedKey, Topic};
use crate::application::ports::RepositoryError;
use crate::domain::BettorId;

/// Changes read at once.
pub(super) const PAGE: u32 = 512;

/// The least time between two reads: under a burst of changes (bets being
/// placed by the thousand) the reader takes them in batches rather than
/// one query per commit.
const MIN_READ_INTERVAL: Duration = Duration::from_millis(5);

/// How often to look without being woken: changes to bets and wallets
/// are found this way (a `NOTIFY` per bet would serialize their commits),
/// changes to the line at once (woken by its notification).
const POLL: Duration = Duration::from_millis(20);

/// How long to wait after the database failed a read.
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(500);

/// Changes held for one bettor's subscribers at most: a bettor whose
/// stream falls further behind is told to reset.
const BETTOR_BUFFER: usize = 128;

/// How the feed is bounded.
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Changes of the line held for subscribers that have not yet sent
    /// them; one further behind is told to reset and is dropped.
    pub line_buffer: usize,
    /// How long changes stay readable for subscribers that come back.
    pub retention: Duration,
    /// How often every subscriber is sent a keep-alive.
    pub keep_alive: Duration,
}

/// What the fan-out carries: a change, or the keep-alive beat every
/// subscriber gets at once (one timer for the replica, not one per
/// subscriber).
#[derive(Debug, Clone)]
pub(super) enum Fanned {
    Change(Arc<FeedChange>),
    KeepAlive,
}

type Sender = broadcast::Sender<Fanned>;

/// The live feed of one replica.
#[derive(Clone)]
pub struct LiveFeed {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) log: Arc<dyn ChangeLog>,
    /// `None` once the reader stopped (the feed is closed): dropping the
    /// senders ends every subscription (no subscriber waits on anything
    /// else).
    line: Mutex<Option<Sender>>,
    bettors: Mutex<HashMap<BettorId, Sender>>,
    wake: Notify,
    settings: FeedSettings,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl LiveFeed {
    /// A feed reading `log`; nothing is read until [`run`](Self::run).
    pub fn new(log: Arc<dyn ChangeLog>, settings: FeedSettings) -> Self {
        let (line, _) = broadcast::channel(settings.line_buffer.max(1));
        Self {
            inner: Arc::new(Inner {
                log,
                line: Mutex::new(Some(line)),
                bettors: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                settings,
            }),
        }
    }

    /// Something was written to the feed: read it now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether the feed has stopped (its subscriptions have ended).
    pub fn is_closed(&self) -> bool {
        self.inner.line().is_none()
    }

    /// Follows `topic` live; with `resume`, the position of the last change
    /// the subscriber saw, every change of `topic` since comes first (or a
    /// reset, when that change is no longer kept).
    pub async fn subscribe(
        &self,
        topic: Topic,
        resume: Option<i64>,
    ) -> Result<Subscription, RepositoryError> {
        Subscription::start(Arc::clone(&self.inner), topic, resume).await
    }

    /// Reads the feed and fans it out until `stop`; then ends every
    /// subscription.
    pub async fn run(self, stop: CancellationToken) {
        let inner = &self.inner;
        let mut reader = Reader {
            inner,
            cursor: None,
            checkpoints: VecDeque::new(),
            last_checkpoint: Instant::now(),
            forgetting: None,
        };
        let mut last_beat = Instant::now();
        loop {
            let next = reader.read_available().await;
            reader.forget_expired();
            if last_beat.elapsed() >= inner.settings.keep_alive {
                last_beat = Instant::now();
                inner.beat();
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = inner.wake.notified(), if next == Next::WhenWoken => {}
                () = tokio::time::sleep(next.wait()) => {}
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(MIN_READ_INTERVAL) => {}
            }
        }
        if let Some(forgetting) = reader.forgetting.take() {
            forgetting.abort();
        }
        inner.close();
    }
}

impl Inner {
    fn bettors(&self) -> MutexGuard<'_, HashMap<BettorId, Sender>> {
        self.bettors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn line(&self) -> MutexGuard<'_, Option<Sender>> {
        self.line.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of `topic`'s changes from the next one read on; once the
    /// feed is closed, one that is closed too.
    pub(super) fn receiver(&self, topic: &Topic) -> broadcast::Receiver<Fanned> {
        // The line's lock is held to the end, so that `close` cannot clear
        // the bettors between the check and the insert.
        let line = self.line();
        let Some(line) = line.as_ref() else {
            return broadcast::channel(1).1;
        };
        match topic {
            Topic::Line => line.subscribe(),
            Topic::Bettor(bettor) => self
                .bettors()
                .entry(bettor.clone())
                .or_insert_with(|| broadcast::channel(BETTOR_BUFFER).0)
                .subscribe(),
        }
    }

    /// Sends every subscriber a keep-alive.
    fn beat(&self) {
        if let Some(line) = self.line().as_ref() {
            let _ = line.send(Fanned::KeepAlive);
        }
        for sender in self.bettors().values() {
            let _ = sender.send(Fanned::KeepAlive);
        }
    }

    /// Ends every subscription: their channels close.
    fn close(&self) {
        self.line().take();
        self.bettors().clear();
    }

    /// Whether someone follows `bettor` on this replica.
    fn follows(&self, bettor: &BettorId) -> bool {
        self.bettors().contains_key(bettor)
    }

    /// Forgets the bettors nobody follows any more.
    fn forget_unfollowed(&self) {
        self.bettors()
            .retain(|_, sender| sender.receiver_count() > 0);
    }

    fn dispatch(&self, change: FeedChange) {
        let change = Arc::new(change);
        // No receiver is not a failure: nobody follows the topic now.
        match &change.topic {
            Topic::Line => {
                if let Some(line) = self.line().as_ref() {
                    let _ = line.send(Fanned::Change(change));
                }
            }
            Topic::Bettor(bettor) => {
                if let Some(sender) = self.bettors().get(bettor) {
                    let _ = sender.send(Fanned::Change(change));
                }
            }
        }
    }
}

/// When the reader should look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// When woken, or at the next poll.
    WhenWoken,
    /// Shortly, without waiting to be woken.
    After(Duration),
}

impl Next {
    fn wait(self) -> Duration {
        match self {
            Self::WhenWoken => POLL,
            Self::After(wait) => wait,
        }
    }
}

/// The reader's state: where it is, and the keys it passed when, so that
/// what is older than the retention can be forgotten.
struct Reader<'a> {
    inner: &'a Inner,
    /// `None` until the horizon could be read.
    cursor: Option<FeedKey>,
    /// (when, where the reader was then), oldest first.
    checkpoints: VecDeque<(Instant, FeedKey)>,
    last_checkpoint: Instant,
    /// The deletion of expired changes, run beside the reads (a burst of
    /// them takes seconds, and would hold the streams up).
    forgetting: Option<tokio::task::JoinHandle<()>>,
}

impl Reader<'_> {
    /// Reads and fans out everything that can be read now.
    async fn read_available(&mut self) -> Next {
        let log = &self.inner.log;
        let mut cursor = match self.cursor {
            Some(cursor) => cursor,
            None => match log.horizon().await {
                Ok(horizon) => horizon,
                Err(error) => return Self::failed(&error),
            },
        };
        self.cursor = Some(cursor);
        self.inner.forget_unfollowed();
        let followed = |bettor: &BettorId| self.inner.follows(bettor);
        loop {
            let changes = match log.read_all(cursor, &followed, PAGE).await {
                Ok(changes) => changes,
                Err(error) => return Self::failed(&error),
            };
            let complete = changes.len() < PAGE as usize;
            for change in changes {
                cursor = change.key;
                self.inner.dispatch(change);
            }
            self.cursor = Some(cursor);
            if complete {
                return Next::WhenWoken;
            }
        }
    }

    fn failed(error: &RepositoryError) -> Next {
        tracing::warn!(error = %shared_kernel::storage::chain(error), "reading the change feed failed; retrying");
        Next::After(RETRY_AFTER_ERROR)
    }

    /// Notes where the reader is every quarter of the retention, and
    /// forgets what it had read by a note older than the retention: every
    /// change forgotten is at least that old, and what is kept always runs
    /// to the end, so a subscriber that resumes from a kept change misses
    /// nothing.
    fn forget_expired(&mut self) {
        let retention = self.inner.settings.retention;
        let Some(cursor) = self.cursor else { return };
        if self.last_checkpoint.elapsed() >= retention / 4 {
            self.last_checkpoint = Instant::now();
            self.checkpoints.push_back((self.last_checkpoint, cursor));
        }
        if self
            .forgetting
            .as_ref()
            .is_some_and(|forgetting| !forgetting.is_finished())
        {
            // The previous deletion still runs: what expired meanwhile goes
            // with the next one.
            return;
        }
        let mut expired = None;
        while let Some(&(noted, key)) = self.checkpoints.front()
            && noted.elapsed() >= retention
        {
            expired = Some(key);
            self.checkpoints.pop_front();
        }
        let Some(through) = expired else { return };
        let log = Arc::clone(&self.inner.log);
        self.forgetting = Some(tokio::spawn(async move {
            match log.forget_through(through).await {
                Ok(forgotten) => tracing::debug!(forgotten, "forgot changes past the retention"),
                Err(error) => tracing::warn!(error = %shared_kernel::storage::chain(&error),
                    "forgetting old changes failed; the next expiry takes them"),
            }
        }));
    }
}
