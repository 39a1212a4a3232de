//! Between the domain's types and the tables' rows: an event row read back
//! into the aggregate, and a change written as its outbox row.

use sea_orm::ActiveValue::{NotSet, Set};
use shared_kernel::contracts::{EventSnapshot, EventStatusWire, LineEventKind, LineEventMessage};
use shared_kernel::money::WireDecimal;
use shared_kernel::storage::StorageError;

use super::entities::{events, outbox};
use crate::domain::{ChangeKind, Coefficient, Deadline, Event, EventChanged, EventStatus};

impl From<EventStatus> for events::Status {
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

impl From<events::Status> for EventStatus {
    fn from(status: events::Status) -> Self {
        match status {
            events::Status::New => Self::New,
            events::Status::Suspended => Self::Suspended,
            events::Status::FinishedWin => Self::FinishedWin,
            events::Status::FinishedLose => Self::FinishedLose,
            events::Status::Cancelled => Self::Cancelled,
        }
    }
}

/// The aggregate a stored row holds. A coefficient the rules refuse means
/// the row was written by something else than this code: a corrupt row.
pub(super) fn event_from_row(row: events::Model) -> Result<Event, StorageError> {
    let coefficient = Coefficient::new(row.coefficient).map_err(|error| {
        StorageError::corrupt(
            format!("reading event {}", row.id),
            format!("the stored coefficient {} {error}", row.coefficient),
        )
    })?;
    Ok(Event::restore(
        row.id,
        coefficient,
        Deadline::restore(row.deadline),
        row.status.into(),
        row.version,
    ))
}

/// The outbox row announcing `change`, with the trace context it was
/// written in (`traceparent`), so the relay's publish and the consumer's
/// work join the same trace. The payload is the whole envelope as
/// published, a correction's `reason` included: the relay and the change
/// log read it back from there.
pub(super) fn outbox_row(
    change: &EventChanged,
    traceparent: Option<String>,
) -> outbox::ActiveModel {
    let message = LineEventMessage::new(
        kind_of(change.kind()),
        change.occurred_at(),
        snapshot_of(change.event()),
    );
    let message = match change.reason() {
        Some(reason) => message.with_reason(reason.as_str()),
        None => message,
    };
    outbox::ActiveModel {
        id: NotSet,
        message_id: Set(message.message_id),
        routing_key: Set(message.kind.routing_key().to_owned()),
        payload: Set(message.to_json()),
        traceparent: Set(traceparent),
        occurred_at: Set(change.occurred_at()),
        created_at: NotSet,
        published_at: NotSet,
        attempts: NotSet,
        next_attempt_at: NotSet,
        last_error: NotSet,
    }
}

fn kind_of(kind: ChangeKind) -> LineEventKind {
    match kind {
        ChangeKind::Created => LineEventKind::Created,
        ChangeKind::Updated => LineEventKind::Updated,
        ChangeKind::Finished => LineEventKind::Finished,
        ChangeKind::Cancelled => LineEventKind::Cancelled,
        ChangeKind::Suspended => LineEventKind::Suspended,
        ChangeKind::Resumed => LineEventKind::Resumed,
        ChangeKind::Corrected => LineEventKind::Corrected,
    }
}

fn snapshot_of(event: &Event) -> EventSnapshot {
    EventSnapshot {
        id: event.id(),
        coefficient: WireDecimal::from_decimal_exact(event.coefficient().value()),
        deadline: event.deadline().at(),
        status: match event.status() {
            EventStatus::New => EventStatusWire::New,
            EventStatus::Suspended => EventStatusWire::Suspended,
            EventStatus::FinishedWin => EventStatusWire::FinishedWin,
            EventStatus::FinishedLose => EventStatusWire::FinishedLose,
            EventStatus::Cancelled => EventStatusWire::Cancelled,
        },
        version: event.version(),
    }
}
