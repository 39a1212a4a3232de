//! A database operation that failed: which operation, whether it is worth
//! retrying, and the driver's error as its cause.
//!
//! Both services' repositories return this (inside their own port error
//! enums), so a log line tells where it failed ("inserting the outbox row"),
//! not only what the driver said, and callers tell an outage (503, retry
//! later) from a fault (500) by a typed flag instead of by reading messages.

use std::borrow::Cow;
use std::error::Error;

use sea_orm::DbErr;

/// Whether a failed operation is worth retrying later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFailure {
    /// The database cannot be reached right now (connection refused or
    /// lost, pool exhausted, server shutting down): retry later, answer 503.
    Unavailable,
    /// Anything else: a bug, or data that breaks an invariant (500).
    Failed,
}

/// A database operation that failed, with the operation's name and the
/// underlying error as its `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {}", match .failure {
    StorageFailure::Unavailable => "the database is unavailable",
    StorageFailure::Failed => "the database operation failed",
})]
pub struct StorageError {
    operation: Cow<'static, str>,
    failure: StorageFailure,
    #[source]
    source: Box<dyn Error + Send + Sync>,
}

impl StorageError {
    /// `operation` failed with `source`; `failure` says whether to retry.
    pub fn new(
        operation: impl Into<Cow<'static, str>>,
        failure: StorageFailure,
        source: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Self {
        Self {
            operation: operation.into(),
            failure,
            source: source.into(),
        }
    }

    /// `operation` found data that breaks an invariant (a row the code
    /// cannot read back): never worth retrying.
    pub fn corrupt(operation: impl Into<Cow<'static, str>>, what: impl Into<String>) -> Self {
        Self::new(operation, StorageFailure::Failed, what.into())
    }

    /// What was being done ("inserting the outbox row").
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Whether the database was unreachable (worth retrying later).
    pub fn is_unavailable(&self) -> bool {
        self.failure == StorageFailure::Unavailable
    }

    /// Retrying or not.
    pub fn failure(&self) -> StorageFailure {
        self.failure
    }
}

/// Classifies a SeaORM error from `operation`: `.map_err(storage("inserting the bet"))`.
pub fn storage(operation: impl Into<Cow<'static, str>>) -> impl FnOnce(DbErr) -> StorageError {
    let operation = operation.into();
    move |error| {
        let failure = if crate::postgres::is_unavailable(&error) {
            StorageFailure::Unavailable
        } else {
            StorageFailure::Failed
        };
        StorageError::new(operation, failure, error)
    }
}

/// The same for an sqlx error (code that talks to sqlx directly).
pub fn sqlx_storage(
    operation: impl Into<Cow<'static, str>>,
) -> impl FnOnce(sea_orm::sqlx::Error) -> StorageError {
    let operation = operation.into();
    move |error| {
        let failure = if crate::postgres::sqlx_unavailable(&error) {
            StorageFailure::Unavailable
        } else {
            StorageFailure::Failed
        };
        StorageError::new(operation, failure, error)
    }
}

/// An error and every cause under it, `: `-separated, for one log field:
/// `tracing::error!(error = %chain(&error), ...)`. A cause whose text its
/// parent already printed (many driver errors both show and return their
/// inner error) is not repeated.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let next_text = next.to_string();
        if !text.ends_with(&next_text) {
            text.push_str(": ");
            text.push_str(&next_text);
        }
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_unavailable_and_keeps_its_cause() {
        let error = storage("inserting the bet")(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "connection refused".to_owned(),
        )));
        assert!(error.is_unavailable());
        assert_eq!(error.operation(), "inserting the bet");
        assert_eq!(
            chain(&error),
            "inserting the bet: the database is unavailable: Connection Error: connection refused"
        );
    }

    #[test]
    fn other_errors_are_failures() {
        let error = storage("reading the bet")(DbErr::Custom("boom".to_owned()));
        assert!(!error.is_unavailable());
        assert!(error.source().is_some());
        let corrupt = StorageError::corrupt("reading event 1", "unknown status X");
        assert_eq!(corrupt.failure(), StorageFailure::Failed);
        assert_eq!(
            chain(&corrupt),
            "reading event 1: the database operation failed: unknown status X"
        );
    }
}
