//! The event aggregate and its state machine.
//!
//! `NEW` ⇄ `SUSPENDED`, and from either `FINISHED_WIN`, `FINISHED_LOSE` or
//! `CANCELLED`. Coefficient and deadline change only while the event is
//! `NEW` or `SUSPENDED`, and the deadline only until it has passed; every
//! change bumps the version by one; a final status changes only by a
//! correction, to another final status. The fields are private so that
//! these methods are the only way to get a changed event.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ChangeKind, Coefficient, CorrectionReason, Deadline, Decision, DomainError, EventChanged,
    EventPatch, EventResult, EventStatus, InvalidFields,
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
            reason: None,
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

    /// `NEW`, `SUSPENDED`, or a final status.
    pub fn status(&self) -> EventStatus {
        self.status
    }

    /// 1 at creation, +1 per change.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Moves the coefficient and/or the deadline of an event that is `NEW`
    /// or `SUSPENDED` (the status stays). Asking for the values it already
    /// has changes nothing. A deadline that has passed (at or before `now`)
    /// stays where it is: moving it would re-open betting on an event that
    /// closed; the coefficient may still move.
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
            Some(_) if self.deadline.at() <= now => {
                return Err(DomainError::DeadlinePassed(self.deadline));
            }
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
        Ok(Decision::Changed(changed(ChangeKind::Updated, event, now)))
    }

    /// Sets the status an operator asks for (`PUT .../status`): a final
    /// status ([`finish`](Self::finish)), `SUSPENDED`
    /// ([`suspend`](Self::suspend)) or `NEW` ([`resume`](Self::resume)).
    pub fn set_status(
        self,
        status: EventStatus,
        now: DateTime<Utc>,
    ) -> Result<Decision, DomainError> {
        match (status, EventResult::of(status)) {
            (_, Some(result)) => self.finish(result, now),
            (EventStatus::Suspended, None) => self.suspend(now),
            (_, None) => self.resume(now),
        }
    }

    /// Sets the final status, a result or the cancellation, of an event
    /// that is `NEW` or `SUSPENDED`. Setting the same one again changes
    /// nothing; setting another is refused (only a correction changes a
    /// final status).
    pub fn finish(self, result: EventResult, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        let status = EventStatus::from(result);
        let kind = match result {
            EventResult::Win | EventResult::Lose => ChangeKind::Finished,
            EventResult::Cancelled => ChangeKind::Cancelled,
        };
        match self.status {
            current if current == status => Ok(Decision::Unchanged(self)),
            EventStatus::New | EventStatus::Suspended => {
                Ok(Decision::Changed(self.with_status(kind, status, now)))
            }
            current => Err(DomainError::ConflictingResult(current)),
        }
    }

    /// Pauses betting on a `NEW` event; a suspended one stays so (no
    /// change). A final event is refused.
    pub fn suspend(self, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        match self.status {
            EventStatus::Suspended => Ok(Decision::Unchanged(self)),
            EventStatus::New => Ok(Decision::Changed(self.with_status(
                ChangeKind::Suspended,
                EventStatus::Suspended,
                now,
            ))),
            current => Err(DomainError::AlreadyFinished(current)),
        }
    }

    /// Opens betting again on a `SUSPENDED` event (back to `NEW`); a `NEW`
    /// one stays so (no change). A final event is refused.
    pub fn resume(self, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        match self.status {
            EventStatus::New => Ok(Decision::Unchanged(self)),
            EventStatus::Suspended => Ok(Decision::Changed(self.with_status(
                ChangeKind::Resumed,
                EventStatus::New,
                now,
            ))),
            current => Err(DomainError::AlreadyFinished(current)),
        }
    }

    /// Replaces the final status by another final status, for `reason`:
    /// the only way a final status changes. An event without a final
    /// status has nothing to correct (set its result instead), and asking
    /// for the status it has corrects nothing: both are refused, as an
    /// operator asking for either has misread the event.
    pub fn correct(
        self,
        result: EventResult,
        reason: CorrectionReason,
        now: DateTime<Utc>,
    ) -> Result<Decision, DomainError> {
        let status = EventStatus::from(result);
        if !self.status.is_final() {
            return Err(DomainError::NotFinal(self.status));
        }
        if self.status == status {
            return Err(DomainError::NothingToCorrect(status));
        }
        Ok(Decision::Changed(EventChanged {
            reason: Some(reason),
            ..self.with_status(ChangeKind::Corrected, status, now)
        }))
    }

    /// The event one version on, with `status`, announced as `kind`.
    fn with_status(
        self,
        kind: ChangeKind,
        status: EventStatus,
        now: DateTime<Utc>,
    ) -> EventChanged {
        let event = Self {
            status,
            version: self.version + 1,
            ..self
        };
        changed(kind, event, now)
    }
}

/// A change without a reason (every kind but a correction).
fn changed(kind: ChangeKind, event: Event, now: DateTime<Utc>) -> EventChanged {
    EventChanged {
        kind,
        event,
        occurred_at: now,
        reason: None,
    }
}

#[cfg(test)]
mod tests;
