use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use rust_decimal::dec;

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_900_000_000 + seconds, 0)
        .single()
        .unwrap_or_default()
}

fn stake(amount: Decimal) -> BetSum {
    BetSum::new(amount, dec!(1000000.00)).unwrap_or_else(|e| panic!("{e}"))
}

fn bet(placed: i64, coefficient: Decimal, offered: Option<Decimal>) -> ToSettle {
    ToSettle {
        amount: stake(dec!(10.00)),
        coefficient,
        placed_at: at(placed),
        offered,
    }
}

#[test]
fn a_bet_placed_at_or_after_the_decision_is_void_whatever_the_result() {
    for result in [
        LineEventStatus::FinishedWin,
        LineEventStatus::FinishedLose,
        LineEventStatus::Cancelled,
    ] {
        for placed in [100, 101, 5_000] {
            assert_eq!(
                settle(bet(placed, dec!(900.00), None), result, at(100)),
                Some(Settled {
                    status: BetStatus::Void,
                    payout: dec!(10.00),
                    coefficient: None,
                    void_reason: Some(VoidReason::Late),
                }),
                "{result:?} placed {placed}"
            );
        }
    }
}

#[test]
fn a_bet_placed_before_the_decision_is_settled_by_the_result() {
    let won = settle(
        bet(99, dec!(1.85), None),
        LineEventStatus::FinishedWin,
        at(100),
    );
    assert_eq!(
        won,
        Some(Settled {
            status: BetStatus::Won,
            payout: dec!(18.50),
            coefficient: Some(dec!(1.85)),
            void_reason: None,
        })
    );
    let cancelled = settle(
        bet(99, dec!(1.85), None),
        LineEventStatus::Cancelled,
        at(100),
    );
    assert_eq!(
        cancelled.map(|s| (s.status, s.payout, s.void_reason)),
        Some((BetStatus::Void, dec!(10.00), Some(VoidReason::Cancelled)))
    );
    assert_eq!(
        settle(bet(99, dec!(1.85), None), LineEventStatus::New, at(100)),
        None
    );
    assert_eq!(
        settle(
            bet(99, dec!(1.85), None),
            LineEventStatus::Suspended,
            at(100)
        ),
        None
    );
}

#[test]
fn a_bet_at_odds_already_cut_pays_at_the_cut_and_never_more_than_its_own() {
    // 900.00 cut to 1.10 before the bet: paid at 1.10.
    let cut = settle(
        bet(50, dec!(900.00), Some(dec!(1.10))),
        LineEventStatus::FinishedWin,
        at(100),
    );
    assert_eq!(
        cut.map(|s| (s.payout, s.coefficient)),
        Some((dec!(11.00), Some(dec!(1.10))))
    );
    // Raised before the bet: the bet keeps its own, lower, odds.
    let raised = settle(
        bet(50, dec!(1.50), Some(dec!(2.00))),
        LineEventStatus::FinishedWin,
        at(100),
    );
    assert_eq!(
        raised.map(|s| (s.payout, s.coefficient)),
        Some((dec!(15.00), Some(dec!(1.50))))
    );
}

#[test]
fn the_offer_at_an_instant_is_that_of_the_newest_version_made_by_then() {
    let history = [
        Offered {
            version: 1,
            coefficient: dec!(900.00),
            since: at(0),
        },
        Offered {
            version: 2,
            coefficient: dec!(1.10),
            since: at(10),
        },
        Offered {
            version: 3,
            coefficient: dec!(1.10),
            since: at(20),
        },
    ];
    assert_eq!(offered_at(&history, at(-1)), None);
    assert_eq!(offered_at(&history, at(0)), Some(dec!(900.00)));
    assert_eq!(offered_at(&history, at(9)), Some(dec!(900.00)));
    assert_eq!(offered_at(&history, at(10)), Some(dec!(1.10)));
    assert_eq!(
        offered_at(&history, at(10) + Duration::days(9)),
        Some(dec!(1.10))
    );
    assert_eq!(offered_at(&[], at(10)), None);
}

proptest! {
    /// A settled bet never pays more than it would at its own odds before
    /// the decision, and a late one pays exactly its stake back.
    #[test]
    fn settlement_never_pays_more_than_the_bet_was_offered(
        cents in 1i64..=100_000_000,
        odds in 101i64..=100_000,
        offered in proptest::option::of(101i64..=100_000),
        placed in -1_000i64..=1_000,
        result in prop_oneof![
            Just(LineEventStatus::FinishedWin),
            Just(LineEventStatus::FinishedLose),
            Just(LineEventStatus::Cancelled),
        ],
    ) {
        let amount = stake(Decimal::new(cents, 2));
        let coefficient = Decimal::new(odds, 2);
        let to_settle = ToSettle {
            amount,
            coefficient,
            placed_at: at(placed),
            offered: offered.map(|o| Decimal::new(o, 2)),
        };
        let settled = settle(to_settle, result, at(0));
        prop_assert!(settled.is_some());
        let settled = settled.unwrap_or_else(|| unreachable!());
        let at_own_odds = payout(amount, coefficient, result).map(|(_, paid)| paid);
        prop_assert!(Some(settled.payout) <= at_own_odds.max(Some(amount.value())));
        if placed >= 0 {
            prop_assert_eq!(settled.status, BetStatus::Void);
            prop_assert_eq!(settled.payout, amount.value());
            prop_assert_eq!(settled.void_reason, Some(VoidReason::Late));
        }
        if let (Some(used), Some(offered)) = (settled.coefficient, to_settle.offered) {
            prop_assert!(used <= offered && used <= coefficient);
        }
    }
}
