//! line-provider's event snapshot (the message contract) as bet-maker's
//! domain value.

use shared_kernel::contracts::{EventSnapshot, EventStatusWire};

use crate::domain::{LineEvent, LineEventStatus};

/// The event a snapshot describes.
pub fn to_line_event(snapshot: &EventSnapshot) -> LineEvent {
    LineEvent {
        id: snapshot.id,
        coefficient: snapshot.coefficient.value(),
        deadline: snapshot.deadline,
        status: match snapshot.status {
            EventStatusWire::New => LineEventStatus::New,
            EventStatusWire::FinishedWin => LineEventStatus::FinishedWin,
            EventStatusWire::FinishedLose => LineEventStatus::FinishedLose,
        },
        version: snapshot.version,
    }
}
