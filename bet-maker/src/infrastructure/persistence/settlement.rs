//! Settlement in PostgreSQL: every pending bet of a finished or cancelled
//! event, paid by the rule of [`crate::domain::payout`], and the money it
//! moves posted to the ledger by the rule of
//! [`crate::domain::settlement`], in one statement.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use shared_kernel::storage::{StorageError, storage};
use shared_kernel::telemetry::SPANS;
use tracing::Instrument as _;
use uuid::Uuid;

use super::entities::events;
use crate::domain::LineEvent;

/// Settles every pending bet of a finished or cancelled event, and posts
/// what that moves, in one statement.
///
/// The bets, by the rule of `domain::payout`: won pays round(amount ×
/// coefficient, 2) (numeric `round` goes half away from zero: half-up for
/// these positive amounts), lost pays 0.00, void (cancelled) pays the stake
/// back. Any other status matches no `CASE` arm, and the `NOT NULL` status
/// column refuses the statement rather than settle by a guess.
/// `clock_timestamp()`, not `now()`: the transaction may have waited for
/// bets being placed, and a bet is never settled before it was placed.
///
/// The money, by the rule of `domain::settlement`, for the bets whose stake
/// is in the ledger (`stake_posted`): each payout or refund is one line of
/// its bettor's wallet (`balance_after` the running balance, in the order
/// of the lines' ids, which is how a statement lists lines written at the
/// same moment), each wallet is credited once with the sum; the house's
/// side is two aggregated entries: the stakes leave the stakes held, and
/// the house result takes stake − payout (what lost bets leave, minus what
/// won bets win). One ledger transaction, whose entries sum to zero.
///
/// Each wallet line finds its wallet's balance before the credit in a map
/// built once (`before`, a `jsonb` object of every credited wallet) rather
/// than by joining the credited wallets: the planner cannot estimate how
/// many rows a data-modifying CTE returns, and with statistics that have
/// not yet seen a burst of bets it joined 100,000 lines to 10,000 wallets
/// by nested loop (140 s instead of 6). A lookup in the map costs the same
/// whatever the plan; `jsonb` keeps numerics exact. Both steps are
/// `MATERIALIZED`: inlined, the map would be rebuilt for every line, or
/// carried whole through the sort of the running balances.
///
/// Raw SQL because SeaORM's builders cannot chain these set-based writes
/// in one statement, and an event can carry hundreds of thousands of bets:
/// reading them into Rust to pay each would take minutes where this takes
/// seconds. `tests/rules_in_sql.rs` runs this statement against
/// `domain::payout` and `domain::settlement` on a real database, so they
/// cannot drift.
pub const SETTLE_PENDING_BETS: &str = "
    WITH settled AS (
        UPDATE bets SET
            status = CASE $2::text
                WHEN 'FINISHED_WIN' THEN 'WON'
                WHEN 'FINISHED_LOSE' THEN 'LOST'
                WHEN 'CANCELLED' THEN 'VOID'
            END,
            payout = CASE $2::text
                WHEN 'FINISHED_WIN' THEN round(amount * coefficient, 2)
                WHEN 'FINISHED_LOSE' THEN 0.00
                WHEN 'CANCELLED' THEN amount
            END,
            settled_at = clock_timestamp()
        WHERE event_id = $1 AND status = 'PENDING'
        RETURNING id, bettor_id, amount, status, payout, stake_posted
    ),
    posted AS (
        SELECT * FROM settled WHERE stake_posted
    ),
    paid AS (
        SELECT gen_random_uuid() AS id, id AS bet_id, bettor_id, payout,
               CASE status WHEN 'WON' THEN 'PAYOUT' ELSE 'REFUND' END AS line
        FROM posted WHERE payout > 0
    ),
    credited AS (
        UPDATE wallets SET balance = wallets.balance + credit.total
        FROM (SELECT bettor_id, sum(payout) AS total FROM paid GROUP BY bettor_id) AS credit
        WHERE wallets.bettor_id = credit.bettor_id
        RETURNING wallets.bettor_id, wallets.balance, credit.total
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind, event_id)
        SELECT $3, 'SETTLEMENT', $1 WHERE EXISTS (SELECT 1 FROM posted)
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
        FROM txn, (
            SELECT 'STAKES_HELD' AS account, -sum(amount) AS amount FROM posted
            UNION ALL
            SELECT 'HOUSE_RESULT', sum(amount - payout) FROM posted
        ) AS house
        WHERE house.amount <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM settled) AS settled,
           (SELECT count(*) FROM paid) AS paid,
           (SELECT count(*) FROM wallet_lines) AS wallet_lines";

/// Settles the pending bets of `event` (finished or cancelled) in `txn`,
/// posting what they pay; how many bets. A span of the trace the result
/// came in (the message's handling), when traces are exported.
pub async fn settle_pending_bets(
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
            SETTLE_PENDING_BETS,
            [event.id.into(), status.into(), Uuid::now_v7().into()],
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
