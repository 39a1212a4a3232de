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
    /// Coefficient and deadline are fixed once the result is set.
    #[error("the event is finished ({0}) and can no longer change")]
    AlreadyFinished(EventStatus),
    /// The other result was set already; a result never changes.
    #[error("the event already finished as {0}")]
    ConflictingResult(EventStatus),
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
