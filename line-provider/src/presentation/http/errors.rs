//! Use-case errors as problem documents. Database details go to the log,
//! with every cause, and never to the client.

use shared_kernel::http::{FieldError, Problem};
use shared_kernel::storage::chain;

use crate::application::EventError;
use crate::domain::{DomainError, InvalidFields};

impl From<EventError> for Problem {
    fn from(error: EventError) -> Self {
        match error {
            EventError::NotFound(_) => Problem::not_found(error.to_string()),
            EventError::Rule(DomainError::Invalid(fields)) => {
                Problem::validation(field_errors_of(fields))
            }
            EventError::Rule(rule @ DomainError::AlreadyFinished(_)) => {
                Problem::conflict("event-finished", rule.to_string())
            }
            EventError::Rule(rule @ DomainError::ConflictingResult(_)) => {
                Problem::conflict("conflicting-result", rule.to_string())
            }
            EventError::Rule(rule @ DomainError::DeadlinePassed(_)) => {
                Problem::conflict("deadline-passed", rule.to_string())
            }
            EventError::Rule(rule @ DomainError::NotFinal(_)) => {
                Problem::conflict("event-not-final", rule.to_string())
            }
            EventError::Rule(rule @ DomainError::NothingToCorrect(_)) => {
                Problem::conflict("nothing-to-correct", rule.to_string())
            }
            EventError::VersionMismatch { .. } => Problem::precondition_failed(error.to_string()),
            error if error.is_unavailable() => {
                tracing::warn!(error = %chain(&error), "request failed: database unavailable");
                Problem::unavailable("the database is unavailable; try again shortly")
            }
            error @ EventError::Storage(_) => {
                tracing::error!(error = %chain(&error), "request failed");
                Problem::internal()
            }
        }
    }
}

/// Each field the domain refused, named as the client wrote it.
fn field_errors_of(fields: InvalidFields) -> Vec<FieldError> {
    let coefficient = fields
        .coefficient
        .map(|error| FieldError::new("coefficient", error));
    let deadline = fields
        .deadline
        .map(|error| FieldError::new("deadline", error));
    coefficient.into_iter().chain(deadline).collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbErr, RuntimeErr};
    use shared_kernel::storage::storage;

    use super::*;
    use crate::application::ports::RepositoryError;

    #[test]
    fn the_logged_chain_names_the_operation_and_keeps_the_driver_s_error() {
        let lost = DbErr::Conn(RuntimeErr::Internal("connection refused".to_owned()));
        let error = EventError::from(RepositoryError::from(storage(
            "inserting the outbox row for event 1",
        )(lost)));

        assert!(error.is_unavailable());
        assert_eq!(
            chain(&error),
            "inserting the outbox row for event 1: the database is unavailable: \
             Connection Error: connection refused"
        );
    }

    #[test]
    fn every_refused_field_is_listed() {
        let fields = InvalidFields {
            coefficient: Some(crate::domain::CoefficientError::TooLarge),
            deadline: Some(crate::domain::DeadlineError::NotInFuture),
        };

        let problem = Problem::from(EventError::Rule(DomainError::Invalid(fields)));

        assert_eq!(
            problem.errors,
            [
                FieldError::new("coefficient", "must be at most 1000.00"),
                FieldError::new("deadline", "must be in the future"),
            ]
        );
    }
}
