//! Use-case errors as gRPC statuses. Database details go to the log, with
//! every cause, and never to the client.

use shared_kernel::storage::chain;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

use crate::application::{EventError, StartError};
use crate::domain::{DomainError, InvalidFields};

/// `INVALID_ARGUMENT` naming every bad field in a `google.rpc.BadRequest`.
pub fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    let summary = violations
        .iter()
        .map(|violation| format!("{} {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(
        Code::InvalidArgument,
        summary,
        ErrorDetails::with_bad_request(violations),
    )
}

/// The status of a use case's refusal:
///
/// - an invalid field: `INVALID_ARGUMENT`, with the field violations;
/// - no such event: `NOT_FOUND`;
/// - `expected_version` is not the current one: `ABORTED`. gRPC's status
///   guide gives ABORTED to a failed test-and-set, "the client should retry
///   at a higher level" (read the event again, decide again); it keeps
///   FAILED_PRECONDITION for what retrying cannot fix until the system's
///   state changes, which is the case below;
/// - a change to a finished or cancelled event, another final status, a
///   deadline moved after it passed, a correction of an event without a
///   final status or to the status it has: `FAILED_PRECONDITION` (REST's
///   409);
/// - the database unreachable: `UNAVAILABLE` (retry shortly); any other
///   storage failure `INTERNAL`.
pub fn status_of(error: EventError) -> Status {
    match error {
        EventError::NotFound(_) => Status::not_found(error.to_string()),
        EventError::Rule(DomainError::Invalid(fields)) => invalid_argument(violations_of(fields)),
        EventError::Rule(
            rule @ (DomainError::AlreadyFinished(_)
            | DomainError::ConflictingResult(_)
            | DomainError::DeadlinePassed(_)
            | DomainError::NotFinal(_)
            | DomainError::NothingToCorrect(_)),
        ) => Status::failed_precondition(rule.to_string()),
        EventError::VersionMismatch { current } => Status::aborted(format!(
            "the event is at version {current}, not the expected_version given"
        )),
        error if error.is_unavailable() => {
            tracing::warn!(error = %chain(&error), "gRPC call failed: database unavailable");
            Status::unavailable("the database is unavailable; try again shortly")
        }
        error @ EventError::Storage(_) => {
            tracing::error!(error = %chain(&error), "gRPC call failed");
            Status::internal("internal error")
        }
    }
}

/// Why a watch cannot start: a position beyond the log's end is
/// `INVALID_ARGUMENT` naming `after`; a storage failure as [`status_of`].
pub fn start_refused(error: StartError) -> Status {
    match error {
        refused @ StartError::BeyondTheEnd { .. } => {
            invalid_argument(vec![FieldViolation::new("after", refused.to_string())])
        }
        StartError::Storage(error) => status_of(EventError::Storage(error)),
    }
}

/// Each field the domain refused, named as the client wrote it.
fn violations_of(fields: InvalidFields) -> Vec<FieldViolation> {
    let coefficient = fields
        .coefficient
        .map(|error| FieldViolation::new("coefficient", error.to_string()));
    let deadline = fields
        .deadline
        .map(|error| FieldViolation::new("deadline", error.to_string()));
    coefficient.into_iter().chain(deadline).collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbErr, RuntimeErr};
    use shared_kernel::storage::storage;
    use uuid::Uuid;

    use super::*;
    use crate::application::ports::RepositoryError;
    use chrono::Utc;

    use crate::domain::{CoefficientError, Deadline, DeadlineError, EventStatus};

    fn storage_error(error: DbErr) -> EventError {
        EventError::from(RepositoryError::from(storage("reading event 1")(error)))
    }

    #[test]
    fn each_refusal_has_its_code() {
        let cases = [
            (EventError::NotFound(Uuid::nil()), Code::NotFound),
            (EventError::VersionMismatch { current: 2 }, Code::Aborted),
            (
                EventError::Rule(DomainError::AlreadyFinished(EventStatus::FinishedWin)),
                Code::FailedPrecondition,
            ),
            (
                EventError::Rule(DomainError::ConflictingResult(EventStatus::Cancelled)),
                Code::FailedPrecondition,
            ),
            (
                EventError::Rule(DomainError::DeadlinePassed(Deadline::restore(Utc::now()))),
                Code::FailedPrecondition,
            ),
            (
                EventError::Rule(DomainError::NotFinal(EventStatus::Suspended)),
                Code::FailedPrecondition,
            ),
            (
                EventError::Rule(DomainError::NothingToCorrect(EventStatus::FinishedLose)),
                Code::FailedPrecondition,
            ),
            (
                storage_error(DbErr::Conn(RuntimeErr::Internal("refused".to_owned()))),
                Code::Unavailable,
            ),
            (
                storage_error(DbErr::Custom("broken".to_owned())),
                Code::Internal,
            ),
        ];

        for (error, code) in cases {
            assert_eq!(status_of(error).code(), code);
        }
    }

    #[test]
    fn every_refused_field_is_a_violation_and_no_database_detail_leaks() {
        let fields = InvalidFields {
            coefficient: Some(CoefficientError::TooLarge),
            deadline: Some(DeadlineError::NotInFuture),
        };

        let status = status_of(EventError::Rule(DomainError::Invalid(fields)));
        let violations = status
            .get_details_bad_request()
            .map(|bad| bad.field_violations)
            .unwrap_or_default()
            .into_iter()
            .map(|violation| (violation.field, violation.description))
            .collect::<Vec<_>>();

        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            violations,
            [
                (
                    "coefficient".to_owned(),
                    "must be at most 1000.00".to_owned()
                ),
                ("deadline".to_owned(), "must be in the future".to_owned()),
            ]
        );
        let hidden = status_of(storage_error(DbErr::Custom("secret detail".to_owned())));
        assert!(!hidden.message().contains("secret"), "{hidden:?}");
    }
}
