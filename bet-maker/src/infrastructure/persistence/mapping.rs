//! Between rows and domain values. The statuses' spelling in the database
//! lives on the entities (`DeriveActiveEnum`); this only pairs the
//! entities' enums with the domain's, so the domain knows nothing of
//! SeaORM.

use super::entities::{bets, events};
use crate::domain::{Bet, BetStatus, BettorId, LineEvent, LineEventStatus, StoredBet};

impl From<LineEventStatus> for events::Status {
    fn from(status: LineEventStatus) -> Self {
        match status {
            LineEventStatus::New => Self::New,
            LineEventStatus::Suspended => Self::Suspended,
            LineEventStatus::FinishedWin => Self::FinishedWin,
            LineEventStatus::FinishedLose => Self::FinishedLose,
            LineEventStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<events::Status> for LineEventStatus {
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

impl From<BetStatus> for bets::Status {
    fn from(status: BetStatus) -> Self {
        match status {
            BetStatus::Pending => Self::Pending,
            BetStatus::Won => Self::Won,
            BetStatus::Lost => Self::Lost,
            BetStatus::Void => Self::Void,
        }
    }
}

impl From<bets::Status> for BetStatus {
    fn from(status: bets::Status) -> Self {
        match status {
            bets::Status::Pending => Self::Pending,
            bets::Status::Won => Self::Won,
            bets::Status::Lost => Self::Lost,
            bets::Status::Void => Self::Void,
        }
    }
}

/// The copy of an event a row holds.
pub fn event_from_row(row: events::Model) -> LineEvent {
    LineEvent {
        id: row.id,
        coefficient: row.coefficient,
        deadline: row.deadline,
        status: row.status.into(),
        version: row.version,
    }
}

/// The bet a row holds.
pub fn bet_from_row(row: bets::Model) -> Bet {
    Bet::restore(StoredBet {
        id: row.id,
        bettor_id: BettorId::restore(row.bettor_id),
        event_id: row.event_id,
        amount: row.amount,
        coefficient: row.coefficient,
        status: row.status.into(),
        payout: row.payout,
        placed_at: row.placed_at,
        settled_at: row.settled_at,
    })
}
