//! The line's changes as a feed: every change after a position, then each
//! new one as it commits, for watchers that must miss nothing (gRPC
//! `WatchEvents`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{ChangeKind, Event};

/// A place in the change log, after which a reader goes on. Its text
/// (`<transaction>.<sequence>`) is what watchers hold to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition {
    /// The id of the transaction that committed the change.
    pub transaction: u64,
    /// The change's number, which orders changes of one transaction.
    pub sequence: i64,
}

impl LogPosition {
    /// Before every change.
    pub const START: Self = Self {
        transaction: 0,
        sequence: 0,
    };
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.transaction, self.sequence)
    }
}

/// Text that is not a position this service gave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not a position a WatchEvents stream returned")]
pub struct MalformedPosition;

impl FromStr for LogPosition {
    type Err = MalformedPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (transaction, sequence) = text.split_once('.').ok_or(MalformedPosition)?;
        // Digits only (`parse` would also take a sign), as a change's
        // position is written: no leading zero, and neither part 0 (a
        // transaction id and an outbox id both start at 1), so `0.0` and
        // `01.2` are no positions this service gave out.
        let digits = |part: &str| {
            !part.is_empty() && !part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(transaction) || !digits(sequence) {
            return Err(MalformedPosition);
        }
        Ok(Self {
            transaction: transaction.parse().map_err(|_| MalformedPosition)?,
            sequence: sequence.parse().map_err(|_| MalformedPosition)?,
        })
    }
}

/// One change as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    /// Where it is in the log.
    pub position: LogPosition,
    /// What happened.
    pub kind: ChangeKind,
    /// The event as it was right after the change.
    pub event: Event,
    /// The id of the message that announced it on the broker.
    pub message_id: Uuid,
    /// When it was made.
    pub occurred_at: DateTime<Utc>,
    /// The operator's reason, for a correction; `None` otherwise.
    pub reason: Option<String>,
}

/// Where a watcher starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Before every change ever made.
    Beginning,
    /// At the end of the log: only changes made from now on.
    Now,
    /// After a position the watcher received before.
    After(LogPosition),
}

mod feed;

pub use feed::{ChangeFeed, FeedItem, FeedSettings, StartError};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_from_its_text() {
        let position = LogPosition {
            transaction: 18_446_744_073_709_551_615,
            sequence: 42,
        };
        assert_eq!(position.to_string().parse(), Ok(position));
        assert_eq!(
            "1342.1".parse(),
            Ok(LogPosition {
                transaction: 1342,
                sequence: 1
            })
        );
    }

    #[test]
    fn anything_else_is_malformed() {
        for text in [
            "",
            "1",
            "1.",
            ".1",
            "a.1",
            "1.b",
            "+1.2",
            "1.-2",
            "1.2.3",
            " 1.2",
            "1.2 ",
            "18446744073709551616.1",
            "1.9223372036854775808",
            "0.0",
            "0.5",
            "5.0",
            "01.2",
            "1.02",
        ] {
            assert_eq!(
                text.parse::<LogPosition>(),
                Err(MalformedPosition),
                "{text:?}"
            );
        }
    }

    #[test]
    fn positions_order_by_transaction_then_sequence() {
        let at = |transaction, sequence| LogPosition {
            transaction,
            sequence,
        };
        assert!(at(5, 100) < at(6, 1));
        assert!(at(6, 1) < at(6, 2));
    }
}
