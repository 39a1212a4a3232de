//! Use cases on bets.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{
    BetFilter, BetRepository, Clock, IdempotencyClaim, Placement, PlacementError, RepositoryError,
};
use crate::domain::{Bet, BetSum, BetSumError, PlaceBetError};

/// Why a use case on bets failed.
#[derive(Debug, thiserror::Error)]
pub enum BetError {
    /// The amount breaks a rule (422).
    #[error("amount {0}")]
    InvalidAmount(#[from] BetSumError),
    /// bet-maker knows no such event (404).
    #[error("no event with id {0}")]
    UnknownEvent(Uuid),
    /// No such bet (404).
    #[error("no bet with id {0}")]
    NotFound(Uuid),
    /// The event is finished or past its deadline (409).
    #[error(transparent)]
    Closed(#[from] PlaceBetError),
    /// The idempotency key was used for another request (422).
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// Storage is down (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500).
    #[error("{0}")]
    Failed(String),
}

impl From<RepositoryError> for BetError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(reason) => Self::Unavailable(reason),
            RepositoryError::Failed(reason) => Self::Failed(reason),
        }
    }
}

impl From<PlacementError> for BetError {
    fn from(error: PlacementError) -> Self {
        match error {
            PlacementError::UnknownEvent(id) => Self::UnknownEvent(id),
            PlacementError::Refused(refusal) => Self::Closed(refusal),
            PlacementError::KeyReused => Self::KeyReused,
            PlacementError::Storage(storage) => storage.into(),
        }
    }
}

/// A request to place a bet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceBet {
    /// The event to bet on.
    pub event_id: Uuid,
    /// The stake, as sent (checked against the rules here).
    pub amount: Decimal,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
}

/// The use cases on bets.
#[derive(Clone)]
pub struct BetService {
    bets: Arc<dyn BetRepository>,
    clock: Arc<dyn Clock>,
    max_stake: Decimal,
}

impl std::fmt::Debug for BetService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BetService")
            .field("max_stake", &self.max_stake)
            .finish_non_exhaustive()
    }
}

impl BetService {
    /// The use cases over these ports, with the house limit on stakes.
    pub fn new(bets: Arc<dyn BetRepository>, clock: Arc<dyn Clock>, max_stake: Decimal) -> Self {
        Self {
            bets,
            clock,
            max_stake,
        }
    }

    /// Places a bet at the event's current coefficient. With an idempotency
    /// key, a retry of the same request returns the first response — the
    /// bet as it was placed (`false`: not new) — instead of a second bet.
    pub async fn place(&self, request: PlaceBet) -> Result<(Bet, bool), BetError> {
        let amount = BetSum::new(request.amount, self.max_stake)?;
        let claim = request.idempotency_key.map(|key| IdempotencyClaim {
            key,
            request: format!("{}:{}", request.event_id, amount.value()),
        });
        let clock = self.clock.clone();
        let decide = move |event: &crate::domain::LineEvent| {
            Bet::place(Uuid::now_v7(), event, amount, clock.now())
        };
        match self.bets.place(request.event_id, claim, &decide).await? {
            Placement::Placed(bet) => {
                metrics::counter!("bets_placed_total").increment(1);
                tracing::info!(bet_id = %bet.id, event_id = %bet.event_id, amount = %bet.amount.value(), "bet placed");
                Ok((bet, true))
            }
            Placement::Replayed(bet) => Ok((bet.as_placed(), false)),
        }
    }

    /// The bet with this id.
    pub async fn get(&self, id: Uuid) -> Result<Bet, BetError> {
        self.bets.get(id).await?.ok_or(BetError::NotFound(id))
    }

    /// A page of bets, newest first (one extra when there are more).
    pub async fn list(&self, filter: BetFilter, page: PageRequest) -> Result<Vec<Bet>, BetError> {
        Ok(self.bets.list(filter, page).await?)
    }
}
