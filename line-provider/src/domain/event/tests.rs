use chrono::{Datelike, Duration};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{CoefficientError, DeadlineError};

fn reason(text: &str) -> CorrectionReason {
    CorrectionReason::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn suspended(now: DateTime<Utc>) -> Event {
    changed(new_event(now).suspend(now)).into_event()
}

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

#[test]
fn suspending_and_resuming_toggle_the_status_one_version_each() {
    let now = Utc::now();
    let suspension = changed(new_event(now).suspend(now));
    assert_eq!(suspension.kind(), ChangeKind::Suspended);
    assert_eq!(suspension.reason(), None);
    let paused = suspension.into_event();
    assert_eq!(
        (paused.status(), paused.version()),
        (EventStatus::Suspended, 2)
    );

    let resumption = changed(paused.clone().resume(now));
    assert_eq!(resumption.kind(), ChangeKind::Resumed);
    let open = resumption.into_event();
    assert_eq!((open.status(), open.version()), (EventStatus::New, 3));
    assert_eq!(open.coefficient(), paused.coefficient());
    assert_eq!(open.deadline(), paused.deadline());
}

#[test]
fn asking_for_the_status_it_has_changes_nothing() {
    let now = Utc::now();
    let open = new_event(now);
    let paused = suspended(now);
    assert_eq!(
        open.clone().resume(now),
        Ok(Decision::Unchanged(open.clone()))
    );
    assert_eq!(
        open.clone().set_status(EventStatus::New, now),
        Ok(Decision::Unchanged(open))
    );
    assert_eq!(
        paused.clone().suspend(now),
        Ok(Decision::Unchanged(paused.clone()))
    );
    assert_eq!(
        paused.clone().set_status(EventStatus::Suspended, now),
        Ok(Decision::Unchanged(paused))
    );
}

#[test]
fn a_final_event_is_neither_suspended_nor_resumed() {
    let now = Utc::now();
    for result in [EventResult::Win, EventResult::Lose, EventResult::Cancelled] {
        let decided = changed(new_event(now).finish(result, now)).into_event();
        let status = EventStatus::from(result);
        for asked in [EventStatus::Suspended, EventStatus::New] {
            assert_eq!(
                decided.clone().set_status(asked, now),
                Err(DomainError::AlreadyFinished(status)),
                "{asked} on {status}"
            );
        }
    }
}

#[test]
fn a_suspended_event_takes_a_final_status() {
    let now = Utc::now();
    for result in [EventResult::Win, EventResult::Lose, EventResult::Cancelled] {
        let decided = changed(suspended(now).set_status(result.into(), now));
        assert_eq!(decided.event().status(), EventStatus::from(result));
        assert_eq!(decided.event().version(), 3);
    }
}

#[test]
fn a_suspended_event_s_values_move_and_it_stays_suspended() {
    let now = Utc::now();
    let patch = EventPatch {
        coefficient: Some(coefficient(240)),
        deadline: Some(now + Duration::hours(5)),
    };
    let change = changed(suspended(now).update(patch, now));
    assert_eq!(change.kind(), ChangeKind::Updated);
    assert_eq!(change.event().status(), EventStatus::Suspended);
    assert_eq!(change.event().coefficient(), coefficient(240));
    assert_eq!(change.event().version(), 3);
}

#[test]
fn a_passed_deadline_is_not_moved_but_the_coefficient_still_is() {
    let created = Utc::now();
    let event = new_event(created);
    let deadline = event.deadline();
    for now in [deadline.at(), deadline.at() + Duration::minutes(1)] {
        let later = EventPatch {
            coefficient: Some(coefficient(300)),
            deadline: Some(now + Duration::hours(1)),
        };
        assert_eq!(
            event.clone().update(later, now),
            Err(DomainError::DeadlinePassed(deadline)),
            "at {now}"
        );
        let echo = EventPatch {
            coefficient: Some(coefficient(300)),
            deadline: Some(deadline.at()),
        };
        let odds = changed(event.clone().update(echo, now));
        assert_eq!(odds.event().coefficient(), coefficient(300));
        assert_eq!(odds.event().deadline(), deadline);
    }
    let paused = changed(event.suspend(created)).into_event();
    let later = EventPatch {
        coefficient: None,
        deadline: Some(deadline.at() + Duration::hours(1)),
    };
    assert_eq!(
        paused.update(later, deadline.at()),
        Err(DomainError::DeadlinePassed(deadline)),
        "a suspended event neither"
    );
}

#[test]
fn a_correction_replaces_a_final_status_with_its_reason() {
    let now = Utc::now();
    let won = changed(new_event(now).finish(EventResult::Win, now)).into_event();
    let correction = changed(won.correct(EventResult::Cancelled, reason("abandoned"), now));
    assert_eq!(correction.kind(), ChangeKind::Corrected);
    assert_eq!(correction.reason(), Some(&reason("abandoned")));
    let cancelled = correction.into_event();
    assert_eq!(
        (cancelled.status(), cancelled.version()),
        (EventStatus::Cancelled, 3)
    );

    let again = changed(cancelled.correct(EventResult::Lose, reason("the report"), now));
    assert_eq!(again.event().status(), EventStatus::FinishedLose);
    assert_eq!(again.event().version(), 4);
}

#[test]
fn only_a_final_status_is_corrected_and_only_to_another() {
    let now = Utc::now();
    for open in [new_event(now), suspended(now)] {
        let status = open.status();
        assert_eq!(
            open.correct(EventResult::Win, reason("why"), now),
            Err(DomainError::NotFinal(status))
        );
    }
    let lost = changed(new_event(now).finish(EventResult::Lose, now)).into_event();
    assert_eq!(
        lost.correct(EventResult::Lose, reason("why"), now),
        Err(DomainError::NothingToCorrect(EventStatus::FinishedLose))
    );
}

#[test]
fn the_new_refusals_say_what_to_do_instead() {
    assert_eq!(
        DomainError::NotFinal(EventStatus::Suspended).to_string(),
        "the event is suspended (SUSPENDED): only a final status \
         (FINISHED_WIN, FINISHED_LOSE or CANCELLED) can be corrected"
    );
    assert_eq!(
        DomainError::NothingToCorrect(EventStatus::FinishedWin).to_string(),
        "the event is already FINISHED_WIN: there is nothing to correct; \
         a correction names another final status"
    );
    let passed = chrono::DateTime::from_timestamp(1_795_888_800, 0).unwrap_or_default();
    assert_eq!(
        DomainError::DeadlinePassed(Deadline::restore(passed)).to_string(),
        "the deadline 2026-11-28T18:00:00Z has passed: betting on the event has closed, \
         and its deadline can no longer be moved"
    );
}

#[derive(Debug, Clone)]
enum Command {
    Coefficient(i64),
    Deadline(i64),
    Finish(EventResult),
    Suspend,
    Resume,
    Correct(EventResult),
}

fn result() -> impl Strategy<Value = EventResult> {
    prop_oneof![
        Just(EventResult::Win),
        Just(EventResult::Lose),
        Just(EventResult::Cancelled),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (101i64..=100_000).prop_map(Command::Coefficient),
        (-60i64..600).prop_map(Command::Deadline),
        result().prop_map(Command::Finish),
        Just(Command::Suspend),
        Just(Command::Resume),
        result().prop_map(Command::Correct),
    ]
}

proptest! {
    /// Whatever commands arrive: the version counts the changes; a final
    /// status, once set, changes only by a correction (which carries its
    /// reason) and only to another final status.
    #[test]
    fn versions_count_changes_and_only_corrections_change_a_final_status(commands in prop::collection::vec(command(), 0..20)) {
        let now = Utc::now();
        let mut event = new_event(now);
        let mut changes = 0;
        for command in commands {
            let before = event.status();
            let decision = match command {
                Command::Coefficient(cents) => event.clone().update(
                    EventPatch { coefficient: Some(coefficient(cents)), deadline: None }, now),
                Command::Deadline(minutes) => event.clone().update(
                    EventPatch { coefficient: None, deadline: Some(now + Duration::minutes(minutes)) }, now),
                Command::Finish(result) => event.clone().finish(result, now),
                Command::Suspend => event.clone().suspend(now),
                Command::Resume => event.clone().resume(now),
                Command::Correct(result) => event.clone().correct(result, reason("checked"), now),
            };
            if let Ok(Decision::Changed(change)) = decision {
                changes += 1;
                prop_assert_eq!(change.event().version(), event.version() + 1);
                let corrected = change.kind() == ChangeKind::Corrected;
                prop_assert_eq!(change.reason().is_some(), corrected);
                if before.is_final() {
                    prop_assert!(corrected, "{:?} changed a final event", change.kind());
                    prop_assert!(change.event().status().is_final());
                    prop_assert_ne!(change.event().status(), before);
                }
                event = change.into_event();
            }
        }
        prop_assert_eq!(event.version(), 1 + changes);
    }
}
