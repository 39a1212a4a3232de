//! When betting on an event closes.

use chrono::{DateTime, SubsecRound, Utc};

/// The instant before which bets are accepted (strictly before), to the
/// microsecond: finer digits are dropped, so the deadline a client is shown
/// is the one stored and announced.
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
        let at = at.trunc_subsecs(6);
        if at > now {
            Ok(Self(at))
        } else {
            Err(DeadlineError::NotInFuture)
        }
    }

    /// A deadline read back from storage, checked when it was set; it may
    /// have passed since, which is why only the storage adapter may call it.
    pub(crate) fn restore(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }

    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
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
