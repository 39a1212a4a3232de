use chrono::Duration;
use proptest::prelude::*;
use rust_decimal::dec;

use super::*;
use crate::domain::{BetSum, BettorId, Leg, StoredBet};

fn event(coefficient: Decimal, now: DateTime<Utc>) -> LineEvent {
    LineEvent {
        id: Uuid::now_v7(),
        coefficient,
        deadline: now + Duration::hours(1),
        status: LineEventStatus::New,
        version: 1,
    }
}

/// A pending bet of `stake` on these legs, each as given.
fn bet_on(stake: Decimal, legs: Vec<Leg>, now: DateTime<Utc>) -> Bet {
    Bet::restore(StoredBet {
        id: Uuid::now_v7(),
        bettor_id: BettorId::restore("alice".to_owned()),
        amount: stake,
        legs,
        status: BetStatus::Pending,
        payout: None,
        void_reason: None,
        placed_at: now,
        settled_at: None,
    })
}

fn won(leg: Leg, at: Decimal) -> Leg {
    Leg {
        status: LegStatus::Won,
        settled_coefficient: Some(at),
        ..leg
    }
}

#[test]
fn a_won_leg_and_an_open_one_quote_by_the_formula() {
    let now = Utc::now();
    let (first, second) = (event(dec!(1.85), now), event(dec!(2.10), now));
    let bet = bet_on(
        dec!(10.00),
        vec![
            won(Leg::open(first.id, dec!(1.85)), dec!(1.85)),
            Leg::open(second.id, dec!(2.10)),
        ],
        now,
    );
    // 10.00 × 1.85 × 2.10 / 2.10 × 0.95 = 17.575 → 17.57 (floored).
    let offer = cash_out_offer(&bet, &[first.clone(), second.clone()], dec!(0.05), now);
    assert_eq!(offer.as_ref().map(|o| o.amount), Ok(dec!(17.57)));
    // The open leg's odds drifted to 1.50: it is likelier to win, the bet
    // is worth more: 10.00 × 3.885 / 1.50 × 0.95 = 24.605 → 24.60.
    let drifted = LineEvent {
        coefficient: dec!(1.50),
        version: 2,
        ..second.clone()
    };
    assert_eq!(
        cash_out_offer(&bet, &[first, drifted], dec!(0.05), now).map(|o| o.amount),
        Ok(dec!(24.60))
    );
    assert_eq!(
        offer.map(|o| o.legs),
        Ok(vec![QuotedLeg {
            event_id: second.id,
            coefficient: dec!(2.10),
            status: LineEventStatus::New,
        }])
    );
}

#[test]
fn no_cash_out_once_settled_suspended_or_under_way() {
    let now = Utc::now();
    let open = event(dec!(2.00), now);
    let bet = bet_on(dec!(10.00), vec![Leg::open(open.id, dec!(2.00))], now);
    let suspended = LineEvent {
        status: LineEventStatus::Suspended,
        ..open.clone()
    };
    assert_eq!(
        cash_out_offer(&bet, &[suspended], dec!(0.05), now),
        Err(CashOutRefused::EventSuspended(open.id))
    );
    let started = LineEvent {
        deadline: now,
        ..open.clone()
    };
    assert_eq!(
        cash_out_offer(&bet, &[started], dec!(0.05), now),
        Err(CashOutRefused::EventClosed(open.id))
    );
    let decided = LineEvent {
        status: LineEventStatus::FinishedLose,
        ..open.clone()
    };
    assert_eq!(
        cash_out_offer(&bet, &[decided], dec!(0.05), now),
        Err(CashOutRefused::EventClosed(open.id))
    );
    assert_eq!(
        cash_out_offer(&bet, &[], dec!(0.05), now),
        Err(CashOutRefused::EventClosed(open.id)),
        "an event bet-maker does not know is not open"
    );
    let settled = Bet::restore(StoredBet {
        status: BetStatus::Won,
        payout: Some(dec!(20.00)),
        settled_at: Some(now),
        id: bet.id(),
        bettor_id: bet.bettor_id().clone(),
        amount: dec!(10.00),
        legs: vec![won(Leg::open(open.id, dec!(2.00)), dec!(2.00))],
        void_reason: None,
        placed_at: now,
    });
    assert_eq!(
        cash_out_offer(&settled, std::slice::from_ref(&open), dec!(0.05), now),
        Err(CashOutRefused::Settled)
    );
}

#[test]
fn a_quote_holds_only_while_its_events_are_unchanged() {
    let now = Utc::now();
    let open = event(dec!(2.00), now);
    let quoted = [QuotedLeg {
        event_id: open.id,
        coefficient: dec!(2.00),
        status: LineEventStatus::New,
    }];
    assert_eq!(
        check_quote_holds(&quoted, std::slice::from_ref(&open), now),
        Ok(())
    );
    let moved = LineEvent {
        coefficient: dec!(2.05),
        ..open.clone()
    };
    assert_eq!(
        check_quote_holds(&quoted, &[moved], now),
        Err(CashOutRefused::OddsChanged(open.id))
    );
    let suspended = LineEvent {
        status: LineEventStatus::Suspended,
        ..open.clone()
    };
    assert_eq!(
        check_quote_holds(&quoted, &[suspended], now),
        Err(CashOutRefused::EventSuspended(open.id))
    );
}

/// Legs of a generated bet: (locked odds in hundredths, how decided:
/// 0 open, 1 won at the lock, 2 void) and the current odds of the open ones.
fn legs() -> impl Strategy<Value = Vec<(i64, u8, i64)>> {
    proptest::collection::vec((101i64..=100_000, 0u8..=2, 101i64..=100_000), 1..=20)
}

proptest! {
    /// The quote is stake × Π paid-at / Π now × (1 − margin), floored to the
    /// cent, computed here independently in integers; never negative, two
    /// decimals, and a larger margin never quotes more.
    #[test]
    fn the_quote_is_the_formula_floored(
        cents in 1i64..=100_000_000_000,
        generated in legs(),
        margin_bp in 0i64..=9_999,
    ) {
        let now = Utc::now();
        let mut legs = Vec::new();
        let mut events = Vec::new();
        let (mut numerator, mut denominator) = (num_bigint::BigInt::from(cents), num_bigint::BigInt::from(1));
        for (locked, decided, current) in &generated {
            let locked_at = Decimal::new(*locked, 2);
            let mut live = event(Decimal::new(*current, 2), now);
            let leg = Leg::open(live.id, locked_at);
            match decided {
                0 => {
                    numerator *= *locked;
                    denominator *= *current;
                    legs.push(leg);
                }
                1 => {
                    numerator *= *locked;
                    denominator *= 100;
                    live.status = LineEventStatus::FinishedWin;
                    legs.push(won(leg, locked_at));
                }
                _ => {
                    live.status = LineEventStatus::Cancelled;
                    legs.push(Leg { status: LegStatus::Void, void_reason: Some(crate::domain::VoidReason::Cancelled), ..leg });
                }
            }
            events.push(live);
        }
        let bet = bet_on(Decimal::new(cents, 2), legs, now);
        let margin = Decimal::new(margin_bp, 4);
        let offer = cash_out_offer(&bet, &events, margin, now);
        if generated.iter().all(|(_, decided, _)| *decided != 0) {
            prop_assert_eq!(offer, Err(CashOutRefused::Settled));
            return Ok(());
        }
        let Ok(offer) = offer else {
            return Err(TestCaseError::fail(format!("refused: {offer:?}")));
        };
        // cents × Π / Π × (10000 − bp) / 10000, floored (all positive).
        let expected: num_bigint::BigInt = numerator * (10_000 - margin_bp) / (denominator * 10_000i64);
        let ceiling = num_bigint::BigInt::from(crate::domain::PAYOUT_CEILING.mantissa());
        let expected = Decimal::from_i128_with_scale(
            i128::try_from(expected.min(ceiling)).unwrap_or(i128::MAX), 2);
        prop_assert_eq!(offer.amount, expected);
        prop_assert!(offer.amount >= Decimal::ZERO);
        prop_assert_eq!(offer.amount.scale(), 2);
        let more = cash_out_offer(&bet, &events, (margin + dec!(0.0001)).min(Decimal::ONE), now)
            .map(|offer| offer.amount);
        prop_assert!(more.is_ok_and(|more| more <= offer.amount));
    }

    /// With no margin and the open legs' odds unchanged, a cash-out pays
    /// exactly the stake times the legs already won: the open legs are
    /// priced at even value.
    #[test]
    fn at_unchanged_odds_and_no_margin_the_open_legs_cost_nothing(
        cents in 1i64..=100_000_000,
        won_odds in proptest::collection::vec(101i64..=1_000, 0..=3),
        open_odds in proptest::collection::vec(101i64..=100_000, 1..=3),
    ) {
        let now = Utc::now();
        let mut legs = Vec::new();
        let mut events = Vec::new();
        for odds in &won_odds {
            let mut live = event(Decimal::new(*odds, 2), now);
            live.status = LineEventStatus::FinishedWin;
            legs.push(won(Leg::open(live.id, Decimal::new(*odds, 2)), Decimal::new(*odds, 2)));
            events.push(live);
        }
        for odds in &open_odds {
            let live = event(Decimal::new(*odds, 2), now);
            legs.push(Leg::open(live.id, Decimal::new(*odds, 2)));
            events.push(live);
        }
        let stake = Decimal::new(cents, 2);
        let bet = bet_on(stake, legs, now);
        let offer = cash_out_offer(&bet, &events, Decimal::ZERO, now).map(|o| o.amount);
        let won_price = Price::of(won_odds.iter().map(|o| Decimal::new(*o, 2)));
        // stake × Π won, floored (not rounded) to the cent.
        prop_assert_eq!(offer, Ok(won_price.floor_ratio(stake, &Price::one(), Decimal::ZERO)));
        let rounded = won_price.payout(BetSum::restore(stake));
        prop_assert!(offer.is_ok_and(|paid| paid <= rounded && rounded - paid <= dec!(0.01)));
    }
}
