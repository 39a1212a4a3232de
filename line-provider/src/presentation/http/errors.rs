//! Use-case errors as problem documents.

use shared_kernel::http::{FieldError, Problem};

use crate::application::EventError;
use crate::domain::DomainError;

impl From<EventError> for Problem {
    fn from(error: EventError) -> Self {
        match error {
            EventError::NotFound(_) => Problem::not_found(error.to_string()),
            EventError::Rule(DomainError::Deadline(rule)) => {
                Problem::validation(vec![FieldError::new("deadline", rule)])
            }
            EventError::Rule(rule @ DomainError::AlreadyFinished(_)) => {
                Problem::conflict("event-finished", rule.to_string())
            }
            EventError::Rule(rule @ DomainError::ConflictingResult(_)) => {
                Problem::conflict("conflicting-result", rule.to_string())
            }
            EventError::VersionMismatch { .. } => Problem::precondition_failed(error.to_string()),
            EventError::Unavailable(reason) => {
                tracing::warn!(%reason, "request failed: database unavailable");
                Problem::unavailable("the database is unavailable; try again shortly")
            }
            EventError::Failed(reason) => {
                tracing::error!(%reason, "request failed");
                Problem::internal()
            }
        }
    }
}
