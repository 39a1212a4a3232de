//! bet-maker's copy of an event on the line.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// An event's status as line-provider announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineEventStatus {
    /// Not finished.
    New,
    /// Finished: bets win.
    FinishedWin,
    /// Finished: bets lose.
    FinishedLose,
}

/// The event as bet-maker last heard of it. Copies are replaced only by a
/// newer `version`, so the order messages arrive in does not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEvent {
    /// The event's id.
    pub id: Uuid,
    /// The odds a bet placed now would lock.
    pub coefficient: Decimal,
    /// Bets are accepted strictly before it.
    pub deadline: DateTime<Utc>,
    /// Its status.
    pub status: LineEventStatus,
    /// line-provider's version of it.
    pub version: i64,
}

impl LineEvent {
    /// Open for betting: not finished, and the deadline not reached.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == LineEventStatus::New && now < self.deadline
    }

    /// Whether `other` should replace this copy: only a newer version does.
    ///
    /// This is the definition. The upsert that stores copies applies it in
    /// SQL (`WHERE events.version < EXCLUDED.version`), and
    /// `tests/rules_in_sql.rs` runs that statement on a real database
    /// against this function.
    pub fn is_superseded_by(&self, other: &LineEvent) -> bool {
        other.version > self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use rust_decimal::dec;

    fn event(status: LineEventStatus, deadline: DateTime<Utc>, version: i64) -> LineEvent {
        LineEvent {
            id: Uuid::nil(),
            coefficient: dec!(1.50),
            deadline,
            status,
            version,
        }
    }

    #[test]
    fn open_means_new_and_strictly_before_the_deadline() {
        let now = Utc::now();
        assert!(event(LineEventStatus::New, now + Duration::seconds(1), 1).is_open_at(now));
        assert!(!event(LineEventStatus::New, now, 1).is_open_at(now));
        assert!(!event(LineEventStatus::FinishedWin, now + Duration::hours(1), 2).is_open_at(now));
        assert!(!event(LineEventStatus::FinishedLose, now + Duration::hours(1), 2).is_open_at(now));
    }

    #[test]
    fn only_a_newer_version_replaces_a_copy() {
        let now = Utc::now();
        let current = event(LineEventStatus::New, now, 2);
        assert!(current.is_superseded_by(&event(LineEventStatus::FinishedWin, now, 3)));
        assert!(!current.is_superseded_by(&event(LineEventStatus::New, now, 2)));
        assert!(!current.is_superseded_by(&event(LineEventStatus::New, now, 1)));
    }
}
