//! When betting on an event closes.

use chrono::{DateTime, SubsecRound, TimeDelta, Timelike, Utc};

/// The instant before which bets are accepted (strictly before), in the
/// form storage keeps it: to the microsecond (finer digits are dropped) and
/// without a leap second (`:60` is the next second's start, as PostgreSQL
/// has it), so the deadline a client is shown is the one stored and
/// announced, and asking for the one an event has is no change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(DateTime<Utc>);

/// Why an instant cannot be a new deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// Now or earlier: a deadline is set or moved only into the future.
    #[error("must be in the future")]
    NotInFuture,
}

impl Deadline {
    /// A deadline being set or moved now: it must lie in the future.
    pub fn in_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, DeadlineError> {
        let at = as_stored(at);
        if at > now {
            Ok(Self(at))
        } else {
            Err(DeadlineError::NotInFuture)
        }
    }

    /// A deadline read back from storage, checked when it was set; it may
    /// have passed since, which is why only the storage adapter may call it.
    pub(crate) fn restore(at: DateTime<Utc>) -> Self {
        Self(as_stored(at))
    }

    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        self.0
    }

    /// Whether `at` would be stored as this very deadline: what a change
    /// compares, so that a request echoing a deadline in finer digits
    /// changes nothing.
    pub fn is_stored_as(self, at: DateTime<Utc>) -> bool {
        as_stored(at) == self.0
    }
}

/// `at` as PostgreSQL's `timestamptz` keeps it: microseconds, and a leap
/// second (chrono's nanoseconds of a second or more) as the start of the
/// second after it.
fn as_stored(at: DateTime<Utc>) -> DateTime<Utc> {
    let at = at.trunc_subsecs(6);
    let nanos = at.nanosecond();
    if nanos < 1_000_000_000 {
        return at;
    }
    at.with_nanosecond(nanos - 1_000_000_000)
        .and_then(|within| within.checked_add_signed(TimeDelta::seconds(1)))
        // Only at the very end of chrono's range; nothing in 0001-9999.
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn keeps_microseconds_and_drops_finer_digits() {
        let now = Utc::now();
        let at = now + Duration::hours(1) + Duration::nanoseconds(123_456_789);
        let deadline = Deadline::in_future(at, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(deadline.at(), at.trunc_subsecs(6));
        assert_eq!(deadline.at().timestamp_subsec_nanos() % 1000, 0);
    }

    fn leap_second() -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2030, 6, 30)
            .and_then(|day| day.and_hms_micro_opt(23, 59, 59, 1_250_000))
            .map(|at| at.and_utc())
            .unwrap_or_else(|| panic!("a leap second chrono can represent"))
    }

    #[test]
    fn a_leap_second_is_kept_as_the_start_of_the_next_second() {
        let now = Utc::now();
        let deadline = Deadline::in_future(leap_second(), now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(deadline.at().to_rfc3339(), "2030-07-01T00:00:00.250+00:00");
        assert!(deadline.is_stored_as(leap_second()));
        assert_eq!(Deadline::restore(leap_second()), deadline);
    }

    #[test]
    fn finer_digits_are_the_same_stored_deadline() {
        let now = Utc::now();
        let at = now + Duration::hours(1);
        let deadline = Deadline::in_future(at, now).unwrap_or_else(|e| panic!("{e}"));
        assert!(deadline.is_stored_as(at));
        assert!(deadline.is_stored_as(deadline.at() + Duration::nanoseconds(999)));
        assert!(!deadline.is_stored_as(deadline.at() + Duration::microseconds(1)));
    }

    #[test]
    fn only_the_future_is_a_deadline() {
        let now = Utc::now();
        assert!(Deadline::in_future(now + Duration::milliseconds(1), now).is_ok());
        assert_eq!(
            Deadline::in_future(now, now),
            Err(DeadlineError::NotInFuture)
        );
        assert_eq!(
            Deadline::in_future(now - Duration::hours(1), now),
            Err(DeadlineError::NotInFuture)
        );
    }
}
