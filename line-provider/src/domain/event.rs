//! The event aggregate and its state machine.
//!
//! `NEW` → `FINISHED_WIN` or `FINISHED_LOSE`. Coefficient and deadline
//! change only while `NEW`; every change bumps the version by one; a
//! finished event never changes again.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::{Coefficient, Deadline, DeadlineError};

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// Open for changes (and for bets, before the deadline).
    New,
    /// Finished: bets on it win.
    FinishedWin,
    /// Finished: bets on it lose.
    FinishedLose,
}

impl EventStatus {
    /// Whether the status is a result that can never change again.
    pub fn is_final(self) -> bool {
        self != Self::New
    }
}

/// A result an operator can set: the final statuses, and only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventResult {
    /// The event ended as bet on.
    Win,
    /// It did not.
    Lose,
}

impl From<EventResult> for EventStatus {
    fn from(result: EventResult) -> Self {
        match result {
            EventResult::Win => Self::FinishedWin,
            EventResult::Lose => Self::FinishedLose,
        }
    }
}

/// A sporting event on the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// UUID v7, chosen by the server.
    pub id: Uuid,
    /// The odds offered.
    pub coefficient: Coefficient,
    /// Bets are accepted strictly before it.
    pub deadline: Deadline,
    /// `NEW` or a final result.
    pub status: EventStatus,
    /// 1 at creation, +1 per change.
    pub version: i64,
}

/// Which kind of change happened; each is announced under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The event was created.
    Created,
    /// Its coefficient or deadline moved.
    Updated,
    /// Its result was set.
    Finished,
}

/// A change that happened: the event as it is afterwards, to be stored and
/// announced together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventChanged {
    /// What kind of change.
    pub kind: ChangeKind,
    /// The event after the change.
    pub event: Event,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// What a command decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Something changed: store it and announce it.
    Changed(EventChanged),
    /// The command asked for what already is: nothing to store or announce.
    Unchanged(Event),
}

/// New values for an open event; `None` keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventPatch {
    /// The new odds.
    pub coefficient: Option<Coefficient>,
    /// The new deadline; must be in the future when it differs.
    pub deadline: Option<DateTime<Utc>>,
}

/// A rule of the line that a command would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The new deadline is not in the future.
    #[error("the deadline {0}")]
    Deadline(#[from] DeadlineError),
    /// Coefficient and deadline are fixed once the result is set.
    #[error("the event is finished ({0:?}) and can no longer change")]
    AlreadyFinished(EventStatus),
    /// The other result was set already; a result never changes.
    #[error("the event already finished as {0:?}")]
    ConflictingResult(EventStatus),
}

impl Event {
    /// A new event, open for betting until `deadline`.
    pub fn create(
        id: Uuid,
        coefficient: Coefficient,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EventChanged, DomainError> {
        let event = Self {
            id,
            coefficient,
            deadline: Deadline::in_future(deadline, now)?,
            status: EventStatus::New,
            version: 1,
        };
        Ok(EventChanged {
            kind: ChangeKind::Created,
            event,
            occurred_at: now,
        })
    }

    /// Moves the coefficient and/or the deadline of an open event. Asking
    /// for the values it already has changes nothing.
    pub fn update(self, patch: EventPatch, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        if self.status.is_final() {
            return Err(DomainError::AlreadyFinished(self.status));
        }
        let coefficient = patch.coefficient.filter(|c| *c != self.coefficient);
        let deadline = patch
            .deadline
            .filter(|d| d.trunc_subsecs(6) != self.deadline.at());
        if coefficient.is_none() && deadline.is_none() {
            return Ok(Decision::Unchanged(self));
        }
        let deadline = match deadline {
            Some(at) => Deadline::in_future(at, now)?,
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

    /// Sets the result. Setting the same result again changes nothing;
    /// setting the other one is refused.
    pub fn finish(self, result: EventResult, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        let status = EventStatus::from(result);
        match self.status {
            current if current == status => Ok(Decision::Unchanged(self)),
            EventStatus::New => Ok(Decision::Changed(EventChanged {
                kind: ChangeKind::Finished,
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
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn coefficient(cents: i64) -> Coefficient {
        Coefficient::new(Decimal::new(cents, 2)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn new_event(now: DateTime<Utc>) -> Event {
        match Event::create(
            Uuid::now_v7(),
            coefficient(185),
            now + Duration::hours(2),
            now,
        ) {
            Ok(created) => created.event,
            Err(error) => panic!("{error}"),
        }
    }

    fn changed(decision: Result<Decision, DomainError>) -> EventChanged {
        match decision {
            Ok(Decision::Changed(change)) => change,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn a_new_event_starts_at_version_one() {
        let now = Utc::now();
        let created = Event::create(
            Uuid::now_v7(),
            coefficient(150),
            now + Duration::hours(1),
            now,
        );
        let created = created.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.kind, ChangeKind::Created);
        assert_eq!(created.event.version, 1);
        assert_eq!(created.event.status, EventStatus::New);
    }

    #[test]
    fn an_event_cannot_be_created_with_a_past_deadline() {
        let now = Utc::now();
        let created = Event::create(
            Uuid::now_v7(),
            coefficient(150),
            now - Duration::seconds(1),
            now,
        );
        assert_eq!(
            created,
            Err(DomainError::Deadline(DeadlineError::NotInFuture))
        );
    }

    #[test]
    fn an_update_bumps_the_version_and_keeps_what_it_does_not_name() {
        let now = Utc::now();
        let event = new_event(now);
        let patch = EventPatch {
            coefficient: Some(coefficient(210)),
            deadline: None,
        };
        let change = changed(event.clone().update(patch, now));
        assert_eq!(change.kind, ChangeKind::Updated);
        assert_eq!(change.event.version, 2);
        assert_eq!(change.event.coefficient, coefficient(210));
        assert_eq!(change.event.deadline, event.deadline);
    }

    #[test]
    fn an_update_to_the_current_values_changes_nothing() {
        let now = Utc::now();
        let event = new_event(now);
        let patch = EventPatch {
            coefficient: Some(event.coefficient),
            deadline: Some(event.deadline.at()),
        };
        assert_eq!(
            event.clone().update(patch, now),
            Ok(Decision::Unchanged(event))
        );
    }

    #[test]
    fn a_deadline_moves_only_into_the_future() {
        let now = Utc::now();
        let patch = EventPatch {
            coefficient: None,
            deadline: Some(now - Duration::minutes(5)),
        };
        assert_eq!(
            new_event(now).update(patch, now),
            Err(DomainError::Deadline(DeadlineError::NotInFuture))
        );
    }

    #[test]
    fn a_finished_event_never_changes_again() {
        let now = Utc::now();
        let finished = changed(new_event(now).finish(EventResult::Win, now)).event;
        assert_eq!(finished.status, EventStatus::FinishedWin);
        assert_eq!(finished.version, 2);

        let patch = EventPatch {
            coefficient: Some(coefficient(300)),
            deadline: None,
        };
        assert_eq!(
            finished.clone().update(patch, now),
            Err(DomainError::AlreadyFinished(EventStatus::FinishedWin))
        );
        assert_eq!(
            finished.clone().finish(EventResult::Lose, now),
            Err(DomainError::ConflictingResult(EventStatus::FinishedWin))
        );
        assert_eq!(
            finished.clone().finish(EventResult::Win, now),
            Ok(Decision::Unchanged(finished))
        );
    }

    #[derive(Debug, Clone)]
    enum Command {
        Coefficient(i64),
        Deadline(i64),
        Finish(bool),
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            (101i64..=100_000).prop_map(Command::Coefficient),
            (-60i64..600).prop_map(Command::Deadline),
            any::<bool>().prop_map(Command::Finish),
        ]
    }

    proptest! {
        /// Whatever commands arrive: the version counts the changes, and a
        /// result, once set, is the status forever.
        #[test]
        fn versions_count_changes_and_results_are_final(commands in prop::collection::vec(command(), 0..20)) {
            let now = Utc::now();
            let mut event = new_event(now);
            let mut changes = 0;
            let mut result: Option<EventStatus> = None;
            for command in commands {
                let decision = match command {
                    Command::Coefficient(cents) => event.clone().update(
                        EventPatch { coefficient: Some(coefficient(cents)), deadline: None }, now),
                    Command::Deadline(minutes) => event.clone().update(
                        EventPatch { coefficient: None, deadline: Some(now + Duration::minutes(minutes)) }, now),
                    Command::Finish(win) => event.clone().finish(
                        if win { EventResult::Win } else { EventResult::Lose }, now),
                };
                if let Ok(Decision::Changed(change)) = decision {
                    changes += 1;
                    prop_assert_eq!(change.event.version, event.version + 1);
                    event = change.event;
                }
                if let Some(status) = result {
                    prop_assert_eq!(event.status, status);
                }
                if event.status.is_final() {
                    result = Some(event.status);
                }
            }
            prop_assert_eq!(event.version, 1 + changes);
        }
    }
}
