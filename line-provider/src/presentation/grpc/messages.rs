//! The wire messages of `line.v1`, read into what the use cases take and
//! written from the domain. Every bad field is named at once, with the
//! same wording the REST API uses.

use std::fmt::Display;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use shared_kernel::http::{WireDateTime, WireUuid};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::{DEFAULT_LIMIT, MAX_LIMIT, PageRequest, decode_cursor};
use shared_kernel::proto::line::v1 as wire;
use tonic::Status;
use tonic_types::FieldViolation;
use uuid::Uuid;

use super::errors::invalid_argument;
use crate::application::Precondition;
use crate::domain::{CorrectionReason, Event, EventResult, EventStatus, ReasonError};

/// The fields of one request that could not be read.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// The value of `field`, or `None` with the reason noted.
    pub fn read<T, E: Display>(&mut self, field: &str, read: Result<T, E>) -> Option<T> {
        read.map_err(|error| self.note(field, error)).ok()
    }

    /// Notes that `field` is refused, and why.
    pub fn note(&mut self, field: &str, reason: impl Display) {
        self.0.push(FieldViolation::new(field, reason.to_string()));
    }

    /// `INVALID_ARGUMENT` naming every refused field, if any was.
    pub fn finish(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(invalid_argument(self.0))
        }
    }
}

/// An exact two-decimal number (odds).
pub fn decimal(text: &str) -> Result<Decimal, impl Display + use<>> {
    WireDecimal::parse(text).map(WireDecimal::value)
}

/// An RFC 3339 instant with a time zone.
pub fn instant(text: &str) -> Result<DateTime<Utc>, impl Display + use<>> {
    WireDateTime::parse(text).map(DateTime::from)
}

/// An event's id.
pub fn event_id(text: &str) -> Result<Uuid, impl Display + use<>> {
    WireUuid::parse(text).map(Uuid::from)
}

/// `expected_version`, as `If-Match` would say it.
pub fn precondition(expected_version: Option<i64>) -> Precondition {
    match expected_version {
        Some(version) => Precondition::Versions(vec![version]),
        None => Precondition::None,
    }
}

/// The page asked for: limit 0 is the default, a cursor must be one this
/// API returned.
pub fn page(limit: u32, cursor: &str, violations: &mut Violations) -> PageRequest {
    if limit > MAX_LIMIT {
        violations.note("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    let after = if cursor.is_empty() {
        None
    } else {
        let id = decode_cursor(cursor);
        if id.is_none() {
            violations.note("cursor", "is not a cursor this API returned");
        }
        id
    };
    PageRequest {
        limit: if limit == 0 { DEFAULT_LIMIT } else { limit },
        after,
    }
}

/// The status filter of a list: UNSPECIFIED lists every event.
pub fn status_filter(status: i32) -> Result<Option<EventStatus>, &'static str> {
    match wire::EventStatus::try_from(status) {
        Ok(wire::EventStatus::Unspecified) => Ok(None),
        Ok(wire::EventStatus::New) => Ok(Some(EventStatus::New)),
        Ok(wire::EventStatus::Suspended) => Ok(Some(EventStatus::Suspended)),
        Ok(wire::EventStatus::FinishedWin) => Ok(Some(EventStatus::FinishedWin)),
        Ok(wire::EventStatus::FinishedLose) => Ok(Some(EventStatus::FinishedLose)),
        Ok(wire::EventStatus::Cancelled) => Ok(Some(EventStatus::Cancelled)),
        Err(_) => Err("is not an event status"),
    }
}

/// The status `SetEventStatus` asks for: a final one, SUSPENDED or NEW
/// (UNSPECIFIED, or a number no status has, is none).
pub fn target_status(status: i32) -> Result<EventStatus, &'static str> {
    match status_filter(status) {
        Ok(Some(status)) => Ok(status),
        _ => Err("must be FINISHED_WIN, FINISHED_LOSE, CANCELLED, SUSPENDED or NEW"),
    }
}

/// The final status a correction asks for; NEW, SUSPENDED (or nothing)
/// is not one.
pub fn final_status(status: i32) -> Result<EventResult, &'static str> {
    status_filter(status)
        .ok()
        .flatten()
        .and_then(EventResult::of)
        .ok_or("must be FINISHED_WIN, FINISHED_LOSE or CANCELLED: a correction replaces a final status by another")
}

/// A correction's reason (see [`CorrectionReason`]).
pub fn reason(text: &str) -> Result<CorrectionReason, ReasonError> {
    CorrectionReason::parse(text)
}

/// An event as the wire carries it.
pub fn event_message(event: &Event) -> wire::Event {
    let status = match event.status() {
        EventStatus::New => wire::EventStatus::New,
        EventStatus::Suspended => wire::EventStatus::Suspended,
        EventStatus::FinishedWin => wire::EventStatus::FinishedWin,
        EventStatus::FinishedLose => wire::EventStatus::FinishedLose,
        EventStatus::Cancelled => wire::EventStatus::Cancelled,
    };
    wire::Event {
        id: event.id().to_string(),
        coefficient: WireDecimal::from_decimal_exact(event.coefficient().value()).to_string(),
        deadline: event
            .deadline()
            .at()
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        status: status.into(),
        version: event.version(),
    }
}
