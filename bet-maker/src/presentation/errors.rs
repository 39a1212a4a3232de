//! Use-case errors as problem documents.

use shared_kernel::http::{FieldError, Problem};

use crate::application::{BetError, LineError};

impl From<BetError> for Problem {
    fn from(error: BetError) -> Self {
        match error {
            BetError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            BetError::UnknownEvent(_) | BetError::NotFound(_) => {
                Problem::not_found(error.to_string())
            }
            BetError::Closed(_) => Problem::conflict("event-closed", error.to_string()),
            BetError::KeyReused => {
                Problem::validation(vec![FieldError::new("Idempotency-Key", error.to_string())])
            }
            BetError::Unavailable(reason) => unavailable(&reason),
            BetError::Failed(reason) => internal(&reason),
        }
    }
}

impl From<LineError> for Problem {
    fn from(error: LineError) -> Self {
        match error {
            LineError::Unavailable(reason) => unavailable(&reason),
            LineError::Failed(reason) | LineError::Upstream(reason) => internal(&reason),
        }
    }
}

fn unavailable(reason: &str) -> Problem {
    tracing::warn!(%reason, "request failed: database unavailable");
    Problem::unavailable("the database is unavailable; try again shortly")
}

fn internal(reason: &str) -> Problem {
    tracing::error!(%reason, "request failed");
    Problem::internal()
}
