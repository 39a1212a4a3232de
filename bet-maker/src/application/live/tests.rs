//! The fan-out on an in-memory feed: what a subscriber that falls behind
//! is told, and that a subscriber never gets another topic's changes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    ChangeLog, Delivery, FeedChange, FeedKey, FeedSettings, LiveChange, LiveFeed, ResetReason,
    Topic, WalletBalance,
};
use crate::application::ports::RepositoryError;
use crate::domain::{BettorId, LineEvent, LineEventStatus};

/// The feed as a list, every change committed at once.
#[derive(Default)]
struct MemoryLog {
    changes: Mutex<Vec<(FeedKey, Topic, LiveChange)>>,
    /// The furthest key a reader has read.
    read_to: Mutex<Option<FeedKey>>,
}

impl MemoryLog {
    fn write(&self, topic: Topic, change: LiveChange) {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let position = i64::try_from(changes.len()).unwrap_or_default() + 1;
        let key = FeedKey { xid: 1, position };
        changes.push((key, topic, change));
    }

    fn after(&self, after: FeedKey, topic: Option<&Topic>, limit: u32) -> Vec<FeedChange> {
        let changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes
            .iter()
            .filter(|(key, of, _)| *key > after && topic.is_none_or(|topic| topic == of))
            .take(limit as usize)
            .map(|(key, topic, change)| FeedChange::new(*key, topic.clone(), Some(change.clone())))
            .collect()
    }

    fn read_to(&self) -> Option<FeedKey> {
        *self.read_to.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ChangeLog for MemoryLog {
    async fn horizon(&self) -> Result<FeedKey, RepositoryError> {
        Ok(FeedKey {
            xid: 0,
            position: 0,
        })
    }

    async fn read_all(
        &self,
        after: FeedKey,
        _followed: &(dyn for<'b> Fn(&'b BettorId) -> bool + Send + Sync),
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError> {
        let changes = self.after(after, None, limit);
        if let Some(last) = changes.last() {
            *self.read_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(last.key);
        }
        Ok(changes)
    }

    async fn read_topic(
        &self,
        topic: &Topic,
        after: FeedKey,
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError> {
        Ok(self.after(after, Some(topic), limit))
    }

    async fn locate(
        &self,
        _topic: &Topic,
        _position: i64,
    ) -> Result<Option<FeedKey>, RepositoryError> {
        Ok(None)
    }

    async fn forget_through(&self, _through: FeedKey) -> Result<u64, RepositoryError> {
        Ok(0)
    }
}

fn line_change() -> LiveChange {
    LiveChange::Line(LineEvent {
        id: Uuid::now_v7(),
        coefficient: Decimal::new(185, 2),
        deadline: Utc::now(),
        status: LineEventStatus::New,
        version: 1,
    })
}

fn wallet_change(balance: i64) -> LiveChange {
    LiveChange::Wallet(WalletBalance {
        balance: Decimal::new(balance, 2),
        currency: "EUR".to_owned(),
    })
}

fn bettor(id: &str) -> Topic {
    Topic::Bettor(BettorId::parse(id).unwrap_or_else(|e| panic!("{e}")))
}

/// A feed on `log` with room for `buffer` line changes, its reader running
/// until the token is cancelled.
fn running(log: &Arc<MemoryLog>, buffer: usize) -> (LiveFeed, CancellationToken) {
    let feed = LiveFeed::new(
        log.clone(),
        FeedSettings {
            line_buffer: buffer,
            retention: Duration::from_secs(600),
            keep_alive: Duration::from_secs(600),
        },
    );
    let stop = CancellationToken::new();
    tokio::spawn(feed.clone().run(stop.clone()));
    (feed, stop)
}

async fn read_through(log: &MemoryLog, position: i64) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while log.read_to().is_none_or(|key| key.position < position) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the reader never read through {position}"));
}

#[tokio::test]
async fn a_subscriber_further_behind_than_the_buffer_is_told_to_reset_and_ends() {
    let log = Arc::new(MemoryLog::default());
    let (feed, stop) = running(&log, 2);
    let mut slow = feed
        .subscribe(Topic::Line, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    for _ in 0..5 {
        log.write(Topic::Line, line_change());
    }
    feed.wake();
    read_through(&log, 5).await;

    let first = slow
        .next()
        .await
        .map(|delivery| delivery.map_err(|e| e.to_string()));
    assert!(
        matches!(first, Some(Ok(Delivery::Reset(ResetReason::TooSlow)))),
        "{first:?}"
    );
    assert!(
        slow.next().await.is_none(),
        "the stream ends after the reset"
    );
    stop.cancel();
}

#[tokio::test]
async fn a_bettor_gets_their_own_changes_only_and_every_subscription_ends_when_the_feed_stops() {
    let log = Arc::new(MemoryLog::default());
    let (feed, stop) = running(&log, 16);
    let mut alice = feed
        .subscribe(bettor("alice"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    log.write(bettor("bob"), wallet_change(500));
    log.write(Topic::Line, line_change());
    log.write(bettor("alice"), wallet_change(1000));
    feed.wake();

    let got = alice
        .next()
        .await
        .map(|delivery| delivery.map_err(|e| e.to_string()));
    let Some(Ok(Delivery::Change(change))) = got else {
        panic!("expected alice's change, got {got:?}");
    };
    assert_eq!(change.key.position, 3);
    assert!(
        matches!(&change.change, Some(LiveChange::Wallet(w)) if w.balance == Decimal::new(1000, 2))
    );

    stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(10), alice.next()).await;
    assert!(matches!(ended, Ok(None)), "{ended:?}");
    assert!(feed.is_closed());
}
