//! Settlement in PostgreSQL: every pending bet of a finished or cancelled
//! event, paid by the rule of [`crate::domain::payout`], in one statement.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use shared_kernel::storage::{StorageError, storage};

use super::entities::events;
use crate::domain::LineEvent;

/// Settles every pending bet of a finished or cancelled event, by the rule
/// of `domain::payout`: won pays round(amount × coefficient, 2) (numeric
/// `round` goes half away from zero: half-up for these positive amounts),
/// lost pays 0.00, void (cancelled) pays the stake back. Any other status
/// matches no `CASE` arm, and the `NOT NULL` status column refuses the
/// statement rather than settle by a guess. `clock_timestamp()`, not
/// `now()`: the transaction may have waited for bets being placed, and a
/// bet is never settled before it was placed.
///
/// Raw SQL because SeaORM's update builder cannot express a per-row payout
/// computed from the row's own columns in one set-based statement, and an
/// event can carry hundreds of thousands of bets: reading them into Rust to
/// pay each would take minutes where this takes seconds.
/// `tests/rules_in_sql.rs` runs this statement against `domain::payout` on
/// a real database, so the two cannot drift.
const SETTLE_PENDING_BETS: &str = "
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
    WHERE event_id = $1 AND status = 'PENDING'";

/// Settles the pending bets of `event` (finished or cancelled) in `txn`;
/// how many.
pub async fn settle_pending_bets(
    txn: &DatabaseTransaction,
    event: &LineEvent,
) -> Result<u64, StorageError> {
    let status = events::Status::from(event.status);
    let settled = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            SETTLE_PENDING_BETS,
            [event.id.into(), status.into()],
        ))
        .await
        .map_err(storage(format!("settling bets of event {}", event.id)))?;
    Ok(settled.rows_affected())
}
