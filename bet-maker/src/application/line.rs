//! Use cases on bet-maker's copy of the line: read the open events, apply
//! news of an event, resync from line-provider.

use std::sync::Arc;

use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{Applied, Clock, LineEventStore, LineProvider, RepositoryError};
use crate::domain::LineEvent;

/// Why a use case on the line failed.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Storage is down: retry later (503; the consumer waits and retries).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else.
    #[error("{0}")]
    Failed(String),
    /// line-provider could not be read (resync).
    #[error("line-provider: {0}")]
    Upstream(String),
}

impl From<RepositoryError> for LineError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(reason) => Self::Unavailable(reason),
            RepositoryError::Failed(reason) => Self::Failed(reason),
        }
    }
}

/// What a resync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResyncReport {
    /// Events read from line-provider.
    pub events_read: u64,
    /// Copies created or replaced by a newer version.
    pub events_updated: u64,
    /// Bets settled because their event turned out to be finished.
    pub bets_settled: u64,
}

/// The use cases on the line.
#[derive(Clone)]
pub struct LineService {
    store: Arc<dyn LineEventStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LineService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineService").finish_non_exhaustive()
    }
}

impl LineService {
    /// The use cases over these ports.
    pub fn new(store: Arc<dyn LineEventStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of events open for betting now (one extra when there are more).
    pub async fn open_events(&self, page: PageRequest) -> Result<Vec<LineEvent>, LineError> {
        Ok(self.store.list_open(self.clock.now(), page).await?)
    }

    /// Applies one message from line-provider, exactly once.
    pub async fn apply_message(
        &self,
        message_id: Uuid,
        event: &LineEvent,
    ) -> Result<Applied, LineError> {
        let applied = self.store.apply_message(message_id, event).await?;
        if let Applied::Updated { settled } = applied {
            metrics::counter!("bets_settled_total").increment(settled);
            tracing::info!(%message_id, event_id = %event.id, version = event.version, settled, "event applied");
        } else {
            tracing::debug!(%message_id, event_id = %event.id, ?applied, "message changed nothing");
        }
        Ok(applied)
    }

    /// Pages through line-provider's events and applies each by version, so
    /// an empty or stale bet-maker catches up with the line.
    pub async fn resync(
        &self,
        line_provider: &dyn LineProvider,
    ) -> Result<ResyncReport, LineError> {
        let mut report = ResyncReport::default();
        let mut cursor = None;
        loop {
            let (events, next) = line_provider
                .events_page(cursor)
                .await
                .map_err(LineError::Upstream)?;
            for event in &events {
                report.events_read += 1;
                if let Applied::Updated { settled } = self.store.apply_snapshot(event).await? {
                    report.events_updated += 1;
                    report.bets_settled += settled;
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(report),
            }
        }
    }
}
