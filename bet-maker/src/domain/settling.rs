//! How a bet is settled once its event is decided: late bets are void,
//! bets taken at odds line-provider had already cut are paid at the cut.
//!
//! bet-maker learns of the line through messages, so for a moment after
//! line-provider changes an event bet-maker still offers the old one. Two
//! kinds of bet could be placed in that moment, and neither may pay:
//!
//! - a bet placed at or after the instant line-provider decided the result
//!   (the `occurred_at` of the message that first made the event final):
//!   whoever placed it may have known the result. It is **void**: the
//!   stake comes back, whatever the result;
//! - a bet placed at or after a coefficient change, at the coefficient
//!   before it: it is settled at the **lower** of the two, so a cut in the
//!   odds counts from the instant line-provider made it.
//!
//! Both compare bet-maker's clock (`placed_at`) with line-provider's
//! (`occurred_at`): README ("Risk") says what agreement between the two
//! clocks this needs.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{BetStatus, BetSum, Leg, LegStatus, LineEventStatus, Price, payout};

/// Why a bet is void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoidReason {
    /// Its event was cancelled.
    Cancelled,
    /// It was placed at or after the moment the result was decided.
    Late,
}

impl VoidReason {
    /// The name on the wire (`"late"`) and, upper-cased, in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::Late => "late",
        }
    }
}

/// A coefficient line-provider offered on an event from `since` on, until
/// the next version: one entry of the event's history as bet-maker heard
/// it (every message carries the event's coefficient and when the change
/// was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// The version that set it.
    pub version: i64,
    /// The coefficient.
    pub coefficient: Decimal,
    /// When line-provider made that version (the message's `occurred_at`).
    pub since: DateTime<Utc>,
}

/// The coefficient line-provider offered at `at`, by `history`: that of the
/// highest version made at or before `at`; `None` when no version known
/// was made by then.
///
/// This is the definition; the settlement statement looks it up in SQL
/// (each version offered from its `since` until the earliest `since` of
/// the versions above it) and `tests/rules_in_sql.rs` holds it to this
/// function.
pub fn offered_at(history: &[Offered], at: DateTime<Utc>) -> Option<Decimal> {
    history
        .iter()
        .filter(|offered| offered.since <= at)
        .max_by_key(|offered| offered.version)
        .map(|offered| offered.coefficient)
}

/// How one bet is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Won, lost or void.
    pub status: BetStatus,
    /// What it pays (the stake when void).
    pub payout: Decimal,
    /// The coefficient it was settled at: its own, or the lower one
    /// line-provider offered when it was placed. `None` when void.
    pub coefficient: Option<Decimal>,
    /// Why it is void, when it is.
    pub void_reason: Option<VoidReason>,
}

/// A bet, as settlement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToSettle {
    /// The stake.
    pub amount: BetSum,
    /// The coefficient locked when it was placed.
    pub coefficient: Decimal,
    /// When it was placed (bet-maker's clock).
    pub placed_at: DateTime<Utc>,
    /// What line-provider offered at `placed_at` ([`offered_at`]).
    pub offered: Option<Decimal>,
}

/// How a bet is settled on an event decided as `result` at `decided_at`
/// (line-provider's clock): void when placed at or after `decided_at` or
/// when the event was cancelled; else by [`payout`] at the lower of its
/// coefficient and the one offered when it was placed. `None` while
/// `result` is not final.
pub fn settle(
    bet: ToSettle,
    result: LineEventStatus,
    decided_at: DateTime<Utc>,
) -> Option<Settled> {
    if !result.is_final() {
        return None;
    }
    let void = if bet.placed_at >= decided_at {
        Some(VoidReason::Late)
    } else if result == LineEventStatus::Cancelled {
        Some(VoidReason::Cancelled)
    } else {
        None
    };
    if let Some(reason) = void {
        let (status, stake) = payout(bet.amount, bet.coefficient, LineEventStatus::Cancelled)?;
        return Some(Settled {
            status,
            payout: stake,
            coefficient: None,
            void_reason: Some(reason),
        });
    }
    let coefficient = bet
        .offered
        .map_or(bet.coefficient, |offered| offered.min(bet.coefficient));
    let (status, paid) = payout(bet.amount, coefficient, result)?;
    Some(Settled {
        status,
        payout: paid,
        coefficient: Some(coefficient),
        void_reason: None,
    })
}

impl Settled {
    /// The leg this settles: its status, coefficient and void reason.
    pub fn leg_status(&self) -> LegStatus {
        match self.status {
            BetStatus::Won => LegStatus::Won,
            BetStatus::Lost => LegStatus::Lost,
            BetStatus::Void | BetStatus::Pending | BetStatus::CashedOut => LegStatus::Void,
        }
    }
}

/// How a whole bet stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetSettled {
    /// Won, lost or void.
    pub status: BetStatus,
    /// What it pays (the stake when void).
    pub payout: Decimal,
    /// The odds it was settled at when won, or lost with every leg
    /// decided: the product of its legs' settled coefficients, a void leg
    /// counting 1.00.
    pub price: Option<Price>,
    /// Why it is void, when it is: `Late` when any leg was late, else
    /// `Cancelled`.
    pub void_reason: Option<VoidReason>,
}

/// How a bet of `amount` stands on its `legs` (each as [`settle`] decided
/// it, or pending): `Lost` as soon as one leg lost, paying 0.00; while no
/// leg lost and one is open, `None` (still pending); when every leg is void,
/// `Void`, the stake back; else `Won`, paying
/// `round_half_up(amount × Π settled coefficients of the legs not void, 2)`.
/// A single is a bet of one leg, and this is [`settle`] on it.
///
/// This is the definition; the settlement statement applies it in bulk in
/// SQL and `tests/rules_in_sql.rs` holds it to this function.
pub fn settle_bet(amount: BetSum, legs: &[Leg]) -> Option<BetSettled> {
    let decided = legs.iter().all(|leg| leg.status != LegStatus::Pending);
    let price = || Price::of(legs.iter().filter_map(|leg| leg.settled_coefficient));
    if legs.iter().any(|leg| leg.status == LegStatus::Lost) {
        return Some(BetSettled {
            status: BetStatus::Lost,
            payout: Decimal::new(0, 2),
            price: decided.then(price),
            void_reason: None,
        });
    }
    if !decided || legs.is_empty() {
        return None;
    }
    if legs.iter().all(|leg| leg.status == LegStatus::Void) {
        let mut stake = amount.value();
        stake.rescale(2);
        let late = legs
            .iter()
            .any(|leg| leg.void_reason == Some(VoidReason::Late));
        return Some(BetSettled {
            status: BetStatus::Void,
            payout: stake,
            price: None,
            void_reason: Some(if late {
                VoidReason::Late
            } else {
                VoidReason::Cancelled
            }),
        });
    }
    let price = price();
    Some(BetSettled {
        status: BetStatus::Won,
        payout: price.payout(amount),
        price: Some(price),
        void_reason: None,
    })
}

/// What a pending bet of `amount` on `legs` would pay if every open leg
/// won: the product of the decided legs' settled coefficients (a void leg
/// 1.00) and the open legs' locked ones, times the stake, to the cent. At
/// placement, the bet's potential payout; the event exposures of its open
/// legs count it.
pub fn potential_payout_of(amount: BetSum, legs: &[Leg]) -> Decimal {
    paying_price(legs).payout(amount)
}

/// The odds `legs` pay at were every open leg to win: the decided legs'
/// settled coefficients (a void leg 1.00) and the open legs' locked ones.
/// What a pending bet's exposure counts, and its cash-out is priced from.
pub fn paying_price(legs: &[Leg]) -> Price {
    Price::of(legs.iter().filter_map(|leg| match leg.status {
        LegStatus::Pending => Some(leg.coefficient),
        LegStatus::Won | LegStatus::Lost => leg.settled_coefficient,
        LegStatus::Void => None,
    }))
}

#[cfg(test)]
#[path = "settling_tests.rs"]
mod tests;
