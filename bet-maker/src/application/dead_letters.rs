//! The dead-letter queue as staff see it: how many messages wait in it
//! (the latest reading of the dead-letter watch) and why bet-maker put
//! the latest ones there (recorded as it dead-lettered them, in the
//! database, so every replica shows the same ones).
//!
//! A message the broker dead-letters by itself (a consumer died holding
//! it too often) counts in the depth; only bet-maker's own dead letters
//! have a record.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ports::{Clock, DeadLetterLog, DeadLetterRecord, RepositoryError};

/// How many characters of a reason are kept: the reasons are bet-maker's
/// own words, but an error's chain of causes can run long.
pub const MAX_KEPT_REASON_CHARS: usize = 1_000;

/// The dead-letter queue's depth, as last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthReading {
    /// Messages in the queue.
    pub depth: u32,
    /// The most it keeps (`x-max-length`); beyond it the oldest are dropped.
    pub max_length: u32,
    /// When it was read.
    pub read_at: DateTime<Utc>,
}

/// What staff see of the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterOverview {
    /// The latest reading of its depth; `None` until the first (the broker
    /// not reached yet).
    pub depth: Option<DepthReading>,
    /// The latest dead letters bet-maker made, newest first.
    pub latest: Vec<DeadLetterRecord>,
}

/// A message just dead-lettered, to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct DeadLettered<'a> {
    /// The label of the reason.
    pub label: &'a str,
    /// The reason in words.
    pub reason: &'a str,
    /// The routing key it was published with.
    pub routing_key: &'a str,
    /// Its `message_id`, if any.
    pub message_id: Option<&'a str>,
}

/// The use cases on the dead-letter queue's record.
#[derive(Clone)]
pub struct DeadLetterService {
    log: Arc<dyn DeadLetterLog>,
    clock: Arc<dyn Clock>,
    depth: Arc<Mutex<Option<DepthReading>>>,
}

impl std::fmt::Debug for DeadLetterService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterService")
            .field("depth", &self.reading())
            .finish_non_exhaustive()
    }
}

impl DeadLetterService {
    /// The use cases over this log.
    pub fn new(log: Arc<dyn DeadLetterLog>, clock: Arc<dyn Clock>) -> Self {
        Self {
            log,
            clock,
            depth: Arc::new(Mutex::new(None)),
        }
    }

    /// Notes a reading of the queue's depth (the dead-letter watch's).
    pub fn observe_depth(&self, depth: u32, max_length: u32) {
        let reading = DepthReading {
            depth,
            max_length,
            read_at: self.clock.now(),
        };
        // A panic elsewhere while holding the lock left a reading, not a
        // broken one: a Copy value is written whole.
        *self.depth.lock().unwrap_or_else(PoisonError::into_inner) = Some(reading);
    }

    fn reading(&self) -> Option<DepthReading> {
        *self.depth.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a message bet-maker has just dead-lettered.
    pub async fn record(&self, letter: DeadLettered<'_>) -> Result<(), RepositoryError> {
        let record = DeadLetterRecord {
            id: Uuid::now_v7(),
            label: letter.label.to_owned(),
            reason: letter.reason.chars().take(MAX_KEPT_REASON_CHARS).collect(),
            routing_key: letter.routing_key.to_owned(),
            message_id: letter.message_id.map(str::to_owned),
            dead_lettered_at: self.clock.now(),
        };
        self.log.record(&record).await
    }

    /// The depth as last read, and the latest `limit` records.
    pub async fn overview(&self, limit: u32) -> Result<DeadLetterOverview, RepositoryError> {
        Ok(DeadLetterOverview {
            depth: self.reading(),
            latest: self.log.latest(limit).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use chrono::TimeZone;

    #[derive(Default)]
    struct Kept(Mutex<Vec<DeadLetterRecord>>);

    #[async_trait]
    impl DeadLetterLog for Kept {
        async fn record(&self, record: &DeadLetterRecord) -> Result<(), RepositoryError> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record.clone());
            Ok(())
        }

        async fn latest(&self, limit: u32) -> Result<Vec<DeadLetterRecord>, RepositoryError> {
            let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(kept.iter().rev().take(limit as usize).cloned().collect())
        }
    }

    fn service() -> DeadLetterService {
        let at = Utc.with_ymd_and_hms(2031, 6, 1, 12, 0, 0).single();
        let clock = crate::application::fakes::FixedClock::at(at.unwrap_or_default());
        DeadLetterService::new(Arc::new(Kept::default()), Arc::new(clock))
    }

    #[tokio::test]
    async fn no_depth_until_the_first_reading_then_the_latest() {
        let service = service();
        assert_eq!(service.overview(10).await.ok().and_then(|o| o.depth), None);

        service.observe_depth(3, 100);
        service.observe_depth(4, 100);

        let depth = service.overview(10).await.ok().and_then(|o| o.depth);
        assert_eq!(depth.map(|d| (d.depth, d.max_length)), Some((4, 100)));
    }

    #[tokio::test]
    async fn records_come_newest_first_with_long_reasons_cut() {
        let service = service();
        let long = "x".repeat(MAX_KEPT_REASON_CHARS + 50);
        for (label, reason) in [("malformed", "not JSON"), ("bad_signature", long.as_str())] {
            let letter = DeadLettered {
                label,
                reason,
                routing_key: "event.created",
                message_id: None,
            };
            assert!(service.record(letter).await.is_ok());
        }

        let latest = service
            .overview(10)
            .await
            .map(|o| o.latest)
            .unwrap_or_default();

        let labels: Vec<&str> = latest.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["bad_signature", "malformed"]);
        assert_eq!(latest[0].reason.chars().count(), MAX_KEPT_REASON_CHARS);
    }
}
