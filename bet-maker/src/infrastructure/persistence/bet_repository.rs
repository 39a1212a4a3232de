//! Bets in PostgreSQL, each with its bettor, and the bettors'
//! `Idempotency-Key`s that placed them.
//!
//! A bet is placed in one statement (one round trip, no transaction to
//! open or close): data-modifying CTEs lock the event at the version the
//! bet was decided on, debit the wallet, insert the bet, its stake's
//! ledger transaction and entries, and claim the key, or do nothing. Raw
//! SQL because SeaORM's builders cannot chain these writes; the entries
//! come from `domain::ledger::stake`, never from SQL, and
//! `tests/rules_in_sql.rs` holds the statement to `domain::check_funds`
//! and `domain::check_risk`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, sqlx_storage, storage};
use uuid::Uuid;

use super::entities::{bet_legs, bets, idempotency_keys};
use super::mapping::{bet_from_row, leg_from_row};
use super::wallet_repository::{EntryColumns, read_balance};
use crate::application::ports::{
    BetFilter, BetRepository, BetRisk, BetToPlace, EarlierBet, IdempotencyClaim, PlaceOutcome,
    RepositoryError,
};
use crate::domain::{Account, Bet, BettorId, Excluded, Leg, RiskLimits, check_risk};

/// Places a bet: its legs' events `$1` at versions `$2` with the
/// coefficients `$7` locked on them (locked `FOR SHARE`, in the order of
/// their ids, so a settlement, which updates the event row first, either
/// committed before, and moved the version, or waits for this bet and then
/// settles it too), the wallet of `$3` changed by `$4` if it stays at or
/// above zero, bet `$5` (amount `$6`, placed at `$8`) and its legs, the key
/// `$9` (if any) claimed for request `$10`, and ledger transaction `$11`
/// with the entries `$12`–`$14`. Each step selects from the one before, so
/// a moved version or a short wallet matches no row and inserts nothing; a
/// key the bettor holds already breaks `idempotency_keys_pkey` and undoes
/// the whole statement. A bettor excluded at `$8` (a time-out or
/// self-exclusion that has begun and not ended: `domain::excluded_at`)
/// debits nothing either.
///
/// The risk limits, by the rule of `domain::check_risk`: every leg's
/// `event_exposure` row is locked (`FOR UPDATE`, in the order of the
/// events' ids, after the events, before the wallet) and read as it is once
/// locked, so concurrent bets on one event are decided one after the other
/// against the exact liability; a stake above the bettor's cap
/// (`bettor_limits`), a potential payout `$15` above the cap `$16`, or a
/// liability that would pass any leg's event maximum (its own, else `$17`)
/// debits nothing; else every leg's exposure counts the bet (an
/// accumulator's potential net payout weighs on each of its events).
///
/// Returns whether every event was held at its version, the balance after
/// the debit (none when nothing was written), the exclusion that lasts
/// longest, if any (its end; none for ever), and the limits the bet met
/// (the bettor's cap; the liability and maximum of the leg with the least
/// room).
pub const PLACE_BET: &str = "
    WITH asked AS (
        SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $7::numeric[]) WITH ORDINALITY
            AS asked(event_id, version, coefficient, leg)
    ),
    event AS MATERIALIZED (
        SELECT events.id FROM events JOIN asked
            ON asked.event_id = events.id AND asked.version = events.version
        ORDER BY events.id
        FOR SHARE OF events
    ),
    held AS MATERIALIZED (
        SELECT count(*) = cardinality($1::uuid[]) AS every FROM event
    ),
    excluded AS (
        SELECT until FROM exclusions
        WHERE bettor_id = $3 AND starts_at <= $8 AND (until IS NULL OR until > $8)
        ORDER BY until DESC NULLS FIRST
        LIMIT 1
    ),
    capped AS (
        SELECT max_stake FROM bettor_limits WHERE bettor_id = $3
    ),
    exposure AS MATERIALIZED (
        SELECT x.event_id, x.potential_payout - x.stakes AS liability,
               coalesce(x.max_liability, $17) AS max_liability
        FROM event_exposure x
        WHERE x.event_id IN (SELECT id FROM event) AND (SELECT every FROM held)
        ORDER BY x.event_id
        FOR UPDATE OF x
    ),
    room AS MATERIALIZED (
        SELECT count(*) = cardinality($1::uuid[]) AS every,
               coalesce(bool_and(liability + ($15 - $6) <= max_liability), false) AS fits
        FROM exposure
    ),
    tightest AS (
        SELECT liability, max_liability FROM exposure
        ORDER BY max_liability - liability, event_id
        LIMIT 1
    ),
    debited AS (
        UPDATE wallets SET balance = balance + $4
        FROM room
        WHERE bettor_id = $3 AND balance + $4 >= 0 AND NOT EXISTS (SELECT 1 FROM excluded)
          AND NOT EXISTS (SELECT 1 FROM capped WHERE max_stake < $6)
          AND $15 <= $16
          AND room.every AND room.fits
        RETURNING balance
    ),
    exposed AS (
        UPDATE event_exposure SET pending_bets = pending_bets + 1,
                                  stakes = stakes + $6,
                                  potential_payout = potential_payout + $15
        FROM debited
        WHERE event_id IN (SELECT id FROM event)
    ),
    bet AS (
        INSERT INTO bets
            (id, bettor_id, amount, status, placed_at, stake_posted, leg_count, potential_payout)
        SELECT $5, $3, $6, 'PENDING', $8, true, cardinality($1::uuid[]), $15 FROM debited
        RETURNING id
    ),
    legs AS (
        INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
        SELECT bet.id, asked.leg, asked.event_id, asked.coefficient FROM bet, asked
    ),
    claimed AS (
        INSERT INTO idempotency_keys (bettor_id, key, request, bet_id)
        SELECT $3, $9, $10, bet.id FROM bet WHERE $9::text IS NOT NULL
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind)
        SELECT $11, 'STAKE' FROM bet
        RETURNING id, created_at
    ),
    entries AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
        SELECT e.id, txn.id, e.account, e.amount,
               CASE WHEN e.account = 'WALLET' THEN $3 END,
               CASE WHEN e.account = 'WALLET' THEN 'STAKE' END,
               CASE WHEN e.account = 'WALLET' THEN debited.balance END,
               $5, txn.created_at
        FROM txn, debited, UNNEST($12::uuid[], $13::text[], $14::numeric[]) AS e(id, account, amount)
    )
    SELECT (SELECT every FROM held) AS event_held,
           (SELECT balance FROM debited) AS balance,
           EXISTS (SELECT 1 FROM excluded) AS excluded,
           (SELECT until FROM excluded) AS excluded_until,
           (SELECT max_stake FROM capped) AS bettor_max_stake,
           (SELECT liability FROM tightest) AS liability,
           (SELECT max_liability FROM tightest) AS max_liability";

/// The limits a refused bet met, as the statement read them (the exposure
/// locked); `None` when the event has no exposure row.
fn limits_met(
    row: &PgRow,
    risk: &BetRisk,
    operation: &str,
) -> Result<Option<RiskLimits>, RepositoryError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    let bettor_max_stake: Option<Decimal> = row.try_get("bettor_max_stake").map_err(field)?;
    let liability: Option<Decimal> = row.try_get("liability").map_err(field)?;
    let max_liability: Option<Decimal> = row.try_get("max_liability").map_err(field)?;
    Ok(liability
        .zip(max_liability)
        .map(|(liability, max_liability)| RiskLimits {
            bettor_max_stake,
            max_payout: risk.max_payout,
            liability,
            max_liability,
        }))
}

/// The constraint a second claim of a bettor's key breaks.
const KEY_CONSTRAINT: &str = "idempotency_keys_pkey";

/// [`BetRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmBetRepository {
    db: DatabaseConnection,
    pool: PgPool,
}

impl SeaOrmBetRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        let pool = db.get_postgres_connection_pool().clone();
        Self { db, pool }
    }
}

#[async_trait]
impl BetRepository for SeaOrmBetRepository {
    async fn place(&self, to_place: BetToPlace<'_>) -> Result<PlaceOutcome, RepositoryError> {
        let BetToPlace {
            bet,
            event_versions,
            stake,
            claim,
            risk,
        } = to_place;
        let columns = EntryColumns::of(stake);
        let operation = format!("placing bet {}", bet.id());
        let event_ids: Vec<Uuid> = bet.legs().iter().map(|leg| leg.event_id).collect();
        let coefficients: Vec<Decimal> = bet.legs().iter().map(|leg| leg.coefficient).collect();
        let placed = sqlx::query(PLACE_BET)
            .bind(&event_ids)
            .bind(event_versions)
            .bind(bet.bettor_id().as_str())
            .bind(stake.on(Account::Wallet))
            .bind(bet.id())
            .bind(bet.amount().value())
            .bind(&coefficients)
            .bind(bet.placed_at())
            .bind(claim.map(|claim| claim.key.as_str()))
            .bind(claim.map(|claim| claim.request.as_str()))
            .bind(Uuid::now_v7())
            .bind(&columns.ids)
            .bind(&columns.accounts)
            .bind(&columns.amounts)
            .bind(risk.potential_payout)
            .bind(risk.max_payout)
            .bind(risk.default_max_liability)
            .fetch_one(&self.pool)
            .await;
        let row = match placed {
            Ok(row) => row,
            Err(sqlx::Error::Database(error)) if error.constraint() == Some(KEY_CONSTRAINT) => {
                return Ok(PlaceOutcome::KeyTaken);
            }
            Err(error) => return Err(sqlx_storage(operation)(error).into()),
        };
        let event_held: bool = row
            .try_get("event_held")
            .map_err(sqlx_storage(operation.clone()))?;
        let balance: Option<Decimal> = row
            .try_get("balance")
            .map_err(sqlx_storage(operation.clone()))?;
        let excluded: bool = row
            .try_get("excluded")
            .map_err(sqlx_storage(operation.clone()))?;
        let excluded_until: Option<DateTime<Utc>> = row
            .try_get("excluded_until")
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(match (event_held, balance) {
            (false, _) => PlaceOutcome::EventChanged,
            (true, None) if excluded => PlaceOutcome::Excluded(
                excluded_until.map_or(Excluded::Permanently, Excluded::Until),
            ),
            (true, Some(_)) => PlaceOutcome::Placed,
            (true, None) => {
                let balance = read_balance(&self.pool, bet.bettor_id()).await?;
                match limits_met(&row, &risk, &operation)? {
                    Some(limits) => match check_risk(bet.amount(), &bet.price(), &limits) {
                        Err(refused) => PlaceOutcome::OverLimit {
                            refused,
                            limits,
                            balance,
                        },
                        Ok(()) => PlaceOutcome::InsufficientFunds { balance },
                    },
                    None => {
                        return Err(StorageError::corrupt(
                            operation,
                            "the event is held but has no exposure row",
                        )
                        .into());
                    }
                }
            }
        })
    }

    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierBet>, RepositoryError> {
        let id = (claim.bettor_id.as_str().to_owned(), claim.key.clone());
        let Some(earlier) = idempotency_keys::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage("reading idempotency key"))?
        else {
            return Ok(None);
        };
        if earlier.request != claim.request {
            return Ok(Some(EarlierBet::Different));
        }
        // The request names the bet's event, so a key that posted a wallet
        // movement never gets here: it is a reuse for another request.
        let bet_id = earlier.bet_id.ok_or_else(|| {
            StorageError::corrupt(
                "reading the bet of an idempotency key",
                "a key of a bet request names no bet",
            )
        })?;
        let bet = self.get(&claim.bettor_id, bet_id).await?.ok_or_else(|| {
            StorageError::corrupt(
                "reading the bet of an idempotency key",
                format!("the key names bet {bet_id}, which does not exist"),
            )
        })?;
        Ok(Some(EarlierBet::Same(bet)))
    }

    async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Option<Bet>, RepositoryError> {
        let row = bets::Entity::find_by_id(id)
            .filter(bets::Column::BettorId.eq(bettor_id.as_str()))
            .one(&self.db)
            .await
            .map_err(storage(format!("reading bet {id}")))?;
        Ok(with_legs(&self.db, row.into_iter().collect()).await?.pop())
    }

    async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError> {
        // Served by `bets_by_bettor` (bettor_id, id), an event through
        // `bet_legs_one_per_event` (event_id, bet_id); a status is filtered
        // on the way, since an index on it would be rewritten for every bet
        // settled.
        let mut query = bets::Entity::find().filter(bets::Column::BettorId.eq(bettor_id.as_str()));
        if let Some(status) = filter.status {
            query = query.filter(bets::Column::Status.eq(bets::Status::from(status)));
        }
        if let Some(event_id) = filter.event_id {
            query = query.filter(
                bets::Column::Id.in_subquery(
                    Query::select()
                        .column(bet_legs::Column::BetId)
                        .from(bet_legs::Entity)
                        .and_where(bet_legs::Column::EventId.eq(event_id))
                        .to_owned(),
                ),
            );
        }
        let rows = select_page(query, bets::Column::Id, PageOrder::NewestFirst, page)
            .all(&self.db)
            .await
            .map_err(storage("listing bets"))?;
        with_legs(&self.db, rows).await
    }
}

/// The bets of `rows`, in their order, each with its legs (one query for
/// all of them).
pub(super) async fn with_legs<C: ConnectionTrait>(
    db: &C,
    rows: Vec<bets::Model>,
) -> Result<Vec<Bet>, RepositoryError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let legs = bet_legs::Entity::find()
        .filter(bet_legs::Column::BetId.is_in(ids))
        .order_by_asc(bet_legs::Column::BetId)
        .order_by_asc(bet_legs::Column::Leg)
        .all(db)
        .await
        .map_err(storage("reading the legs of bets"))?;
    let mut by_bet: HashMap<Uuid, Vec<Leg>> = HashMap::with_capacity(rows.len());
    for leg in legs {
        by_bet
            .entry(leg.bet_id)
            .or_default()
            .push(leg_from_row(leg));
    }
    rows.into_iter()
        .map(|row| {
            let legs = by_bet.remove(&row.id).unwrap_or_default();
            if legs.is_empty() {
                return Err(StorageError::corrupt(
                    format!("reading bet {}", row.id),
                    "the bet has no leg",
                )
                .into());
            }
            Ok(bet_from_row(row, legs))
        })
        .collect()
}
