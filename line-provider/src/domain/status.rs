//! Where an event is in its life, and the final statuses an operator can
//! set (or correct).

use std::fmt;

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// Open for changes (and for bets, before the deadline).
    New,
    /// Suspended: open for changes, closed for bets until it is resumed
    /// (back to `NEW`) or decided (a final status).
    Suspended,
    /// Finished: bets on it win.
    FinishedWin,
    /// Finished: bets on it lose.
    FinishedLose,
    /// Cancelled: it will not be played (or not count); bets on it are
    /// void. Final, like a result.
    Cancelled,
}

impl EventStatus {
    /// Whether the status is final (a result or the cancellation): only a
    /// correction changes it again.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::New | Self::Suspended)
    }

    /// The status as the API and the messages spell it, so that an error
    /// names it the way the client wrote it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Suspended => "SUSPENDED",
            Self::FinishedWin => "FINISHED_WIN",
            Self::FinishedLose => "FINISHED_LOSE",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// What the status says happened to the event, for messages:
    /// `finished` or `cancelled` (`open` while `NEW`, `suspended` while
    /// `SUSPENDED`).
    pub fn ended_as(self) -> &'static str {
        match self {
            Self::New => "open",
            Self::Suspended => "suspended",
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

impl EventResult {
    /// The final status an operator asked for, if `status` is one.
    pub fn of(status: EventStatus) -> Option<Self> {
        match status {
            EventStatus::FinishedWin => Some(Self::Win),
            EventStatus::FinishedLose => Some(Self::Lose),
            EventStatus::Cancelled => Some(Self::Cancelled),
            EventStatus::New | EventStatus::Suspended => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_as_the_api_spells_them() {
        assert_eq!(EventStatus::New.to_string(), "NEW");
        assert_eq!(EventStatus::Suspended.to_string(), "SUSPENDED");
        assert_eq!(EventStatus::FinishedWin.to_string(), "FINISHED_WIN");
        assert_eq!(EventStatus::FinishedLose.to_string(), "FINISHED_LOSE");
        assert_eq!(EventStatus::Cancelled.to_string(), "CANCELLED");
    }

    #[test]
    fn only_results_and_the_cancellation_are_final() {
        assert!(!EventStatus::New.is_final());
        assert!(!EventStatus::Suspended.is_final());
        for result in [EventResult::Win, EventResult::Lose, EventResult::Cancelled] {
            let status = EventStatus::from(result);
            assert!(status.is_final());
            assert_eq!(EventResult::of(status), Some(result));
        }
        assert_eq!(EventResult::of(EventStatus::Suspended), None);
    }
}
