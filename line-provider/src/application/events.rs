//! Use cases on events.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{Clock, EventRepository, RepositoryError};
use crate::domain::{
    Coefficient, Decision, DomainError, Event, EventChanged, EventPatch, EventResult, EventStatus,
};

/// How many times a change is retried when another request changed the
/// same event between our read and our write.
const CONCURRENCY_RETRIES: usize = 3;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No event with this id (404).
    #[error("no event with id {0}")]
    NotFound(Uuid),
    /// The change breaks a rule of the line (409 or 422, by rule).
    #[error(transparent)]
    Rule(#[from] DomainError),
    /// `If-Match` named another version than the current one (412).
    #[error("the event is at version {current}, not the one given in If-Match")]
    VersionMismatch {
        /// The version the event is at.
        current: i64,
    },
    /// Storage is down (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500).
    #[error("{0}")]
    Failed(String),
}

impl From<RepositoryError> for EventError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(reason) => Self::Unavailable(reason),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A condition on the current version (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`: apply to whatever version is current.
    None,
    /// `If-Match: *`: the event must exist.
    Any,
    /// `If-Match: "3", "4"`: the event must be at one of these versions.
    Versions(Vec<i64>),
}

impl Precondition {
    fn holds_for(&self, version: i64) -> bool {
        match self {
            Self::None | Self::Any => true,
            Self::Versions(versions) => versions.contains(&version),
        }
    }
}

/// Filters for listing events.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter {
    /// Only events with this status.
    pub status: Option<EventStatus>,
}

/// The use cases on the line.
#[derive(Clone)]
pub struct EventService {
    events: Arc<dyn EventRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EventService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventService").finish_non_exhaustive()
    }
}

impl EventService {
    /// The use cases over these ports.
    pub fn new(events: Arc<dyn EventRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { events, clock }
    }

    /// Creates an event, open for betting until `deadline`.
    pub async fn create(
        &self,
        coefficient: Coefficient,
        deadline: DateTime<Utc>,
    ) -> Result<Event, EventError> {
        let created = Event::create(Uuid::now_v7(), coefficient, deadline, self.clock.now())?;
        self.events.insert(&created).await?;
        tracing::info!(event_id = %created.event.id, "event created");
        Ok(created.event)
    }

    /// The event with this id.
    pub async fn get(&self, id: Uuid) -> Result<Event, EventError> {
        self.events.get(id).await?.ok_or(EventError::NotFound(id))
    }

    /// A page of events, oldest first, and whether there are more (the
    /// repository returns one extra row when there are).
    pub async fn list(
        &self,
        filter: EventFilter,
        page: PageRequest,
    ) -> Result<Vec<Event>, EventError> {
        Ok(self.events.list(filter.status, page).await?)
    }

    /// Moves the coefficient and/or deadline of an open event.
    pub async fn update(
        &self,
        id: Uuid,
        patch: EventPatch,
        precondition: Precondition,
    ) -> Result<Event, EventError> {
        self.change(id, &precondition, |event, now| event.update(patch, now))
            .await
    }

    /// Sets the event's result (idempotent for the same result).
    pub async fn finish(
        &self,
        id: Uuid,
        result: EventResult,
        precondition: Precondition,
    ) -> Result<Event, EventError> {
        self.change(id, &precondition, |event, now| event.finish(result, now))
            .await
    }

    /// Read, decide, write; if another writer got in between, read again,
    /// unless the client pinned the version it expected.
    async fn change(
        &self,
        id: Uuid,
        precondition: &Precondition,
        decide: impl Fn(Event, DateTime<Utc>) -> Result<Decision, DomainError>,
    ) -> Result<Event, EventError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let event = self.get(id).await?;
            if !precondition.holds_for(event.version) {
                return Err(EventError::VersionMismatch {
                    current: event.version,
                });
            }
            let change = match decide(event, self.clock.now())? {
                Decision::Unchanged(event) => return Ok(event),
                Decision::Changed(change) => change,
            };
            match self.events.update(&change).await {
                Ok(()) => {
                    log_change(&change);
                    return Ok(change.event);
                }
                Err(RepositoryError::VersionConflict) if attempt < CONCURRENCY_RETRIES => continue,
                Err(RepositoryError::VersionConflict) => {
                    return Err(EventError::Failed(format!(
                        "event {id} kept changing concurrently; gave up after {attempt} attempts"
                    )));
                }
                Err(other) => return Err(other.into()),
            }
        }
    }
}

fn log_change(change: &EventChanged) {
    tracing::info!(
        event_id = %change.event.id,
        kind = ?change.kind,
        version = change.event.version,
        status = ?change.event.status,
        "event changed"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Duration;
    use rust_decimal::Decimal;

    use super::*;
    use crate::application::ports::SystemClock;
    use crate::domain::EventStatus;

    /// Events in memory; can pretend another writer got in first.
    #[derive(Default)]
    struct InMemoryEvents {
        events: Mutex<HashMap<Uuid, Event>>,
        writes: Mutex<Vec<EventChanged>>,
        /// Before each of the next N updates, someone else bumps the version.
        interleaved_writers: Mutex<usize>,
    }

    #[async_trait]
    impl EventRepository for InMemoryEvents {
        async fn get(&self, id: Uuid) -> Result<Option<Event>, RepositoryError> {
            Ok(self
                .events
                .lock()
                .map_err(|e| RepositoryError::Failed(e.to_string()))?
                .get(&id)
                .cloned())
        }

        async fn list(
            &self,
            _: Option<EventStatus>,
            _: PageRequest,
        ) -> Result<Vec<Event>, RepositoryError> {
            Ok(Vec::new())
        }

        async fn insert(&self, change: &EventChanged) -> Result<(), RepositoryError> {
            let mut events = self
                .events
                .lock()
                .map_err(|e| RepositoryError::Failed(e.to_string()))?;
            events.insert(change.event.id, change.event.clone());
            self.record(change)
        }

        async fn update(&self, change: &EventChanged) -> Result<(), RepositoryError> {
            let mut events = self
                .events
                .lock()
                .map_err(|e| RepositoryError::Failed(e.to_string()))?;
            let stored = events
                .get_mut(&change.event.id)
                .ok_or(RepositoryError::VersionConflict)?;
            let mut interleaved = self
                .interleaved_writers
                .lock()
                .map_err(|e| RepositoryError::Failed(e.to_string()))?;
            if *interleaved > 0 {
                *interleaved -= 1;
                stored.version += 1;
            }
            if stored.version != change.event.version - 1 {
                return Err(RepositoryError::VersionConflict);
            }
            *stored = change.event.clone();
            self.record(change)
        }
    }

    impl InMemoryEvents {
        fn record(&self, change: &EventChanged) -> Result<(), RepositoryError> {
            let mut writes = self
                .writes
                .lock()
                .map_err(|e| RepositoryError::Failed(e.to_string()))?;
            writes.push(change.clone());
            Ok(())
        }

        fn writes(&self) -> usize {
            self.writes.lock().map(|w| w.len()).unwrap_or_default()
        }

        fn interleave(&self, writers: usize) {
            if let Ok(mut interleaved) = self.interleaved_writers.lock() {
                *interleaved = writers;
            }
        }
    }

    async fn service_with_event() -> (EventService, Arc<InMemoryEvents>, Event) {
        let repository = Arc::new(InMemoryEvents::default());
        let service = EventService::new(repository.clone(), Arc::new(SystemClock));
        let coefficient = Coefficient::new(Decimal::new(185, 2)).unwrap_or_else(|e| panic!("{e}"));
        let event = service
            .create(coefficient, Utc::now() + Duration::hours(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (service, repository, event)
    }

    fn patch(cents: i64) -> EventPatch {
        EventPatch {
            coefficient: Some(
                Coefficient::new(Decimal::new(cents, 2)).unwrap_or_else(|e| panic!("{e}")),
            ),
            deadline: None,
        }
    }

    #[tokio::test]
    async fn a_change_raced_by_another_writer_is_retried_on_the_latest_version() {
        let (service, repository, event) = service_with_event().await;
        repository.interleave(1);

        let updated = service
            .update(event.id, patch(250), Precondition::None)
            .await;

        let updated = updated.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            updated.version, 3,
            "applied on top of the other writer's version 2"
        );
        assert_eq!(updated.coefficient.value(), Decimal::new(250, 2));
    }

    #[tokio::test]
    async fn a_change_pinned_by_if_match_is_not_retried_after_a_race() {
        let (service, repository, event) = service_with_event().await;
        repository.interleave(1);

        let updated = service
            .update(event.id, patch(250), Precondition::Versions(vec![1]))
            .await;

        assert!(
            matches!(updated, Err(EventError::VersionMismatch { current: 2 })),
            "{updated:?}"
        );
    }

    #[tokio::test]
    async fn endless_races_give_up_instead_of_spinning() {
        let (service, repository, event) = service_with_event().await;
        repository.interleave(usize::MAX);

        let updated = service
            .update(event.id, patch(250), Precondition::None)
            .await;

        assert!(matches!(updated, Err(EventError::Failed(_))), "{updated:?}");
    }

    #[tokio::test]
    async fn the_same_result_twice_is_written_once() {
        let (service, repository, event) = service_with_event().await;

        for _ in 0..2 {
            let finished = service
                .finish(event.id, EventResult::Lose, Precondition::None)
                .await;
            assert_eq!(
                finished.map(|e| e.status).ok(),
                Some(EventStatus::FinishedLose)
            );
        }

        assert_eq!(repository.writes(), 2, "one create, one finish");
    }

    #[tokio::test]
    async fn an_unknown_event_is_not_found() {
        let (service, _, _) = service_with_event().await;
        let missing = Uuid::now_v7();

        let result = service
            .finish(missing, EventResult::Win, Precondition::None)
            .await;

        assert!(matches!(result, Err(EventError::NotFound(id)) if id == missing));
    }
}
