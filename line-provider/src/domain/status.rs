//! Where an event is in its life, and the final statuses an operator can
//! set.

use std::fmt;

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// Open for changes (and for bets, before the deadline).
    New,
    /// Finished: bets on it win.
    FinishedWin,
    /// Finished: bets on it lose.
    FinishedLose,
    /// Cancelled: it will not be played (or not count); bets on it are
    /// void. Final, like a result.
    Cancelled,
}

impl EventStatus {
    /// Whether the status is final (a result or the cancellation): it can
    /// never change again.
    pub fn is_final(self) -> bool {
        self != Self::New
    }

    /// The status as the API and the messages spell it, so that an error
    /// names it the way the client wrote it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::FinishedWin => "FINISHED_WIN",
            Self::FinishedLose => "FINISHED_LOSE",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// What the status says happened to the event, for messages:
    /// `finished` or `cancelled` (`open` while `NEW`).
    pub fn ended_as(self) -> &'static str {
        match self {
            Self::New => "open",
            Self::FinishedWin | Self::FinishedLose => "finished",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an operator ends an event: the final statuses, and only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventResult {
    /// The event ended as bet on.
    Win,
    /// It did not.
    Lose,
    /// It was called off: no result, bets are void.
    Cancelled,
}

impl From<EventResult> for EventStatus {
    fn from(result: EventResult) -> Self {
        match result {
            EventResult::Win => Self::FinishedWin,
            EventResult::Lose => Self::FinishedLose,
            EventResult::Cancelled => Self::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_as_the_api_spells_them() {
        assert_eq!(EventStatus::New.to_string(), "NEW");
        assert_eq!(EventStatus::FinishedWin.to_string(), "FINISHED_WIN");
        assert_eq!(EventStatus::FinishedLose.to_string(), "FINISHED_LOSE");
        assert_eq!(EventStatus::Cancelled.to_string(), "CANCELLED");
    }
}
