//! Bets in PostgreSQL.

use async_trait::async_trait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::entities::{bets, events};
use super::rows::{bet_from_row, bet_status_name, event_from_row, storage_error};
use crate::application::ports::{
    BetFilter, BetRepository, IdempotencyClaim, PlaceDecision, Placement, PlacementError,
    RepositoryError,
};
use crate::domain::Bet;

/// [`BetRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmBetRepository {
    db: DatabaseConnection,
}

impl SeaOrmBetRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// What an idempotency key was used for before, if it was: a replay of
    /// the same request, or a refusal of a different one.
    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<Placement>, PlacementError> {
        let backend = self.db.get_database_backend();
        let earlier = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT request, bet_id FROM idempotency_keys WHERE key = $1",
                [claim.key.clone().into()],
            ))
            .await
            .map_err(storage_error)?;
        let Some(earlier) = earlier else {
            return Ok(None);
        };
        let request: String = earlier.try_get("", "request").map_err(storage_error)?;
        if request != claim.request {
            return Err(PlacementError::KeyReused);
        }
        let bet_id: Uuid = earlier.try_get("", "bet_id").map_err(storage_error)?;
        let bet = self.get(bet_id).await?.ok_or_else(|| {
            RepositoryError::Failed(format!("idempotency key names missing bet {bet_id}"))
        })?;
        Ok(Some(Placement::Replayed(bet)))
    }
}

#[async_trait]
impl BetRepository for SeaOrmBetRepository {
    async fn place(
        &self,
        event_id: Uuid,
        claim: Option<IdempotencyClaim>,
        decide: PlaceDecision<'_>,
    ) -> Result<Placement, PlacementError> {
        if let Some(claim) = &claim
            && let Some(earlier) = self.earlier_use(claim).await?
        {
            return Ok(earlier);
        }
        let txn = self.db.begin().await.map_err(storage_error)?;
        // FOR SHARE: a settlement (which updates the event row first) waits
        // for this transaction, or this one waits for it and then sees the
        // event finished. No bet can slip past a settlement.
        let event = events::Entity::find_by_id(event_id)
            .lock_shared()
            .one(&txn)
            .await
            .map_err(storage_error)?
            .ok_or(PlacementError::UnknownEvent(event_id))?;
        let bet = decide(&event_from_row(event)?)?;
        insert_bet(&txn, &bet).await?;
        if let Some(claim) = &claim {
            let claimed = txn
                .execute_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    "INSERT INTO idempotency_keys (key, request, bet_id) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO NOTHING",
                    [
                        claim.key.clone().into(),
                        claim.request.clone().into(),
                        bet.id.into(),
                    ],
                ))
                .await
                .map_err(storage_error)?;
            if claimed.rows_affected() == 0 {
                // A concurrent request with the same key committed first:
                // ours is the retry. Undo it and answer as the first did.
                txn.rollback().await.map_err(storage_error)?;
                return self.earlier_use(claim).await?.ok_or_else(|| {
                    PlacementError::Storage(RepositoryError::Failed(
                        "idempotency key vanished".to_owned(),
                    ))
                });
            }
        }
        txn.commit().await.map_err(storage_error)?;
        Ok(Placement::Placed(bet))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Bet>, RepositoryError> {
        let row = bets::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage_error)?;
        row.map(bet_from_row).transpose()
    }

    async fn list(
        &self,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError> {
        let mut query = bets::Entity::find().order_by_desc(bets::Column::Id);
        if let Some(status) = filter.status {
            query = query.filter(bets::Column::Status.eq(bet_status_name(status)));
        }
        if let Some(event_id) = filter.event_id {
            query = query.filter(bets::Column::EventId.eq(event_id));
        }
        if let Some(before) = page.after {
            query = query.filter(bets::Column::Id.lt(before));
        }
        let rows = query
            .limit(u64::from(page.limit) + 1)
            .all(&self.db)
            .await
            .map_err(storage_error)?;
        rows.into_iter().map(bet_from_row).collect()
    }
}

async fn insert_bet(txn: &DatabaseTransaction, bet: &Bet) -> Result<(), RepositoryError> {
    let row = bets::ActiveModel {
        id: Set(bet.id),
        event_id: Set(bet.event_id),
        amount: Set(bet.amount.value()),
        coefficient: Set(bet.coefficient),
        status: Set(bet_status_name(bet.status).to_owned()),
        payout: Set(bet.payout),
        placed_at: Set(bet.placed_at),
        settled_at: Set(bet.settled_at),
    };
    bets::Entity::insert(row)
        .exec_without_returning(txn)
        .await
        .map(|_| ())
        .map_err(storage_error)
}
