use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::Duration;
use rust_decimal::Decimal;

use super::*;
use crate::application::ports::{Clock, Decide, RepositoryError, SystemClock};
use crate::domain::{DeadlineError, Decision};

/// Events in memory; a change holds the map's lock from the read to the
/// write, as the real repository holds the row lock.
#[derive(Default)]
struct InMemoryEvents {
    events: Mutex<HashMap<Uuid, Event>>,
    writes: Mutex<Vec<EventChanged>>,
}

/// A poisoned lock only means another test thread panicked: keep going.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl EventRepository for InMemoryEvents {
    async fn get(&self, id: Uuid) -> Result<Option<Event>, RepositoryError> {
        Ok(lock(&self.events).get(&id).cloned())
    }

    async fn list(
        &self,
        _: Option<EventStatus>,
        _: PageRequest,
    ) -> Result<Vec<Event>, RepositoryError> {
        Ok(Vec::new())
    }

    async fn insert(&self, change: &EventChanged) -> Result<(), RepositoryError> {
        let event = change.event();
        lock(&self.events).insert(event.id(), event.clone());
        lock(&self.writes).push(change.clone());
        Ok(())
    }

    async fn change(&self, id: Uuid, decide: Decide<'_>) -> Result<Decision, EventError> {
        let mut events = lock(&self.events);
        let stored = events.get_mut(&id).ok_or(EventError::NotFound(id))?;
        let decision = decide(stored.clone())?;
        if let Decision::Changed(change) = &decision {
            *stored = change.event().clone();
            lock(&self.writes).push(change.clone());
        }
        Ok(decision)
    }
}

impl InMemoryEvents {
    fn writes(&self) -> usize {
        lock(&self.writes).len()
    }
}

async fn service_with_event() -> (EventService, Arc<InMemoryEvents>, Event) {
    let repository = Arc::new(InMemoryEvents::default());
    let service = EventService::new(repository.clone(), Arc::new(SystemClock));
    let event = service
        .create(Decimal::new(185, 2), Utc::now() + Duration::hours(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (service, repository, event)
}

fn coefficient_to(cents: i64) -> RequestedChanges {
    RequestedChanges {
        coefficient: Some(Decimal::new(cents, 2)),
        deadline: None,
    }
}

#[tokio::test]
async fn a_change_applies_on_top_of_the_version_it_finds() {
    let (service, _, event) = service_with_event().await;
    for cents in [250, 260] {
        service
            .update(event.id(), coefficient_to(cents), Precondition::None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    let updated = service
        .get(event.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(updated.version(), 3);
    assert_eq!(updated.coefficient().value(), Decimal::new(260, 2));
}

#[tokio::test]
async fn a_change_pinned_by_if_match_to_an_older_version_is_refused_and_writes_nothing() {
    let (service, repository, event) = service_with_event().await;
    service
        .update(event.id(), coefficient_to(250), Precondition::None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let updated = service
        .update(
            event.id(),
            coefficient_to(260),
            Precondition::Versions(vec![1]),
        )
        .await;

    assert!(
        matches!(updated, Err(EventError::VersionMismatch { current: 2 })),
        "{updated:?}"
    );
    assert_eq!(repository.writes(), 2, "the create and the first change");
}

#[tokio::test]
async fn the_same_result_twice_is_written_once() {
    let (service, repository, event) = service_with_event().await;

    for _ in 0..2 {
        let finished = service
            .set_status(event.id(), EventStatus::FinishedLose, Precondition::None)
            .await;
        assert_eq!(
            finished.map(|e| e.status()).ok(),
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
        .set_status(missing, EventStatus::FinishedWin, Precondition::None)
        .await;

    assert!(matches!(result, Err(EventError::NotFound(id)) if id == missing));
}

#[tokio::test]
async fn a_bad_coefficient_and_a_past_deadline_are_refused_together() {
    let (service, repository, event) = service_with_event().await;
    let changes = RequestedChanges {
        coefficient: Some(Decimal::new(99, 2)),
        deadline: Some(Utc::now() - Duration::hours(1)),
    };

    let updated = service
        .update(event.id(), changes, Precondition::None)
        .await;

    let expected = InvalidFields {
        coefficient: Some(CoefficientError::NotAboveOne),
        deadline: Some(DeadlineError::NotInFuture),
    };
    assert!(
        matches!(updated, Err(EventError::Rule(DomainError::Invalid(fields))) if fields == expected),
        "{updated:?}"
    );
    assert_eq!(repository.writes(), 1, "only the create");
}

#[tokio::test]
async fn a_bad_coefficient_with_the_current_deadline_names_only_the_coefficient() {
    let (service, _, event) = service_with_event().await;
    let changes = RequestedChanges {
        coefficient: Some(Decimal::new(1001, 3)),
        deadline: Some(event.deadline().at()),
    };

    let updated = service
        .update(event.id(), changes, Precondition::None)
        .await;

    let expected = InvalidFields {
        coefficient: Some(CoefficientError::TooPrecise),
        deadline: None,
    };
    assert!(
        matches!(updated, Err(EventError::Rule(DomainError::Invalid(fields))) if fields == expected),
        "{updated:?}"
    );
}

#[tokio::test]
async fn a_bad_coefficient_on_an_unknown_event_is_still_the_coefficient_s_fault() {
    let (service, _, _) = service_with_event().await;

    let changes = RequestedChanges {
        coefficient: Some(Decimal::ONE),
        deadline: Some(Utc::now() - Duration::hours(1)),
    };

    let updated = service
        .update(Uuid::now_v7(), changes, Precondition::None)
        .await;

    let expected = InvalidFields {
        coefficient: Some(CoefficientError::NotAboveOne),
        deadline: None,
    };
    assert!(
        matches!(updated, Err(EventError::Rule(DomainError::Invalid(fields))) if fields == expected),
        "{updated:?}"
    );
}

/// A clock the test moves by hand.
struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }
}

#[tokio::test]
async fn once_the_deadline_passed_it_stays_while_the_coefficient_may_still_move() {
    let repository = Arc::new(InMemoryEvents::default());
    let clock = Arc::new(ManualClock(Mutex::new(Utc::now())));
    let service = EventService::new(repository.clone(), clock.clone());
    let event = service
        .create(Decimal::new(185, 2), clock.now() + Duration::minutes(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    clock.advance(Duration::minutes(10));
    let later = RequestedChanges {
        coefficient: None,
        deadline: Some(clock.now() + Duration::hours(1)),
    };

    let moved = service.update(event.id(), later, Precondition::None).await;
    let odds = service
        .update(event.id(), coefficient_to(210), Precondition::None)
        .await;

    assert!(
        matches!(moved, Err(EventError::Rule(DomainError::DeadlinePassed(at))) if at == event.deadline()),
        "{moved:?}"
    );
    assert_eq!(odds.map(|e| e.version()).ok(), Some(2));
    assert_eq!(repository.writes(), 2, "the create and the coefficient");
}

#[tokio::test]
async fn a_correction_is_written_with_its_reason() {
    let (service, repository, event) = service_with_event().await;
    service
        .set_status(event.id(), EventStatus::FinishedWin, Precondition::None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reason =
        CorrectionReason::parse("VAR overturned the goal").unwrap_or_else(|e| panic!("{e}"));

    let corrected = service
        .correct(
            event.id(),
            EventResult::Lose,
            reason.clone(),
            Precondition::None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = service
        .correct(
            event.id(),
            EventResult::Lose,
            reason.clone(),
            Precondition::None,
        )
        .await;

    assert_eq!(
        (corrected.status(), corrected.version()),
        (EventStatus::FinishedLose, 3)
    );
    let written = lock(&repository.writes).last().cloned();
    assert_eq!(
        written.as_ref().map(EventChanged::kind),
        Some(crate::domain::ChangeKind::Corrected)
    );
    assert_eq!(
        written.as_ref().and_then(EventChanged::reason),
        Some(&reason)
    );
    assert!(
        matches!(
            again,
            Err(EventError::Rule(DomainError::NothingToCorrect(
                EventStatus::FinishedLose
            )))
        ),
        "{again:?}"
    );
    assert_eq!(repository.writes(), 3, "create, result, one correction");
}
