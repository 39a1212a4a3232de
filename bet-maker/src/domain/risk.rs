//! The house's risk: what one bet may pay, what one bettor may stake, and
//! how much one event may cost the house if every pending bet on it won.
//!
//! These functions are the definitions. Placing a bet applies
//! [`check_risk`] inside its one statement (the event's exposure row is
//! locked and moved by the same statement that takes the stake, so
//! concurrent bets on one event are decided one after the other), and
//! `tests/rules_in_sql.rs` holds that statement to them. The `max_stake`
//! of a refusal and of `GET /events/{id}/max-stake` is [`max_stake`].

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{BetSum, Price};

/// The largest value any risk setting may take: 1,000,000,000,000,000.00
/// (10^15) for `BET_MAKER_MAX_STAKE`, `BET_MAKER_MAX_PAYOUT`,
/// `BET_MAKER_MAX_LIABILITY_PER_EVENT` and the traders' limits.
///
/// Why this bound: money columns are `NUMERIC(28, 2)` (up to 10^26, and
/// every such value fits a `rust_decimal::Decimal` at scale 2, whose
/// largest is about 7.9 × 10^26). With one bet staking and paying at most
/// 10^15, a wallet, a ledger amount or a settlement's sum could reach
/// 10^26 only after some 10^11 maximal bets, far beyond what the platform
/// takes; so no stake, payout, balance or number of bets a bettor controls
/// can make a write overflow, and no settlement can fail for it.
pub const MAX_LIMIT: Decimal = rust_decimal::dec!(1_000_000_000_000_000.00);

/// What one event would cost: its pending bets, their stakes, and what
/// they would pay if they all won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    /// Pending bets on the event.
    pub pending_bets: i64,
    /// The sum of their stakes.
    pub stakes: Decimal,
    /// The sum of their potential payouts ([`potential_payout`]).
    pub potential_payout: Decimal,
}

impl Exposure {
    /// What the house would pay out net if every pending bet won: the sum
    /// of (potential payout − stake).
    pub fn liability(&self) -> Decimal {
        self.potential_payout - self.stakes
    }

    /// The exposure once a bet of `amount` at `price` is added (an
    /// accumulator is added to each of its legs' events).
    /// (Issue 23: an accumulator will add itself to each leg's event.)
    pub fn with(self, amount: BetSum, price: &Price) -> Self {
        Self {
            pending_bets: self.pending_bets + 1,
            stakes: self.stakes + amount.value(),
            potential_payout: self.potential_payout + potential_payout(amount, price),
        }
    }
}

/// What a bet of `amount` at `price` pays if it wins: round(amount ×
/// price, 2) half-up ([`Price::payout`]; for a single, the settlement
/// rule's [`super::payout`]).
pub fn potential_payout(amount: BetSum, price: &Price) -> Decimal {
    price.payout(amount)
}

/// The limits one bet of one bettor on one event must keep, as they stand
/// when it is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLimits {
    /// The bettor's stake cap set by a trader, if any.
    pub bettor_max_stake: Option<Decimal>,
    /// The most one bet may pay (`BET_MAKER_MAX_PAYOUT`).
    pub max_payout: Decimal,
    /// The event's liability before this bet ([`Exposure::liability`]).
    pub liability: Decimal,
    /// The event's maximum liability: a trader's, else the default.
    pub max_liability: Decimal,
}

/// Which limit refuses a bet (409 with `max_stake`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LimitKind {
    /// Above the bettor's cap (`stake-limit`).
    #[error("the stake is above this bettor's limit")]
    Stake,
    /// It would pay more than one bet may (`payout-limit`).
    #[error("the bet would pay more than one bet may")]
    Payout,
    /// It would take the event past its maximum liability
    /// (`liability-limit`).
    #[error("the bet would take the event past its maximum liability")]
    Liability,
}

/// Whether a bet of `amount` at `price` keeps every limit; else the
/// first it breaks, in this order: the bettor's cap, the payout cap, the
/// event's liability (`liability + (payout − stake) <= max_liability`).
pub fn check_risk(amount: BetSum, price: &Price, limits: &RiskLimits) -> Result<(), LimitKind> {
    let paid = potential_payout(amount, price);
    if limits
        .bettor_max_stake
        .is_some_and(|cap| amount.value() > cap)
    {
        return Err(LimitKind::Stake);
    }
    if paid > limits.max_payout {
        return Err(LimitKind::Payout);
    }
    if limits.liability + (paid - amount.value()) > limits.max_liability {
        return Err(LimitKind::Liability);
    }
    Ok(())
}

/// Everything that bounds one bettor's next stake on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StakeRoom {
    /// The wallet's balance.
    pub balance: Decimal,
    /// The house's largest stake (`BET_MAKER_MAX_STAKE`).
    pub house_max_stake: Decimal,
    /// The risk limits.
    pub limits: RiskLimits,
}

/// The largest stake (two decimals; `0.00` when none) that the balance,
/// the house's maximum stake and [`check_risk`] all allow at `price`
/// (above 1).
///
/// Both payout-based limits grow with the stake: round(s × c, 2) is
/// monotone in s, and so is round(s × c, 2) − s for c > 1 (one more cent
/// of stake adds more than a cent to s × c, so at least a cent to its
/// rounding). So the largest stake that fits is found by bisection over
/// cents, each step asking [`check_risk`] itself.
pub fn max_stake(price: &Price, room: &StakeRoom) -> Decimal {
    let mut ceiling = room.balance.min(room.house_max_stake);
    if let Some(cap) = room.limits.bettor_max_stake {
        ceiling = ceiling.min(cap);
    }
    let fits = |cents: i64| {
        cents == 0
            || check_risk(BetSum::restore(Decimal::new(cents, 2)), price, &room.limits).is_ok()
    };
    let mut high = cents_of(ceiling.min(MAX_LIMIT));
    let mut low = 0;
    // Invariant: `low` fits; everything above `high` does not.
    if fits(high) {
        low = high;
    }
    while low < high {
        let middle = low + (high - low + 1) / 2;
        if fits(middle) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    Decimal::new(low, 2)
}

/// `amount` in whole cents, rounded down (none below zero).
fn cents_of(amount: Decimal) -> i64 {
    (amount.max(Decimal::ZERO) * Decimal::ONE_HUNDRED)
        .trunc()
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// A limit a trader sets (`max_liability`, `max_stake`): 0.00 or more, at
/// most two decimals, at most [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RiskLimitError {
    /// Below zero.
    #[error("must be at least 0.00")]
    Negative,
    /// Finer than a cent.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    /// Beyond what the platform bounds.
    #[error("must be at most {MAX_LIMIT}")]
    TooLarge,
}

/// A trader's limit, checked, two decimals.
pub fn risk_limit(amount: Decimal) -> Result<Decimal, RiskLimitError> {
    if amount.normalize().scale() > 2 {
        return Err(RiskLimitError::TooPrecise);
    }
    if amount < Decimal::ZERO {
        return Err(RiskLimitError::Negative);
    }
    if amount > MAX_LIMIT {
        return Err(RiskLimitError::TooLarge);
    }
    let mut amount = amount.abs();
    amount.rescale(2);
    Ok(amount)
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
