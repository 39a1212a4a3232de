//! The examples of the OpenAPI document's error responses.
//!
//! Each is made by the code that answers the request for real (the
//! extractors, the use-case error mapping, the DTOs' checks), not written
//! by hand, so Swagger UI shows what a client gets and cannot drift from it.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use futures_util::FutureExt;
use shared_kernel::http::PageQuery;
use shared_kernel::http::{ApiJson, ApiPath, Problem, parse_json};
use uuid::Uuid;

use super::auth::{MISSING_TOKEN, too_many_failures};
use super::dto::{
    CorrectionRequest, CreateEventRequest, EventPath, EventStatusDto, SetStatusRequest,
};
use crate::application::EventError;
use crate::domain::{
    CoefficientError, Deadline, DeadlineError, DomainError, EventStatus, InvalidFields,
};

/// The id the examples use.
const EVENT_ID: Uuid = Uuid::from_u128(0x0193_6f3c_9a40_7cc1_8a5e_2f4b_6d1c_0e21);

/// 400: a body that is not JSON.
pub(super) fn malformed_body() -> Problem {
    match parse_json::<CreateEventRequest>(br#"{"coefficient": "1.85","#) {
        Ok(_) => Problem::malformed_body("the body is not valid JSON"),
        Err(problem) => problem,
    }
}

/// 400: an id in the path that is not a UUID, as the path extractor
/// answers it.
pub(super) fn malformed_id() -> Problem {
    ApiPath::<EventPath>::rejection("/events/{id}", "/events/not-a-uuid")
        .unwrap_or_else(Problem::internal)
}

/// 400: a query parameter out of range.
pub(super) fn bad_page() -> Problem {
    let query = PageQuery {
        limit: Some(0),
        cursor: None,
    };
    query.parse().err().unwrap_or_else(malformed_id)
}

/// 401: no operator token.
pub(super) fn unauthorized() -> Problem {
    Problem::unauthorized(MISSING_TOKEN)
}

/// 429: too many failed operator calls from the client's address.
pub(super) fn too_many_failed_calls() -> Problem {
    too_many_failures(std::time::Duration::from_secs(42))
}

/// 404: no event with this id.
pub(super) fn not_found() -> Problem {
    EventError::NotFound(EVENT_ID).into()
}

/// 409 on `PATCH`: the event is finished.
pub(super) fn event_finished() -> Problem {
    EventError::Rule(DomainError::AlreadyFinished(EventStatus::FinishedWin)).into()
}

/// 409 on `PUT .../status`: the event has the other result.
pub(super) fn conflicting_result() -> Problem {
    EventError::Rule(DomainError::ConflictingResult(EventStatus::FinishedLose)).into()
}

/// 409 on `PUT .../status`: the event was cancelled, and a result (or
/// anything else) can no longer be set.
pub(super) fn already_cancelled() -> Problem {
    EventError::Rule(DomainError::ConflictingResult(EventStatus::Cancelled)).into()
}

/// 409 on `PATCH`: the deadline has passed, and moving it would re-open
/// the event.
pub(super) fn deadline_passed() -> Problem {
    let passed = chrono::DateTime::from_timestamp(1_795_888_800, 0).unwrap_or_default();
    EventError::Rule(DomainError::DeadlinePassed(Deadline::restore(passed))).into()
}

/// 409 on `POST .../corrections`: the event has no final status yet.
pub(super) fn not_final() -> Problem {
    EventError::Rule(DomainError::NotFinal(EventStatus::New)).into()
}

/// 409 on `POST .../corrections`: the event already has that status.
pub(super) fn nothing_to_correct() -> Problem {
    EventError::Rule(DomainError::NothingToCorrect(EventStatus::FinishedWin)).into()
}

/// 412: `If-Match` names an older version.
pub(super) fn version_mismatch() -> Problem {
    EventError::VersionMismatch { current: 3 }.into()
}

/// 415: a body sent without `Content-Type: application/json`. The
/// extractor refuses it before reading a byte, so its future is ready at
/// once.
pub(super) fn unsupported_media_type() -> Problem {
    let request = Request::new(Body::empty());
    match ApiJson::<CreateEventRequest>::from_request(request, &()).now_or_never() {
        Some(Err(problem)) => problem,
        _ => Problem::malformed_body("the body must be JSON"),
    }
}

/// 422 on `POST /events`: both fields break their rules, and both are named.
pub(super) fn invalid_event() -> Problem {
    EventError::Rule(DomainError::Invalid(InvalidFields {
        coefficient: Some(CoefficientError::NotAboveOne),
        deadline: Some(DeadlineError::NotInFuture),
    }))
    .into()
}

/// 422 on `PATCH`: a coefficient with a third decimal.
pub(super) fn invalid_change() -> Problem {
    EventError::Rule(DomainError::Invalid(InvalidFields {
        coefficient: Some(CoefficientError::TooPrecise),
        deadline: None,
    }))
    .into()
}

/// 422 on `PUT .../status`: a status the line does not know.
pub(super) fn unknown_status() -> Problem {
    parse_json::<SetStatusRequest>(br#"{"status": "OPEN"}"#)
        .err()
        .unwrap_or_else(invalid_change)
}

/// 422 on `POST .../corrections`: no reason given.
pub(super) fn invalid_correction() -> Problem {
    let request = CorrectionRequest {
        status: EventStatusDto::FinishedLose,
        reason: "  ".to_owned(),
    };
    request
        .into_correction()
        .err()
        .unwrap_or_else(invalid_change)
}
