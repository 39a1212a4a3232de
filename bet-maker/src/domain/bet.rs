//! A bet, and the settlement rule.

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::{BetSum, BettorId, LineEvent, LineEventStatus, VoidReason};

/// Where a bet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BetStatus {
    /// The event has no result yet.
    Pending,
    /// The event finished as bet on: the bet pays amount × coefficient.
    Won,
    /// It did not: the bet pays nothing.
    Lost,
    /// The event was cancelled, or the bet was late: it pays its stake
    /// back.
    Void,
}

/// A bet on an event. Its fields are private: a bet comes into being only
/// through [`Bet::place`] (or is read back from storage), so every bet that
/// exists passed the rules of placing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bet {
    id: Uuid,
    bettor_id: BettorId,
    event_id: Uuid,
    amount: BetSum,
    coefficient: Decimal,
    status: BetStatus,
    payout: Option<Decimal>,
    settled_coefficient: Option<Decimal>,
    void_reason: Option<VoidReason>,
    placed_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

/// A bet as storage holds it, for [`Bet::restore`]; only this crate's
/// persistence builds one, from a row written by [`Bet::place`] and the
/// settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredBet {
    pub id: Uuid,
    pub bettor_id: BettorId,
    pub event_id: Uuid,
    pub amount: Decimal,
    pub coefficient: Decimal,
    pub status: BetStatus,
    pub payout: Option<Decimal>,
    pub settled_coefficient: Option<Decimal>,
    pub void_reason: Option<VoidReason>,
    pub placed_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// Why the rules refuse a bet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BetRefused {
    /// The event is finished or cancelled, or its deadline has passed.
    #[error("the event is closed for betting")]
    EventClosed,
    /// line-provider suspended betting on the event, for now.
    #[error("betting on the event is suspended")]
    EventSuspended,
    /// The coefficient moved since the bettor saw it, and they did not
    /// accept the move (see [`super::OddsRequest`]).
    #[error(transparent)]
    OddsChanged(#[from] super::OddsChanged),
}

impl Bet {
    /// A new pending bet of `bettor_id` on `event`, at the event's current
    /// coefficient, placed `now` (kept to the microsecond, as stored).
    pub fn place(
        id: Uuid,
        bettor_id: BettorId,
        event: &LineEvent,
        amount: BetSum,
        now: DateTime<Utc>,
    ) -> Result<Self, BetRefused> {
        if event.is_suspended_at(now) {
            return Err(BetRefused::EventSuspended);
        }
        if !event.is_open_at(now) {
            return Err(BetRefused::EventClosed);
        }
        Ok(Self {
            id,
            bettor_id,
            event_id: event.id,
            amount,
            coefficient: event.coefficient,
            status: BetStatus::Pending,
            payout: None,
            settled_coefficient: None,
            void_reason: None,
            placed_at: now.trunc_subsecs(6),
            settled_at: None,
        })
    }
}

impl Bet {
    /// A bet read back from storage: it was placed (and maybe settled) by
    /// the rules before it was stored, so nothing is checked again.
    pub(crate) fn restore(stored: StoredBet) -> Self {
        Self {
            id: stored.id,
            bettor_id: stored.bettor_id,
            event_id: stored.event_id,
            amount: BetSum::restore(stored.amount),
            coefficient: stored.coefficient,
            status: stored.status,
            payout: stored.payout,
            settled_coefficient: stored.settled_coefficient,
            void_reason: stored.void_reason,
            placed_at: stored.placed_at,
            settled_at: stored.settled_at,
        }
    }

    /// The bet's id (UUID v7, chosen by the server).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The bettor who placed it: the only one who sees it.
    pub fn bettor_id(&self) -> &BettorId {
        &self.bettor_id
    }

    /// The event bet on.
    pub fn event_id(&self) -> Uuid {
        self.event_id
    }

    /// The stake.
    pub fn amount(&self) -> BetSum {
        self.amount
    }

    /// The event's coefficient when the bet was placed: the odds are locked.
    pub fn coefficient(&self) -> Decimal {
        self.coefficient
    }

    /// Pending until the event's result arrives.
    pub fn status(&self) -> BetStatus {
        self.status
    }

    /// What the bet pays once settled; `None` while pending.
    pub fn payout(&self) -> Option<Decimal> {
        self.payout
    }

    /// The coefficient it was settled at: its own, or the lower one
    /// line-provider already offered when it was placed (`domain::settle`);
    /// `None` while pending and when void.
    pub fn settled_coefficient(&self) -> Option<Decimal> {
        self.settled_coefficient
    }

    /// Why it is void (cancelled, or late), when it is.
    pub fn void_reason(&self) -> Option<VoidReason> {
        self.void_reason
    }

    /// When it was placed (to the microsecond, as stored).
    pub fn placed_at(&self) -> DateTime<Utc> {
        self.placed_at
    }

    /// When it was settled; `None` while pending.
    pub fn settled_at(&self) -> Option<DateTime<Utc>> {
        self.settled_at
    }

    /// The bet as it was when placed, before any settlement: what the
    /// response to placing it said.
    pub fn as_placed(&self) -> Self {
        Self {
            status: BetStatus::Pending,
            payout: None,
            settled_coefficient: None,
            void_reason: None,
            settled_at: None,
            ..self.clone()
        }
    }
}

/// What a bet of `amount` at `coefficient` pays for an event that ended with
/// `result`: amount × coefficient rounded half-up to the cent when won,
/// 0.00 when lost, the stake when the event was cancelled (void); `None`
/// while the event has no final status.
///
/// This is the definition. The settlement statement applies it in bulk in
/// SQL (`round(amount * coefficient, 2)`, `0.00`, `amount`), and
/// `tests/rules_in_sql.rs` runs that statement on a real database against
/// this function.
pub fn payout(
    amount: BetSum,
    coefficient: Decimal,
    result: LineEventStatus,
) -> Option<(BetStatus, Decimal)> {
    match result {
        LineEventStatus::New | LineEventStatus::Suspended => None,
        LineEventStatus::FinishedWin => {
            let mut paid = (amount.value() * coefficient)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            paid.rescale(2);
            Some((BetStatus::Won, paid))
        }
        LineEventStatus::FinishedLose => Some((BetStatus::Lost, Decimal::new(0, 2))),
        LineEventStatus::Cancelled => {
            let mut stake = amount.value();
            stake.rescale(2);
            Some((BetStatus::Void, stake))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn stake(amount: Decimal) -> BetSum {
        BetSum::new(amount, dec!(1000000)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn alice() -> BettorId {
        BettorId::parse("alice").unwrap_or_else(|e| panic!("{e}"))
    }

    fn open_event(now: DateTime<Utc>) -> LineEvent {
        LineEvent {
            id: Uuid::now_v7(),
            coefficient: dec!(1.85),
            deadline: now + Duration::hours(1),
            status: LineEventStatus::New,
            version: 1,
        }
    }

    #[test]
    fn a_bet_locks_the_coefficient_and_starts_pending() {
        let now = Utc::now();
        let event = open_event(now);
        let bet = Bet::place(Uuid::now_v7(), alice(), &event, stake(dec!(10)), now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bet.coefficient(), dec!(1.85));
        assert_eq!(bet.status(), BetStatus::Pending);
        assert_eq!(bet.payout(), None);
        assert_eq!(bet.settled_at(), None);
    }

    #[test]
    fn a_settled_bet_as_placed_is_the_pending_bet_it_was() {
        let now = Utc::now();
        let placed = Bet::place(
            Uuid::now_v7(),
            alice(),
            &open_event(now),
            stake(dec!(10)),
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let settled = Bet {
            status: BetStatus::Won,
            payout: Some(dec!(18.50)),
            settled_at: Some(now),
            ..placed.clone()
        };
        assert_eq!(settled.as_placed(), placed);
    }

    #[test]
    fn a_closed_event_takes_no_bets() {
        let now = Utc::now();
        let late = LineEvent {
            deadline: now,
            ..open_event(now)
        };
        let finished = LineEvent {
            status: LineEventStatus::FinishedLose,
            ..open_event(now)
        };
        let cancelled = LineEvent {
            status: LineEventStatus::Cancelled,
            ..open_event(now)
        };
        for event in [late, finished, cancelled] {
            assert_eq!(
                Bet::place(Uuid::now_v7(), alice(), &event, stake(dec!(10)), now),
                Err(BetRefused::EventClosed)
            );
        }
    }

    #[test]
    fn a_win_pays_the_stake_times_the_odds_rounded_half_up_to_the_cent() {
        assert_eq!(
            payout(stake(dec!(10.50)), dec!(1.85), LineEventStatus::FinishedWin),
            Some((BetStatus::Won, dec!(19.43))) // 19.425 rounds up
        );
        assert_eq!(
            payout(stake(dec!(0.01)), dec!(1.50), LineEventStatus::FinishedWin),
            Some((BetStatus::Won, dec!(0.02))) // 0.015 rounds up
        );
        assert_eq!(
            payout(
                stake(dec!(1000000)),
                dec!(1000),
                LineEventStatus::FinishedWin
            ),
            Some((BetStatus::Won, dec!(1000000000.00)))
        );
    }

    #[test]
    fn a_loss_pays_nothing_and_no_result_settles_nothing() {
        assert_eq!(
            payout(stake(dec!(10)), dec!(1.85), LineEventStatus::FinishedLose)
                .map(|(s, p)| (s, p.to_string())),
            Some((BetStatus::Lost, "0.00".to_owned()))
        );
        assert_eq!(
            payout(stake(dec!(10)), dec!(1.85), LineEventStatus::New),
            None
        );
    }

    #[test]
    fn a_void_bet_pays_its_stake_back_to_the_cent() {
        assert_eq!(
            payout(stake(dec!(10.5)), dec!(1.85), LineEventStatus::Cancelled)
                .map(|(s, p)| (s, p.to_string())),
            Some((BetStatus::Void, "10.50".to_owned()))
        );
    }

    proptest! {
        /// A void bet pays exactly its stake, whatever the odds.
        #[test]
        fn a_void_bet_pays_the_stake(cents in 1i64..=100_000_000, odds in 101i64..=100_000) {
            let amount = stake(Decimal::new(cents, 2));
            let settled = payout(amount, Decimal::new(odds, 2), LineEventStatus::Cancelled);
            prop_assert_eq!(settled, Some((BetStatus::Void, amount.value())));
            prop_assert_eq!(settled.map(|(_, paid)| paid.scale()), Some(2));
        }

        /// A winning payout is within half a cent of the exact product, has
        /// two decimals, and never pays less than the stake (odds > 1).
        #[test]
        fn a_win_pays_the_product_to_the_cent(cents in 1i64..=100_000_000, odds in 101i64..=100_000) {
            let amount = stake(Decimal::new(cents, 2));
            let coefficient = Decimal::new(odds, 2);
            let Some((status, paid)) = payout(amount, coefficient, LineEventStatus::FinishedWin) else {
                return Err(TestCaseError::fail("a win settles"));
            };
            let exact = amount.value() * coefficient;
            prop_assert_eq!(status, BetStatus::Won);
            prop_assert_eq!(paid.scale(), 2);
            prop_assert!((paid - exact).abs() <= dec!(0.005));
            prop_assert!(paid >= amount.value());
        }
    }
}
