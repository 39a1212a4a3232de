//! line-provider's published contract in bet-maker's terms.
//!
//! line-provider describes an event as an [`EventSnapshot`], both in its
//! messages (read by the consumer, an inbound adapter) and in its
//! `GET /events` pages (read by the client resync uses, an outbound one).
//! Both turn it into the domain's [`LineEvent`] here, so neither adapter
//! depends on the other and the translation has one home.

use shared_kernel::contracts::{EventSnapshot, EventStatusWire, LineEventKind};

use crate::domain::{ChangeKind, LineEvent, LineEventStatus};

/// The event a snapshot describes, as bet-maker's copy of it.
pub fn to_line_event(snapshot: &EventSnapshot) -> LineEvent {
    LineEvent {
        id: snapshot.id,
        coefficient: snapshot.coefficient.value(),
        deadline: snapshot.deadline,
        status: match snapshot.status {
            EventStatusWire::New => LineEventStatus::New,
            EventStatusWire::Suspended => LineEventStatus::Suspended,
            EventStatusWire::FinishedWin => LineEventStatus::FinishedWin,
            EventStatusWire::FinishedLose => LineEventStatus::FinishedLose,
            EventStatusWire::Cancelled => LineEventStatus::Cancelled,
        },
        version: snapshot.version,
    }
}

/// The kind of change a message kind announces.
pub fn to_change_kind(kind: LineEventKind) -> ChangeKind {
    match kind {
        LineEventKind::Created => ChangeKind::Created,
        LineEventKind::Updated => ChangeKind::Updated,
        LineEventKind::Finished => ChangeKind::Finished,
        LineEventKind::Cancelled => ChangeKind::Cancelled,
        LineEventKind::Suspended => ChangeKind::Suspended,
        LineEventKind::Resumed => ChangeKind::Resumed,
        LineEventKind::Corrected => ChangeKind::Corrected,
    }
}
