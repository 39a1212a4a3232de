//! What the use cases need from the outside world.

use async_trait::async_trait;
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::StorageError;
use uuid::Uuid;

use super::EventError;
use crate::domain::{Decision, Event, EventChanged, EventStatus};

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The database failed; the error names the operation, says whether
    /// it was unreachable, and keeps the driver's error as its cause.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl RepositoryError {
    /// Whether the database was unreachable (worth retrying later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Storage(error) if error.is_unavailable())
    }
}

/// Stores events. Every write stores the change *and* the message
/// announcing it in one transaction: both happen, or neither.
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// The event with this id, if any.
    async fn get(&self, id: Uuid) -> Result<Option<Event>, RepositoryError>;

    /// Up to `page.limit + 1` events after `page.after`, oldest first (the
    /// extra one tells whether there is a next page).
    async fn list(
        &self,
        status: Option<EventStatus>,
        page: PageRequest,
    ) -> Result<Vec<Event>, RepositoryError>;

    /// Stores a created event and its announcement.
    async fn insert(&self, change: &EventChanged) -> Result<(), RepositoryError>;

    /// Changes one event: locks it, hands it to `decide` at its current
    /// version, and stores the change `decide` returns together with its
    /// announcement, all in one transaction. Changes to one event take
    /// turns (the lock is held from the read to the commit), so a decision
    /// is never made on a version another writer is replacing, and
    /// concurrent changes wait for each other instead of failing.
    ///
    /// Errors: [`EventError::NotFound`] when there is no such event, the
    /// error `decide` returned as it is (nothing is written then), and
    /// [`EventError::Storage`] when the database fails.
    async fn change(&self, id: Uuid, decide: Decide<'_>) -> Result<Decision, EventError>;
}

/// What [`EventRepository::change`] asks of the caller: given the locked
/// event, the change to make (or that none is needed), or why not.
pub type Decide<'a> = Box<dyn FnOnce(Event) -> Result<Decision, EventError> + Send + 'a>;

/// The current time: the same port in both services.
pub use shared_kernel::clock::{Clock, SystemClock};

/// The line's change log: every change ever committed, in an order that
/// never lets a later commit slip in below a position already read.
///
/// Errors: [`RepositoryError`] when the database fails (or holds a row
/// this code cannot read, reported as corrupt).
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// Up to `limit` changes after `after`, in log order. Only changes no
    /// commit still to come can precede are returned, so a reader that
    /// goes on from the last position it read misses nothing.
    async fn read_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedChange>, RepositoryError>;

    /// Where the log ends now: every change committed from now on comes
    /// after this position (a few committed just before may too).
    async fn end(&self) -> Result<LogPosition, RepositoryError>;

    /// The id the next transaction to begin will get: no change is in it
    /// or after it yet, so no position from there on was ever given out.
    async fn next_transaction(&self) -> Result<u64, RepositoryError>;

    /// A signal marked changed whenever the log may have grown. It may
    /// miss growth (a notification lost while reconnecting): readers also
    /// look again periodically.
    fn growth(&self) -> tokio::sync::watch::Receiver<()>;
}

pub use super::changes::{LogPosition, LoggedChange};
