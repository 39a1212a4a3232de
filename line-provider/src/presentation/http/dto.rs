//! What goes over HTTP, and its translation to and from the domain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::http::{FieldError, PageQuery, Problem, WireDateTime, WireUuid, field_errors};
use shared_kernel::money::WireDecimal;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::application::RequestedChanges;
use crate::domain::{CorrectionReason, Event, EventResult, EventStatus};

/// An event on the line.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// The event's id (UUID v7).
    pub id: Uuid,
    /// Odds, as a string with two decimals.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// Bets are accepted strictly before this instant (RFC 3339).
    pub deadline: DateTime<Utc>,
    /// Where the event is in its life.
    pub status: EventStatusDto,
    /// 1 at creation, +1 per change; the `ETag` is this number in quotes.
    #[schema(example = 1)]
    pub version: i64,
}

impl From<Event> for EventDto {
    fn from(event: Event) -> Self {
        Self {
            id: event.id(),
            coefficient: WireDecimal::from_decimal_exact(event.coefficient().value()),
            deadline: event.deadline().at(),
            status: event.status().into(),
            version: event.version(),
        }
    }
}

/// A page of events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events on this page.
    pub items: Vec<EventDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An event's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatusDto {
    /// Open: coefficient and deadline may change.
    New,
    /// Suspended: no bets until it is resumed (`NEW`) or decided;
    /// coefficient and deadline may change.
    Suspended,
    /// Finished; bets on it win.
    FinishedWin,
    /// Finished; bets on it lose.
    FinishedLose,
    /// Cancelled: final; bets on it are void and their stakes returned.
    Cancelled,
}

impl From<EventStatus> for EventStatusDto {
    fn from(status: EventStatus) -> Self {
        match status {
            EventStatus::New => Self::New,
            EventStatus::Suspended => Self::Suspended,
            EventStatus::FinishedWin => Self::FinishedWin,
            EventStatus::FinishedLose => Self::FinishedLose,
            EventStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<EventStatusDto> for EventStatus {
    fn from(status: EventStatusDto) -> Self {
        match status {
            EventStatusDto::New => Self::New,
            EventStatusDto::Suspended => Self::Suspended,
            EventStatusDto::FinishedWin => Self::FinishedWin,
            EventStatusDto::FinishedLose => Self::FinishedLose,
            EventStatusDto::Cancelled => Self::Cancelled,
        }
    }
}

/// `POST /events`. Both fields' rules are the line's own (the domain's
/// `Coefficient` and `Deadline`); a refusal names every field that breaks
/// one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventRequest {
    /// Greater than 1.00, at most 1000.00, at most two decimals; a string
    /// (preferred) or a JSON number, read exactly.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// In the future (RFC 3339).
    #[schema(value_type = chrono::DateTime<chrono::Utc>, example = "2030-06-01T18:00:00Z")]
    pub deadline: WireDateTime,
}

impl CreateEventRequest {
    /// The deadline asked for, as the use case takes it.
    pub fn deadline(&self) -> DateTime<Utc> {
        self.deadline.into()
    }
}

/// `PATCH /events/{id}`: the fields to change; at least one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "names_a_field"))]
pub struct UpdateEventRequest {
    /// New odds, same rules as at creation.
    #[schema(value_type = Option<String>, example = "2.10")]
    #[serde(default)]
    pub coefficient: Option<WireDecimal>,
    /// New deadline, in the future.
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>, example = "2030-06-01T19:00:00Z")]
    #[serde(default)]
    pub deadline: Option<WireDateTime>,
}

/// `PUT /events/{id}/status`: a final status (a result or the
/// cancellation), `SUSPENDED` to pause betting, or `NEW` to resume it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "FINISHED_WIN"}))]
#[serde(deny_unknown_fields)]
pub struct SetStatusRequest {
    /// `FINISHED_WIN`, `FINISHED_LOSE` or `CANCELLED` (final);
    /// `SUSPENDED` to pause betting on a `NEW` event; `NEW` to resume a
    /// `SUSPENDED` one.
    #[schema(example = "FINISHED_WIN")]
    pub status: EventStatusDto,
}

/// `POST /events/{id}/corrections`: the final status that replaces the
/// current one, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "FINISHED_LOSE", "reason": "The referee's report: the goal was offside"}))]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// `FINISHED_WIN`, `FINISHED_LOSE` or `CANCELLED`, other than the
    /// event's current status.
    #[schema(example = "FINISHED_LOSE")]
    pub status: EventStatusDto,
    /// Why, 1 to 500 characters once the whitespace around it is trimmed
    /// (the trimmed text is kept and published with the change).
    #[schema(
        example = "The referee's report: the goal was offside",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// The `{id}` path parameter.
#[derive(Debug, Deserialize)]
pub struct EventPath {
    /// The event's id.
    pub id: WireUuid,
}

impl EventPath {
    /// The id, once read.
    pub fn id(&self) -> Uuid {
        self.id.into()
    }
}

/// `GET /events` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// Only events with this status.
    pub status: Option<EventStatusDto>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListEventsQuery {
    /// The pagination part.
    pub fn page(&self) -> PageQuery {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// A PATCH that names no field asks for nothing: a client mistake worth
/// naming rather than a silent 200.
fn names_a_field(request: &UpdateEventRequest) -> Result<(), ValidationError> {
    if request.coefficient.is_none() && request.deadline.is_none() {
        return Err(ValidationError::new("empty_patch")
            .with_message("name at least one of `coefficient` and `deadline`".into()));
    }
    Ok(())
}

impl UpdateEventRequest {
    /// The changes asked for, once the request names at least one field;
    /// their values are judged by the use case against the line's rules.
    pub fn into_changes(self) -> Result<RequestedChanges, Problem> {
        check(&self)?;
        Ok(RequestedChanges {
            coefficient: self.coefficient.map(WireDecimal::value),
            deadline: self.deadline.map(DateTime::from),
        })
    }
}

/// Checks a request's structural rules, naming every field that breaks
/// one; a rule on the request as a whole is named `body`, as the JSON
/// extractor names it.
fn check(request: &impl Validate) -> Result<(), Problem> {
    request.validate().map_err(|errors| {
        let errors = field_errors(&errors)
            .into_iter()
            .map(|error| match error.field.as_str() {
                "__all__" => FieldError::new("body", error.message),
                _ => error,
            })
            .collect();
        Problem::validation(errors)
    })
}

impl SetStatusRequest {
    /// The status asked for: every status is one an operator may ask for,
    /// and the event's own rules decide whether it may take it.
    pub fn status(&self) -> EventStatus {
        self.status.into()
    }
}

impl CorrectionRequest {
    /// The final status and the reason, naming every field that is not one.
    pub fn into_correction(self) -> Result<(EventResult, CorrectionReason), Problem> {
        let result = EventResult::of(self.status.into());
        let reason = CorrectionReason::parse(&self.reason);
        match (result, reason) {
            (Some(result), Ok(reason)) => Ok((result, reason)),
            (result, reason) => {
                let status = result.is_none().then(|| {
                    FieldError::new(
                        "status",
                        "must be FINISHED_WIN, FINISHED_LOSE or CANCELLED: a correction replaces a final status by another",
                    )
                });
                let reason = reason.err().map(|error| FieldError::new("reason", error));
                Err(Problem::validation(
                    status.into_iter().chain(reason).collect(),
                ))
            }
        }
    }
}
