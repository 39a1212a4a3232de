//! Settlement in PostgreSQL: every leg on a decided event, decided by the
//! rule of [`crate::domain::settle`] (and decided again when line-provider
//! corrects the result), every bet whose outcome that makes known settled
//! by [`crate::domain::settle_bet`], and the money it moves posted to the
//! ledger by the rules of [`crate::domain::settlement`],
//! [`crate::domain::correction`] and [`crate::domain::reopening`], in one
//! statement; then the exposure of the events of the accumulators' other
//! open legs moved by what changed.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use shared_kernel::storage::{StorageError, storage};
use shared_kernel::telemetry::SPANS;
use tracing::Instrument as _;
use uuid::Uuid;

use super::entities::events;
use crate::domain::LineEvent;

/// Locks the accumulators that event `$1` at version `$2` has a leg of to
/// decide, in the order of their ids, before [`SETTLE_BETS`] reads their
/// other legs: two events of one accumulator settled at once by two
/// transactions would otherwise each see the other's leg still open, and
/// leave the bet pending for ever. The second waits for the first, and its
/// next statement sees the first's legs. A single has no other leg, and is
/// not locked.
pub const LOCK_ACCUMULATORS: &str = "
    SELECT bets.id FROM bet_legs JOIN bets ON bets.id = bet_legs.bet_id
    WHERE bet_legs.event_id = $1 AND bets.leg_count > 1
      AND (bet_legs.status = 'PENDING' OR coalesce(bet_legs.settled_version, 0) < $2)
    ORDER BY bets.id
    FOR UPDATE OF bets";

/// Locks, after [`LOCK_ACCUMULATORS`], the exposure rows of the events of
/// the other open legs of the accumulators it locked, in the order of the
/// events' ids: every row [`MOVE_EXPOSURE`] may move, taken before
/// [`SETTLE_BETS`] credits any wallet. Placement locks a bet's exposure
/// rows and then its bettor's wallet; a settlement that credited that
/// wallet first and only then locked the exposure would deadlock with it,
/// and PostgreSQL would abort one of the two (a bettor's bet refused with
/// a 500, or the settlement retried). Taken in placement's order, one
/// waits for the other. The legs read are those of bets this transaction
/// holds, so no other settlement changes them before this one commits.
pub const LOCK_OTHER_LEGS_EXPOSURE: &str = "
    SELECT x.event_id FROM event_exposure x
    WHERE x.event_id IN (
        SELECT other.event_id
        FROM bet_legs l
        JOIN bets ON bets.id = l.bet_id
        JOIN bet_legs other
            ON other.bet_id = l.bet_id AND other.event_id <> $1 AND other.status = 'PENDING'
        WHERE l.event_id = $1 AND bets.leg_count > 1
          AND (l.status = 'PENDING' OR coalesce(l.settled_version, 0) < $2))
    ORDER BY x.event_id
    FOR UPDATE OF x";

/// Decides every leg on a decided event `$1` (result `$2`, version `$4`)
/// that this version has not decided yet, settles the bets whose outcome
/// is now known, and posts what that moves as ledger transaction `$3`, in
/// one statement.
///
/// Which legs: the pending ones (a first result), and the decided ones
/// whose `settled_version` is older (a correction); each exactly once per
/// version, whatever the broker redelivers.
///
/// How a leg is decided, by the rule of `domain::settle`: a bet placed at
/// or after the event's `decided_at` is late, its leg void (`LATE`); else a
/// cancelled event voids it (`CANCELLED`); else it is won or lost at the
/// lower of its coefficient and the one line-provider offered when the bet
/// was placed (`domain::offered_at`: the newest version of
/// `event_coefficients` made at or before `placed_at`; in `history` each
/// version is offered from its `since` until the earliest `since` of the
/// versions above it, `until`, so one version's span holds `placed_at`
/// whatever order the versions were made in: a join, where a sub-select
/// per leg sorted the versions again for each leg). Any other result
/// matches no `CASE` arm, and the `NOT NULL` status column refuses the
/// statement rather than decide by a guess.
///
/// How its bet then stands, by `domain::settle_bet`, from this leg as just
/// decided and the bet's other legs as stored (the statement cannot see its
/// own update of `bet_legs`; a single, whose one leg this is, is read from
/// the leg alone, without the look-up of other legs an accumulator needs):
/// `LOST` when a leg lost (0.00); `PENDING` while a leg is open; `VOID`
/// when every leg is void (the stake; `LATE` when any leg was late); else
/// `WON`, paying round(amount × the exact `product` of the settled
/// coefficients of the legs not void, 2) (numeric `round` goes half away
/// from zero: half-up for these positive amounts).
/// Every bet with a leg decided is written, so its stream shows the leg;
/// a cashed-out bet never is. `clock_timestamp()`, not `now()`: the
/// transaction may have waited for bets being placed, and a bet is never
/// settled before it was placed; an outcome that did not change keeps its
/// `settled_at`.
///
/// The money, for the bets whose stake is in the ledger (`stake_posted`),
/// by how the bet's status moved: pending to settled, `domain::settlement`
/// (a `PAYOUT` or `REFUND` line per paying bet; the stake leaves the stakes
/// held, the house result takes stake − payout); settled to settled,
/// `domain::correction` (a `CORRECTION` line of what it pays now minus what
/// it paid, the house result the opposite); settled to pending (a lost leg
/// corrected while others are open), `domain::reopening` (the payout taken
/// back, the stake from the house result back to the stakes held). Each
/// wallet is credited once with the sum of its lines (a correction may take
/// it below zero); `balance_after` runs in the order of the lines' ids,
/// which is how a statement lists lines written at the same moment (each
/// line's id is `ledger_line_id($3)`: the transaction's time, then a
/// serial, so the order they were made in). One ledger transaction, whose
/// entries sum to zero; none when nothing moves.
///
/// The exposure the accumulators' other open legs' events count moves by
/// what changed (`moved`, grouped by event; applied by [`MOVE_EXPOSURE`]
/// in the order of the events' ids): a bet no longer pending leaves them,
/// a pending one counts its new potential payout (a void leg counts 1.00,
/// a won one its settled coefficient), a reopened one comes back. The
/// event's own exposure is zeroed after (every leg on it is decided).
///
/// Nothing a bettor controls can fail it: the amounts are bounded by the
/// house's limits, the balance columns are wide enough for any sum of
/// them, and the wallet may go negative.
///
/// The wallets credited are locked first (`payees`), in the order of the
/// bettors' ids, as a group of placements locks its bettors' wallets
/// (`PLACE_BETS`): a wallet is credited only once `payees` has locked it,
/// so whatever the plan, this statement takes wallets in that one order,
/// and a group that holds one wallet and waits for the next cannot wait
/// for a settlement that waits for it.
///
/// Each wallet line finds its wallet's balance before the credit in a map
/// built once (`before`, a `jsonb` object of every credited wallet) rather
/// than by joining the credited wallets: the planner cannot estimate how
/// many rows a data-modifying CTE returns, and with statistics that have
/// not yet seen a burst of bets it joined 100,000 lines to 10,000 wallets
/// by nested loop (140 s instead of 6). A lookup in the map costs the same
/// whatever the plan; `jsonb` keeps numerics exact. The CTEs read by
/// several steps are `MATERIALIZED` (inlined, each would be rebuilt for
/// every reader); the ones read by one step are not (materialized, each
/// wrote its 100,000 wide rows out and read them back: judging a bet's
/// legs, its outcome and its new columns were 0.3 s of a settlement), but
/// for `based`, whose lines must leave the map behind before they are
/// sorted for their running balances: inlined, the sort carried the whole
/// map in every line (20 GB of temporary files for 100,000 lines).
///
/// A settlement costs its event's bets, not the history: `bets` is read
/// once (`judged`, beside the legs `bet_legs_one_per_event` finds), what
/// the later steps need of each bet is carried forward from there, and the
/// legs' update reaches its rows through the event's index. Joined to
/// `bets` again at each step, the statement read the whole of `bets` and
/// `bet_legs` three more times.
///
/// Raw SQL because SeaORM's builders cannot chain these set-based writes
/// in one statement, and an event can carry hundreds of thousands of bets:
/// reading them into Rust to pay each would take minutes where this takes
/// seconds. `tests/rules_in_sql.rs` runs this statement against
/// `domain::settle`, `domain::settle_bet`, `domain::settlement`,
/// `domain::correction` and `domain::reopening` on a real database, so they
/// cannot drift.
pub const SETTLE_BETS: &str = "
    WITH decision AS (
        SELECT decided_at FROM events WHERE id = $1
    ),
    history AS MATERIALIZED (
        SELECT coefficient, since,
               min(since) OVER (ORDER BY version DESC
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS until
        FROM event_coefficients WHERE event_id = $1
    ),
    judged AS (
        SELECT bet_legs.bet_id, bet_legs.leg, bets.bettor_id, bets.amount, bets.leg_count,
               bets.stake_posted, bets.status AS status_before, bets.payout AS paid_before,
               bets.potential_payout AS potential_before, bets.settled_at AS settled_before,
               coalesce(bets.placed_at >= decision.decided_at, false)
                   OR $2::text = 'CANCELLED' AS voided,
               CASE WHEN bets.placed_at >= decision.decided_at THEN 'LATE'
                    WHEN $2::text = 'CANCELLED' THEN 'CANCELLED' END AS void_reason,
               least(bet_legs.coefficient, coalesce(history.coefficient, bet_legs.coefficient))
                   AS coefficient
        FROM bet_legs JOIN bets ON bets.id = bet_legs.bet_id
        CROSS JOIN decision
        LEFT JOIN history ON history.since <= bets.placed_at
                         AND (history.until IS NULL OR bets.placed_at < history.until)
        WHERE bet_legs.event_id = $1
          AND (bet_legs.status = 'PENDING' OR coalesce(bet_legs.settled_version, 0) < $4)
    ),
    decided AS MATERIALIZED (
        SELECT bet_id, leg, bettor_id, amount, leg_count, stake_posted, status_before,
               paid_before, potential_before, settled_before, void_reason,
               CASE WHEN voided THEN 'VOID' ELSE CASE $2::text
                   WHEN 'FINISHED_WIN' THEN 'WON'
                   WHEN 'FINISHED_LOSE' THEN 'LOST'
               END END AS status,
               CASE WHEN NOT voided THEN coefficient END AS settled_coefficient
        FROM judged
    ),
    legs_decided AS (
        UPDATE bet_legs SET status = decided.status,
                            settled_coefficient = decided.settled_coefficient,
                            void_reason = decided.void_reason,
                            settled_version = $4
        FROM decided
        WHERE bet_legs.event_id = $1
          AND bet_legs.bet_id = decided.bet_id AND bet_legs.leg = decided.leg
    ),
    outcome AS (
        SELECT bet_id AS id, bettor_id, amount, leg_count, stake_posted, status_before,
               paid_before, potential_before, settled_before,
               status = 'LOST' AS lost, false AS open, status = 'VOID' AS all_void,
               void_reason = 'LATE' AS late,
               coalesce(settled_coefficient, 1) AS price,
               coalesce(settled_coefficient, 1) AS potential_price
        FROM decided
        WHERE leg_count = 1 AND status_before <> 'CASHED_OUT'
        UNION ALL
        SELECT decided.bet_id, decided.bettor_id, decided.amount, decided.leg_count,
               decided.stake_posted, decided.status_before, decided.paid_before,
               decided.potential_before, decided.settled_before,
               legs.lost, legs.open, legs.all_void, legs.late, legs.price, legs.potential_price
        FROM decided
        CROSS JOIN LATERAL (
            SELECT bool_or(leg.status = 'LOST') AS lost,
                   bool_or(leg.status = 'PENDING') AS open,
                   bool_and(leg.status = 'VOID') AS all_void,
                   bool_or(leg.void_reason = 'LATE') AS late,
                   product(leg.settled_coefficient) AS price,
                   product(CASE WHEN leg.status = 'PENDING' THEN leg.coefficient
                                ELSE leg.settled_coefficient END) AS potential_price
            FROM (
                SELECT decided.status, decided.settled_coefficient, decided.void_reason,
                       NULL::numeric AS coefficient
                UNION ALL
                SELECT other.status, other.settled_coefficient, other.void_reason,
                       other.coefficient
                FROM bet_legs other
                WHERE other.bet_id = decided.bet_id AND other.event_id <> $1
            ) AS leg
        ) AS legs
        WHERE decided.leg_count > 1 AND decided.status_before <> 'CASHED_OUT'
    ),
    judged_bets AS (
        SELECT outcome.*,
               CASE WHEN lost THEN 'LOST' WHEN open THEN 'PENDING'
                    WHEN all_void THEN 'VOID' ELSE 'WON' END AS status,
               CASE WHEN lost THEN 0.00 WHEN open THEN NULL
                    WHEN all_void THEN amount ELSE round(amount * price, 2) END AS payout,
               CASE WHEN all_void THEN CASE WHEN late THEN 'LATE' ELSE 'CANCELLED' END
                    END AS void_reason,
               round(amount * potential_price, 2) AS potential_payout
        FROM outcome
    ),
    settled AS (
        UPDATE bets SET
            status = judged_bets.status,
            payout = judged_bets.payout,
            void_reason = judged_bets.void_reason,
            potential_payout = judged_bets.potential_payout,
            settled_at = CASE
                WHEN judged_bets.status = 'PENDING' THEN NULL
                WHEN judged_bets.status = judged_bets.status_before
                     AND judged_bets.payout = judged_bets.paid_before
                     THEN judged_bets.settled_before
                ELSE clock_timestamp() END
        FROM judged_bets
        WHERE bets.id = judged_bets.id AND bets.status <> 'CASHED_OUT'
        RETURNING bets.id, bets.bettor_id, bets.amount, bets.status, bets.payout,
                  bets.stake_posted, bets.leg_count, bets.potential_payout,
                  judged_bets.status_before, judged_bets.paid_before,
                  judged_bets.potential_before
    ),
    posted AS MATERIALIZED (
        SELECT * FROM settled WHERE stake_posted
    ),
    paid AS (
        SELECT ledger_line_id($3) AS id, id AS bet_id, bettor_id,
               CASE WHEN status_before = 'PENDING' THEN payout
                    WHEN status = 'PENDING' THEN -paid_before
                    ELSE payout - paid_before END AS payout,
               CASE WHEN status_before <> 'PENDING' THEN 'CORRECTION'
                    WHEN status = 'WON' THEN 'PAYOUT' ELSE 'REFUND' END AS line
        FROM posted
        WHERE CASE WHEN status_before = 'PENDING' THEN status <> 'PENDING' AND payout > 0
                   WHEN status = 'PENDING' THEN paid_before <> 0
                   ELSE payout <> paid_before END
    ),
    house AS (
        SELECT 'STAKES_HELD' AS account,
               sum(CASE WHEN status_before = 'PENDING' AND status <> 'PENDING' THEN -amount
                        WHEN status_before <> 'PENDING' AND status = 'PENDING' THEN amount
                        ELSE 0 END) AS amount
        FROM posted
        UNION ALL
        SELECT 'HOUSE_RESULT',
               sum(CASE WHEN status_before = 'PENDING' AND status = 'PENDING' THEN 0
                        WHEN status_before = 'PENDING' THEN amount - payout
                        WHEN status = 'PENDING' THEN paid_before - amount
                        ELSE paid_before - payout END)
        FROM posted
    ),
    payees AS MATERIALIZED (
        SELECT wallets.bettor_id FROM wallets
        WHERE wallets.bettor_id IN (SELECT bettor_id FROM paid)
        ORDER BY wallets.bettor_id
        FOR UPDATE OF wallets
    ),
    credited AS (
        UPDATE wallets SET balance = wallets.balance + credit.total
        FROM (SELECT bettor_id, sum(payout) AS total FROM paid GROUP BY bettor_id) AS credit
        JOIN payees ON payees.bettor_id = credit.bettor_id
        WHERE wallets.bettor_id = credit.bettor_id
        RETURNING wallets.bettor_id, wallets.balance, credit.total
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind, event_id)
        SELECT $3,
               CASE WHEN EXISTS (
                        SELECT 1 FROM posted WHERE status_before <> 'PENDING'
                          AND (status = 'PENDING' OR payout <> paid_before))
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
        SELECT ledger_line_id(txn.id), txn.id, house.account, house.amount, txn.created_at
        FROM txn, house
        WHERE house.amount <> 0
        RETURNING 1
    ),
    moved AS (
        SELECT other.event_id,
               sum(CASE WHEN settled.status = 'PENDING' THEN 1 ELSE 0 END
                   - CASE WHEN settled.status_before = 'PENDING' THEN 1 ELSE 0 END) AS bets,
               sum(CASE WHEN settled.status = 'PENDING' THEN settled.amount ELSE 0 END
                   - CASE WHEN settled.status_before = 'PENDING' THEN settled.amount ELSE 0 END)
                   AS stakes,
               sum(CASE WHEN settled.status = 'PENDING' THEN settled.potential_payout ELSE 0 END
                   - CASE WHEN settled.status_before = 'PENDING'
                          THEN settled.potential_before ELSE 0 END) AS potential_payout
        FROM settled JOIN bet_legs other
            ON other.bet_id = settled.id AND other.event_id <> $1 AND other.status = 'PENDING'
        WHERE settled.leg_count > 1
        GROUP BY other.event_id
        HAVING sum(CASE WHEN settled.status = 'PENDING' THEN 1 ELSE 0 END
                   - CASE WHEN settled.status_before = 'PENDING' THEN 1 ELSE 0 END) <> 0
            OR sum(CASE WHEN settled.status = 'PENDING' THEN settled.potential_payout ELSE 0 END
                   - CASE WHEN settled.status_before = 'PENDING'
                          THEN settled.potential_before ELSE 0 END) <> 0
    )
    SELECT (SELECT count(*) FROM decided) AS settled,
           (SELECT count(*) FROM paid) AS paid,
           (SELECT count(*) FROM wallet_lines) AS wallet_lines,
           (SELECT coalesce(jsonb_agg(to_jsonb(moved) ORDER BY event_id), '[]'::jsonb)::text
            FROM moved) AS moved";

/// Locks the exposure rows of the events in `$1` (the `moved` of
/// [`SETTLE_BETS`]), in the order of their ids (as placement locks them),
/// before [`MOVE_EXPOSURE`] moves them: already held since
/// [`LOCK_OTHER_LEGS_EXPOSURE`], so this waits for nothing; kept so that
/// the statement that moves them never runs on rows it does not hold.
pub const LOCK_EXPOSURE: &str = "
    SELECT event_id FROM event_exposure
    WHERE event_id IN (SELECT (moved ->> 'event_id')::uuid
                       FROM jsonb_array_elements($1::jsonb) AS moved)
    ORDER BY event_id
    FOR UPDATE";

/// Moves the exposure of each event of `$1` by its pending bets, stakes
/// and potential payout: what [`SETTLE_BETS`] changed in the accumulators
/// that have an open leg on it (`jsonb` numbers are exact numerics).
pub const MOVE_EXPOSURE: &str = "
    UPDATE event_exposure x SET pending_bets = x.pending_bets + moved.bets,
                                stakes = x.stakes + moved.stakes,
                                potential_payout = x.potential_payout + moved.potential_payout
    FROM jsonb_to_recordset($1::jsonb)
        AS moved(event_id uuid, bets bigint, stakes numeric, potential_payout numeric)
    WHERE x.event_id = moved.event_id";

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
    let backend = txn.get_database_backend();
    // The planner costs a large settlement high enough to compile it (JIT),
    // which took 1.4 s of a 100,000-bet settlement's 3.9 s and saved none
    // of it: the work is writing rows, not evaluating expressions. And the
    // statement's steps hold their rows (about 400 bytes a bet in the
    // widest) in memory up to `work_mem` each, then in temporary files:
    // at the default 4 MB a 100,000-bet settlement wrote and read back
    // about 150 MB of them; at 32 MB, none (for this transaction only).
    txn.execute_unprepared("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
        .await
        .map_err(storage(operation.clone()))?;
    for lock in [LOCK_ACCUMULATORS, LOCK_OTHER_LEGS_EXPOSURE] {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            lock,
            [event.id.into(), event.version.into()],
        ))
        .await
        .map_err(storage(operation.clone()))?;
    }
    let status = events::Status::from(event.status);
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
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
    let moved: String = row
        .try_get("", "moved")
        .map_err(storage(operation.clone()))?;
    if moved != "[]" {
        for sql in [LOCK_EXPOSURE, MOVE_EXPOSURE] {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [moved.clone().into()],
            ))
            .await
            .map_err(storage(format!(
                "moving the exposure of the accumulators of event {}",
                event.id
            )))?;
        }
    }
    Ok(u64::try_from(settled).unwrap_or_default())
}
