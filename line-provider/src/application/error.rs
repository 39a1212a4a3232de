//! Why a use case on events failed.

use shared_kernel::storage::StorageError;
use uuid::Uuid;

use super::ports::RepositoryError;
use crate::domain::DomainError;

/// Why a use case failed. Each variant says which HTTP status the
/// presentation layer makes of it.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No event with this id (404).
    #[error("no event with id {0}")]
    NotFound(Uuid),
    /// The change breaks a rule of the line (409 or 422, by rule).
    #[error(transparent)]
    Rule(#[from] DomainError),
    /// `If-Match` named another version than the current one (412).
    #[error("the event is at version {current}, not the one given in If-Match")]
    VersionMismatch {
        /// The version the event is at.
        current: i64,
    },
    /// Storage failed: 503 when the database is unavailable, 500 otherwise.
    /// The cause names the operation and keeps the driver's error.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

impl From<StorageError> for EventError {
    fn from(error: StorageError) -> Self {
        Self::Storage(error.into())
    }
}

impl EventError {
    /// Whether the request failed because the database is unreachable, so
    /// that the client may retry shortly.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Storage(error) if error.is_unavailable())
    }
}
