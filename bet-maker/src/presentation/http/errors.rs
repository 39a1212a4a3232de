//! Use-case errors as problem documents. Database details are logged, with
//! every cause, and never sent to the client.

use shared_kernel::http::{FieldError, Problem};
use shared_kernel::storage::chain;

use super::idempotency_key::HEADER as IDEMPOTENCY_KEY;
use crate::application::ports::RepositoryError;
use crate::application::{BetError, LineError};

/// What a client is told while the database is unreachable.
pub const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

impl From<BetError> for Problem {
    fn from(error: BetError) -> Self {
        match error {
            BetError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            BetError::UnknownEvent(_) | BetError::NotFound(_) => {
                Problem::not_found(error.to_string())
            }
            BetError::Refused(_) => Problem::conflict("event-closed", error.to_string()),
            BetError::KeyReused => {
                Problem::validation(vec![FieldError::new(IDEMPOTENCY_KEY, error.to_string())])
            }
            BetError::Storage(storage) => storage_problem(&storage),
        }
    }
}

impl From<LineError> for Problem {
    fn from(error: LineError) -> Self {
        match error {
            LineError::Storage(storage) => storage_problem(&storage),
            LineError::LineProvider(_) => {
                tracing::error!(error = %chain(&error), "request failed");
                Problem::internal()
            }
        }
    }
}

/// 503 while the database is unreachable (worth retrying), else 500; the
/// log line names the operation and every cause.
fn storage_problem(error: &RepositoryError) -> Problem {
    if error.is_unavailable() {
        tracing::warn!(error = %chain(error), "request failed: database unavailable");
        Problem::unavailable(UNAVAILABLE)
    } else {
        tracing::error!(error = %chain(error), "request failed");
        Problem::internal()
    }
}
