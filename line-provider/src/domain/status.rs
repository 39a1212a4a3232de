//! Where an event is in its life, and the results an operator can set.

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
}

impl EventStatus {
    /// Whether the status is a result that can never change again.
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
        }
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A result an operator can set: the final statuses, and only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventResult {
    /// The event ended as bet on.
    Win,
    /// It did not.
    Lose,
}

impl From<EventResult> for EventStatus {
    fn from(result: EventResult) -> Self {
        match result {
            EventResult::Win => Self::FinishedWin,
            EventResult::Lose => Self::FinishedLose,
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
    }
}
