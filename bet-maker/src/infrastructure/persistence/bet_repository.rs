//! Bets in PostgreSQL, each with its bettor, and the bettors'
//! `Idempotency-Key`s that placed them.

use async_trait::async_trait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait, TryInsertResult,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, storage};
use uuid::Uuid;

use super::entities::{bets, events, idempotency_keys};
use super::mapping::{bet_from_row, bet_row, event_from_row};
use crate::application::ports::{
    BetFilter, BetNotPlaced, BetRepository, DecideBet, IdempotencyClaim, PlacedBet, RepositoryError,
};
use crate::domain::{Bet, BettorId};

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

    /// What the bettor's idempotency key was used for before, if it was: a
    /// replay of the same request, or a refusal of a different one. Only
    /// the claim's bettor's keys are looked at.
    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<PlacedBet>, BetNotPlaced> {
        let id = (claim.bettor_id.as_str().to_owned(), claim.key.clone());
        let Some(earlier) = idempotency_keys::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage("reading idempotency key"))?
        else {
            return Ok(None);
        };
        if earlier.request != claim.request {
            return Err(BetNotPlaced::KeyReused);
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
        Ok(Some(PlacedBet::Replayed(bet)))
    }

    /// Places the bet in `txn`; `None` when a concurrent request with the
    /// same key committed first (then `txn` has been rolled back).
    async fn place_in(
        &self,
        txn: DatabaseTransaction,
        event_id: Uuid,
        claim: Option<&IdempotencyClaim>,
        decide: DecideBet<'_>,
    ) -> Result<Option<Bet>, BetNotPlaced> {
        // FOR SHARE: a settlement (which updates the event row first) waits
        // for this transaction, or this one waits for it and then sees the
        // event finished. No bet can slip past a settlement.
        let event = events::Entity::find_by_id(event_id)
            .lock_shared()
            .one(&txn)
            .await
            .map_err(storage(format!("locking event {event_id}")))?
            .ok_or(BetNotPlaced::UnknownEvent(event_id))?;
        let bet = decide(&event_from_row(event))?;
        bets::Entity::insert(bet_row(&bet))
            .exec_without_returning(&txn)
            .await
            .map_err(storage(format!("inserting bet {}", bet.id())))?;
        if let Some(claim) = claim
            && !claim_key(&txn, claim, bet.id()).await?
        {
            txn.rollback()
                .await
                .map_err(storage("rolling back a bet placed twice"))?;
            return Ok(None);
        }
        txn.commit()
            .await
            .map_err(storage(format!("committing bet {}", bet.id())))?;
        Ok(Some(bet))
    }
}

/// Records that the bettor's `claim.key` placed `bet_id`; `false` if another
/// request of the same bettor holds the key already.
async fn claim_key(
    txn: &DatabaseTransaction,
    claim: &IdempotencyClaim,
    bet_id: Uuid,
) -> Result<bool, StorageError> {
    let row = idempotency_keys::ActiveModel {
        bettor_id: Set(claim.bettor_id.as_str().to_owned()),
        key: Set(claim.key.clone()),
        request: Set(claim.request.clone()),
        bet_id: Set(Some(bet_id)),
        ledger_entry_id: Set(None),
        ..Default::default()
    };
    let inserted = idempotency_keys::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await
        .map_err(storage("claiming idempotency key"))?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

#[async_trait]
impl BetRepository for SeaOrmBetRepository {
    async fn place(
        &self,
        event_id: Uuid,
        claim: Option<IdempotencyClaim>,
        decide: DecideBet<'_>,
    ) -> Result<PlacedBet, BetNotPlaced> {
        if let Some(claim) = &claim
            && let Some(earlier) = self.earlier_use(claim).await?
        {
            return Ok(earlier);
        }
        let txn = self
            .db
            .begin()
            .await
            .map_err(storage("starting to place a bet"))?;
        if let Some(bet) = self.place_in(txn, event_id, claim.as_ref(), decide).await? {
            return Ok(PlacedBet::New(bet));
        }
        // A concurrent request with the same key committed first: ours was
        // the retry, undone. Answer as the first did.
        let claim = claim.as_ref().ok_or_else(|| {
            StorageError::corrupt("placing a bet", "a bet without a key was undone")
        })?;
        self.earlier_use(claim).await?.ok_or_else(|| {
            StorageError::corrupt(
                "reading idempotency key",
                "the key a concurrent request claimed has vanished",
            )
            .into()
        })
    }

    async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Option<Bet>, RepositoryError> {
        let row = bets::Entity::find_by_id(id)
            .filter(bets::Column::BettorId.eq(bettor_id.as_str()))
            .one(&self.db)
            .await
            .map_err(storage(format!("reading bet {id}")))?;
        Ok(row.map(bet_from_row))
    }

    async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError> {
        // Served by `bets_by_bettor` (bettor_id, id), or with an event by
        // `bets_by_bettor_and_event`; a status is filtered on the way, since
        // an index on it would be rewritten for every bet settled.
        let mut query = bets::Entity::find().filter(bets::Column::BettorId.eq(bettor_id.as_str()));
        if let Some(status) = filter.status {
            query = query.filter(bets::Column::Status.eq(bets::Status::from(status)));
        }
        if let Some(event_id) = filter.event_id {
            query = query.filter(bets::Column::EventId.eq(event_id));
        }
        let rows = select_page(query, bets::Column::Id, PageOrder::NewestFirst, page)
            .all(&self.db)
            .await
            .map_err(storage("listing bets"))?;
        Ok(rows.into_iter().map(bet_from_row).collect())
    }
}
