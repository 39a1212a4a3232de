//! Use cases on bets.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::RiskSettings;
use super::ports::{
    BetFilter, BetRepository, BetRisk, BetToPlace, Clock, EarlierBet, IdempotencyClaim,
    LineRepository, PlaceOutcome, PlacedBet, RepositoryError,
};
use crate::domain::{
    Bet, BetRefused, BetSum, BetSumError, BettorId, Excluded, InsufficientFunds, LimitKind,
    LineEvent, OddsRequest, StakeRoom, is_coefficient, max_stake, potential_payout, stake,
};

/// How often a bet is decided again when the event changed between
/// reading it and writing the bet (each round, line-provider changed the
/// event: it cannot keep that up for long).
const ROUNDS: usize = 8;

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
    /// The wallet does not cover the stake (409 `insufficient-funds`).
    #[error(transparent)]
    InsufficientFunds(#[from] InsufficientFunds),
    /// The idempotency key was used for another request (422).
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// The bettor excluded themselves from betting (403 `excluded`).
    #[error("the bettor is excluded from bets and deposits")]
    Excluded(Excluded),
    /// A risk limit refuses the bet (409 `stake-limit`, `payout-limit` or
    /// `liability-limit`), with the largest stake that would be taken now.
    #[error("{refused}: the largest stake taken now is {max_stake}")]
    OverLimit {
        /// The limit.
        refused: LimitKind,
        /// [`crate::domain::max_stake`] on the limits the bet met.
        max_stake: Decimal,
    },
    /// The event kept changing under the bet (503, retry).
    #[error("the event kept changing; gave up after {ROUNDS} attempts")]
    Contended,
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
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
    line: Arc<dyn LineRepository>,
    clock: Arc<dyn Clock>,
    max_stake: Decimal,
    pub(super) risk: RiskSettings,
}

impl std::fmt::Debug for BetService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BetService")
            .field("max_stake", &self.max_stake)
            .finish_non_exhaustive()
    }
}

impl BetService {
    /// The use cases over these ports (the line for the events bets are
    /// placed on), with the house limit on stakes.
    pub fn new(
        bets: Arc<dyn BetRepository>,
        line: Arc<dyn LineRepository>,
        clock: Arc<dyn Clock>,
        max_stake: Decimal,
    ) -> Self {
        Self {
            bets,
            line,
            clock,
            max_stake,
            risk: RiskSettings::default(),
        }
    }

    /// Places a bet at the event's current coefficient, taking the stake
    /// from the bettor's wallet. With an idempotency key, a retry of the
    /// same request returns the first response — the bet as it was placed,
    /// even if settled since — instead of a second bet.
    ///
    /// The common path is one statement: the bet is decided on the event
    /// as this replica last saw it, and written only if the copy still
    /// holds that version; when it moved, the bet is decided again on the
    /// event as it is now.
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
        let stake = stake(amount);
        let now = self.clock.now();
        let mut event = self.line.recent_event(slip.event_id, now).await?;
        for _ in 0..ROUNDS {
            let decided = match &event {
                None => Err(BetError::UnknownEvent(slip.event_id)),
                Some(event) => decide(&slip.bettor_id, event, amount, slip.odds, self.clock.now()),
            };
            let (bet, event_version) = match decided {
                Ok(decided) => decided,
                // A retry of a bet placed before the event closed is
                // answered as it was then.
                Err(refused) => return self.unless_replayed(claim.as_ref(), refused).await,
            };
            let to_place = BetToPlace {
                bet: &bet,
                event_version,
                stake: &stake,
                claim: claim.as_ref(),
                risk: BetRisk {
                    potential_payout: potential_payout(amount, bet.coefficient()),
                    max_payout: self.risk.max_payout,
                    default_max_liability: self.risk.max_liability_per_event,
                },
            };
            match self.bets.place(to_place).await? {
                PlaceOutcome::Placed => {
                    metrics::counter!("bets_placed_total").increment(1);
                    tracing::info!(bet_id = %bet.id(), bettor_id = %bet.bettor_id(), event_id = %bet.event_id(), amount = %bet.amount().value(), "bet placed");
                    return Ok(PlacedBet::New(bet));
                }
                PlaceOutcome::EventChanged => {
                    event = self.line.event(slip.event_id).await?;
                }
                PlaceOutcome::InsufficientFunds { balance } => {
                    let short = InsufficientFunds {
                        balance,
                        wanted: amount.value(),
                    };
                    return self.unless_replayed(claim.as_ref(), short.into()).await;
                }
                PlaceOutcome::Excluded(until) => {
                    return self
                        .unless_replayed(claim.as_ref(), BetError::Excluded(until))
                        .await;
                }
                PlaceOutcome::OverLimit {
                    refused,
                    limits,
                    balance,
                } => {
                    let room = StakeRoom {
                        balance,
                        house_max_stake: self.max_stake,
                        limits,
                    };
                    let over = BetError::OverLimit {
                        refused,
                        max_stake: max_stake(bet.coefficient(), &room),
                    };
                    return self.unless_replayed(claim.as_ref(), over).await;
                }
                PlaceOutcome::KeyTaken => {
                    let vanished = BetError::Storage(key_vanished());
                    return self.unless_replayed(claim.as_ref(), vanished).await;
                }
            }
        }
        Err(BetError::Contended)
    }

    /// `refused`, unless the bettor's key was used before: then the bet
    /// that request placed, as it was placed, or, for another request,
    /// [`BetError::KeyReused`].
    async fn unless_replayed(
        &self,
        claim: Option<&IdempotencyClaim>,
        refused: BetError,
    ) -> Result<PlacedBet, BetError> {
        let Some(claim) = claim else {
            return Err(refused);
        };
        match self.bets.earlier_use(claim).await? {
            None => Err(refused),
            Some(EarlierBet::Same(bet)) => Ok(PlacedBet::Replayed(bet.as_placed())),
            Some(EarlierBet::Different) => Err(BetError::KeyReused),
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

/// The bet the domain places on `event` as it is, and the version it was
/// decided on; or why not.
fn decide(
    bettor_id: &BettorId,
    event: &LineEvent,
    amount: BetSum,
    odds: OddsRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Bet, i64), BetError> {
    let bet = Bet::place(Uuid::now_v7(), bettor_id.clone(), event, amount, now)?;
    odds.allows(event.coefficient).map_err(BetRefused::from)?;
    Ok((bet, event.version))
}

/// A key reported taken, yet not found: keys are never deleted, so this
/// is a fault.
fn key_vanished() -> RepositoryError {
    shared_kernel::storage::StorageError::corrupt(
        "placing a bet",
        "the idempotency key was taken, yet no earlier use of it is stored",
    )
    .into()
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
