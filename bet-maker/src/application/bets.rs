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
    Bet, BetRefused, BetSum, BetSumError, BettorId, Excluded, InsufficientFunds, LegsError,
    LimitKind, LineEvent, OddsRequest, StakeRoom, check_legs, is_coefficient, max_stake, stake,
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
    /// The legs asked for cannot make one bet (422): none, more than 20,
    /// or one event twice.
    #[error(transparent)]
    Legs(#[from] LegsError),
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
    /// One leg of an accumulator is refused (409, as [`Self::Refused`],
    /// naming the leg's event).
    #[error("event {event_id}: {refused}")]
    LegRefused {
        /// The leg's event.
        event_id: Uuid,
        /// Why.
        refused: BetRefused,
    },
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

/// What a bettor hands in to place a bet: who they are, the legs, the
/// stake as sent, and the optional `Idempotency-Key` that makes a retry
/// safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetSlip {
    /// The bettor placing it (from their verified token).
    pub bettor_id: BettorId,
    /// The legs: one for a single, up to 20 for an accumulator.
    pub legs: Vec<SlipLeg>,
    /// The stake, as sent (checked against the rules here).
    pub amount: Decimal,
    /// The `Idempotency-Key` header, if sent: the bettor's own (another
    /// bettor's use of the same key is another key).
    pub idempotency_key: Option<String>,
    /// Whether this is the single form of the request (`{"event_id"}`),
    /// whose key is written as it always was.
    pub single_form: bool,
}

/// One leg of a slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlipLeg {
    /// The event to bet on.
    pub event_id: Uuid,
    /// The coefficient the bettor saw on it, if sent, and which changes of
    /// it they accept.
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
        let event_ids: Vec<Uuid> = slip.legs.iter().map(|leg| leg.event_id).collect();
        check_legs(&event_ids)?;
        if slip
            .legs
            .iter()
            .any(|leg| leg.odds.seen.is_some_and(|seen| !is_coefficient(seen)))
        {
            return Err(BetError::InvalidCoefficient);
        }
        let claim = slip.idempotency_key.map(|key| IdempotencyClaim {
            bettor_id: slip.bettor_id.clone(),
            key,
            request: canonical_request(&slip.legs, amount, slip.single_form),
        });
        let stake = stake(amount);
        let now = self.clock.now();
        let mut events = Vec::with_capacity(event_ids.len());
        for id in &event_ids {
            events.push(self.line.recent_event(*id, now).await?);
        }
        for _ in 0..ROUNDS {
            let decided = decide(
                &slip.bettor_id,
                &slip.legs,
                &events,
                amount,
                self.clock.now(),
            );
            let (bet, event_versions) = match decided {
                Ok(decided) => decided,
                // A retry of a bet placed before an event closed is
                // answered as it was then.
                Err(refused) => return self.unless_replayed(claim.as_ref(), refused).await,
            };
            let to_place = BetToPlace {
                bet: &bet,
                event_versions: &event_versions,
                stake: &stake,
                claim: claim.as_ref(),
                risk: BetRisk {
                    potential_payout: bet.potential_payout(),
                    max_payout: self.risk.max_payout,
                    default_max_liability: self.risk.max_liability_per_event,
                },
            };
            match self.bets.place(to_place).await? {
                PlaceOutcome::Placed => {
                    metrics::counter!("bets_placed_total", "legs" => bet.legs().len().to_string())
                        .increment(1);
                    tracing::info!(bet_id = %bet.id(), bettor_id = %bet.bettor_id(), legs = bet.legs().len(), amount = %bet.amount().value(), price = %bet.price(), "bet placed");
                    return Ok(PlacedBet::New(bet));
                }
                PlaceOutcome::EventChanged => {
                    for (held, id) in events.iter_mut().zip(&event_ids) {
                        *held = self.line.event(*id).await?;
                    }
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
                        max_stake: max_stake(&bet.price(), &room),
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

/// The bet the domain places on the legs' `events` as they are (in the
/// legs' order; `None` for an event bet-maker does not know), and the
/// version of each it was decided on; or why not.
fn decide(
    bettor_id: &BettorId,
    legs: &[SlipLeg],
    events: &[Option<LineEvent>],
    amount: BetSum,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Bet, Vec<i64>), BetError> {
    let mut known = Vec::with_capacity(events.len());
    for (leg, event) in legs.iter().zip(events) {
        known.push(event.as_ref().ok_or(BetError::UnknownEvent(leg.event_id))?);
    }
    let bet = Bet::place(Uuid::now_v7(), bettor_id.clone(), &known, amount, now)?;
    for (leg, event) in legs.iter().zip(&known) {
        leg.odds
            .allows(event.coefficient)
            .map_err(BetRefused::from)?;
    }
    Ok((bet, known.iter().map(|event| event.version).collect()))
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

/// The request an `Idempotency-Key` stands for, written canonically. A
/// single in its own form is written as keys always were: the event and the
/// stake, then the odds asked for, when any. An accumulator (or a single
/// sent as `legs`): `acc:<stake>`, then each leg's event and odds.
fn canonical_request(legs: &[SlipLeg], amount: BetSum, single_form: bool) -> String {
    let odds = |odds: OddsRequest| match odds.seen {
        None => String::new(),
        Some(seen) => format!(":{}:{:?}", seen.normalize(), odds.accept),
    };
    match legs {
        [leg] if single_form => format!("{}:{}{}", leg.event_id, amount.value(), odds(leg.odds)),
        _ => legs
            .iter()
            .fold(format!("acc:{}", amount.value()), |request, leg| {
                format!("{request};{}{}", leg.event_id, odds(leg.odds))
            }),
    }
}
