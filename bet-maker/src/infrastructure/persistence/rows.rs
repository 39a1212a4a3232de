//! Between rows and domain values; and database errors as port errors.

use sea_orm::DbErr;
use shared_kernel::postgres::is_unavailable;

use super::entities::{bets, events};
use crate::application::ports::RepositoryError;
use crate::domain::{Bet, BetStatus, BetSum, LineEvent, LineEventStatus};

pub fn storage_error(error: DbErr) -> RepositoryError {
    if is_unavailable(&error) {
        RepositoryError::Unavailable(error.to_string())
    } else {
        RepositoryError::Failed(error.to_string())
    }
}

pub fn event_status_name(status: LineEventStatus) -> &'static str {
    match status {
        LineEventStatus::New => "NEW",
        LineEventStatus::FinishedWin => "FINISHED_WIN",
        LineEventStatus::FinishedLose => "FINISHED_LOSE",
    }
}

pub fn bet_status_name(status: BetStatus) -> &'static str {
    match status {
        BetStatus::Pending => "PENDING",
        BetStatus::Won => "WON",
        BetStatus::Lost => "LOST",
    }
}

pub fn event_from_row(row: events::Model) -> Result<LineEvent, RepositoryError> {
    let status = match row.status.as_str() {
        "NEW" => LineEventStatus::New,
        "FINISHED_WIN" => LineEventStatus::FinishedWin,
        "FINISHED_LOSE" => LineEventStatus::FinishedLose,
        other => {
            return Err(RepositoryError::Failed(format!(
                "event {}: unknown status {other}",
                row.id
            )));
        }
    };
    Ok(LineEvent {
        id: row.id,
        coefficient: row.coefficient,
        deadline: row.deadline,
        status,
        version: row.version,
    })
}

pub fn bet_from_row(row: bets::Model) -> Result<Bet, RepositoryError> {
    let status = match row.status.as_str() {
        "PENDING" => BetStatus::Pending,
        "WON" => BetStatus::Won,
        "LOST" => BetStatus::Lost,
        other => {
            return Err(RepositoryError::Failed(format!(
                "bet {}: unknown status {other}",
                row.id
            )));
        }
    };
    Ok(Bet {
        id: row.id,
        event_id: row.event_id,
        amount: BetSum::restore(row.amount),
        coefficient: row.coefficient,
        status,
        payout: row.payout,
        placed_at: row.placed_at,
        settled_at: row.settled_at,
    })
}
