//! A bet: one stake on one to [`MAX_LEGS`] events (a single, or an
//! accumulator), each leg at its locked coefficient; and the settlement rule
//! of one leg.

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::{BetSum, BettorId, LineEvent, LineEventStatus, Price, VoidReason};

/// The most legs a bet may have.
pub const MAX_LEGS: usize = 20;

/// Where a bet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BetStatus {
    /// Its outcome is not known yet: no leg lost, some leg is open.
    Pending,
    /// Every leg is decided and none lost: the bet pays amount × the product
    /// of its legs' coefficients (a void leg counts 1.00).
    Won,
    /// A leg lost: the bet pays nothing.
    Lost,
    /// Every leg is void (its event cancelled, or the bet late): it pays
    /// its stake back.
    Void,
    /// The bettor took the cash-out quote: it paid that, and its events
    /// never settle it again.
    CashedOut,
}

/// Where one leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegStatus {
    /// The leg's event has no result yet.
    Pending,
    /// The event finished as bet on.
    Won,
    /// It did not.
    Lost,
    /// The event was cancelled, or the bet was late: the leg counts 1.00.
    Void,
}

/// One leg of a bet: an event, the coefficient locked on it, and how the
/// event decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// The event.
    pub event_id: Uuid,
    /// The event's coefficient when the bet was placed.
    pub coefficient: Decimal,
    /// Pending until the event is decided.
    pub status: LegStatus,
    /// The coefficient the leg was settled at when won or lost: its own,
    /// or the lower one line-provider already offered when the bet was
    /// placed ([`super::settle`]).
    pub settled_coefficient: Option<Decimal>,
    /// Why the leg is void, when it is.
    pub void_reason: Option<VoidReason>,
}

impl Leg {
    /// An open leg on `event_id` at `coefficient`.
    pub fn open(event_id: Uuid, coefficient: Decimal) -> Self {
        Self {
            event_id,
            coefficient,
            status: LegStatus::Pending,
            settled_coefficient: None,
            void_reason: None,
        }
    }
}

/// Why the legs asked for cannot make a bet (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LegsError {
    /// No leg at all.
    #[error("a bet has at least one leg")]
    None,
    /// More than [`MAX_LEGS`].
    #[error("a bet has at most {MAX_LEGS} legs")]
    TooMany,
    /// Two legs on one event.
    #[error("event {0} appears in more than one leg")]
    Repeated(Uuid),
}

/// Whether these events can be the legs of one bet: 1 to [`MAX_LEGS`],
/// all distinct.
pub fn check_legs(event_ids: &[Uuid]) -> Result<(), LegsError> {
    if event_ids.is_empty() {
        return Err(LegsError::None);
    }
    if event_ids.len() > MAX_LEGS {
        return Err(LegsError::TooMany);
    }
    for (at, id) in event_ids.iter().enumerate() {
        if event_ids[..at].contains(id) {
            return Err(LegsError::Repeated(*id));
        }
    }
    Ok(())
}

/// A bet. Its fields are private: a bet comes into being only through
/// [`Bet::place`] (or is read back from storage), so every bet that exists
/// passed the rules of placing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bet {
    id: Uuid,
    bettor_id: BettorId,
    amount: BetSum,
    legs: Vec<Leg>,
    status: BetStatus,
    payout: Option<Decimal>,
    void_reason: Option<VoidReason>,
    placed_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

/// A bet as storage holds it, for [`Bet::restore`]; only this crate's
/// persistence builds one, from rows written by [`Bet::place`] and the
/// settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredBet {
    pub id: Uuid,
    pub bettor_id: BettorId,
    pub amount: Decimal,
    pub legs: Vec<Leg>,
    pub status: BetStatus,
    pub payout: Option<Decimal>,
    pub void_reason: Option<VoidReason>,
    pub placed_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// Why the rules refuse a bet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BetRefused {
    /// An event is finished or cancelled, or its deadline has passed.
    #[error("the event is closed for betting")]
    EventClosed,
    /// line-provider suspended betting on an event, for now.
    #[error("betting on the event is suspended")]
    EventSuspended,
    /// A coefficient moved since the bettor saw it, and they did not
    /// accept the move (see [`super::OddsRequest`]).
    #[error(transparent)]
    OddsChanged(#[from] super::OddsChanged),
}

impl Bet {
    /// A new pending bet of `bettor_id` on `events` (its legs, in this
    /// order, each at the event's current coefficient), placed `now` (kept
    /// to the microsecond, as stored). The events are distinct and 1 to
    /// [`MAX_LEGS`] ([`check_legs`]).
    pub fn place(
        id: Uuid,
        bettor_id: BettorId,
        events: &[&LineEvent],
        amount: BetSum,
        now: DateTime<Utc>,
    ) -> Result<Self, BetRefused> {
        if events.iter().any(|event| event.is_suspended_at(now)) {
            return Err(BetRefused::EventSuspended);
        }
        if events.iter().any(|event| !event.is_open_at(now)) {
            return Err(BetRefused::EventClosed);
        }
        Ok(Self {
            id,
            bettor_id,
            amount,
            legs: events
                .iter()
                .map(|event| Leg::open(event.id, event.coefficient))
                .collect(),
            status: BetStatus::Pending,
            payout: None,
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
            amount: BetSum::restore(stored.amount),
            legs: stored.legs,
            status: stored.status,
            payout: stored.payout,
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

    /// Its legs, in the order they were asked for.
    pub fn legs(&self) -> &[Leg] {
        &self.legs
    }

    /// The event of a single (a bet of one leg); `None` for an accumulator.
    pub fn single_event(&self) -> Option<Uuid> {
        match self.legs.as_slice() {
            [leg] => Some(leg.event_id),
            _ => None,
        }
    }

    /// The stake.
    pub fn amount(&self) -> BetSum {
        self.amount
    }

    /// The odds locked when the bet was placed: the exact product of its
    /// legs' coefficients.
    pub fn price(&self) -> Price {
        Price::of(self.legs.iter().map(|leg| leg.coefficient))
    }

    /// What it pays if it wins, at the locked odds.
    pub fn potential_payout(&self) -> Decimal {
        self.price().payout(self.amount)
    }

    /// Where the bet is.
    pub fn status(&self) -> BetStatus {
        self.status
    }

    /// What the bet pays once settled (or cashed out); `None` while
    /// pending.
    pub fn payout(&self) -> Option<Decimal> {
        self.payout
    }

    /// The odds it was settled at, when won, or lost with every leg
    /// decided: the product of its legs' settled coefficients, a void leg
    /// counting 1.00 ([`super::settle_bet`]).
    pub fn settled_price(&self) -> Option<Price> {
        let decided = self.legs.iter().all(|leg| leg.status != LegStatus::Pending);
        match self.status {
            BetStatus::Won | BetStatus::Lost if decided => Some(Price::of(
                self.legs.iter().filter_map(|leg| leg.settled_coefficient),
            )),
            _ => None,
        }
    }

    /// Why it is void (its events cancelled, or it was late), when it is.
    pub fn void_reason(&self) -> Option<VoidReason> {
        self.void_reason
    }

    /// When it was placed (to the microsecond, as stored).
    pub fn placed_at(&self) -> DateTime<Utc> {
        self.placed_at
    }

    /// When it was settled (or cashed out); `None` while pending.
    pub fn settled_at(&self) -> Option<DateTime<Utc>> {
        self.settled_at
    }

    /// The bet as it was when placed, before any settlement: what the
    /// response to placing it said.
    pub fn as_placed(&self) -> Self {
        Self {
            legs: self
                .legs
                .iter()
                .map(|leg| Leg::open(leg.event_id, leg.coefficient))
                .collect(),
            status: BetStatus::Pending,
            payout: None,
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
        let bet = Bet::place(Uuid::now_v7(), alice(), &[&event], stake(dec!(10)), now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bet.price().to_string(), "1.85");
        assert_eq!(bet.single_event(), Some(event.id));
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
            &[&open_event(now)],
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
                Bet::place(Uuid::now_v7(), alice(), &[&event], stake(dec!(10)), now),
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
