//! What the use cases need from the outside world.

use async_trait::async_trait;
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::StorageError;
use uuid::Uuid;

use crate::domain::{Event, EventChanged, EventStatus};

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Someone else changed the event since it was read (optimistic lock):
    /// read it again and decide again.
    #[error("the event changed concurrently")]
    VersionConflict,
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

    /// Stores a change and its announcement, provided the stored event is
    /// still at the version before the change; `VersionConflict` otherwise,
    /// and then nothing is written.
    async fn update(&self, change: &EventChanged) -> Result<(), RepositoryError>;
}

/// The current time: the same port in both services.
pub use shared_kernel::clock::{Clock, SystemClock};
