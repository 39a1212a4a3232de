//! The use cases on the line: create, change, suspend and resume, finish,
//! correct, read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{Clock, EventRepository};
use super::{EventError, Precondition};
use crate::domain::{
    Coefficient, CoefficientError, CorrectionReason, Decision, DomainError, Event, EventChanged,
    EventPatch, EventResult, EventStatus, InvalidFields,
};

/// Filters for listing events.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter {
    /// Only events with this status.
    pub status: Option<EventStatus>,
}

/// A request to move an open event's values, as the client sent them: the
/// use case checks them against the line's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestedChanges {
    /// The new odds, if they should move.
    pub coefficient: Option<Decimal>,
    /// The new deadline, if it should move.
    pub deadline: Option<DateTime<Utc>>,
}

/// The use cases on the line, over the ports they need.
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

    /// Creates an event, open for betting until `deadline`. A refusal
    /// names every field that breaks a rule.
    pub async fn create(
        &self,
        coefficient: Decimal,
        deadline: DateTime<Utc>,
    ) -> Result<Event, EventError> {
        let created = Event::create(Uuid::now_v7(), coefficient, deadline, self.clock.now())?;
        self.events.insert(&created).await?;
        tracing::info!(event_id = %created.event().id(), "event created");
        Ok(created.into_event())
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

    /// Moves the coefficient and/or deadline of an open event. A
    /// coefficient that is no coefficient is refused before the event is
    /// even read (so before 404, 409 or 412), together with the deadline's
    /// verdict, so the client hears of every bad field at once.
    pub async fn update(
        &self,
        id: Uuid,
        changes: RequestedChanges,
        precondition: Precondition,
    ) -> Result<Event, EventError> {
        let coefficient = match changes.coefficient.map(Coefficient::new).transpose() {
            Ok(coefficient) => coefficient,
            Err(error) => return Err(self.refuse_coefficient(id, error, changes.deadline).await),
        };
        let patch = EventPatch {
            coefficient,
            deadline: changes.deadline,
        };
        self.change(id, &precondition, |event, now| event.update(patch, now))
            .await
    }

    /// Sets the status an operator asks for: a final one, `SUSPENDED` to
    /// pause betting, or `NEW` to resume it (idempotent for the status the
    /// event has).
    pub async fn set_status(
        &self,
        id: Uuid,
        status: EventStatus,
        precondition: Precondition,
    ) -> Result<Event, EventError> {
        self.change(id, &precondition, |event, now| {
            event.set_status(status, now)
        })
        .await
    }

    /// Replaces the event's final status by another, for `reason`.
    pub async fn correct(
        &self,
        id: Uuid,
        result: EventResult,
        reason: CorrectionReason,
        precondition: Precondition,
    ) -> Result<Event, EventError> {
        self.change(id, &precondition, |event, now| {
            event.correct(result, reason, now)
        })
        .await
    }

    /// The refusal of a bad coefficient, with the deadline of the same
    /// request judged as the change itself would judge it: against the
    /// event's current deadline, and only while the event is open.
    async fn refuse_coefficient(
        &self,
        id: Uuid,
        coefficient: CoefficientError,
        deadline: Option<DateTime<Utc>>,
    ) -> EventError {
        let mut invalid = InvalidFields {
            coefficient: Some(coefficient),
            deadline: None,
        };
        if deadline.is_some() {
            match self.events.get(id).await {
                Ok(Some(event)) => {
                    let patch = EventPatch {
                        coefficient: None,
                        deadline,
                    };
                    if let Err(DomainError::Invalid(fields)) = event.update(patch, self.clock.now())
                    {
                        invalid.deadline = fields.deadline;
                    }
                }
                Ok(None) => {}
                Err(error) => return error.into(),
            }
        }
        DomainError::Invalid(invalid).into()
    }

    /// Decides on the event as it is when locked, and stores what was
    /// decided: changes to one event take turns, so none is decided on a
    /// stale version and none fails for having had to wait.
    async fn change(
        &self,
        id: Uuid,
        precondition: &Precondition,
        decide: impl FnOnce(Event, DateTime<Utc>) -> Result<Decision, DomainError> + Send,
    ) -> Result<Event, EventError> {
        let clock = &self.clock;
        let decision = self
            .events
            .change(
                id,
                Box::new(move |event| {
                    if !precondition.holds_for(event.version()) {
                        return Err(EventError::VersionMismatch {
                            current: event.version(),
                        });
                    }
                    Ok(decide(event, clock.now())?)
                }),
            )
            .await?;
        match decision {
            Decision::Unchanged(event) => Ok(event),
            Decision::Changed(change) => {
                log_change(&change);
                Ok(change.into_event())
            }
        }
    }
}

fn log_change(change: &EventChanged) {
    let event = change.event();
    tracing::info!(
        event_id = %event.id(),
        kind = ?change.kind(),
        version = event.version(),
        status = %event.status(),
        reason = change.reason().map(CorrectionReason::as_str),
        "event changed"
    );
}

#[cfg(test)]
mod tests;
