//! When betting on an event closes.

use chrono::{DateTime, Utc};

/// The instant before which bets are accepted (strictly before).
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
        if at > now {
            Ok(Self(at))
        } else {
            Err(DeadlineError::NotInFuture)
        }
    }

    /// A deadline read back from storage, checked when it was set.
    pub fn restore(at: DateTime<Utc>) -> Self {
        Self(at)
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
