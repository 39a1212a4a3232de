//! The rules of the line a command can break.

use std::fmt;

use chrono::SecondsFormat;

use super::{CoefficientError, Deadline, DeadlineError, EventStatus};

/// A rule of the line that a command would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields break their rules; each is named, so a client
    /// fixes them all in one go.
    #[error("{0}")]
    Invalid(InvalidFields),
    /// Coefficient, deadline and suspension are fixed once the status is
    /// final (a result, or the cancellation).
    #[error("the event is {} ({}) and can no longer change", .0.ended_as(), .0)]
    AlreadyFinished(EventStatus),
    /// Another final status was set already; a final status changes only
    /// by a correction.
    #[error("{}", already_final(.0))]
    ConflictingResult(EventStatus),
    /// The deadline has passed (it is at or before now): betting has
    /// closed, and moving the deadline would re-open a closed event.
    #[error(
        "the deadline {} has passed: betting on the event has closed, and its deadline can no longer be moved",
        .0.at().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )]
    DeadlinePassed(Deadline),
    /// A correction replaces a final status; the event has none yet.
    #[error(
        "the event is {} ({}): only a final status (FINISHED_WIN, FINISHED_LOSE or CANCELLED) can be corrected",
        .0.ended_as(), .0
    )]
    NotFinal(EventStatus),
    /// A correction to the status the event already has.
    #[error(
        "the event is already {0}: there is nothing to correct; a correction names another final status"
    )]
    NothingToCorrect(EventStatus),
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
