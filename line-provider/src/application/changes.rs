//! The line's changes as a feed: every change after a position, then each
//! new one as it commits, for watchers that must miss nothing (gRPC
//! `WatchEvents`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::EventError;
use super::ports::{ChangeLog, RepositoryError};
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

/// How a feed reads the log.
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Changes read at once: what one watcher holds in memory at most,
    /// beside what its channel holds.
    pub page_size: u32,
    /// How often to look for changes no notification announced.
    pub sweep_interval: Duration,
}

/// Why a watcher cannot start where it asked.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The position names a transaction that has not even begun: no
    /// change was ever there, and waiting for one would wait for ever
    /// (`INVALID_ARGUMENT` naming `after`).
    #[error("is beyond the end of the change log: no change was ever at {position}")]
    BeyondTheEnd {
        /// The position asked for.
        position: LogPosition,
    },
    /// Reading where the log ends failed.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// What a feed sends: a change, or the failure that ended the feed.
pub type FeedItem = Result<LoggedChange, EventError>;

/// Follows the change log for watchers.
#[derive(Clone)]
pub struct ChangeFeed {
    log: Arc<dyn ChangeLog>,
    settings: FeedSettings,
}

impl fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ChangeFeed {
    /// A feed over `log`.
    pub fn new(log: Arc<dyn ChangeLog>, settings: FeedSettings) -> Self {
        Self { log, settings }
    }

    /// The position a watcher starting at `at` reads after. A position
    /// whose transaction has not begun yet is refused: the log never gave
    /// it out (a reader's positions are all of committed transactions), so
    /// it is a client's invention, and following it would wait for ever
    /// (the sequence part cannot do that: past a transaction's last
    /// change, the next transaction's changes follow).
    pub async fn start(&self, at: StartAt) -> Result<LogPosition, StartError> {
        match at {
            StartAt::Beginning => Ok(LogPosition::START),
            StartAt::Now => Ok(self.log.end().await?),
            StartAt::After(position) => {
                if position.transaction >= self.log.next_transaction().await? {
                    return Err(StartError::BeyondTheEnd { position });
                }
                Ok(position)
            }
        }
    }

    /// Sends every change after `after` into `sink`, in log order, then
    /// each new one as it commits, until `stop` is cancelled or the
    /// receiver is dropped. A page is read only once the last one is sent,
    /// and each change waits for room in `sink`, so a slow watcher slows
    /// its own reading instead of making the server hold its changes. A
    /// storage failure is sent as the last item.
    pub async fn follow(
        &self,
        after: LogPosition,
        sink: mpsc::Sender<FeedItem>,
        stop: CancellationToken,
    ) {
        let mut growth = self.log.growth();
        let mut position = after;
        loop {
            // Marked seen before reading: growth during the read wakes the
            // wait below at once.
            growth.borrow_and_update();
            let page = match self.log.read_after(position, self.settings.page_size).await {
                Ok(page) => page,
                Err(error) => {
                    let _ = sink.send(Err(error.into())).await;
                    return;
                }
            };
            let full = page.len() >= self.settings.page_size as usize;
            for change in page {
                position = change.position;
                let room = tokio::select! {
                    () = stop.cancelled() => return,
                    room = sink.reserve() => room,
                };
                let Ok(room) = room else { return };
                room.send(Ok(change));
            }
            if full {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = sink.closed() => return,
                _ = growth.changed() => {}
                () = tokio::time::sleep(self.settings.sweep_interval) => {}
            }
        }
    }
}

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
