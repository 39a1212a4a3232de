//! The rules SQL applies in bulk, held to their definitions in the domain.
//!
//! Settlement pays every bet of a decided event (won, lost, void when the
//! event was cancelled or the bet late, at the lower of its odds and those
//! offered when it was placed), re-settles them on a correction, and posts
//! what it moves to the ledger in one statement; placing a bet takes its
//! stake in one statement; and the copy of the line keeps the newest
//! version with one `INSERT ... ON CONFLICT`: all for speed.
//! Accumulators too: each leg decided by `domain::settle`, the bet by
//! `domain::settle_bet`, the money by `domain::settlement`,
//! `domain::correction` and `domain::reopening`, the exposure of every
//! leg's event by `domain::potential_payout_of`, whatever order the events'
//! results and corrections come in; and placement keeping every leg's
//! liability under its event's maximum as `domain::check_risk` says of the
//! tightest leg.
//! `domain::settle` with `domain::offered_at`, `domain::settlement`,
//! `domain::correction`, `domain::stake` with `domain::check_funds`, and
//! `LineEvent::accepts` stay the definitions,
//! and these property tests run the statements on the real database
//! (through the line repository, as the consumer does) over generated
//! cases, comparing each row with what the domain function says.

use std::future::Future;

use bet_maker::application::ports::{
    ApplyOutcome, BetRepository, BetRisk, BetToPlace, LineRepository, PlaceOutcome,
};
use bet_maker::domain::{
    Acceptance, Account, Announced, Bet, BetSettled, BetStatus, BetSum, BettorId, ChangeKind,
    Exposure, Leg, LegStatus, LineEvent, LineEventStatus, MAX_LIMIT, Offered, RiskLimits, Settled,
    ToSettle, VoidReason, check_funds, check_risk, correction, offered_at, potential_payout,
    potential_payout_of, reopening, settle, settle_bet, settlement, stake,
};
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use bet_maker::infrastructure::persistence::{SeaOrmBetRepository, SeaOrmLineRepository};
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

/// `sql` with `values` bound: every row.
async fn query_all(
    db: &DatabaseConnection,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<Vec<sea_orm::QueryResult>, TestCaseError> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    database(db.query_all_raw(statement).await)
}

/// `sql` with `values` bound: the first row, if any.
async fn query_one(
    db: &DatabaseConnection,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<Option<sea_orm::QueryResult>, TestCaseError> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    database(db.query_one_raw(statement).await)
}

/// `sql` with `values` bound, for its effect.
async fn execute(
    db: &DatabaseConnection,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<(), TestCaseError> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    database(db.execute_raw(statement).await).map(|_| ())
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

/// How the API (and the schema) spells a bet's status.
fn spelled(status: BetStatus) -> &'static str {
    match status {
        BetStatus::Pending => "PENDING",
        BetStatus::Won => "WON",
        BetStatus::Lost => "LOST",
        BetStatus::Void => "VOID",
        BetStatus::CashedOut => "CASHED_OUT",
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

/// A pending bet to insert: its id, stake, odds, bettor, whether its
/// stake is in the ledger, and when it was placed.
struct PendingBet {
    id: Uuid,
    amount: Decimal,
    coefficient: Decimal,
    bettor: &'static str,
    stake_posted: bool,
    placed_at: DateTime<Utc>,
}

/// A generated bet: (stake in cents, odds in hundredths), the index of its
/// bettor, whether its stake is in the ledger, and when it was placed, in
/// seconds after the event was created.
type GeneratedBet = ((i64, i64), usize, bool, i64);

/// A generated event's life: the coefficients of its open versions (odds
/// in hundredths, each made `gap` seconds after the one before), when the
/// result was decided (seconds after creation), the result, and the
/// corrections that follow it.
#[derive(Debug, Clone)]
struct Life {
    offers: Vec<(i64, i64)>,
    decided_after: i64,
    result: LineEventStatus,
    corrections: Vec<LineEventStatus>,
}

/// The ledger entries as read back: (account, amount, bettor, line, bet).
type StoredEntry = (
    String,
    Decimal,
    Option<String>,
    Option<String>,
    Option<Uuid>,
);

/// The bettors of the generated bets; each has a wallet.
const BETTORS: [&str; 3] = ["alice", "bob", "carol"];

/// Pending bets on `event`, one row each, in one statement (the numbers
/// are generated decimals, the instants formatted by chrono and the names
/// constants, so writing them into the SQL is safe).
async fn insert_pending_bets(
    db: &DatabaseConnection,
    event: &LineEvent,
    bets: &[PendingBet],
) -> Result<(), TestCaseError> {
    let rows: Vec<String> = bets
        .iter()
        .map(|bet| {
            format!(
                "('{}', '{}', {}, 'PENDING', '{}', {}, 1, round({} * {}, 2))",
                bet.id,
                bet.bettor,
                bet.amount,
                bet.placed_at.to_rfc3339(),
                bet.stake_posted,
                bet.amount,
                bet.coefficient,
            )
        })
        .collect();
    let legs: Vec<String> = bets
        .iter()
        .map(|bet| format!("('{}', 1, '{}', {})", bet.id, event.id, bet.coefficient))
        .collect();
    let sql = format!(
        "INSERT INTO wallets (bettor_id, currency, balance)
             SELECT unnest(ARRAY['alice', 'bob', 'carol']), 'EUR', 0 ON CONFLICT DO NOTHING;
         INSERT INTO bets (id, bettor_id, amount, status, placed_at, stake_posted, leg_count,
                           potential_payout)
             VALUES {};
         INSERT INTO bet_legs (bet_id, leg, event_id, coefficient) VALUES {}",
        rows.join(", "),
        legs.join(", ")
    );
    database(db.execute_unprepared(&sql).await).map(|_| ())
}

/// The balances of [`BETTORS`]' wallets (0.00 without one).
async fn balances(db: &DatabaseConnection) -> Result<Vec<Decimal>, TestCaseError> {
    let mut balances = Vec::new();
    for bettor in BETTORS {
        balances.push(balance_of(db, bettor).await?.unwrap_or(Decimal::ZERO));
    }
    Ok(balances)
}

/// The ledger entries of `event`'s transaction of `kind` (SETTLEMENT or
/// CORRECTION) made after `after` transactions of the event:
/// (account, amount, bettor, line, bet), wallet lines in statement order.
async fn entries_of(
    db: &DatabaseConnection,
    event: &LineEvent,
    nth: usize,
) -> Result<Vec<StoredEntry>, TestCaseError> {
    let rows = query_all(
        db,
        "SELECT account, amount, bettor_id, line, bet_id FROM ledger_entries
             WHERE transaction_id = (SELECT id FROM ledger_transactions WHERE event_id = $1
                                     ORDER BY created_at, id OFFSET $2 LIMIT 1)
             ORDER BY created_at, id",
        [event.id.into(), (nth as i64).into()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                database(row.try_get("", "account"))?,
                database(row.try_get("", "amount"))?,
                database(row.try_get("", "bettor_id"))?,
                database(row.try_get("", "line"))?,
                database(row.try_get("", "bet_id"))?,
            ))
        })
        .collect()
}

/// How many ledger transactions `event` has.
async fn transactions_of(
    db: &DatabaseConnection,
    event: &LineEvent,
) -> Result<usize, TestCaseError> {
    let row = query_one(
        db,
        "SELECT count(*) AS n FROM ledger_transactions WHERE event_id = $1",
        [event.id.into()],
    )
    .await?
    .ok_or_else(|| TestCaseError::fail("no row"))?;
    let n: i64 = database(row.try_get("", "n"))?;
    Ok(usize::try_from(n).unwrap_or_default())
}

/// A bet as stored: (status, payout, settled coefficient, void reason).
type StoredOutcome = (String, Option<Decimal>, Option<Decimal>, Option<String>);

/// Each bet of `event` as stored, by id.
async fn stored_bets(
    db: &DatabaseConnection,
    event: &LineEvent,
) -> Result<Vec<(Uuid, StoredOutcome)>, TestCaseError> {
    let rows = query_all(
        db,
        "SELECT b.id, b.status, b.payout, l.settled_coefficient, b.void_reason
             FROM bets b JOIN bet_legs l ON l.bet_id = b.id WHERE l.event_id = $1",
        [event.id.into()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                database(row.try_get("", "id"))?,
                (
                    database(row.try_get("", "status"))?,
                    database(row.try_get("", "payout"))?,
                    database(row.try_get("", "settled_coefficient"))?,
                    database(row.try_get("", "void_reason"))?,
                ),
            ))
        })
        .collect()
}

/// Applies `event` as a message made at `occurred_at`.
async fn announce(
    line: &SeaOrmLineRepository,
    kind: ChangeKind,
    event: &LineEvent,
    occurred_at: DateTime<Utc>,
) -> Result<ApplyOutcome, TestCaseError> {
    let change = Announced {
        kind,
        event: event.clone(),
        occurred_at,
    };
    database(line.apply_message(Uuid::now_v7(), &change).await)
}

/// What `domain::settle` says of `bet` on an event decided as `result` at
/// `decided_at`, with `history` the offers announced.
fn settled_by_the_domain(
    bet: &PendingBet,
    history: &[Offered],
    result: LineEventStatus,
    decided_at: DateTime<Utc>,
) -> Result<Settled, TestCaseError> {
    let amount = BetSum::new(bet.amount, max_stake())
        .map_err(|e| TestCaseError::fail(format!("stake {}: {e}", bet.amount)))?;
    let to_settle = ToSettle {
        amount,
        coefficient: bet.coefficient,
        placed_at: bet.placed_at,
        offered: offered_at(history, bet.placed_at),
    };
    settle(to_settle, result, decided_at)
        .ok_or_else(|| TestCaseError::fail(format!("{result:?} settles nothing")))
}

/// Lives an event through `life` with `bets` placed on it, and after the
/// result and after each correction compares every bet, the ledger
/// transaction and the wallets with `domain::settle`,
/// `domain::settlement` and `domain::correction`.
async fn settlement_matches_the_domain(
    db: DatabaseConnection,
    (bets, life): (Vec<GeneratedBet>, Life),
) -> Result<(), TestCaseError> {
    let line = SeaOrmLineRepository::new(db.clone());
    let created = (Utc::now() - Duration::days(1)).trunc_subsecs(6);
    let mut event = open_event(Decimal::new(life.offers[0].0, 2), 1);
    let mut history = Vec::new();
    let mut since = created;
    for (index, (odds, gap)) in life.offers.iter().enumerate() {
        since += Duration::seconds(*gap);
        event = LineEvent {
            coefficient: Decimal::new(*odds, 2),
            version: index as i64 + 1,
            ..event
        };
        let kind = if index == 0 {
            ChangeKind::Created
        } else {
            ChangeKind::Updated
        };
        announce(&line, kind, &event, since).await?;
        history.push(Offered {
            version: event.version,
            coefficient: event.coefficient,
            since,
        });
    }
    let pending: Vec<PendingBet> = bets
        .into_iter()
        .map(|((cents, odds), bettor, stake_posted, placed)| PendingBet {
            id: Uuid::now_v7(),
            amount: Decimal::new(cents, 2),
            coefficient: Decimal::new(odds, 2),
            bettor: BETTORS[bettor % BETTORS.len()],
            stake_posted,
            placed_at: created + Duration::seconds(placed),
        })
        .collect();
    insert_pending_bets(&db, &event, &pending).await?;

    let decided_at = created + Duration::seconds(life.decided_after);
    let mut paid: Vec<Option<Decimal>> = vec![None; pending.len()];
    let mut results = vec![(ChangeKind::Finished, life.result)];
    results.extend(life.corrections.iter().map(|c| (ChangeKind::Corrected, *c)));
    for (step, (kind, result)) in results.into_iter().enumerate() {
        let occurred_at = decided_at + Duration::seconds(step as i64 * 60);
        event = LineEvent {
            status: result,
            version: event.version + 1,
            ..event
        };
        history.push(Offered {
            version: event.version,
            coefficient: event.coefficient,
            since: occurred_at,
        });
        let balances_before = balances(&db).await?;
        let transactions_before = transactions_of(&db, &event).await?;
        let outcome = announce(&line, kind, &event, occurred_at).await?;
        prop_assert_eq!(
            outcome,
            ApplyOutcome::Applied {
                bets_settled: pending.len() as u64
            }
        );
        let stored = stored_bets(&db, &event).await?;
        let mut expected_lines = Vec::new();
        let (mut stakes_held, mut house_result) = (Decimal::ZERO, Decimal::ZERO);
        let mut credits = vec![Decimal::ZERO; BETTORS.len()];
        for (index, bet) in pending.iter().enumerate() {
            let settled = settled_by_the_domain(bet, &history, result, decided_at)?;
            let expected: StoredOutcome = (
                spelled(settled.status).to_owned(),
                Some(settled.payout),
                settled.coefficient,
                settled
                    .void_reason
                    .map(|reason| reason.as_str().to_uppercase()),
            );
            let row = stored
                .iter()
                .find(|(id, _)| *id == bet.id)
                .map(|(_, row)| row);
            prop_assert_eq!(
                row,
                Some(&expected),
                "{} × {} placed {} finished {} (step {})",
                bet.amount,
                bet.coefficient,
                bet.placed_at,
                spelled_event(result),
                step
            );
            let posting = match paid[index] {
                None => {
                    let amount = BetSum::new(bet.amount, max_stake())
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    settlement(amount, settled.status, settled.payout)
                }
                Some(before) => correction(before, settled.payout),
            };
            paid[index] = Some(settled.payout);
            let Some(posting) = posting.filter(|_| bet.stake_posted) else {
                continue;
            };
            prop_assert_eq!(posting.total(), Decimal::ZERO);
            stakes_held += posting.on(Account::StakesHeld);
            house_result += posting.on(Account::HouseResult);
            if let Some(line) = posting.wallet_line() {
                let who = BETTORS.iter().position(|b| *b == bet.bettor).unwrap_or(0);
                credits[who] += posting.wallet_change();
                expected_lines.push((bet.id, line.as_str().to_owned(), posting.wallet_change()));
            }
        }
        let moved = !expected_lines.is_empty() || !stakes_held.is_zero() || !house_result.is_zero();
        prop_assert_eq!(
            transactions_of(&db, &event).await?,
            transactions_before + usize::from(moved),
            "one ledger transaction when money moves, none otherwise"
        );
        let entries = if moved {
            entries_of(&db, &event, transactions_before).await?
        } else {
            Vec::new()
        };
        let mut wallet_lines: Vec<(Uuid, String, Decimal)> = entries
            .iter()
            .filter(|(account, ..)| account == "WALLET")
            .map(|(_, amount, _, line, bet)| {
                (
                    bet.unwrap_or_default(),
                    line.clone().unwrap_or_default(),
                    *amount,
                )
            })
            .collect();
        wallet_lines.sort();
        expected_lines.sort();
        prop_assert_eq!(wallet_lines, expected_lines);
        let house = |name: &str| -> Decimal {
            entries
                .iter()
                .filter(|(account, ..)| account == name)
                .map(|(_, amount, ..)| *amount)
                .sum()
        };
        prop_assert_eq!(house("STAKES_HELD"), stakes_held);
        prop_assert_eq!(house("HOUSE_RESULT"), house_result);
        let total: Decimal = entries.iter().map(|(_, amount, ..)| *amount).sum();
        prop_assert_eq!(total, Decimal::ZERO, "the transaction sums to zero");
        let balances_after = balances(&db).await?;
        for (index, bettor) in BETTORS.iter().enumerate() {
            prop_assert_eq!(
                balances_after[index],
                balances_before[index] + credits[index],
                "{}'s wallet",
                bettor
            );
        }
    }
    Ok(())
}

/// A final status other than `result`.
fn another_result(result: LineEventStatus, pick: usize) -> LineEventStatus {
    let others: Vec<LineEventStatus> = [
        LineEventStatus::FinishedWin,
        LineEventStatus::FinishedLose,
        LineEventStatus::Cancelled,
    ]
    .into_iter()
    .filter(|other| *other != result)
    .collect();
    others[pick % others.len()]
}

/// An event's life: 1 to 4 open versions a few seconds apart (odds that
/// rise and fall; a version may be made up to 3 seconds before the one
/// before it, as two changes committed in the other order are), the
/// result decided within the first 40 seconds, and 0 to 3 corrections,
/// each to another result than the one before.
fn life() -> impl Strategy<Value = Life> {
    (
        prop::collection::vec((101i64..=100_000, -3i64..=10), 1..=4),
        0i64..=40,
        prop_oneof![
            Just(LineEventStatus::FinishedWin),
            Just(LineEventStatus::FinishedLose),
            Just(LineEventStatus::Cancelled),
        ],
        prop::collection::vec(0usize..2, 0..=3),
    )
        .prop_map(|(offers, decided_after, result, picks)| {
            let mut corrections = Vec::new();
            let mut last = result;
            for pick in picks {
                last = another_result(last, pick);
                corrections.push(last);
            }
            Life {
                offers,
                decided_after,
                result,
                corrections,
            }
        })
}

#[test]
fn the_settlement_statement_pays_and_posts_what_the_domain_says() {
    let bets = prop::collection::vec(
        (stake_and_odds(), 0..3usize, any::<bool>(), 0i64..=50),
        1..=40,
    );
    check(48, (bets, life()), settlement_matches_the_domain);
}

/// One version of an event as line-provider may send it: (version,
/// status, odds in hundredths).
/// (version, status, odds in hundredths, announced as a correction).
fn versions() -> impl Strategy<Value = Vec<(i64, LineEventStatus, i64, bool)>> {
    let status = prop_oneof![
        Just(LineEventStatus::New),
        Just(LineEventStatus::Suspended),
        Just(LineEventStatus::FinishedWin),
        Just(LineEventStatus::FinishedLose),
        Just(LineEventStatus::Cancelled),
    ];
    prop::collection::vec(
        (
            1i64..=6,
            status,
            101i64..=100_000,
            prop::bool::weighted(0.3),
        ),
        1..=12,
    )
}

/// The copy of `id` as stored: (coefficient, deadline, status, version).
async fn stored_copy(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<(Decimal, DateTime<Utc>, String, i64)>, TestCaseError> {
    let row = query_one(
        db,
        "SELECT coefficient, deadline, status, version FROM events WHERE id = $1",
        [id.into()],
    )
    .await?;
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
        LineEventStatus::Suspended => "SUSPENDED",
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
    versions: Vec<(i64, LineEventStatus, i64, bool)>,
) -> Result<(), TestCaseError> {
    let line = SeaOrmLineRepository::new(db.clone());
    let id = Uuid::now_v7();
    let base = (Utc::now() + Duration::hours(1)).trunc_subsecs(6);
    let mut kept: Option<LineEvent> = None;
    for (version, status, odds, correction) in versions {
        let incoming = LineEvent {
            id,
            coefficient: Decimal::new(odds, 2),
            deadline: base + Duration::minutes(version),
            status,
            version,
        };
        let verdict = kept
            .as_ref()
            .map(|held| held.accepts(&incoming, correction));
        let replaces = matches!(verdict, None | Some(Ok(Acceptance::Replace)));
        let kind = if correction {
            ChangeKind::Corrected
        } else {
            ChangeKind::Updated
        };

        let outcome = announce(&line, kind, &incoming, Utc::now()).await?;

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

/// A placement: the wallet's balance in cents (none: no wallet yet), the
/// stake in cents, and whether the bet was decided on the version the copy
/// holds (else on the one before).
type Placement = (Option<i64>, i64, bool);

fn placement() -> impl Strategy<Value = Placement> {
    let stake = prop_oneof![1..=10_000i64, 1..=MAX_STAKE_CENTS];
    (
        prop::option::weighted(0.9, 0..=20_000i64),
        stake,
        prop::bool::weighted(0.8),
    )
        .prop_flat_map(|(balance, stake, current)| {
            // Weight in a balance of exactly the stake, and a cent less.
            let edge = prop_oneof![
                2 => Just(balance),
                1 => Just(Some(stake)),
                1 => Just(Some(stake - 1)),
            ];
            (edge, Just(stake), Just(current))
        })
}

/// The wallet's balance, or `None` without one.
async fn balance_of(
    db: &DatabaseConnection,
    bettor: &str,
) -> Result<Option<Decimal>, TestCaseError> {
    let row = query_one(
        db,
        "SELECT balance FROM wallets WHERE bettor_id = $1",
        [bettor.into()],
    )
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(database(row.try_get::<Decimal>("", "balance"))?)),
    }
}

/// The placement statement takes the stake exactly when
/// `domain::check_funds` says the wallet covers it, and then posts
/// `domain::stake`'s entries for the bet and debits the wallet by its
/// wallet entry; a bet decided on an outdated version writes nothing.
async fn placement_matches_the_domain(
    db: DatabaseConnection,
    (balance_cents, stake_cents, current): Placement,
) -> Result<(), TestCaseError> {
    let lines = SeaOrmLineRepository::new(db.clone());
    let first = open_event(Decimal::new(185, 2), 1);
    let held = LineEvent {
        coefficient: Decimal::new(210, 2),
        version: 2,
        ..first.clone()
    };
    for version in [&first, &held] {
        database(lines.apply_snapshot(version).await)?;
    }
    let bettor = format!("p{}", Uuid::now_v7().simple());
    let balance = balance_cents.map(|cents| Decimal::new(cents, 2));
    if let Some(balance) = balance {
        execute(
            &db,
            "INSERT INTO wallets (bettor_id, currency, balance) VALUES ($1, 'EUR', $2)",
            [bettor.clone().into(), balance.into()],
        )
        .await?;
    }
    let amount = BetSum::new(Decimal::new(stake_cents, 2), max_stake())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let decided_on = if current { &held } else { &first };
    let bettor_id = BettorId::parse(&bettor).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bet = Bet::place(Uuid::now_v7(), bettor_id, &[decided_on], amount, Utc::now())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let posting = stake(amount);

    let outcome = database(
        SeaOrmBetRepository::new(db.clone())
            .place(BetToPlace {
                bet: &bet,
                event_versions: &[decided_on.version],
                stake: &posting,
                claim: None,
                risk: no_risk(bet.potential_payout()),
            })
            .await,
    )?;

    let found = balance.unwrap_or(Decimal::new(0, 2));
    let expected = if !current {
        PlaceOutcome::EventChanged
    } else if check_funds(&posting, found).is_ok() {
        PlaceOutcome::Placed
    } else {
        PlaceOutcome::InsufficientFunds { balance: found }
    };
    prop_assert_eq!(&outcome, &expected);
    let written = query_one(
        &db,
        "SELECT (SELECT count(*) FROM bets WHERE id = $1) AS bets,
                    (SELECT count(*) FROM ledger_entries WHERE bet_id = $1) AS entries",
        [bet.id().into()],
    )
    .await?
    .ok_or_else(|| TestCaseError::fail("no row"))?;
    let bets: i64 = database(written.try_get("", "bets"))?;
    let entries: i64 = database(written.try_get("", "entries"))?;
    if outcome != PlaceOutcome::Placed {
        prop_assert_eq!((bets, entries), (0, 0), "nothing written");
        prop_assert_eq!(balance_of(&db, &bettor).await?, balance);
        return Ok(());
    }
    prop_assert_eq!(
        balance_of(&db, &bettor).await?,
        Some(found + posting.wallet_change())
    );
    let rows = query_all(
        &db,
        "SELECT account, amount FROM ledger_entries WHERE bet_id = $1 ORDER BY account",
        [bet.id().into()],
    )
    .await?;
    let mut stored = Vec::new();
    for row in rows {
        let account: String = database(row.try_get("", "account"))?;
        let amount: Decimal = database(row.try_get("", "amount"))?;
        stored.push((account, amount));
    }
    let mut expected: Vec<(String, Decimal)> = posting
        .entries()
        .iter()
        .map(|entry| (entry.account.as_str().to_owned(), entry.amount))
        .collect();
    expected.sort();
    prop_assert_eq!(stored, expected);
    prop_assert_eq!(bets, 1);
    Ok(())
}

#[test]
fn the_placement_statement_takes_the_stake_exactly_when_the_domain_allows() {
    check(96, placement(), placement_matches_the_domain);
}

/// No limit a bet of this potential payout could meet.
fn no_risk(potential_payout: Decimal) -> BetRisk {
    BetRisk {
        potential_payout,
        max_payout: MAX_LIMIT,
        default_max_liability: MAX_LIMIT,
    }
}

/// A bet against the risk limits: (stake, odds), the event's exposure so
/// far (stakes, net liability, in cents), its own maximum (else the
/// default), the default, the bettor's cap and the payout cap, in cents.
type Risked = ((i64, i64), (i64, i64), Option<i64>, i64, Option<i64>, i64);

fn risked() -> impl Strategy<Value = Risked> {
    (
        stake_and_odds(),
        (0..=1_000_000_000i64, 0..=1_000_000_000i64),
        prop::option::of(0..=2_000_000_000i64),
        0..=2_000_000_000i64,
        prop::option::of(1..=MAX_STAKE_CENTS),
        1..=20_000_000_000i64,
    )
}

/// The exposure row of `event`.
async fn exposure_of(db: &DatabaseConnection, event: Uuid) -> Result<Exposure, TestCaseError> {
    let row = query_one(
        db,
        "SELECT pending_bets, stakes, potential_payout FROM event_exposure WHERE event_id = $1",
        [event.into()],
    )
    .await?
    .ok_or_else(|| TestCaseError::fail("no exposure row"))?;
    Ok(Exposure {
        pending_bets: database(row.try_get("", "pending_bets"))?,
        stakes: database(row.try_get("", "stakes"))?,
        potential_payout: database(row.try_get("", "potential_payout"))?,
    })
}

/// The placement statement takes a bet exactly when `domain::check_risk`
/// allows it on the limits as stored, says which limit refused it
/// otherwise, and counts it in the event's exposure as `Exposure::with`
/// does (and otherwise leaves the exposure as it was).
async fn risk_matches_the_domain(
    db: DatabaseConnection,
    ((stake_cents, odds), (stakes, net), own_max, default_max, cap, max_payout): Risked,
) -> Result<(), TestCaseError> {
    let event = open_event(Decimal::new(odds, 2), 1);
    database(
        SeaOrmLineRepository::new(db.clone())
            .apply_snapshot(&event)
            .await,
    )?;
    let before = Exposure {
        pending_bets: 3,
        stakes: Decimal::new(stakes, 2),
        potential_payout: Decimal::new(stakes + net, 2),
    };
    let own_max = own_max.map(|cents| Decimal::new(cents, 2));
    execute(
        &db,
        "UPDATE event_exposure SET pending_bets = $2, stakes = $3, potential_payout = $4,
                max_liability = $5 WHERE event_id = $1",
        [
            event.id.into(),
            before.pending_bets.into(),
            before.stakes.into(),
            before.potential_payout.into(),
            own_max.into(),
        ],
    )
    .await?;
    let bettor = format!("r{}", Uuid::now_v7().simple());
    execute(
        &db,
        "INSERT INTO wallets (bettor_id, currency, balance) VALUES ($1, 'EUR', 1000000.00)",
        [bettor.clone().into()],
    )
    .await?;
    let cap = cap.map(|cents| Decimal::new(cents, 2));
    if let Some(cap) = cap {
        execute(
            &db,
            "INSERT INTO bettor_limits (bettor_id, max_stake) VALUES ($1, $2)",
            [bettor.clone().into(), cap.into()],
        )
        .await?;
    }
    let amount = BetSum::new(Decimal::new(stake_cents, 2), max_stake())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bettor_id = BettorId::parse(&bettor).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bet = Bet::place(Uuid::now_v7(), bettor_id, &[&event], amount, Utc::now())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let price = bet.price();
    let risk = BetRisk {
        potential_payout: potential_payout(amount, &price),
        max_payout: Decimal::new(max_payout, 2),
        default_max_liability: Decimal::new(default_max, 2),
    };
    let posting = stake(amount);

    let outcome = database(
        SeaOrmBetRepository::new(db.clone())
            .place(BetToPlace {
                bet: &bet,
                event_versions: &[1],
                stake: &posting,
                claim: None,
                risk,
            })
            .await,
    )?;

    let limits = RiskLimits {
        bettor_max_stake: cap,
        max_payout: risk.max_payout,
        liability: before.liability(),
        max_liability: own_max.unwrap_or(risk.default_max_liability),
    };
    let expected = match check_risk(amount, &price, &limits) {
        Ok(()) => PlaceOutcome::Placed,
        Err(refused) => PlaceOutcome::OverLimit {
            refused,
            limits,
            balance: Decimal::new(100_000_000, 2),
        },
    };
    prop_assert_eq!(&outcome, &expected);
    let after = exposure_of(&db, event.id).await?;
    if outcome == PlaceOutcome::Placed {
        prop_assert_eq!(after, before.with(amount, &price));
    } else {
        prop_assert_eq!(after, before);
    }
    Ok(())
}

#[test]
fn the_placement_statement_keeps_the_risk_limits_exactly_as_the_domain_says() {
    check(160, risked(), risk_matches_the_domain);
}

/// Settling an event zeroes its exposure: every bet it counted is settled.
#[test]
fn settling_an_event_releases_its_exposure() {
    check(1, Just(()), |db, ()| async move {
        let lines = SeaOrmLineRepository::new(db.clone());
        let event = open_event(Decimal::new(250, 2), 1);
        database(lines.apply_snapshot(&event).await)?;
        execute(
            &db,
            "UPDATE event_exposure SET pending_bets = 1, stakes = 10.00, potential_payout = 25.00
             WHERE event_id = $1",
            [event.id.into()],
        )
        .await?;
        let finished = LineEvent {
            status: LineEventStatus::FinishedLose,
            version: 2,
            ..event.clone()
        };
        database(lines.apply_snapshot(&finished).await)?;
        prop_assert_eq!(
            exposure_of(&db, event.id).await?,
            Exposure {
                pending_bets: 0,
                stakes: Decimal::new(0, 2),
                potential_payout: Decimal::new(0, 2),
            }
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------
// Accumulators: legs on several events, each decided by `domain::settle`,
// the bet by `domain::settle_bet`, whatever order the events' results and
// corrections arrive in and however often the broker delivers them.
// ---------------------------------------------------------------------

/// A generated accumulator: its stake in cents, its legs (an event's index
/// among the case's, taken modulo how many there are, and odds in
/// hundredths; a repeated event is dropped), its bettor's index, whether
/// its stake is in the ledger (only a single can be a bet from before
/// stakes were posted), and when it was placed, in seconds after the
/// events were created.
#[derive(Debug, Clone)]
struct GeneratedAccumulator {
    cents: i64,
    legs: Vec<(usize, i64)>,
    bettor: usize,
    stake_posted: bool,
    placed: i64,
}

/// A generated case: the events' lives (2 to 4, each decided 10 to 50
/// seconds after it was created), the bets on them, the
/// order the results and corrections are announced in (a key per message:
/// the messages go out sorted by key, each event's in its own order), and
/// the redeliveries (after the `n`-th step, a message delivered before is
/// delivered again under the same id).
#[derive(Debug, Clone)]
struct AccumulatorCase {
    lives: Vec<Life>,
    bets: Vec<GeneratedAccumulator>,
    order: Vec<u32>,
    redeliveries: Vec<(usize, usize)>,
}

/// Odds of a leg: mostly short (so that products of four stay within the
/// stakes' range), sometimes anything, sometimes ending in 50 (products
/// ending in half a cent).
fn leg_odds() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => 101i64..=400,
        1 => 101i64..=100_000,
        1 => (1i64..=99).prop_map(|k| 100 * k + 50),
    ]
}

/// A stake in cents: mostly up to 1,000.00, sometimes up to the house
/// limit, sometimes an odd number of cents.
fn leg_stake() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => 1i64..=100_000,
        1 => 1i64..=MAX_STAKE_CENTS,
        1 => (0i64..50_000).prop_map(|n| 2 * n + 1),
    ]
}

fn accumulator_case() -> impl Strategy<Value = AccumulatorCase> {
    let bet = (
        leg_stake(),
        prop::collection::vec((0usize..4, leg_odds()), 1..=5),
        0usize..3,
        prop::bool::weighted(0.9),
        // Mostly before the earliest result (10 seconds in), sometimes
        // late on some legs.
        prop_oneof![4 => 0i64..=12, 1 => 0i64..=55],
    )
        .prop_map(
            |(cents, legs, bettor, stake_posted, placed)| GeneratedAccumulator {
                cents,
                legs,
                bettor,
                stake_posted,
                placed,
            },
        );
    (
        prop::collection::vec(
            life().prop_map(|life| Life {
                decided_after: 10 + life.decided_after,
                ..life
            }),
            2..=4,
        ),
        prop::collection::vec(bet, 1..=24),
        prop::collection::vec(any::<u32>(), 16),
        prop::collection::vec((0usize..16, any::<usize>()), 0..=6),
    )
        .prop_map(|(lives, bets, order, redeliveries)| AccumulatorCase {
            lives,
            bets,
            order,
            redeliveries,
        })
}

/// An accumulator of the case, as inserted.
#[derive(Debug)]
struct PlacedAccumulator {
    id: Uuid,
    bettor: String,
    amount: BetSum,
    stake_posted: bool,
    placed_at: DateTime<Utc>,
    /// (the event's index, the coefficient locked on it), in leg order.
    legs: Vec<(usize, Decimal)>,
}

/// What bet-maker's copy holds of one event of the case, as the domain
/// sees it: the copy, every offer announced, and when the result was first
/// decided.
#[derive(Debug)]
struct EventCopy {
    event: LineEvent,
    history: Vec<Offered>,
    decided_at: Option<DateTime<Utc>>,
}

/// One result or correction of an event, as line-provider sends it.
#[derive(Debug)]
struct ResultMessage {
    event: usize,
    id: Uuid,
    change: Announced,
}

/// Each leg of `bet` as the domain decides it on its event's copy
/// (`domain::settle`; open while the event is).
fn legs_by_the_domain(bet: &PlacedAccumulator, copies: &[EventCopy]) -> Vec<Leg> {
    bet.legs
        .iter()
        .map(|&(event, coefficient)| {
            let copy = &copies[event];
            let open = Leg::open(copy.event.id, coefficient);
            let Some(decided_at) = copy.decided_at.filter(|_| copy.event.status.is_final()) else {
                return open;
            };
            let to_settle = ToSettle {
                amount: bet.amount,
                coefficient,
                placed_at: bet.placed_at,
                offered: offered_at(&copy.history, bet.placed_at),
            };
            match settle(to_settle, copy.event.status, decided_at) {
                Some(settled) => Leg {
                    status: settled.leg_status(),
                    settled_coefficient: settled.coefficient,
                    void_reason: settled.void_reason,
                    ..open
                },
                None => open,
            }
        })
        .collect()
}

fn spelled_leg(status: LegStatus) -> &'static str {
    match status {
        LegStatus::Pending => "PENDING",
        LegStatus::Won => "WON",
        LegStatus::Lost => "LOST",
        LegStatus::Void => "VOID",
    }
}

fn spelled_reason(reason: Option<VoidReason>) -> Option<String> {
    reason.map(|reason| reason.as_str().to_uppercase())
}

/// A leg as stored: (status, settled coefficient, void reason).
type StoredLeg = (String, Option<Decimal>, Option<String>);

/// A bet as stored: (status, payout, void reason) and its legs in order.
type StoredAccumulator = ((String, Option<Decimal>, Option<String>), Vec<StoredLeg>);

/// The accumulators and their legs, as inserted: the bets' rows (with
/// `leg_count` and the potential payout of every leg open, as placement
/// writes them) and the legs' rows, in one statement; and a wallet for each
/// bettor. (Generated decimals, UUIDs and instants formatted by chrono:
/// safe to write into the SQL.)
async fn insert_accumulators(
    db: &DatabaseConnection,
    bettors: &[String],
    bets: &[PlacedAccumulator],
    events: &[EventCopy],
) -> Result<(), TestCaseError> {
    let wallets: Vec<String> = bettors
        .iter()
        .map(|bettor| format!("('{bettor}', 'EUR', 0)"))
        .collect();
    let rows: Vec<String> = bets
        .iter()
        .map(|bet| {
            let open: Vec<Leg> = bet
                .legs
                .iter()
                .map(|&(event, coefficient)| Leg::open(events[event].event.id, coefficient))
                .collect();
            format!(
                "('{}', '{}', {}, 'PENDING', '{}', {}, {}, {})",
                bet.id,
                bet.bettor,
                bet.amount.value(),
                bet.placed_at.to_rfc3339(),
                bet.stake_posted,
                bet.legs.len(),
                potential_payout_of(bet.amount, &open),
            )
        })
        .collect();
    let legs: Vec<String> = bets
        .iter()
        .flat_map(|bet| {
            bet.legs
                .iter()
                .enumerate()
                .map(move |(at, &(event, coefficient))| {
                    format!(
                        "('{}', {}, '{}', {})",
                        bet.id,
                        at + 1,
                        events[event].event.id,
                        coefficient
                    )
                })
        })
        .collect();
    let sql = format!(
        "INSERT INTO wallets (bettor_id, currency, balance) VALUES {};
         INSERT INTO bets (id, bettor_id, amount, status, placed_at, stake_posted, leg_count,
                           potential_payout)
             VALUES {};
         INSERT INTO bet_legs (bet_id, leg, event_id, coefficient) VALUES {}",
        wallets.join(", "),
        rows.join(", "),
        legs.join(", ")
    );
    database(db.execute_unprepared(&sql).await).map(|_| ())
}

/// The exposure every event of the case must count by the domain's
/// definition: over the bets still pending by `settle_bet` that have an
/// open leg on it, (1, the stake, `potential_payout_of` the bet's legs).
fn exposure_by_the_domain(
    bets: &[PlacedAccumulator],
    legs: &[Vec<Leg>],
    events: &[EventCopy],
) -> Vec<Exposure> {
    events
        .iter()
        .map(|copy| {
            bets.iter()
                .zip(legs)
                .filter(|(bet, legs)| settle_bet(bet.amount, legs).is_none())
                .filter(|(_, legs)| {
                    legs.iter().any(|leg| {
                        leg.event_id == copy.event.id && leg.status == LegStatus::Pending
                    })
                })
                .fold(Exposure::default(), |exposure, (bet, legs)| Exposure {
                    pending_bets: exposure.pending_bets + 1,
                    stakes: exposure.stakes + bet.amount.value(),
                    potential_payout: exposure.potential_payout
                        + potential_payout_of(bet.amount, legs),
                })
        })
        .collect()
}

/// The case's bets as stored, by id.
async fn stored_accumulators(
    db: &DatabaseConnection,
    prefix: &str,
) -> Result<std::collections::HashMap<Uuid, StoredAccumulator>, TestCaseError> {
    let rows = query_all(
        db,
        "SELECT b.id, b.status, b.payout, b.void_reason, l.status AS leg_status,
                l.settled_coefficient, l.void_reason AS leg_void_reason
         FROM bets b JOIN bet_legs l ON l.bet_id = b.id
         WHERE b.bettor_id LIKE $1 ORDER BY b.id, l.leg",
        [format!("{prefix}%").into()],
    )
    .await?;
    let mut stored: std::collections::HashMap<Uuid, StoredAccumulator> =
        std::collections::HashMap::new();
    for row in &rows {
        let id: Uuid = database(row.try_get("", "id"))?;
        let bet = (
            database(row.try_get("", "status"))?,
            database(row.try_get("", "payout"))?,
            database(row.try_get("", "void_reason"))?,
        );
        let leg = (
            database(row.try_get("", "leg_status"))?,
            database(row.try_get("", "settled_coefficient"))?,
            database(row.try_get("", "leg_void_reason"))?,
        );
        stored
            .entry(id)
            .or_insert_with(|| (bet, Vec::new()))
            .1
            .push(leg);
    }
    Ok(stored)
}

/// The exposure rows of `events`, in their order.
async fn exposures_of(
    db: &DatabaseConnection,
    events: &[EventCopy],
) -> Result<Vec<Exposure>, TestCaseError> {
    let mut found = Vec::new();
    for copy in events {
        found.push(exposure_of(db, copy.event.id).await?);
    }
    Ok(found)
}

/// A scalar of the first row.
async fn scalar<T: sea_orm::TryGetable>(
    db: &DatabaseConnection,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<T, TestCaseError> {
    let row = query_one(db, sql, values)
        .await?
        .ok_or_else(|| TestCaseError::fail(format!("no row from {sql}")))?;
    database(row.try_get_by_index(0))
}

/// The money of the case, as stored, against the domain: each ledger
/// transaction of the case's events sums to zero; each wallet's balance is
/// the sum of its WALLET entries and the sum of the domain's credits, each
/// line's `balance_after` the running sum; each bet's wallet lines add up
/// to what the domain says it pays (nothing while pending, or unstaked);
/// and the stakes held and the house's result moved by what the settled
/// staked bets say.
async fn money_is_conserved(
    db: &DatabaseConnection,
    events: &str,
    prefix: &str,
    bets: &[PlacedAccumulator],
    outcomes: &[Option<BetSettled>],
    credited: &std::collections::BTreeMap<String, Decimal>,
) -> Result<(), TestCaseError> {
    let unbalanced: i64 = scalar(
        db,
        &format!(
            "SELECT count(*) FROM (SELECT t.id FROM ledger_transactions t
                 JOIN ledger_entries e ON e.transaction_id = t.id
             WHERE t.event_id IN ({events}) GROUP BY t.id HAVING sum(e.amount) <> 0) AS x"
        ),
        [],
    )
    .await?;
    prop_assert_eq!(unbalanced, 0, "ledger transactions that do not sum to zero");
    let like = format!("{prefix}%");
    let rows = query_all(
        db,
        "SELECT w.bettor_id, w.balance,
                (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                 WHERE e.account = 'WALLET' AND e.bettor_id = w.bettor_id) AS entries
         FROM wallets w WHERE w.bettor_id LIKE $1",
        [like.clone().into()],
    )
    .await?;
    prop_assert_eq!(rows.len(), credited.len(), "a wallet per bettor");
    for row in &rows {
        let bettor: String = database(row.try_get("", "bettor_id"))?;
        let balance: Decimal = database(row.try_get("", "balance"))?;
        let entries: Decimal = database(row.try_get("", "entries"))?;
        prop_assert_eq!(
            balance,
            entries,
            "{}'s balance is the sum of its entries",
            bettor
        );
        let expected = credited.get(&bettor).copied().unwrap_or_default();
        prop_assert_eq!(balance, expected, "{}'s balance by the domain", bettor);
    }
    let not_running: i64 = scalar(
        db,
        "SELECT count(*) FROM (SELECT balance_after, sum(amount) OVER
             (PARTITION BY bettor_id ORDER BY created_at, id) AS running
           FROM ledger_entries WHERE account = 'WALLET' AND bettor_id LIKE $1) AS lines
         WHERE balance_after <> running",
        [like.clone().into()],
    )
    .await?;
    prop_assert_eq!(
        not_running,
        0,
        "wallet lines whose balance_after is not the running sum"
    );
    let rows = query_all(
        db,
        "SELECT b.id, coalesce(sum(e.amount), 0) AS lines FROM bets b
             LEFT JOIN ledger_entries e ON e.bet_id = b.id AND e.account = 'WALLET'
         WHERE b.bettor_id LIKE $1 GROUP BY b.id",
        [like.into()],
    )
    .await?;
    let lines: std::collections::HashMap<Uuid, Decimal> = rows
        .iter()
        .map(|row| {
            Ok((
                database(row.try_get("", "id"))?,
                database(row.try_get("", "lines"))?,
            ))
        })
        .collect::<Result<_, TestCaseError>>()?;
    let (mut stakes_held, mut house_result) = (Decimal::ZERO, Decimal::ZERO);
    for (bet, outcome) in bets.iter().zip(outcomes) {
        let pays = match outcome {
            Some(settled) if bet.stake_posted => {
                stakes_held -= bet.amount.value();
                house_result += bet.amount.value() - settled.payout;
                settled.payout
            }
            _ => Decimal::ZERO,
        };
        prop_assert_eq!(
            lines.get(&bet.id).copied(),
            Some(pays),
            "bet {}'s wallet lines add up to what it pays ({:?})",
            bet.id,
            outcome
        );
    }
    for (account, expected) in [("STAKES_HELD", stakes_held), ("HOUSE_RESULT", house_result)] {
        let sql = format!(
            "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
             JOIN ledger_transactions t ON t.id = e.transaction_id
             WHERE t.event_id IN ({events}) AND e.account = '{account}'"
        );
        prop_assert_eq!(
            scalar::<Decimal>(db, &sql, []).await?,
            expected,
            "{}",
            account
        );
    }
    Ok(())
}

/// The messages of the case in the order they go out: each event's result
/// and corrections in their own order, the events interleaved by the
/// case's keys; then the redeliveries put in (an index into the messages
/// for each step, `true` when it is a delivery again).
fn delivery_order(
    messages: &[ResultMessage],
    order: &[u32],
    redeliveries: &[(usize, usize)],
) -> Vec<(usize, bool)> {
    let mut slots: Vec<usize> = (0..messages.len()).collect();
    slots.sort_by_key(|&at| (order.get(at).copied().unwrap_or_default(), at));
    // The slot an event's message took is that event's next message.
    let mut next_of_event: std::collections::HashMap<usize, std::vec::IntoIter<usize>> = messages
        .iter()
        .enumerate()
        .fold(
            std::collections::HashMap::<usize, Vec<usize>>::new(),
            |mut by_event, (at, message)| {
                by_event.entry(message.event).or_default().push(at);
                by_event
            },
        )
        .into_iter()
        .map(|(event, ats)| (event, ats.into_iter()))
        .collect();
    let firsts: Vec<usize> = slots
        .into_iter()
        .filter_map(|slot| {
            next_of_event
                .get_mut(&messages[slot].event)
                .and_then(Iterator::next)
        })
        .collect();
    let mut steps = Vec::new();
    for (step, &message) in firsts.iter().enumerate() {
        steps.push((message, false));
        for &(after, pick) in redeliveries {
            if after % firsts.len() == step {
                steps.push((firsts[pick % (step + 1)], true));
            }
        }
    }
    steps
}

/// Accumulators of 1 to 4 legs on 2 to 4 events, each event living its
/// life (odds cut before some bets, a result that late bets follow, then
/// corrections), the results and corrections announced interleaved in a
/// generated order, some delivered twice. After every step: every bet and
/// every leg as `domain::settle` (per leg) and `domain::settle_bet` say;
/// the ledger transaction of the step holding what `domain::settlement`,
/// `domain::correction` and `domain::reopening` say of each bet whose
/// outcome moved (a redelivery: AlreadyApplied, nothing); the money
/// conserved; and every event's exposure what the domain's definition
/// counts.
async fn accumulators_settle_as_the_domain_says(
    db: DatabaseConnection,
    case: AccumulatorCase,
) -> Result<(), TestCaseError> {
    let line = SeaOrmLineRepository::new(db.clone());
    let created = (Utc::now() - Duration::days(1)).trunc_subsecs(6);
    let prefix = format!("acc{}-", Uuid::now_v7().simple());
    let bettors: Vec<String> = (0..3).map(|n| format!("{prefix}{n}")).collect();

    // Every event's open versions, announced.
    let mut copies = Vec::new();
    for life in &case.lives {
        let mut event = open_event(Decimal::new(life.offers[0].0, 2), 1);
        let mut history = Vec::new();
        let mut since = created;
        for (index, (odds, gap)) in life.offers.iter().enumerate() {
            since += Duration::seconds(*gap);
            event = LineEvent {
                coefficient: Decimal::new(*odds, 2),
                version: index as i64 + 1,
                ..event
            };
            let kind = if index == 0 {
                ChangeKind::Created
            } else {
                ChangeKind::Updated
            };
            announce(&line, kind, &event, since).await?;
            history.push(Offered {
                version: event.version,
                coefficient: event.coefficient,
                since,
            });
        }
        copies.push(EventCopy {
            event,
            history,
            decided_at: None,
        });
    }

    // The bets, as placement leaves them, and the exposure they count.
    let mut bets = Vec::new();
    for generated in &case.bets {
        let mut legs: Vec<(usize, Decimal)> = Vec::new();
        for &(event, odds) in &generated.legs {
            let event = event % copies.len();
            if !legs.iter().any(|(taken, _)| *taken == event) {
                legs.push((event, Decimal::new(odds, 2)));
            }
        }
        let amount = BetSum::new(Decimal::new(generated.cents, 2), max_stake())
            .map_err(|e| TestCaseError::fail(format!("stake {}: {e}", generated.cents)))?;
        bets.push(PlacedAccumulator {
            id: Uuid::now_v7(),
            bettor: bettors[generated.bettor % bettors.len()].clone(),
            amount,
            stake_posted: generated.stake_posted || legs.len() > 1,
            placed_at: created + Duration::seconds(generated.placed),
            legs,
        });
    }
    insert_accumulators(&db, &bettors, &bets, &copies).await?;
    let legs: Vec<Vec<Leg>> = bets
        .iter()
        .map(|bet| legs_by_the_domain(bet, &copies))
        .collect();
    for (copy, exposure) in copies
        .iter()
        .zip(exposure_by_the_domain(&bets, &legs, &copies))
    {
        execute(
            &db,
            "UPDATE event_exposure SET pending_bets = $2, stakes = $3, potential_payout = $4
             WHERE event_id = $1",
            [
                copy.event.id.into(),
                exposure.pending_bets.into(),
                exposure.stakes.into(),
                exposure.potential_payout.into(),
            ],
        )
        .await?;
    }

    // Each event's result and corrections, as line-provider sends them.
    let mut messages = Vec::new();
    for (index, life) in case.lives.iter().enumerate() {
        let decided_at = created + Duration::seconds(life.decided_after);
        let mut event = copies[index].event.clone();
        let results = std::iter::once(life.result).chain(life.corrections.iter().copied());
        for (step, result) in results.enumerate() {
            let kind = match (step, result) {
                (0, LineEventStatus::Cancelled) => ChangeKind::Cancelled,
                (0, _) => ChangeKind::Finished,
                _ => ChangeKind::Corrected,
            };
            event = LineEvent {
                status: result,
                version: event.version + 1,
                ..event
            };
            messages.push(ResultMessage {
                event: index,
                id: Uuid::now_v7(),
                change: Announced {
                    kind,
                    event: event.clone(),
                    occurred_at: decided_at + Duration::seconds(step as i64 * 60),
                },
            });
        }
    }
    let event_list = copies
        .iter()
        .map(|copy| format!("'{}'", copy.event.id))
        .collect::<Vec<_>>()
        .join(", ");

    let mut outcomes: Vec<Option<BetSettled>> = vec![None; bets.len()];
    let mut credited: std::collections::BTreeMap<String, Decimal> = bettors
        .iter()
        .map(|bettor| (bettor.clone(), Decimal::ZERO))
        .collect();
    for (step, (at, again)) in delivery_order(&messages, &case.order, &case.redeliveries)
        .into_iter()
        .enumerate()
    {
        let message = &messages[at];
        let event_id = message.change.event.id;
        let what = format!(
            "step {step}: {}{:?} v{} of event {} (of {})",
            if again { "again, " } else { "" },
            message.change.event.status,
            message.change.event.version,
            message.event,
            copies.len()
        );
        let transactions_before = transactions_of(&db, &message.change.event).await?;

        let outcome = database(line.apply_message(message.id, &message.change).await)?;

        if again {
            prop_assert_eq!(&outcome, &ApplyOutcome::AlreadyApplied, "{}", what);
        } else {
            let on_event = bets
                .iter()
                .flat_map(|bet| &bet.legs)
                .filter(|(event, _)| *event == message.event)
                .count();
            prop_assert_eq!(
                &outcome,
                &ApplyOutcome::Applied {
                    bets_settled: on_event as u64
                },
                "{}",
                what
            );
            let copy = &mut copies[message.event];
            copy.event = message.change.event.clone();
            copy.history.push(Offered {
                version: copy.event.version,
                coefficient: copy.event.coefficient,
                since: message.change.occurred_at,
            });
            copy.decided_at.get_or_insert(message.change.occurred_at);
        }

        // Every bet and leg as the domain decides them, and what each bet
        // whose outcome moved posts.
        let stored = stored_accumulators(&db, &prefix).await?;
        let legs: Vec<Vec<Leg>> = bets
            .iter()
            .map(|bet| legs_by_the_domain(bet, &copies))
            .collect();
        let mut expected_lines = Vec::new();
        let (mut stakes_held, mut house_result) = (Decimal::ZERO, Decimal::ZERO);
        for (index, (bet, legs)) in bets.iter().zip(&legs).enumerate() {
            let now = settle_bet(bet.amount, legs);
            let expected: StoredAccumulator = (
                match &now {
                    Some(settled) => (
                        spelled(settled.status).to_owned(),
                        Some(settled.payout),
                        spelled_reason(settled.void_reason),
                    ),
                    None => ("PENDING".to_owned(), None, None),
                },
                legs.iter()
                    .map(|leg| {
                        (
                            spelled_leg(leg.status).to_owned(),
                            leg.settled_coefficient,
                            spelled_reason(leg.void_reason),
                        )
                    })
                    .collect(),
            );
            prop_assert_eq!(
                stored.get(&bet.id),
                Some(&expected),
                "{}: {} × {:?} placed {} on {:?}",
                what,
                bet.amount.value(),
                bet.legs,
                bet.placed_at,
                bet.legs
                    .iter()
                    .map(|(event, _)| (
                        copies[*event].event.status,
                        copies[*event].decided_at,
                        &copies[*event].history
                    ))
                    .collect::<Vec<_>>()
            );
            let posting = match (&outcomes[index], &now) {
                (None, None) => None,
                (None, Some(settled)) => settlement(bet.amount, settled.status, settled.payout),
                (Some(before), Some(settled)) => correction(before.payout, settled.payout),
                (Some(before), None) => Some(reopening(bet.amount, before.payout)),
            };
            outcomes[index] = now;
            let Some(posting) = posting.filter(|_| bet.stake_posted) else {
                continue;
            };
            prop_assert_eq!(posting.total(), Decimal::ZERO);
            stakes_held += posting.on(Account::StakesHeld);
            house_result += posting.on(Account::HouseResult);
            if let Some(wallet_line) = posting.wallet_line() {
                *credited.entry(bet.bettor.clone()).or_default() += posting.wallet_change();
                expected_lines.push((
                    bet.id,
                    wallet_line.as_str().to_owned(),
                    posting.wallet_change(),
                ));
            }
        }

        // The step's ledger transaction: one when money moves, none
        // otherwise, holding exactly those lines.
        let moved = !expected_lines.is_empty() || !stakes_held.is_zero() || !house_result.is_zero();
        prop_assert_eq!(
            transactions_of(&db, &message.change.event).await?,
            transactions_before + usize::from(moved),
            "{}: one ledger transaction when money moves, none otherwise",
            what
        );
        let entries = if moved {
            entries_of(&db, &message.change.event, transactions_before).await?
        } else {
            Vec::new()
        };
        let mut wallet_lines: Vec<(Uuid, String, Decimal)> = entries
            .iter()
            .filter(|(account, ..)| account == "WALLET")
            .map(|(_, amount, _, line, bet)| {
                (
                    bet.unwrap_or_default(),
                    line.clone().unwrap_or_default(),
                    *amount,
                )
            })
            .collect();
        wallet_lines.sort();
        expected_lines.sort();
        prop_assert_eq!(wallet_lines, expected_lines, "{}: the wallet lines", what);
        let house = |name: &str| -> Decimal {
            entries
                .iter()
                .filter(|(account, ..)| account == name)
                .map(|(_, amount, ..)| *amount)
                .sum()
        };
        prop_assert_eq!(house("STAKES_HELD"), stakes_held, "{}: stakes held", what);
        prop_assert_eq!(
            house("HOUSE_RESULT"),
            house_result,
            "{}: house result",
            what
        );

        money_is_conserved(&db, &event_list, &prefix, &bets, &outcomes, &credited).await?;
        let exposures = exposures_of(&db, &copies).await?;
        let expected = exposure_by_the_domain(&bets, &legs, &copies);
        prop_assert_eq!(
            exposures,
            expected,
            "{}: every event's exposure (event {} is {})",
            what,
            event_id,
            message.event
        );
    }
    Ok(())
}

#[test]
fn accumulators_settle_leg_by_leg_as_the_domain_says_in_any_order() {
    check(
        40,
        accumulator_case(),
        accumulators_settle_as_the_domain_says,
    );
}

/// One leg of an accumulator against the risk limits: its event's odds,
/// the event's exposure so far (stakes, net liability, in cents), and its
/// own maximum (else the default).
type RiskedLeg = (i64, (i64, i64), Option<i64>);

/// An accumulator against the risk limits: the stake, 1 to 4 legs, the
/// default maximum liability, the bettor's cap and the payout cap, in
/// cents.
type RiskedAccumulator = (i64, Vec<RiskedLeg>, i64, Option<i64>, i64);

fn risked_accumulator() -> impl Strategy<Value = RiskedAccumulator> {
    (
        leg_stake(),
        prop::collection::vec(
            (
                leg_odds(),
                (0..=100_000_000i64, 0..=100_000_000i64),
                prop::option::of(0..=200_000_000i64),
            ),
            1..=4,
        ),
        0..=200_000_000i64,
        prop::option::weighted(0.3, 1..=100_000i64),
        1..=100_000_000i64,
    )
}

/// Placing an accumulator through the placement statement takes it exactly
/// when `domain::check_risk` allows it on the limits of its tightest leg
/// (the least room under its event's maximum, which decides for every
/// leg), reports those limits when it refuses, and then moves every leg's
/// exposure by (1, the stake, the potential payout), so that no leg's
/// liability passes its event's maximum; a refused one moves none.
async fn accumulator_risk_matches_the_domain(
    db: DatabaseConnection,
    (stake_cents, legs, default_max, cap, max_payout): RiskedAccumulator,
) -> Result<(), TestCaseError> {
    let lines = SeaOrmLineRepository::new(db.clone());
    let default_max = Decimal::new(default_max, 2);
    let mut events = Vec::new();
    let mut before = Vec::new();
    let mut maxima = Vec::new();
    for &(odds, (stakes, net), own_max) in &legs {
        let event = open_event(Decimal::new(odds, 2), 1);
        database(lines.apply_snapshot(&event).await)?;
        let exposure = Exposure {
            pending_bets: 3,
            stakes: Decimal::new(stakes, 2),
            potential_payout: Decimal::new(stakes + net, 2),
        };
        let own_max = own_max.map(|cents| Decimal::new(cents, 2));
        execute(
            &db,
            "UPDATE event_exposure SET pending_bets = $2, stakes = $3, potential_payout = $4,
                    max_liability = $5 WHERE event_id = $1",
            [
                event.id.into(),
                exposure.pending_bets.into(),
                exposure.stakes.into(),
                exposure.potential_payout.into(),
                own_max.into(),
            ],
        )
        .await?;
        maxima.push(own_max.unwrap_or(default_max));
        before.push(exposure);
        events.push(event);
    }
    let bettor = format!("r{}", Uuid::now_v7().simple());
    execute(
        &db,
        "INSERT INTO wallets (bettor_id, currency, balance) VALUES ($1, 'EUR', 1000000.00)",
        [bettor.clone().into()],
    )
    .await?;
    let cap = cap.map(|cents| Decimal::new(cents, 2));
    if let Some(cap) = cap {
        execute(
            &db,
            "INSERT INTO bettor_limits (bettor_id, max_stake) VALUES ($1, $2)",
            [bettor.clone().into(), cap.into()],
        )
        .await?;
    }
    let amount = BetSum::new(Decimal::new(stake_cents, 2), max_stake())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bettor_id = BettorId::parse(&bettor).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let on: Vec<&LineEvent> = events.iter().collect();
    let bet = Bet::place(Uuid::now_v7(), bettor_id, &on, amount, Utc::now())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let price = bet.price();
    let risk = BetRisk {
        potential_payout: potential_payout(amount, &price),
        max_payout: Decimal::new(max_payout, 2),
        default_max_liability: default_max,
    };
    let posting = stake(amount);
    let versions = vec![1; events.len()];

    let outcome = database(
        SeaOrmBetRepository::new(db.clone())
            .place(BetToPlace {
                bet: &bet,
                event_versions: &versions,
                stake: &posting,
                claim: None,
                risk,
            })
            .await,
    )?;

    let limits_of = |leg: usize| RiskLimits {
        bettor_max_stake: cap,
        max_payout: risk.max_payout,
        liability: before[leg].liability(),
        max_liability: maxima[leg],
    };
    let tightest = (0..events.len())
        .min_by_key(|&leg| (maxima[leg] - before[leg].liability(), events[leg].id))
        .map(limits_of)
        .ok_or_else(|| TestCaseError::fail("no leg"))?;
    let every_leg_fits =
        (0..events.len()).all(|leg| check_risk(amount, &price, &limits_of(leg)).is_ok());
    prop_assert_eq!(
        check_risk(amount, &price, &tightest).is_ok(),
        every_leg_fits,
        "the tightest leg decides for every leg"
    );
    let expected = match check_risk(amount, &price, &tightest) {
        Ok(()) => PlaceOutcome::Placed,
        Err(refused) => PlaceOutcome::OverLimit {
            refused,
            limits: tightest,
            balance: Decimal::new(100_000_000, 2),
        },
    };
    prop_assert_eq!(
        &outcome,
        &expected,
        "{} × {} on {} legs",
        amount.value(),
        price,
        legs.len()
    );
    for (leg, event) in events.iter().enumerate() {
        let after = exposure_of(&db, event.id).await?;
        if outcome == PlaceOutcome::Placed {
            prop_assert_eq!(after, before[leg].with(amount, &price), "leg {}", leg);
            prop_assert!(
                after.liability() <= maxima[leg],
                "leg {}'s liability {} passes its maximum {}",
                leg,
                after.liability(),
                maxima[leg]
            );
        } else {
            prop_assert_eq!(after, before[leg], "leg {} of a refused bet", leg);
        }
    }
    let legs_stored: i64 = scalar(
        &db,
        "SELECT count(*) FROM bet_legs WHERE bet_id = $1",
        [bet.id().into()],
    )
    .await?;
    let expected_legs = if outcome == PlaceOutcome::Placed {
        events.len() as i64
    } else {
        0
    };
    prop_assert_eq!(legs_stored, expected_legs, "the legs written");
    Ok(())
}

#[test]
fn placing_an_accumulator_keeps_every_legs_liability_exactly_as_the_domain_says() {
    check(
        120,
        risked_accumulator(),
        accumulator_risk_matches_the_domain,
    );
}
