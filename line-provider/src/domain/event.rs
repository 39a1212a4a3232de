//! The event aggregate and its state machine.
//!
//! `NEW` → `FINISHED_WIN`, `FINISHED_LOSE` or `CANCELLED`. Coefficient and
//! deadline change only while `NEW`; every change bumps the version by one;
//! an event with a final status never changes again. The fields are
//! private so that these methods are the only way to get a changed event.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ChangeKind, Coefficient, Deadline, Decision, DomainError, EventChanged, EventPatch,
    EventResult, EventStatus, InvalidFields,
};

/// A sporting event on the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    id: Uuid,
    coefficient: Coefficient,
    deadline: Deadline,
    status: EventStatus,
    version: i64,
}

impl Event {
    /// A new event, open for betting until `deadline`. Every field that
    /// breaks its rule is named in the error, not only the first.
    pub fn create(
        id: Uuid,
        coefficient: Decimal,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EventChanged, DomainError> {
        let coefficient = Coefficient::new(coefficient);
        let deadline = Deadline::in_future(deadline, now);
        let (Ok(coefficient), Ok(deadline)) = (coefficient, deadline) else {
            return Err(DomainError::Invalid(InvalidFields {
                coefficient: coefficient.err(),
                deadline: deadline.err(),
            }));
        };
        let event = Self {
            id,
            coefficient,
            deadline,
            status: EventStatus::New,
            version: 1,
        };
        Ok(EventChanged {
            kind: ChangeKind::Created,
            event,
            occurred_at: now,
        })
    }

    /// An event as storage kept it; its rules were checked when it was
    /// written, so only the storage adapter may call this.
    pub(crate) fn restore(
        id: Uuid,
        coefficient: Coefficient,
        deadline: Deadline,
        status: EventStatus,
        version: i64,
    ) -> Self {
        Self {
            id,
            coefficient,
            deadline,
            status,
            version,
        }
    }

    /// UUID v7, chosen by the server.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The odds offered.
    pub fn coefficient(&self) -> Coefficient {
        self.coefficient
    }

    /// Bets are accepted strictly before it.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// `NEW` or a final result.
    pub fn status(&self) -> EventStatus {
        self.status
    }

    /// 1 at creation, +1 per change.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Moves the coefficient and/or the deadline of an open event. Asking
    /// for the values it already has changes nothing.
    pub fn update(self, patch: EventPatch, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        if self.status.is_final() {
            return Err(DomainError::AlreadyFinished(self.status));
        }
        let coefficient = patch.coefficient.filter(|c| *c != self.coefficient);
        let deadline = patch.deadline.filter(|d| !self.deadline.is_stored_as(*d));
        if coefficient.is_none() && deadline.is_none() {
            return Ok(Decision::Unchanged(self));
        }
        let deadline = match deadline {
            Some(at) => Deadline::in_future(at, now).map_err(|error| {
                DomainError::Invalid(InvalidFields {
                    deadline: Some(error),
                    ..InvalidFields::default()
                })
            })?,
            None => self.deadline,
        };
        let event = Self {
            coefficient: coefficient.unwrap_or(self.coefficient),
            deadline,
            version: self.version + 1,
            ..self
        };
        Ok(Decision::Changed(EventChanged {
            kind: ChangeKind::Updated,
            event,
            occurred_at: now,
        }))
    }

    /// Sets the final status: a result, or the cancellation. Setting the
    /// same one again changes nothing; setting another is refused.
    pub fn finish(self, result: EventResult, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        let status = EventStatus::from(result);
        let kind = match result {
            EventResult::Win | EventResult::Lose => ChangeKind::Finished,
            EventResult::Cancelled => ChangeKind::Cancelled,
        };
        match self.status {
            current if current == status => Ok(Decision::Unchanged(self)),
            EventStatus::New => Ok(Decision::Changed(EventChanged {
                kind,
                event: Self {
                    status,
                    version: self.version + 1,
                    ..self
                },
                occurred_at: now,
            })),
            current => Err(DomainError::ConflictingResult(current)),
        }
    }
}

#[cfg(test)]
mod tests;
