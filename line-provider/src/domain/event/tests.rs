use chrono::{Datelike, Duration};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{CoefficientError, DeadlineError};

fn coefficient(cents: i64) -> Coefficient {
    Coefficient::new(Decimal::new(cents, 2)).unwrap_or_else(|e| panic!("{e}"))
}

fn new_event(now: DateTime<Utc>) -> Event {
    match Event::create(
        Uuid::now_v7(),
        Decimal::new(185, 2),
        now + Duration::hours(2),
        now,
    ) {
        Ok(created) => created.into_event(),
        Err(error) => panic!("{error}"),
    }
}

fn changed(decision: Result<Decision, DomainError>) -> EventChanged {
    match decision {
        Ok(Decision::Changed(change)) => change,
        other => panic!("expected a change, got {other:?}"),
    }
}

fn invalid_deadline() -> DomainError {
    DomainError::Invalid(InvalidFields {
        coefficient: None,
        deadline: Some(DeadlineError::NotInFuture),
    })
}

#[test]
fn a_new_event_starts_at_version_one() {
    let now = Utc::now();
    let created = Event::create(
        Uuid::now_v7(),
        Decimal::new(150, 2),
        now + Duration::hours(1),
        now,
    );
    let created = created.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.kind(), ChangeKind::Created);
    assert_eq!(created.event().version(), 1);
    assert_eq!(created.event().status(), EventStatus::New);
}

#[test]
fn an_event_cannot_be_created_with_a_past_deadline() {
    let now = Utc::now();
    let created = Event::create(
        Uuid::now_v7(),
        Decimal::new(150, 2),
        now - Duration::seconds(1),
        now,
    );
    assert_eq!(created, Err(invalid_deadline()));
}

#[test]
fn creating_with_a_bad_coefficient_and_a_past_deadline_names_both() {
    let now = Utc::now();
    let created = Event::create(Uuid::now_v7(), Decimal::ONE, now - Duration::hours(1), now);
    let error = DomainError::Invalid(InvalidFields {
        coefficient: Some(CoefficientError::NotAboveOne),
        deadline: Some(DeadlineError::NotInFuture),
    });
    assert_eq!(
        error.to_string(),
        "the coefficient must be greater than 1.00; the deadline must be in the future"
    );
    assert_eq!(created, Err(error));
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
    assert_eq!(change.kind(), ChangeKind::Updated);
    assert_eq!(change.event().version(), 2);
    assert_eq!(change.event().coefficient(), coefficient(210));
    assert_eq!(change.event().deadline(), event.deadline());
}

#[test]
fn an_update_to_the_current_values_changes_nothing() {
    let now = Utc::now();
    let event = new_event(now);
    let patch = EventPatch {
        coefficient: Some(event.coefficient()),
        deadline: Some(event.deadline().at()),
    };
    assert_eq!(
        event.clone().update(patch, now),
        Ok(Decision::Unchanged(event))
    );
}

#[test]
fn the_same_deadline_in_finer_digits_or_as_a_leap_second_changes_nothing() {
    let now = Utc::now();
    let year = now.year() + 1;
    let instant = |month, day, h, m, s, nanos| {
        chrono::NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_nano_opt(h, m, s, nanos))
            .map(|at| at.and_utc())
            .unwrap_or_else(|| panic!("an instant chrono can represent"))
    };
    // 23:59:60.5 on the last day of the year: chrono keeps it as :59 with
    // 1.5 s of nanoseconds; PostgreSQL keeps it as 00:00:00.5 the next day,
    // and that is what the event is read back with.
    let leap = instant(12, 31, 23, 59, 59, 1_500_000_000);
    let next_year = chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .and_then(|date| date.and_hms_milli_opt(0, 0, 0, 500))
        .map(|at| at.and_utc())
        .unwrap_or_else(|| panic!("an instant chrono can represent"));
    let stored = Event::restore(
        Uuid::now_v7(),
        coefficient(185),
        Deadline::restore(next_year),
        EventStatus::New,
        2,
    );
    let finer = next_year + Duration::nanoseconds(321);
    for echo in [leap, finer, instant(12, 31, 23, 59, 59, 1_500_000_999)] {
        let patch = EventPatch {
            coefficient: Some(stored.coefficient()),
            deadline: Some(echo),
        };
        assert_eq!(
            stored.clone().update(patch, now),
            Ok(Decision::Unchanged(stored.clone())),
            "{echo:?}"
        );
    }
}

#[test]
fn a_deadline_moves_only_into_the_future() {
    let now = Utc::now();
    let patch = EventPatch {
        coefficient: None,
        deadline: Some(now - Duration::minutes(5)),
    };
    assert_eq!(new_event(now).update(patch, now), Err(invalid_deadline()));
}

#[test]
fn a_finished_event_never_changes_again() {
    let now = Utc::now();
    let finished = changed(new_event(now).finish(EventResult::Win, now)).into_event();
    assert_eq!(finished.status(), EventStatus::FinishedWin);
    assert_eq!(finished.version(), 2);

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

#[test]
fn a_cancelled_event_never_changes_again_and_a_finished_one_is_not_cancelled() {
    let now = Utc::now();
    let cancelled = changed(new_event(now).finish(EventResult::Cancelled, now));
    assert_eq!(cancelled.kind(), ChangeKind::Cancelled);
    let cancelled = cancelled.into_event();
    assert_eq!(cancelled.status(), EventStatus::Cancelled);
    assert_eq!(cancelled.version(), 2);

    let patch = EventPatch {
        coefficient: Some(coefficient(300)),
        deadline: None,
    };
    assert_eq!(
        cancelled.clone().update(patch, now),
        Err(DomainError::AlreadyFinished(EventStatus::Cancelled))
    );
    for result in [EventResult::Win, EventResult::Lose] {
        assert_eq!(
            cancelled.clone().finish(result, now),
            Err(DomainError::ConflictingResult(EventStatus::Cancelled))
        );
    }
    assert_eq!(
        cancelled.clone().finish(EventResult::Cancelled, now),
        Ok(Decision::Unchanged(cancelled))
    );

    let won = changed(new_event(now).finish(EventResult::Win, now)).into_event();
    assert_eq!(
        won.finish(EventResult::Cancelled, now),
        Err(DomainError::ConflictingResult(EventStatus::FinishedWin))
    );
}

#[test]
fn a_result_is_announced_as_finished() {
    let now = Utc::now();
    for result in [EventResult::Win, EventResult::Lose] {
        assert_eq!(
            changed(new_event(now).finish(result, now)).kind(),
            ChangeKind::Finished
        );
    }
}

#[test]
fn refusals_name_the_status_as_the_api_spells_it() {
    assert_eq!(
        DomainError::ConflictingResult(EventStatus::FinishedWin).to_string(),
        "the event already finished as FINISHED_WIN"
    );
    assert_eq!(
        DomainError::AlreadyFinished(EventStatus::FinishedLose).to_string(),
        "the event is finished (FINISHED_LOSE) and can no longer change"
    );
    assert_eq!(
        DomainError::AlreadyFinished(EventStatus::Cancelled).to_string(),
        "the event is cancelled (CANCELLED) and can no longer change"
    );
    assert_eq!(
        DomainError::ConflictingResult(EventStatus::Cancelled).to_string(),
        "the event was already cancelled (CANCELLED)"
    );
}

#[derive(Debug, Clone)]
enum Command {
    Coefficient(i64),
    Deadline(i64),
    Finish(EventResult),
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (101i64..=100_000).prop_map(Command::Coefficient),
        (-60i64..600).prop_map(Command::Deadline),
        prop_oneof![
            Just(EventResult::Win),
            Just(EventResult::Lose),
            Just(EventResult::Cancelled),
        ]
        .prop_map(Command::Finish),
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
                Command::Finish(result) => event.clone().finish(result, now),
            };
            if let Ok(Decision::Changed(change)) = decision {
                changes += 1;
                prop_assert_eq!(change.event().version(), event.version() + 1);
                event = change.into_event();
            }
            if let Some(status) = result {
                prop_assert_eq!(event.status(), status);
            }
            if event.status().is_final() {
                result = Some(event.status());
            }
        }
        prop_assert_eq!(event.version(), 1 + changes);
    }
}
