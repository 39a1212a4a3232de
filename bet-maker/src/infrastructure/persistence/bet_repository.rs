//! Bets in PostgreSQL, each with its bettor, and the bettors'
//! `Idempotency-Key`s that placed them.
//!
//! A bet is placed in one statement (one round trip, no transaction to
//! open or close), [`super::PLACE_BETS`] with a group of one: it locks the
//! events at the versions the bet was decided on, debits the wallet,
//! inserts the bet, its stake's ledger transaction and entries, and claims
//! the key, or does nothing. Under load, [`super::GroupedBetRepository`]
//! places concurrent bets a group to a statement.

use async_trait::async_trait;
use sea_orm::sqlx::PgPool;
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
use super::placement::{Placement, outcome, place_group, place_one};
use crate::application::ports::{
    BetFilter, BetRepository, BetToPlace, EarlierBet, IdempotencyClaim, PlaceOutcome,
    RepositoryError,
};
use crate::domain::{Bet, BettorId, Leg};

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

    /// Places `bets` as one group, in their order: one statement and one
    /// commit, each bet decided as if placed alone once the ones before it
    /// had committed; the outcome of each, in that order. Any error (a key
    /// claimed concurrently outside the group) undoes the whole group.
    pub async fn place_group(
        &self,
        bets: &[BetToPlace<'_>],
    ) -> Result<Vec<PlaceOutcome>, RepositoryError> {
        let placements: Vec<Placement> = bets.iter().map(Placement::of).collect();
        let group: Vec<&Placement> = placements.iter().collect();
        let decided = place_group(&self.pool, &group)
            .await
            .map_err(sqlx_storage(format!(
                "placing a group of {} bets",
                bets.len()
            )))?;
        let mut outcomes = Vec::with_capacity(bets.len());
        for (decided, to_place) in decided.into_iter().zip(bets) {
            outcomes.push(outcome(decided, to_place)?);
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl BetRepository for SeaOrmBetRepository {
    async fn place(&self, to_place: BetToPlace<'_>) -> Result<PlaceOutcome, RepositoryError> {
        let decided = place_one(&self.pool, &Placement::of(&to_place)).await?;
        outcome(decided, &to_place)
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
