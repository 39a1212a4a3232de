//! Between rows and domain values. The statuses' spelling in the database
//! lives on the entities (`DeriveActiveEnum`); this only pairs the
//! entities' enums with the domain's, so the domain knows nothing of
//! SeaORM.

use super::entities::{bet_legs, bets, events};
use crate::domain::{
    Bet, BetStatus, BettorId, Leg, LegStatus, LineEvent, LineEventStatus, StoredBet, VoidReason,
};

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
            BetStatus::CashedOut => Self::CashedOut,
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
            bets::Status::CashedOut => Self::CashedOut,
        }
    }
}

impl From<LegStatus> for bet_legs::Status {
    fn from(status: LegStatus) -> Self {
        match status {
            LegStatus::Pending => Self::Pending,
            LegStatus::Won => Self::Won,
            LegStatus::Lost => Self::Lost,
            LegStatus::Void => Self::Void,
        }
    }
}

impl From<bet_legs::Status> for LegStatus {
    fn from(status: bet_legs::Status) -> Self {
        match status {
            bet_legs::Status::Pending => Self::Pending,
            bet_legs::Status::Won => Self::Won,
            bet_legs::Status::Lost => Self::Lost,
            bet_legs::Status::Void => Self::Void,
        }
    }
}

impl From<VoidReason> for bets::VoidReason {
    fn from(reason: VoidReason) -> Self {
        match reason {
            VoidReason::Cancelled => Self::Cancelled,
            VoidReason::Late => Self::Late,
        }
    }
}

impl From<bets::VoidReason> for VoidReason {
    fn from(reason: bets::VoidReason) -> Self {
        match reason {
            bets::VoidReason::Cancelled => Self::Cancelled,
            bets::VoidReason::Late => Self::Late,
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

/// The leg a row holds.
pub fn leg_from_row(row: bet_legs::Model) -> Leg {
    Leg {
        event_id: row.event_id,
        coefficient: row.coefficient,
        status: row.status.into(),
        settled_coefficient: row.settled_coefficient,
        void_reason: row.void_reason.map(VoidReason::from),
    }
}

/// The bet a row and its legs (in order) hold.
pub fn bet_from_row(row: bets::Model, legs: Vec<Leg>) -> Bet {
    Bet::restore(StoredBet {
        id: row.id,
        bettor_id: BettorId::restore(row.bettor_id),
        amount: row.amount,
        legs,
        status: row.status.into(),
        payout: row.payout,
        void_reason: row.void_reason.map(VoidReason::from),
        placed_at: row.placed_at,
        settled_at: row.settled_at,
    })
}
