//! The rules of the line a command can break.

use std::fmt;

use super::{CoefficientError, DeadlineError, EventStatus};

/// A rule of the line that a command would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields break their rules; each is named, so a client
    /// fixes them all in one go.
    #[error("{0}")]
    Invalid(InvalidFields),
    /// Coefficient and deadline are fixed once the status is final (a
    /// result, or the cancellation).
    #[error("the event is {} ({}) and can no longer change", .0.ended_as(), .0)]
    AlreadyFinished(EventStatus),
    /// Another final status was set already; a final status never changes.
    #[error("{}", already_final(.0))]
    ConflictingResult(EventStatus),
}

/// "the event already finished as FINISHED_WIN", or that it was cancelled.
fn already_final(status: &EventStatus) -> String {
    match status {
        EventStatus::Cancelled => format!("the event was already cancelled ({status})"),
        _ => format!("the event already {} as {status}", status.ended_as()),
    }
}

/// Every field of a command that breaks its rule; `None` where the field
/// is fine or absent. Never empty when it is returned as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvalidFields {
    /// Why the coefficient is not one.
    pub coefficient: Option<CoefficientError>,
    /// Why the deadline cannot be set.
    pub deadline: Option<DeadlineError>,
}

impl fmt::Display for InvalidFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let coefficient = self.coefficient.map(|e| format!("the coefficient {e}"));
        let deadline = self.deadline.map(|e| format!("the deadline {e}"));
        let reasons: Vec<String> = coefficient.into_iter().chain(deadline).collect();
        f.write_str(&reasons.join("; "))
    }
}
