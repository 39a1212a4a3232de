//! The feed over an in-memory log: a live watcher that falls more than
//! the tail keeps behind catches up from its own position, missing
//! nothing and sending nothing twice.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Utc;
use rust_decimal::Decimal;
use tokio::sync::watch;
use uuid::Uuid;

use super::*;
use crate::domain::{ChangeKind, Coefficient, Deadline, Event, EventStatus};

/// A log in memory: one change per transaction, all committed.
struct MemoryLog {
    changes: Mutex<Vec<LoggedChange>>,
    growth: watch::Sender<()>,
    /// The furthest transaction any read returned.
    furthest_read: std::sync::atomic::AtomicU64,
}

impl MemoryLog {
    fn new() -> Self {
        Self {
            changes: Mutex::default(),
            growth: watch::channel(()).0,
            furthest_read: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn append(&self, count: usize) {
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..count {
            let transaction = changes.len() as u64 + 1;
            let coefficient = Coefficient::new(Decimal::new(185, 2));
            let Ok(coefficient) = coefficient else {
                panic!("1.85 is a coefficient")
            };
            changes.push(LoggedChange {
                position: LogPosition {
                    transaction,
                    sequence: 1,
                },
                kind: ChangeKind::Created,
                event: Event::restore(
                    Uuid::now_v7(),
                    coefficient,
                    Deadline::restore(Utc::now()),
                    EventStatus::New,
                    1,
                ),
                message_id: Uuid::now_v7(),
                occurred_at: Utc::now(),
                reason: None,
            });
        }
        drop(changes);
        self.growth.send_replace(());
    }
}

#[async_trait]
impl ChangeLog for MemoryLog {
    async fn read_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedChange>, RepositoryError> {
        let changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let page: Vec<LoggedChange> = changes
            .iter()
            .filter(|change| change.position > after)
            .take(limit as usize)
            .cloned()
            .collect();
        if let Some(last) = page.last() {
            self.furthest_read
                .fetch_max(last.position.transaction, Ordering::AcqRel);
        }
        Ok(page)
    }

    async fn end(&self) -> Result<LogPosition, RepositoryError> {
        let changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(changes.last().map_or(LogPosition::START, |c| c.position))
    }

    async fn next_transaction(&self) -> Result<u64, RepositoryError> {
        let changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(changes.len() as u64 + 1)
    }

    fn growth(&self) -> watch::Receiver<()> {
        self.growth.subscribe()
    }
}

/// Polls `condition` every few milliseconds for up to ten seconds.
async fn until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within ten seconds");
}

#[tokio::test]
async fn a_live_watcher_far_behind_the_tail_catches_up_from_its_own_position() {
    let log = Arc::new(MemoryLog::new());
    log.append(1);
    let feed = ChangeFeed::new(
        log.clone(),
        FeedSettings {
            page_size: 100,
            sweep_interval: Duration::from_secs(60),
            readers: 2,
        },
    );
    let stop = CancellationToken::new();
    tokio::spawn(feed.clone().run_tail(stop.clone()));
    until("the tail started", || {
        feed.shared.tail_started.load(Ordering::Acquire)
    })
    .await;
    let (sink, mut changes) = mpsc::channel(4);
    tokio::spawn({
        let feed = feed.clone();
        let stop = stop.clone();
        async move { feed.follow(LogPosition::START, sink, stop).await }
    });
    let first = changes.recv().await;
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    until("the watcher is live", || {
        feed.shared.live.receiver_count() == 1
    })
    .await;

    // Far more than the tail keeps, while the watcher reads nothing.
    let burst = LIVE_CAPACITY * 3;
    log.append(burst);
    let last = burst as u64 + 1;
    // Only the tail reads until the watcher falls behind.
    until("the tail sent the burst", || {
        log.furthest_read.load(Ordering::Acquire) == last
    })
    .await;

    let mut positions = Vec::new();
    while positions.len() < burst {
        match tokio::time::timeout(Duration::from_secs(10), changes.recv()).await {
            Ok(Some(Ok(change))) => positions.push(change.position.transaction),
            other => panic!("after {} changes: {other:?}", positions.len()),
        }
    }
    let expected: Vec<u64> = (2..=last).collect();
    assert_eq!(
        positions, expected,
        "every change after the first, once, in order"
    );
    stop.cancel();
}
