//! Use cases on bets.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{
    BetFilter, BetNotPlaced, BetRepository, Clock, IdempotencyClaim, PlacedBet, RepositoryError,
};
use crate::domain::{
    Bet, BetRefused, BetSum, BetSumError, BettorId, LineEvent, OddsRequest, is_coefficient,
};

/// Why a use case on bets failed.
#[derive(Debug, thiserror::Error)]
pub enum BetError {
    /// The amount breaks a rule (422).
    #[error("amount {0}")]
    InvalidAmount(#[from] BetSumError),
    /// The coefficient the bettor saw is not one an event can have (422).
    #[error("must be above 1.00 and at most 1000.00, with at most 2 decimal places")]
    InvalidCoefficient,
    /// bet-maker knows no such event (404).
    #[error("no event with id {0}")]
    UnknownEvent(Uuid),
    /// No such bet, or another bettor's (404: a bettor cannot even tell
    /// that another's bet exists).
    #[error("no bet with id {0}")]
    NotFound(Uuid),
    /// The event is finished or past its deadline (409).
    #[error(transparent)]
    Refused(#[from] BetRefused),
    /// The idempotency key was used for another request (422).
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

impl From<BetNotPlaced> for BetError {
    fn from(error: BetNotPlaced) -> Self {
        match error {
            BetNotPlaced::UnknownEvent(id) => Self::UnknownEvent(id),
            BetNotPlaced::Refused(refusal) => Self::Refused(refusal),
            BetNotPlaced::KeyReused => Self::KeyReused,
            BetNotPlaced::Storage(storage) => Self::Storage(storage),
        }
    }
}

/// What a bettor hands in to place a bet: who they are, the event, the
/// stake as sent, and the optional `Idempotency-Key` that makes a retry
/// safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetSlip {
    /// The bettor placing it (from their verified token).
    pub bettor_id: BettorId,
    /// The event to bet on.
    pub event_id: Uuid,
    /// The stake, as sent (checked against the rules here).
    pub amount: Decimal,
    /// The `Idempotency-Key` header, if sent: the bettor's own (another
    /// bettor's use of the same key is another key).
    pub idempotency_key: Option<String>,
    /// The coefficient the bettor saw, if sent, and which changes of it
    /// they accept.
    pub odds: OddsRequest,
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
    /// bet as it was placed, even if settled since — instead of a second
    /// bet.
    pub async fn place(&self, slip: BetSlip) -> Result<PlacedBet, BetError> {
        let amount = BetSum::new(slip.amount, self.max_stake)?;
        if slip.odds.seen.is_some_and(|seen| !is_coefficient(seen)) {
            return Err(BetError::InvalidCoefficient);
        }
        let claim = slip.idempotency_key.map(|key| IdempotencyClaim {
            bettor_id: slip.bettor_id.clone(),
            key,
            request: canonical_request(slip.event_id, amount, slip.odds),
        });
        let clock = self.clock.clone();
        let (bettor_id, odds) = (slip.bettor_id, slip.odds);
        let decide = move |event: &LineEvent| {
            let bet = Bet::place(
                Uuid::now_v7(),
                bettor_id.clone(),
                event,
                amount,
                clock.now(),
            )?;
            odds.allows(event.coefficient)?;
            Ok(bet)
        };
        match self.bets.place(slip.event_id, claim, &decide).await? {
            PlacedBet::New(bet) => {
                metrics::counter!("bets_placed_total").increment(1);
                tracing::info!(bet_id = %bet.id(), bettor_id = %bet.bettor_id(), event_id = %bet.event_id(), amount = %bet.amount().value(), "bet placed");
                Ok(PlacedBet::New(bet))
            }
            PlacedBet::Replayed(bet) => Ok(PlacedBet::Replayed(bet.as_placed())),
        }
    }

    /// The bettor's bet with this id; another bettor's is not found.
    pub async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Bet, BetError> {
        self.bets
            .get(bettor_id, id)
            .await?
            .ok_or(BetError::NotFound(id))
    }

    /// A page of the bettor's bets, newest first (one extra when there are
    /// more).
    pub async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, BetError> {
        Ok(self.bets.list(bettor_id, filter, page).await?)
    }
}

/// The request an `Idempotency-Key` stands for, written canonically: the
/// event and the stake (as keys were written before odds-change protection
/// existed), then the odds asked for, when any.
fn canonical_request(event_id: Uuid, amount: BetSum, odds: OddsRequest) -> String {
    let base = format!("{event_id}:{}", amount.value());
    match odds.seen {
        None => base,
        Some(seen) => format!("{base}:{}:{:?}", seen.normalize(), odds.accept),
    }
}
