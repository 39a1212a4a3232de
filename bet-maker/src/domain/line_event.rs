//! bet-maker's copy of an event on the line, and what may replace it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// An event's status as line-provider announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineEventStatus {
    /// Not finished.
    New,
    /// Not finished, but closed for bets until line-provider resumes it
    /// (or decides it).
    Suspended,
    /// Finished: bets win.
    FinishedWin,
    /// Finished: bets lose.
    FinishedLose,
    /// Cancelled: bets are void, their stakes returned.
    Cancelled,
}

impl LineEventStatus {
    /// Whether the status is final (a result or the cancellation), which
    /// never changes again.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::New | Self::Suspended)
    }

    /// Whether the status is a result: `FINISHED_WIN` or `FINISHED_LOSE`.
    pub fn is_result(self) -> bool {
        matches!(self, Self::FinishedWin | Self::FinishedLose)
    }
}

/// The event as bet-maker last heard of it. Copies are replaced only by a
/// newer `version` of an event without a final status, or by a newer
/// correction of one, so the order messages arrive in does not matter and
/// a result or a cancellation, once in, changes only by a correction.
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

/// What a copy makes of a version of its event it is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Newer, and the copy is not final: it replaces the copy.
    Replace,
    /// The very version the copy holds: nothing to do.
    Duplicate,
    /// Older than the copy and consistent with it (a late arrival):
    /// nothing to do.
    Stale,
}

/// A version of an event that cannot be true given the copy held: someone
/// other than line-provider wrote it, or the copy itself is wrong. Never
/// applied; raised as an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyConflict {
    /// The copy is final (finished or cancelled), and this version would
    /// change it without being a correction (reopen it, change the final
    /// status, or change anything else after it).
    #[error(
        "event {id} is final ({held:?} at version {held_version}); version {offered_version} ({offered:?}) would change it"
    )]
    FinalStatusChanged {
        /// The event.
        id: Uuid,
        /// The result held.
        held: LineEventStatus,
        /// Its version.
        held_version: i64,
        /// The status offered.
        offered: LineEventStatus,
        /// Its version.
        offered_version: i64,
    },
    /// The same version as the copy, with other content.
    #[error("event {id} version {version} is held with other content")]
    SameVersionDiffers {
        /// The event.
        id: Uuid,
        /// The version both claim.
        version: i64,
    },
    /// A final status older than a version of the copy that is still
    /// open: the event cannot have been open after it finished or was
    /// cancelled.
    #[error(
        "event {id} is open at version {held_version}, yet final at the older version {offered_version}"
    )]
    ResultBeforeOpenVersion {
        /// The event.
        id: Uuid,
        /// The open version held.
        held_version: i64,
        /// The finished version offered.
        offered_version: i64,
    },
}

impl LineEvent {
    /// Open for betting: `NEW` (not finished, not cancelled), and the
    /// deadline not reached.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == LineEventStatus::New && now < self.deadline
    }

    /// Shown on `GET /events`: open, or suspended, before the deadline.
    pub fn is_listed_at(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.status,
            LineEventStatus::New | LineEventStatus::Suspended
        ) && now < self.deadline
    }

    /// Open for betting except for the pause: `SUSPENDED` and the
    /// deadline not reached (a bet on it is refused as suspended, not as
    /// closed).
    pub fn is_suspended_at(&self, now: DateTime<Utc>) -> bool {
        self.status == LineEventStatus::Suspended && now < self.deadline
    }

    /// What this copy makes of `next`, a version of the same event,
    /// announced as a correction (`event.corrected`) or not.
    ///
    /// This is the definition. The upsert that stores copies applies its
    /// [`Acceptance::Replace`] case in SQL (`WHERE events.version <
    /// EXCLUDED.version AND (events.status IN ('NEW', 'SUSPENDED') OR
    /// <correction>)`), and `tests/rules_in_sql.rs` runs that statement on
    /// a real database against this function.
    ///
    /// A final copy is replaced only by a newer correction; once an event
    /// has been corrected, an older final version with another status is
    /// a late arrival like any other.
    pub fn accepts(&self, next: &LineEvent, correction: bool) -> Result<Acceptance, CopyConflict> {
        let final_changed = || CopyConflict::FinalStatusChanged {
            id: self.id,
            held: self.status,
            held_version: self.version,
            offered: next.status,
            offered_version: next.version,
        };
        if next.version > self.version {
            return if !self.status.is_final() || (correction && next.status.is_final()) {
                Ok(Acceptance::Replace)
            } else {
                Err(final_changed())
            };
        }
        if next.version == self.version {
            return if next.canonical_content() == self.canonical_content() {
                Ok(Acceptance::Duplicate)
            } else {
                Err(CopyConflict::SameVersionDiffers {
                    id: self.id,
                    version: self.version,
                })
            };
        }
        match (self.status.is_final(), next.status.is_final()) {
            (false, true) => Err(CopyConflict::ResultBeforeOpenVersion {
                id: self.id,
                held_version: self.version,
                offered_version: next.version,
            }),
            _ => Ok(Acceptance::Stale),
        }
    }

    /// The content a message about this version carries, written
    /// canonically: two messages describe the same thing exactly when
    /// these are equal (the inbox stores a digest of it).
    pub fn canonical_content(&self) -> String {
        format!(
            "{}|{}|{}|{:?}|{}",
            self.id,
            self.coefficient.normalize(),
            self.deadline
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.status,
            self.version
        )
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
        assert!(!event(LineEventStatus::Cancelled, now + Duration::hours(1), 2).is_open_at(now));
    }

    #[test]
    fn only_a_newer_version_of_an_open_event_replaces_a_copy() {
        let now = Utc::now();
        let current = event(LineEventStatus::New, now, 2);
        assert_eq!(
            current.accepts(&event(LineEventStatus::FinishedWin, now, 3), false),
            Ok(Acceptance::Replace)
        );
        assert_eq!(
            current.accepts(&event(LineEventStatus::New, now, 2), false),
            Ok(Acceptance::Duplicate)
        );
        assert_eq!(
            current.accepts(&event(LineEventStatus::New, now, 1), false),
            Ok(Acceptance::Stale)
        );
    }

    #[test]
    fn a_result_changes_only_by_a_correction() {
        let now = Utc::now();
        let finished = event(LineEventStatus::FinishedWin, now, 3);
        for next in [
            event(LineEventStatus::New, now, 4),
            event(LineEventStatus::FinishedLose, now, 4),
            event(LineEventStatus::FinishedWin, now, 4),
        ] {
            assert!(
                matches!(
                    finished.accepts(&next, false),
                    Err(CopyConflict::FinalStatusChanged { .. })
                ),
                "{next:?}"
            );
        }
        assert_eq!(
            finished.accepts(&event(LineEventStatus::New, now, 1), false),
            Ok(Acceptance::Stale)
        );
    }

    #[test]
    fn a_cancellation_changes_only_by_a_correction() {
        let now = Utc::now();
        let cancelled = event(LineEventStatus::Cancelled, now, 3);
        for next in [
            event(LineEventStatus::New, now, 4),
            event(LineEventStatus::FinishedWin, now, 4),
            event(LineEventStatus::FinishedLose, now, 4),
            event(LineEventStatus::Cancelled, now, 4),
        ] {
            assert!(
                matches!(
                    cancelled.accepts(&next, false),
                    Err(CopyConflict::FinalStatusChanged { .. })
                ),
                "{next:?}"
            );
        }
        assert_eq!(
            cancelled.accepts(&event(LineEventStatus::Cancelled, now, 3), false),
            Ok(Acceptance::Duplicate)
        );
        assert_eq!(
            cancelled.accepts(&event(LineEventStatus::New, now, 1), false),
            Ok(Acceptance::Stale)
        );
        let won = event(LineEventStatus::FinishedWin, now, 3);
        assert!(matches!(
            won.accepts(&event(LineEventStatus::Cancelled, now, 4), false),
            Err(CopyConflict::FinalStatusChanged { .. })
        ));
        assert_eq!(
            event(LineEventStatus::New, now, 2).accepts(&cancelled, false),
            Ok(Acceptance::Replace)
        );
    }

    #[test]
    fn only_a_newer_correction_changes_a_final_status() {
        let now = Utc::now();
        let won = event(LineEventStatus::FinishedWin, now, 2);
        for corrected in [LineEventStatus::FinishedLose, LineEventStatus::Cancelled] {
            assert_eq!(
                won.accepts(&event(corrected, now, 3), true),
                Ok(Acceptance::Replace)
            );
        }
        assert!(matches!(
            won.accepts(&event(LineEventStatus::New, now, 3), true),
            Err(CopyConflict::FinalStatusChanged { .. })
        ));
        assert!(matches!(
            won.accepts(&event(LineEventStatus::FinishedLose, now, 2), true),
            Err(CopyConflict::SameVersionDiffers { .. })
        ));
        // A correction that overtook the result it corrects decides the
        // open copy directly.
        assert_eq!(
            event(LineEventStatus::New, now, 1)
                .accepts(&event(LineEventStatus::FinishedLose, now, 3), true),
            Ok(Acceptance::Replace)
        );
        // Once corrected, the result before it is a late arrival.
        let corrected = event(LineEventStatus::FinishedLose, now, 3);
        assert_eq!(corrected.accepts(&won, false), Ok(Acceptance::Stale));
    }

    #[test]
    fn a_suspended_copy_is_open_to_newer_versions_and_closed_for_bets() {
        let now = Utc::now();
        let suspended = event(LineEventStatus::Suspended, now + Duration::hours(1), 2);
        assert!(!suspended.is_open_at(now));
        assert!(suspended.is_suspended_at(now));
        assert!(!suspended.is_suspended_at(now + Duration::hours(2)));
        for next in [
            LineEventStatus::New,
            LineEventStatus::FinishedWin,
            LineEventStatus::Cancelled,
        ] {
            assert_eq!(
                suspended.accepts(&event(next, now + Duration::hours(1), 3), false),
                Ok(Acceptance::Replace)
            );
        }
        assert!(matches!(
            suspended.accepts(&event(LineEventStatus::FinishedWin, now, 1), false),
            Err(CopyConflict::ResultBeforeOpenVersion { .. })
        ));
    }

    #[test]
    fn the_same_version_with_other_content_conflicts() {
        let now = Utc::now();
        let held = event(LineEventStatus::FinishedWin, now, 3);
        let other = LineEvent {
            status: LineEventStatus::FinishedLose,
            ..held.clone()
        };
        assert!(matches!(
            held.accepts(&other, false),
            Err(CopyConflict::SameVersionDiffers { version: 3, .. })
        ));
        let other_odds = LineEvent {
            coefficient: dec!(2.00),
            ..held.clone()
        };
        assert!(held.accepts(&other_odds, false).is_err());
    }

    #[test]
    fn a_result_older_than_an_open_copy_conflicts() {
        let now = Utc::now();
        let open = event(LineEventStatus::New, now, 5);
        assert!(matches!(
            open.accepts(&event(LineEventStatus::FinishedLose, now, 3), false),
            Err(CopyConflict::ResultBeforeOpenVersion { .. })
        ));
    }
}
