//! Settlement in PostgreSQL: every bet of a decided event, settled by the
//! rule of [`crate::domain::settle`] (and re-settled when line-provider
//! corrects the result), and the money it moves posted to the ledger by
//! the rules of [`crate::domain::settlement`] and
//! [`crate::domain::correction`], in one statement.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use shared_kernel::storage::{StorageError, storage};
use shared_kernel::telemetry::SPANS;
use tracing::Instrument as _;
use uuid::Uuid;

use super::entities::events;
use crate::domain::LineEvent;

/// Settles every bet of a decided event `$1` (result `$2`, version `$4`)
/// that this version has not settled yet, and posts what that moves as
/// ledger transaction `$3`, in one statement.
///
/// Which bets: the pending ones (a first result), and the settled ones
/// whose `settled_version` is older (a correction); each exactly once per
/// version, whatever the broker redelivers.
///
/// How, by the rule of `domain::settle`: a bet placed at or after the
/// event's `decided_at` is void (`LATE`) and pays its stake back; else a
/// cancelled event voids it (`CANCELLED`); else it is won or lost at the
/// lower of its coefficient and the one line-provider offered when it was
/// placed (`domain::offered_at`: the newest version of `event_coefficients`
/// made at or before `placed_at`), paying round(amount × coefficient, 2)
/// (numeric `round` goes half away from zero: half-up for these positive
/// amounts) or 0.00. Any other result matches no `CASE` arm, and the
/// `NOT NULL` status column refuses the statement rather than settle by a
/// guess. `clock_timestamp()`, not `now()`: the transaction may have
/// waited for bets being placed, and a bet is never settled before it was
/// placed.
///
/// The money, for the bets whose stake is in the ledger (`stake_posted`):
/// a first settlement by `domain::settlement` (a `PAYOUT` or `REFUND`
/// line per paying bet; the stakes leave the stakes held, the house
/// result takes stake − payout), a re-settlement by `domain::correction`
/// (a `CORRECTION` line of what it pays now minus what it paid, the house
/// result the opposite). Each wallet is credited once with the sum of its
/// lines (a correction may take it below zero); `balance_after` runs in
/// the order of the lines' ids, which is how a statement lists lines
/// written at the same moment. One ledger transaction, whose entries sum
/// to zero; none when nothing moves.
///
/// Nothing a bettor controls can fail it: the amounts are bounded by the
/// house's limits, the balance columns are wide enough for any sum of
/// them, and the wallet may go negative.
///
/// Each wallet line finds its wallet's balance before the credit in a map
/// built once (`before`, a `jsonb` object of every credited wallet) rather
/// than by joining the credited wallets: the planner cannot estimate how
/// many rows a data-modifying CTE returns, and with statistics that have
/// not yet seen a burst of bets it joined 100,000 lines to 10,000 wallets
/// by nested loop (140 s instead of 6). A lookup in the map costs the same
/// whatever the plan; `jsonb` keeps numerics exact. `history`, `judged`,
/// `before` and `based` are `MATERIALIZED`: each is read by several steps
/// (or, inlined, would be rebuilt for every line).
///
/// Raw SQL because SeaORM's builders cannot chain these set-based writes
/// in one statement, and an event can carry hundreds of thousands of bets:
/// reading them into Rust to pay each would take minutes where this takes
/// seconds. `tests/rules_in_sql.rs` runs this statement against
/// `domain::settle`, `domain::settlement` and `domain::correction` on a
/// real database, so they cannot drift.
pub const SETTLE_BETS: &str = "
    WITH decision AS (
        SELECT decided_at FROM events WHERE id = $1
    ),
    history AS MATERIALIZED (
        SELECT version, coefficient, since FROM event_coefficients WHERE event_id = $1
    ),
    judged AS MATERIALIZED (
        SELECT bets.id,
               bets.payout AS paid_before,
               bets.status <> 'PENDING' AS resettled,
               coalesce(bets.placed_at >= decision.decided_at, false)
                   OR $2::text = 'CANCELLED' AS voided,
               CASE WHEN bets.placed_at >= decision.decided_at THEN 'LATE'
                    WHEN $2::text = 'CANCELLED' THEN 'CANCELLED' END AS void_reason,
               least(bets.coefficient, coalesce(
                   (SELECT history.coefficient FROM history
                    WHERE history.since <= bets.placed_at
                    ORDER BY history.version DESC LIMIT 1),
                   bets.coefficient)) AS coefficient
        FROM bets, decision
        WHERE bets.event_id = $1
          AND (bets.status = 'PENDING' OR coalesce(bets.settled_version, 0) < $4)
    ),
    settled AS (
        UPDATE bets SET
            status = CASE WHEN judged.voided THEN 'VOID' ELSE CASE $2::text
                WHEN 'FINISHED_WIN' THEN 'WON'
                WHEN 'FINISHED_LOSE' THEN 'LOST'
            END END,
            payout = CASE WHEN judged.voided THEN bets.amount ELSE CASE $2::text
                WHEN 'FINISHED_WIN' THEN round(bets.amount * judged.coefficient, 2)
                WHEN 'FINISHED_LOSE' THEN 0.00
            END END,
            settled_coefficient = CASE WHEN NOT judged.voided THEN judged.coefficient END,
            void_reason = judged.void_reason,
            settled_version = $4,
            settled_at = clock_timestamp()
        FROM judged
        WHERE bets.id = judged.id
        RETURNING bets.id, bets.bettor_id, bets.amount, bets.status, bets.payout,
                  bets.stake_posted, judged.resettled, judged.paid_before
    ),
    posted AS (
        SELECT * FROM settled WHERE stake_posted
    ),
    paid AS (
        SELECT gen_random_uuid() AS id, id AS bet_id, bettor_id,
               CASE WHEN resettled THEN payout - paid_before ELSE payout END AS payout,
               CASE WHEN resettled THEN 'CORRECTION'
                    WHEN status = 'WON' THEN 'PAYOUT' ELSE 'REFUND' END AS line
        FROM posted
        WHERE CASE WHEN resettled THEN payout <> paid_before ELSE payout > 0 END
    ),
    house AS (
        SELECT 'STAKES_HELD' AS account, -sum(amount) AS amount FROM posted WHERE NOT resettled
        UNION ALL
        SELECT 'HOUSE_RESULT', sum(CASE WHEN resettled THEN paid_before - payout ELSE amount - payout END)
        FROM posted
    ),
    credited AS (
        UPDATE wallets SET balance = wallets.balance + credit.total
        FROM (SELECT bettor_id, sum(payout) AS total FROM paid GROUP BY bettor_id) AS credit
        WHERE wallets.bettor_id = credit.bettor_id
        RETURNING wallets.bettor_id, wallets.balance, credit.total
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind, event_id)
        SELECT $3,
               CASE WHEN EXISTS (SELECT 1 FROM posted WHERE resettled)
                    THEN 'CORRECTION' ELSE 'SETTLEMENT' END,
               $1
        WHERE EXISTS (SELECT 1 FROM paid) OR EXISTS (SELECT 1 FROM house WHERE amount <> 0)
        RETURNING id, created_at
    ),
    before AS MATERIALIZED (
        SELECT jsonb_object_agg(bettor_id, balance - total) AS balances FROM credited
    ),
    based AS MATERIALIZED (
        SELECT paid.*, (before.balances ->> paid.bettor_id)::numeric AS base
        FROM paid, before
        WHERE before.balances ? paid.bettor_id
    ),
    wallet_lines AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
        SELECT based.id, txn.id, 'WALLET', based.payout, based.bettor_id, based.line,
               based.base + sum(based.payout) OVER (PARTITION BY based.bettor_id ORDER BY based.id),
               based.bet_id, txn.created_at
        FROM based, txn
        RETURNING 1
    ),
    house_entries AS (
        INSERT INTO ledger_entries (id, transaction_id, account, amount, created_at)
        SELECT gen_random_uuid(), txn.id, house.account, house.amount, txn.created_at
        FROM txn, house
        WHERE house.amount <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM settled) AS settled,
           (SELECT count(*) FROM paid) AS paid,
           (SELECT count(*) FROM wallet_lines) AS wallet_lines";

/// Settles the bets of `event` (decided, at its version) in `txn` that this
/// version has not settled, posting what they pay; how many bets. A span of the trace the result
/// came in (the message's handling), when traces are exported.
pub async fn settle_bets(
    txn: &DatabaseTransaction,
    event: &LineEvent,
) -> Result<u64, StorageError> {
    let span = tracing::info_span!(
        target: SPANS,
        "settle bets",
        event.id = %event.id,
        event.status = ?event.status,
        bets.settled = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let settled = settle(txn, event).instrument(span.clone()).await;
    match &settled {
        Ok(bets) => span.record("bets.settled", bets),
        Err(_) => span.record("otel.status_code", "ERROR"),
    };
    settled
}

async fn settle(txn: &DatabaseTransaction, event: &LineEvent) -> Result<u64, StorageError> {
    let operation = format!("settling bets of event {}", event.id);
    let status = events::Status::from(event.status);
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            SETTLE_BETS,
            [
                event.id.into(),
                status.into(),
                Uuid::now_v7().into(),
                event.version.into(),
            ],
        ))
        .await
        .map_err(storage(operation.clone()))?
        .ok_or_else(|| StorageError::corrupt(operation.clone(), "the statement returned no row"))?;
    let count = |column: &str| -> Result<i64, StorageError> {
        row.try_get::<i64>("", column)
            .map_err(storage(operation.clone()))
    };
    let (settled, paid, wallet_lines) = (count("settled")?, count("paid")?, count("wallet_lines")?);
    if paid != wallet_lines {
        // A staked bet whose bettor has no wallet: the ledger would not
        // balance. Refuse (the transaction rolls back) rather than post it.
        return Err(StorageError::corrupt(
            operation,
            format!("{paid} bets to pay but only {wallet_lines} wallets to pay into"),
        ));
    }
    Ok(u64::try_from(settled).unwrap_or_default())
}
