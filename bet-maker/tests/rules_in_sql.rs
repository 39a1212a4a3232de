//! The rules SQL applies in bulk, held to their definitions in the domain.
//!
//! Settlement pays every pending bet of an event in one `UPDATE` (won,
//! lost, or void when the event was cancelled), and the copy of the line
//! keeps the newest version with one `INSERT ... ON CONFLICT`: both for
//! speed. `domain::payout` and `LineEvent::accepts` stay the definitions,
//! and these property tests run the statements on the real database
//! (through the line repository, as the consumer does) over generated
//! cases, comparing each row with what the domain function says.

use std::future::Future;

use bet_maker::application::ports::{ApplyOutcome, LineRepository};
use bet_maker::domain::{Acceptance, BetStatus, BetSum, LineEvent, LineEventStatus, payout};
use bet_maker::infrastructure::persistence::SeaOrmLineRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

/// The default house limit, 1,000,000.00, in cents.
const MAX_STAKE_CENTS: i64 = 100_000_000;

fn max_stake() -> Decimal {
    Decimal::new(MAX_STAKE_CENTS, 2)
}

/// Runs `cases` generated cases of `strategy`, each on a runtime and a
/// database shared by the whole property (one database, many events).
fn check<S, F, Fut>(cases: u32, strategy: S, property: F)
where
    S: Strategy,
    F: Fn(DatabaseConnection, S::Value) -> Fut,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("a runtime: {e}"));
    let db = runtime
        .block_on(TestDatabase::create::<Migrator>(
            "bet_maker_rules",
            schema_fingerprint(),
        ))
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let outcome = runner.run(&strategy, |case| {
        runtime.block_on(property(db.connection.clone(), case))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

fn database<T>(result: Result<T, impl std::fmt::Display>) -> Result<T, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("database: {e}")))
}

/// A stake in cents (1 cent to the house limit) and odds in hundredths
/// (1.01 to 1000.00), with the cases rounding must get right weighted in:
/// products ending in exactly half a cent, and the extremes.
fn stake_and_odds() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        4 => (1..=MAX_STAKE_CENTS, 101i64..=100_000),
        // An odd number of cents times odds ending in 50 ends in .xx5.
        3 => (
            (0..MAX_STAKE_CENTS / 2).prop_map(|n| 2 * n + 1),
            (1i64..=999).prop_map(|k| 100 * k + 50),
        ),
        1 => prop_oneof![
            Just((1, 150)),                // 0.01 × 1.50 = 0.015
            Just((1050, 185)),             // 10.50 × 1.85 = 19.425
            Just((1, 101)),                // the smallest of both
            Just((MAX_STAKE_CENTS, 100_000)), // the largest of both
        ],
    ]
}

fn result() -> impl Strategy<Value = LineEventStatus> {
    prop_oneof![
        Just(LineEventStatus::New),
        Just(LineEventStatus::FinishedWin),
        Just(LineEventStatus::FinishedLose),
        Just(LineEventStatus::Cancelled),
    ]
}

/// How the API (and the schema) spells a bet's status.
fn spelled(status: BetStatus) -> &'static str {
    match status {
        BetStatus::Pending => "PENDING",
        BetStatus::Won => "WON",
        BetStatus::Lost => "LOST",
        BetStatus::Void => "VOID",
    }
}

fn open_event(coefficient: Decimal, version: i64) -> LineEvent {
    LineEvent {
        id: Uuid::now_v7(),
        coefficient,
        deadline: (Utc::now() + Duration::hours(1)).trunc_subsecs(6),
        status: LineEventStatus::New,
        version,
    }
}

/// Pending bets on `event`, one row each, in one statement (the numbers
/// are generated decimals, so writing them into the SQL is safe).
async fn insert_pending_bets(
    db: &DatabaseConnection,
    event: &LineEvent,
    bets: &[(Uuid, Decimal, Decimal)],
) -> Result<(), TestCaseError> {
    let rows: Vec<String> = bets
        .iter()
        .map(|(id, amount, coefficient)| {
            format!(
                "('{id}', '{}', {amount}, {coefficient}, 'PENDING', clock_timestamp())",
                event.id
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO bets (id, event_id, amount, coefficient, status, placed_at) VALUES {}",
        rows.join(", ")
    );
    database(db.execute_unprepared(&sql).await).map(|_| ())
}

/// Each bet of `event`: (id, status, payout as stored).
async fn stored_bets(
    db: &DatabaseConnection,
    event: &LineEvent,
) -> Result<Vec<(Uuid, String, Option<String>)>, TestCaseError> {
    let rows = database(
        db.query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id, status, payout::text AS payout FROM bets WHERE event_id = $1",
            [event.id.into()],
        ))
        .await,
    )?;
    rows.iter()
        .map(|row| {
            Ok((
                database(row.try_get("", "id"))?,
                database(row.try_get("", "status"))?,
                database(row.try_get("", "payout"))?,
            ))
        })
        .collect()
}

/// Settles `bets` by the statement and compares every row with
/// `domain::payout`.
async fn settlement_matches_the_domain(
    db: DatabaseConnection,
    (bets, result): (Vec<(i64, i64)>, LineEventStatus),
) -> Result<(), TestCaseError> {
    let line = SeaOrmLineRepository::new(db.clone());
    let event = open_event(Decimal::new(150, 2), 1);
    database(line.apply_snapshot(&event).await)?;
    let bets: Vec<(Uuid, Decimal, Decimal)> = bets
        .into_iter()
        .map(|(cents, odds)| {
            (
                Uuid::now_v7(),
                Decimal::new(cents, 2),
                Decimal::new(odds, 2),
            )
        })
        .collect();
    insert_pending_bets(&db, &event, &bets).await?;

    let finished = LineEvent {
        status: result,
        version: 2,
        ..event.clone()
    };
    let outcome = database(line.apply_snapshot(&finished).await)?;

    let settles = result != LineEventStatus::New;
    let bets_settled = if settles { bets.len() as u64 } else { 0 };
    prop_assert_eq!(outcome, ApplyOutcome::Applied { bets_settled });
    let stored = stored_bets(&db, &event).await?;
    prop_assert_eq!(stored.len(), bets.len());
    for (id, amount, coefficient) in &bets {
        let stake = BetSum::new(*amount, max_stake())
            .map_err(|e| TestCaseError::fail(format!("stake {amount}: {e}")))?;
        let expected = match payout(stake, *coefficient, result) {
            Some((status, paid)) => (spelled(status).to_owned(), Some(paid.to_string())),
            None => (spelled(BetStatus::Pending).to_owned(), None),
        };
        let row = stored.iter().find(|(stored_id, _, _)| stored_id == id);
        let actual = row.map(|(_, status, paid)| (status.clone(), paid.clone()));
        prop_assert_eq!(
            actual,
            Some(expected),
            "{} × {} finished {}",
            amount,
            coefficient,
            spelled_event(result)
        );
    }
    Ok(())
}

#[test]
fn the_settlement_statement_pays_what_domain_payout_says() {
    let bets = prop::collection::vec(stake_and_odds(), 1..=40);
    check(48, (bets, result()), settlement_matches_the_domain);
}

/// One version of an event as line-provider may send it: (version,
/// status, odds in hundredths).
fn versions() -> impl Strategy<Value = Vec<(i64, LineEventStatus, i64)>> {
    prop::collection::vec((1i64..=6, result(), 101i64..=100_000), 1..=12)
}

/// The copy of `id` as stored: (coefficient, deadline, status, version).
async fn stored_copy(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<(Decimal, DateTime<Utc>, String, i64)>, TestCaseError> {
    let row = database(
        db.query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT coefficient, deadline, status, version FROM events WHERE id = $1",
            [id.into()],
        ))
        .await,
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some((
        database(row.try_get("", "coefficient"))?,
        database(row.try_get("", "deadline"))?,
        database(row.try_get("", "status"))?,
        database(row.try_get("", "version"))?,
    )))
}

fn spelled_event(status: LineEventStatus) -> &'static str {
    match status {
        LineEventStatus::New => "NEW",
        LineEventStatus::FinishedWin => "FINISHED_WIN",
        LineEventStatus::FinishedLose => "FINISHED_LOSE",
        LineEventStatus::Cancelled => "CANCELLED",
    }
}

/// Applies each version as a message, in the generated order, and after
/// each compares the outcome with what `accepts` says and the stored copy
/// with the one it keeps.
async fn the_copy_is_what_the_domain_keeps(
    db: DatabaseConnection,
    versions: Vec<(i64, LineEventStatus, i64)>,
) -> Result<(), TestCaseError> {
    let line = SeaOrmLineRepository::new(db.clone());
    let id = Uuid::now_v7();
    let base = (Utc::now() + Duration::hours(1)).trunc_subsecs(6);
    let mut kept: Option<LineEvent> = None;
    for (version, status, odds) in versions {
        let incoming = LineEvent {
            id,
            coefficient: Decimal::new(odds, 2),
            deadline: base + Duration::minutes(version),
            status,
            version,
        };
        let verdict = kept.as_ref().map(|held| held.accepts(&incoming));
        let replaces = matches!(verdict, None | Some(Ok(Acceptance::Replace)));

        let outcome = database(line.apply_message(Uuid::now_v7(), &incoming).await)?;

        let expected = match (&verdict, &kept) {
            (Some(Ok(Acceptance::Duplicate)), _) => ApplyOutcome::Unchanged,
            (Some(Ok(Acceptance::Stale)), Some(held)) => ApplyOutcome::Outdated {
                held_version: held.version,
            },
            (Some(Err(conflict)), _) => ApplyOutcome::Refused(conflict.clone().into()),
            _ => ApplyOutcome::Applied { bets_settled: 0 },
        };
        prop_assert_eq!(
            &outcome,
            &expected,
            "version {} {:?} over {:?}",
            version,
            status,
            kept.as_ref().map(|held| (held.version, held.status))
        );
        if replaces {
            kept = Some(incoming);
        }
        let expected = kept.as_ref().map(|held| {
            (
                held.coefficient,
                held.deadline,
                spelled_event(held.status).to_owned(),
                held.version,
            )
        });
        prop_assert_eq!(stored_copy(&db, id).await?, expected);
    }
    Ok(())
}

#[test]
fn the_upsert_keeps_what_accepts_says_and_refuses_what_it_refuses() {
    check(48, versions(), the_copy_is_what_the_domain_keeps);
}
