//! `WatchEvents`: the change feed as a server stream. Each watcher gets a
//! task that follows the log into a small bounded channel, so a slow
//! watcher makes its own task wait instead of the server buffering for it;
//! the task ends when the watcher goes away or the service stops.

use std::pin::Pin;

use chrono::SecondsFormat;
use futures_util::Stream;
use shared_kernel::proto::line::v1 as wire;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::errors::status_of;
use super::messages::{Violations, event_message};
use crate::application::ports::{LogPosition, LoggedChange};
use crate::application::{ChangeFeed, FeedItem, StartAt};
use crate::domain::ChangeKind;

/// Changes a watcher's channel holds beyond the one being sent: enough to
/// keep the connection busy, small enough that a thousand watchers cost
/// little.
const CHANNEL_CAPACITY: usize = 16;

/// The stream of one watcher.
pub type ChangeStream = Pin<Box<dyn Stream<Item = Result<wire::EventChange, Status>> + Send>>;

/// Where the request asks to start; `INVALID_ARGUMENT` naming the field
/// when it cannot be read.
pub fn start_at(request: &wire::WatchEventsRequest) -> Result<StartAt, Status> {
    let mut violations = Violations::default();
    let start = match (request.after.as_str(), request.from_now) {
        ("", false) => Some(StartAt::Beginning),
        ("", true) => Some(StartAt::Now),
        (after, from_now) => {
            if from_now {
                violations.note("from_now", "cannot be combined with `after`");
            }
            violations
                .read("after", after.parse::<LogPosition>())
                .map(StartAt::After)
        }
    };
    violations.finish()?;
    start.ok_or_else(|| Status::internal("a read field went missing"))
}

/// Starts following `feed` after `after` for one watcher, until it goes
/// away or `stop` is cancelled (the stream then ends cleanly).
pub fn watch(feed: ChangeFeed, after: LogPosition, stop: CancellationToken) -> ChangeStream {
    let (sink, changes) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(async move { feed.follow(after, sink, stop).await });
    Box::pin(futures_util::stream::unfold(changes, |mut changes| async {
        let item = changes.recv().await?;
        Some((wire_item(item), changes))
    }))
}

fn wire_item(item: FeedItem) -> Result<wire::EventChange, Status> {
    item.map(|change| change_message(&change))
        .map_err(status_of)
}

/// A change as the wire carries it.
fn change_message(change: &LoggedChange) -> wire::EventChange {
    let kind = match change.kind {
        ChangeKind::Created => wire::ChangeKind::Created,
        ChangeKind::Updated => wire::ChangeKind::Updated,
        ChangeKind::Finished => wire::ChangeKind::Finished,
        ChangeKind::Cancelled => wire::ChangeKind::Cancelled,
        ChangeKind::Suspended => wire::ChangeKind::Suspended,
        ChangeKind::Resumed => wire::ChangeKind::Resumed,
        ChangeKind::Corrected => wire::ChangeKind::Corrected,
    };
    wire::EventChange {
        position: change.position.to_string(),
        kind: kind.into(),
        event: Some(event_message(&change.event)),
        message_id: change.message_id.to_string(),
        occurred_at: change
            .occurred_at
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        reason: change.reason.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn request(after: &str, from_now: bool) -> wire::WatchEventsRequest {
        wire::WatchEventsRequest {
            after: after.to_owned(),
            from_now,
        }
    }

    #[test]
    fn empty_is_the_beginning_and_from_now_the_end() {
        assert_eq!(start_at(&request("", false)).ok(), Some(StartAt::Beginning));
        assert_eq!(start_at(&request("", true)).ok(), Some(StartAt::Now));
        let after = LogPosition {
            transaction: 7,
            sequence: 3,
        };
        assert_eq!(
            start_at(&request("7.3", false)).ok(),
            Some(StartAt::After(after))
        );
    }

    #[test]
    fn a_malformed_or_contradictory_start_is_invalid_argument() {
        for bad in [request("7", false), request("7.3", true)] {
            let refused = start_at(&bad).err().map(|status| status.code());
            assert_eq!(refused, Some(Code::InvalidArgument), "{bad:?}");
        }
    }
}
