//! Cash-out quotes in PostgreSQL, and taking one: one transaction that
//! locks what a settlement or a bet would touch, in the order they lock it
//! (the events, then the bet, then the exposures by event id, then the
//! wallet), so a cash-out, a settlement and a bet on the same events wait
//! for one another instead of deadlocking.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Postgres, Row, Transaction};
use sea_orm::{ActiveEnum, DatabaseConnection};
use serde::{Deserialize, Serialize};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::SeaOrmBetRepository;
use super::entities::events;
use super::mapping::event_from_row;
use super::wallet_repository::EntryColumns;
use crate::application::ports::{
    AcceptOutcome, BetRepository, CashOutQuote, CashOutRepository, RepositoryError,
};
use crate::domain::{
    BetStatus, BetSum, BettorId, CashOutRefused, LineEvent, QuotedLeg, check_quote_holds,
    settlement,
};

const SAVE_QUOTE: &str = "
    INSERT INTO cash_out_quotes (id, bet_id, amount, legs, quoted_at, expires_at)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6)";

/// The quote `$1` of bet `$2` of bettor `$3`, if there is one (no lock: the
/// bet's row lock, taken next, is what orders accepts).
const QUOTE: &str = "
    SELECT q.amount, q.legs::text AS legs, q.expires_at
    FROM cash_out_quotes q JOIN bets b ON b.id = q.bet_id
    WHERE q.id = $1 AND q.bet_id = $2 AND b.bettor_id = $3";

const BET_OF: &str = "SELECT 1 FROM bets WHERE id = $1 AND bettor_id = $2";

/// The quoted events, locked against a settlement (which updates the event
/// row first) in the order of their ids, as placement locks them.
const LOCK_EVENTS: &str = "
    SELECT id, coefficient, deadline, status, version, updated_at, decided_at
    FROM events WHERE id = ANY($1::uuid[])
    ORDER BY id
    FOR SHARE";

/// The bet, locked: concurrent accepts (and a settlement) take turns here.
const LOCK_BET: &str = "
    SELECT status, amount, potential_payout, stake_posted FROM bets WHERE id = $1 FOR UPDATE";

/// Whether quote `$2` was taken, and bet `$1`'s legs still open. A
/// statement of its own, after [`LOCK_BET`]: it sees what the accept that
/// held the lock committed (a subquery of the locking statement would read
/// the snapshot from before the wait).
const AFTER_THE_LOCK: &str = "
    SELECT coalesce((SELECT accepted_at IS NOT NULL FROM cash_out_quotes WHERE id = $2), false)
               AS taken,
           ARRAY(SELECT event_id FROM bet_legs WHERE bet_id = $1 AND status = 'PENDING'
                 ORDER BY event_id) AS open";

/// The exposure rows of the open legs' events `$1`, locked in id order.
const LOCK_EXPOSURE: &str = "
    SELECT event_id FROM event_exposure WHERE event_id = ANY($1::uuid[])
    ORDER BY event_id
    FOR UPDATE";

/// Cashes bet `$1` of bettor `$2` out at `$3` (quote `$4`, at `$5`): the
/// bet and the quote marked, the bet (stake `$11`, potential payout `$12`)
/// taken off the exposure of its open legs' events `$10` (locked already,
/// by [`LOCK_EXPOSURE`]: it no longer pays whatever they do), the wallet
/// credited, and ledger transaction `$6` with the entries `$7`–`$9`
/// (`domain::settlement` of a cash-out), the wallet's line carrying the
/// balance after it.
const CASH_OUT: &str = "
    WITH bet AS (
        UPDATE bets SET status = 'CASHED_OUT', payout = $3, settled_at = $5
        WHERE id = $1 AND status = 'PENDING'
        RETURNING id
    ),
    relieved AS (
        UPDATE event_exposure SET pending_bets = pending_bets - 1,
                                  stakes = stakes - $11,
                                  potential_payout = potential_payout - $12
        FROM bet
        WHERE event_id = ANY($10::uuid[])
    ),
    quote AS (
        UPDATE cash_out_quotes SET accepted_at = $5 FROM bet WHERE cash_out_quotes.id = $4
        RETURNING 1
    ),
    credited AS (
        UPDATE wallets SET balance = balance + $3 FROM bet WHERE bettor_id = $2
        RETURNING balance
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind) SELECT $6, 'CASH_OUT' FROM credited
        RETURNING id, created_at
    ),
    entries AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
        SELECT e.id, txn.id, e.account, e.amount,
               CASE WHEN e.account = 'WALLET' THEN $2 END,
               CASE WHEN e.account = 'WALLET' THEN 'CASH_OUT' END,
               CASE WHEN e.account = 'WALLET' THEN credited.balance END,
               $1, txn.created_at
        FROM txn, credited, UNNEST($7::uuid[], $8::text[], $9::numeric[]) AS e(id, account, amount)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM bet) AS bets, (SELECT count(*) FROM quote) AS quotes,
           (SELECT count(*) FROM entries) AS entries";

/// A quoted leg as the quote's `legs` column keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct StoredLeg {
    event_id: Uuid,
    coefficient: String,
    status: String,
}

/// [`CashOutRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlCashOutRepository {
    pool: PgPool,
    bets: SeaOrmBetRepository,
}

impl SqlCashOutRepository {
    /// A repository on this database.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            bets: SeaOrmBetRepository::new(db.clone()),
        }
    }
}

#[async_trait]
impl CashOutRepository for SqlCashOutRepository {
    async fn save_quote(&self, quote: &CashOutQuote) -> Result<(), RepositoryError> {
        let legs: Vec<StoredLeg> = quote
            .offer
            .legs
            .iter()
            .map(|leg| StoredLeg {
                event_id: leg.event_id,
                coefficient: leg.coefficient.to_string(),
                status: events::Status::from(leg.status).to_value(),
            })
            .collect();
        let legs = serde_json::to_string(&legs).map_err(|error| {
            StorageError::corrupt("writing a cash-out quote", error.to_string())
        })?;
        sqlx::query(SAVE_QUOTE)
            .bind(quote.id)
            .bind(quote.bet_id)
            .bind(quote.offer.amount)
            .bind(legs)
            .bind(quote.quoted_at)
            .bind(quote.expires_at)
            .execute(&self.pool)
            .await
            .map_err(sqlx_storage(format!("saving cash-out quote {}", quote.id)))?;
        Ok(())
    }

    async fn accept(
        &self,
        bettor_id: &BettorId,
        bet_id: Uuid,
        quote_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AcceptOutcome, RepositoryError> {
        let operation = format!("cashing out bet {bet_id} at quote {quote_id}");
        let db = sqlx_storage(operation.clone());
        let mut txn = self.pool.begin().await.map_err(db)?;
        let outcome = accept_in(&mut txn, bettor_id, bet_id, quote_id, now, &operation).await?;
        match outcome {
            Accepted::Refused(outcome) => Ok(outcome),
            Accepted::Done => {
                txn.commit()
                    .await
                    .map_err(sqlx_storage(operation.clone()))?;
                let bet = self.bets.get(bettor_id, bet_id).await?.ok_or_else(|| {
                    StorageError::corrupt(operation, "the bet cashed out is gone")
                })?;
                Ok(AcceptOutcome::CashedOut(bet))
            }
        }
    }
}

/// What the transaction came to: commit it, or roll it back with this.
enum Accepted {
    Done,
    Refused(AcceptOutcome),
}

async fn accept_in(
    txn: &mut Transaction<'_, Postgres>,
    bettor_id: &BettorId,
    bet_id: Uuid,
    quote_id: Uuid,
    now: DateTime<Utc>,
    operation: &str,
) -> Result<Accepted, RepositoryError> {
    let db = || sqlx_storage(operation.to_owned());
    let corrupt =
        |what: String| RepositoryError::from(StorageError::corrupt(operation.to_owned(), what));
    let Some(quote) = sqlx::query(QUOTE)
        .bind(quote_id)
        .bind(bet_id)
        .bind(bettor_id.as_str())
        .fetch_optional(&mut **txn)
        .await
        .map_err(db())?
    else {
        // No such quote of this bettor's bet: is it the bet that is not
        // theirs (404), or the quote that is not the bet's (422)?
        let owned = sqlx::query(BET_OF)
            .bind(bet_id)
            .bind(bettor_id.as_str())
            .fetch_optional(&mut **txn)
            .await
            .map_err(db())?;
        return Ok(Accepted::Refused(match owned {
            None => AcceptOutcome::UnknownBet,
            Some(_) => AcceptOutcome::UnknownQuote,
        }));
    };
    let amount: Decimal = quote.try_get("amount").map_err(db())?;
    let expires_at: DateTime<Utc> = quote.try_get("expires_at").map_err(db())?;
    let stored: String = quote.try_get("legs").map_err(db())?;
    let quoted = quoted_legs(&stored).map_err(corrupt)?;
    let mut event_ids: Vec<Uuid> = quoted.iter().map(|leg| leg.event_id).collect();
    event_ids.sort_unstable();

    let events = sqlx::query(LOCK_EVENTS)
        .bind(&event_ids)
        .fetch_all(&mut **txn)
        .await
        .map_err(db())?
        .iter()
        .map(event_of)
        .collect::<Result<Vec<LineEvent>, String>>()
        .map_err(corrupt)?;
    let bet = sqlx::query(LOCK_BET)
        .bind(bet_id)
        .fetch_one(&mut **txn)
        .await
        .map_err(db())?;
    let status: String = bet.try_get("status").map_err(db())?;
    let after = sqlx::query(AFTER_THE_LOCK)
        .bind(bet_id)
        .bind(quote_id)
        .fetch_one(&mut **txn)
        .await
        .map_err(db())?;
    let taken: bool = after.try_get("taken").map_err(db())?;
    let open: Vec<Uuid> = after.try_get("open").map_err(db())?;
    let stake_posted: bool = bet.try_get("stake_posted").map_err(db())?;
    let refused = |why| Ok(Accepted::Refused(AcceptOutcome::Refused(why)));
    if status == "CASHED_OUT" && taken {
        // This very quote was taken by an earlier request: the same
        // answer, paid once.
        return Ok(Accepted::Done);
    }
    if status != "PENDING" || !stake_posted {
        return refused(CashOutRefused::Settled);
    }
    if expires_at <= now {
        return refused(CashOutRefused::QuoteExpired(expires_at));
    }
    if let Some(moved) = open
        .iter()
        .chain(&event_ids)
        .find(|id| !(open.contains(id) && event_ids.contains(id)))
    {
        // A leg decided since the quote: its price is not the quote's.
        return refused(CashOutRefused::OddsChanged(*moved));
    }
    if let Err(why) = check_quote_holds(&quoted, &events, now) {
        return refused(why);
    }

    let stake: Decimal = bet.try_get("amount").map_err(db())?;
    let potential: Decimal = bet.try_get("potential_payout").map_err(db())?;
    sqlx::query(LOCK_EXPOSURE)
        .bind(&event_ids)
        .fetch_all(&mut **txn)
        .await
        .map_err(db())?;
    let posting = settlement(BetSum::restore(stake), BetStatus::CashedOut, amount)
        .ok_or_else(|| corrupt("a cash-out posts nothing".to_owned()))?;
    let columns = EntryColumns::of(&posting);
    let written = sqlx::query(CASH_OUT)
        .bind(bet_id)
        .bind(bettor_id.as_str())
        .bind(amount)
        .bind(quote_id)
        .bind(now)
        .bind(Uuid::now_v7())
        .bind(&columns.ids)
        .bind(&columns.accounts)
        .bind(&columns.amounts)
        .bind(&event_ids)
        .bind(stake)
        .bind(potential)
        .fetch_one(&mut **txn)
        .await
        .map_err(db())?;
    let count = |column: &str| -> Result<i64, RepositoryError> {
        Ok(written.try_get(column).map_err(db())?)
    };
    let entries = i64::try_from(columns.ids.len()).unwrap_or(i64::MAX);
    if count("bets")? != 1 || count("quotes")? != 1 || count("entries")? != entries {
        // A bet without a wallet (its stake was never posted from one):
        // the ledger would not balance. Roll back rather than post it.
        return Err(corrupt(
            "the cash-out did not write the bet, the quote and every entry".to_owned(),
        ));
    }
    Ok(Accepted::Done)
}

/// The quoted legs as stored.
fn quoted_legs(stored: &str) -> Result<Vec<QuotedLeg>, String> {
    let legs: Vec<StoredLeg> =
        serde_json::from_str(stored).map_err(|error| format!("unreadable quote legs: {error}"))?;
    legs.into_iter()
        .map(|leg| {
            Ok(QuotedLeg {
                event_id: leg.event_id,
                coefficient: Decimal::from_str(&leg.coefficient)
                    .map_err(|_| format!("`{}` is not a coefficient", leg.coefficient))?,
                status: events::Status::try_from_value(&leg.status)
                    .map_err(|_| format!("unknown status `{}`", leg.status))?
                    .into(),
            })
        })
        .collect()
}

/// An event row as the copy holds it.
fn event_of(row: &PgRow) -> Result<LineEvent, String> {
    let field = |error: sqlx::Error| format!("unreadable event row: {error}");
    let status: String = row.try_get("status").map_err(field)?;
    Ok(event_from_row(events::Model {
        id: row.try_get("id").map_err(field)?,
        coefficient: row.try_get("coefficient").map_err(field)?,
        deadline: row.try_get("deadline").map_err(field)?,
        status: events::Status::try_from_value(&status)
            .map_err(|_| format!("unknown status `{status}`"))?,
        version: row.try_get("version").map_err(field)?,
        updated_at: row.try_get("updated_at").map_err(field)?,
        decided_at: row.try_get("decided_at").map_err(field)?,
    }))
}
