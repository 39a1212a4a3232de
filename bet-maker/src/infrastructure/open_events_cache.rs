//! `GET /events`, and the event a bet is decided on, without a query per
//! request: the open events, held in memory and dropped whenever the line
//! changes.
//!
//! Any replica's consumer may apply a change, so the signal comes from the
//! database: a trigger on `events` sends `NOTIFY line_changed` at commit,
//! and every replica listens. A lost notification (while reconnecting) is
//! covered by a short time-to-live. Time passing closes events too: the
//! deadline is checked on every read, against the clock of the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::PgPool;
use shared_kernel::pagination::PageRequest;
use shared_kernel::postgres::listen;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::application::ports::{ApplyOutcome, LineRepository, RepositoryError};
use crate::domain::{Announced, LineEvent};

/// The `NOTIFY` channel of the trigger on `events`.
const CHANNEL: &str = "line_changed";

/// How long a loaded list is trusted without hearing of a change.
const TIME_TO_LIVE: Duration = Duration::from_secs(5);

/// The events that were NEW when loaded, in id order.
#[derive(Debug)]
struct Loaded {
    events: Vec<LineEvent>,
    loaded_at: Instant,
    /// Which load of this cache it is (`open_events_version`).
    version: u64,
}

/// A [`LineRepository`] that answers `list_open` from memory and passes
/// everything else through to the one it wraps.
pub struct OpenEventsCache {
    inner: Arc<dyn LineRepository>,
    loaded: RwLock<Option<Arc<Loaded>>>,
    /// Bumped by every invalidation: a load that started before one is
    /// served once but not kept.
    generation: AtomicU64,
    /// One load at a time; the others wait for it and share it.
    loading: tokio::sync::Mutex<()>,
    /// Loads so far: each list loaded is told apart by its number.
    loads: AtomicU64,
}

impl std::fmt::Debug for OpenEventsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenEventsCache").finish_non_exhaustive()
    }
}

impl OpenEventsCache {
    /// A cache in front of `inner`.
    pub fn new(inner: Arc<dyn LineRepository>) -> Self {
        Self {
            inner,
            loaded: RwLock::new(None),
            generation: AtomicU64::new(0),
            loading: tokio::sync::Mutex::new(()),
            loads: AtomicU64::new(0),
        }
    }

    /// Forgets the list; the next read loads it again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut loaded) = self.loaded.write() {
            *loaded = None;
        }
    }

    /// This replica's own change need not wait for the notification.
    fn invalidate_after(&self, outcome: &ApplyOutcome) {
        if matches!(outcome, ApplyOutcome::Applied { .. }) {
            self.invalidate();
        }
    }

    /// The list as loaded, however old (none after an invalidation).
    fn held(&self) -> Option<Arc<Loaded>> {
        self.loaded.read().ok()?.clone()
    }

    fn fresh(&self) -> Option<Arc<Loaded>> {
        self.held()
            .filter(|loaded| loaded.loaded_at.elapsed() < TIME_TO_LIVE)
    }

    async fn current(&self, now: DateTime<Utc>) -> Result<Arc<Loaded>, RepositoryError> {
        if let Some(loaded) = self.fresh() {
            return Ok(loaded);
        }
        let _loading = self.loading.lock().await;
        if let Some(loaded) = self.fresh() {
            return Ok(loaded);
        }
        self.load(now).await
    }

    /// Loads the list; the caller holds `loading`.
    async fn load(&self, now: DateTime<Utc>) -> Result<Arc<Loaded>, RepositoryError> {
        // Read before the query: a change committed during the load bumps
        // the generation, and the load is then not kept.
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded_at = Instant::now();
        let all = PageRequest {
            limit: u32::MAX - 1,
            after: None,
        };
        let events = self.inner.list_open(now, all).await?;
        let version = self.loads.fetch_add(1, Ordering::SeqCst) + 1;
        let loaded = Arc::new(Loaded {
            events,
            loaded_at,
            version,
        });
        if let Ok(mut slot) = self.loaded.write()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            *slot = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// The list to decide a bet on, without waiting for a load: a fresh
    /// one; else this request reloads it if no other is; else whatever is
    /// held, however old (a bet is written only at the version it was
    /// decided on, so an old list costs a retry, never a wrong bet).
    async fn for_a_bet(&self, now: DateTime<Utc>) -> Result<Option<Arc<Loaded>>, RepositoryError> {
        if let Some(loaded) = self.fresh() {
            return Ok(Some(loaded));
        }
        match self.loading.try_lock() {
            Ok(_loading) => match self.fresh() {
                Some(loaded) => Ok(Some(loaded)),
                None => self.load(now).await.map(Some),
            },
            Err(_) => Ok(self.held()),
        }
    }

    /// Invalidates the cache whenever any replica changes the line, until
    /// `stop`. Runs for the life of the service.
    pub async fn listen_for_changes(self: Arc<Self>, pool: PgPool, stop: CancellationToken) {
        listen(pool, CHANNEL, stop, || self.invalidate()).await;
    }
}

#[async_trait]
impl LineRepository for OpenEventsCache {
    async fn apply_message(
        &self,
        message_id: Uuid,
        change: &Announced,
    ) -> Result<ApplyOutcome, RepositoryError> {
        let outcome = self.inner.apply_message(message_id, change).await?;
        self.invalidate_after(&outcome);
        Ok(outcome)
    }

    async fn apply_snapshot(&self, event: &LineEvent) -> Result<ApplyOutcome, RepositoryError> {
        let outcome = self.inner.apply_snapshot(event).await?;
        self.invalidate_after(&outcome);
        Ok(outcome)
    }

    async fn event(&self, id: Uuid) -> Result<Option<LineEvent>, RepositoryError> {
        self.inner.event(id).await
    }

    /// An open event from memory; any other, or any while another
    /// request loads the list after a change, from the database (one row
    /// by its key, rather than waiting for the whole list).
    async fn recent_event(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<LineEvent>, RepositoryError> {
        if let Some(loaded) = self.for_a_bet(now).await?
            && let Ok(at) = loaded.events.binary_search_by_key(&id, |event| event.id)
        {
            return Ok(loaded.events.get(at).cloned());
        }
        self.inner.event(id).await
    }

    /// The number of the list held, while it is fresh.
    fn open_events_version(&self) -> Option<u64> {
        self.fresh().map(|loaded| loaded.version)
    }

    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError> {
        let loaded = self.current(now).await?;
        let events = &loaded.events;
        let start = match page.after {
            Some(after) => events.partition_point(|event| event.id <= after),
            None => 0,
        };
        Ok(events[start..]
            .iter()
            .filter(|event| event.is_listed_at(now))
            .take(page.limit as usize + 1)
            .cloned()
            .collect())
    }
}
