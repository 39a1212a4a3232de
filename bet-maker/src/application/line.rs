//! Use cases on bet-maker's copy of the line: read the open events, apply
//! news of an event, resync from line-provider.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{
    ApplyOutcome, Clock, LineProvider, LineProviderError, LineRepository, RepositoryError,
};
use crate::domain::{Announced, LineEvent};

/// Why a use case on the line failed.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Storage failed: when the database is unreachable, retry later (503;
    /// the consumer holds the message and retries), else a fault (500).
    #[error(transparent)]
    Storage(#[from] RepositoryError),
    /// line-provider could not be read (resync).
    #[error(transparent)]
    LineProvider(#[from] LineProviderError),
}

impl LineError {
    /// Whether the database was unreachable: worth retrying as is.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Storage(storage) if storage.is_unavailable())
    }
}

/// What a resync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResyncReport {
    /// Events where the copy disagrees with line-provider at the same or a
    /// higher version (each logged at ERROR, none changed): the copy took
    /// something line-provider never said, and needs an operator.
    pub disagreements: u64,
    /// Events read from line-provider.
    pub events_read: u64,
    /// Copies created or replaced by a newer version.
    pub events_updated: u64,
    /// Bets settled (or voided) because their event turned out to be
    /// finished (or cancelled).
    pub bets_settled: u64,
}

/// A page of open events, as [`LineService::open_events`] read it.
#[derive(Debug)]
pub struct OpenEvents {
    /// The events (one extra when there are more).
    pub events: Vec<LineEvent>,
    /// How long the same page is the answer, when it can be known.
    pub holds: Option<Holds>,
}

/// How long a page of open events is the answer: while the line's
/// version in memory stays `version`, and until the earliest deadline on
/// the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    version: u64,
    until: Option<DateTime<Utc>>,
}

impl Holds {
    /// The version of the line in memory it was read from.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// The use cases on the line.
#[derive(Clone)]
pub struct LineService {
    line: Arc<dyn LineRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LineService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineService").finish_non_exhaustive()
    }
}

impl LineService {
    /// The use cases over these ports.
    pub fn new(line: Arc<dyn LineRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { line, clock }
    }

    /// A page of events open for betting now (one extra when there are
    /// more), and, when the line is held in memory, how long the same page
    /// is the answer.
    pub async fn open_events(&self, page: PageRequest) -> Result<OpenEvents, LineError> {
        // Read before the events: a change during the read moves it, and
        // what was read is then never reused.
        let version = self.line.open_events_version();
        let events = self.line.list_open(self.clock.now(), page).await?;
        let holds = version.map(|version| Holds {
            version,
            until: events.iter().map(|event| event.deadline).min(),
        });
        Ok(OpenEvents { events, holds })
    }

    /// Whether a page of open events read with `holds` is still the page
    /// a read now would give: the line unchanged, and no event on it past
    /// its deadline (an event not on it cannot come back before the line
    /// changes).
    pub fn still_holds(&self, holds: &Holds) -> bool {
        self.line.open_events_version() == Some(holds.version)
            && holds.until.is_none_or(|until| self.clock.now() < until)
    }

    /// Applies one message from line-provider, exactly once, if it is a
    /// `kind` of change line-provider could have made and the copy accepts
    /// it; a refusal comes back as [`ApplyOutcome::Refused`] with nothing
    /// changed.
    pub async fn apply_message(
        &self,
        message_id: Uuid,
        change: &Announced,
    ) -> Result<ApplyOutcome, LineError> {
        let event = &change.event;
        if let Err(impossible) = change.kind.check(event) {
            return Ok(ApplyOutcome::Refused(impossible.into()));
        }
        let outcome = self.line.apply_message(message_id, change).await?;
        match &outcome {
            ApplyOutcome::Applied { bets_settled } => {
                metrics::counter!("bets_settled_total").increment(*bets_settled);
                tracing::info!(%message_id, event_id = %event.id, version = event.version, bets_settled, "event applied");
            }
            ApplyOutcome::AlreadyApplied => {
                tracing::debug!(%message_id, event_id = %event.id, "message applied before; nothing changed");
            }
            ApplyOutcome::Unchanged | ApplyOutcome::Outdated { .. } => {
                tracing::debug!(%message_id, event_id = %event.id, version = event.version, "this or a newer version is held; nothing changed");
            }
            ApplyOutcome::Refused(_) => {}
        }
        Ok(outcome)
    }

    /// Pages through line-provider's events and applies each the copy
    /// accepts, so an empty or stale bet-maker catches up with the line.
    /// Where the copy disagrees with line-provider at the same or a higher
    /// version, the copy is kept (bets may have been settled on it) and the
    /// event is logged at ERROR and counted in the report.
    pub async fn resync(
        &self,
        line_provider: &dyn LineProvider,
    ) -> Result<ResyncReport, LineError> {
        let mut report = ResyncReport::default();
        let mut cursor = None;
        loop {
            let page = line_provider.events_page(cursor).await?;
            for event in &page.events {
                report.events_read += 1;
                match self.line.apply_snapshot(event).await? {
                    ApplyOutcome::Applied { bets_settled } => {
                        report.events_updated += 1;
                        report.bets_settled += bets_settled;
                    }
                    ApplyOutcome::Outdated { held_version } => {
                        report.disagreements += 1;
                        tracing::error!(event_id = %event.id, held_version, line_provider_version = event.version,
                            "the copy is ahead of line-provider: it holds a version line-provider never published");
                    }
                    ApplyOutcome::Refused(refusal) => {
                        report.disagreements += 1;
                        tracing::error!(event_id = %event.id, line_provider_version = event.version, reason = refusal.label(),
                            error = %refusal, "the copy disagrees with line-provider; kept for an operator to decide");
                    }
                    ApplyOutcome::AlreadyApplied | ApplyOutcome::Unchanged => {}
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(report),
            }
        }
    }
}
