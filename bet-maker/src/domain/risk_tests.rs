use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

fn sum(cents: i64) -> BetSum {
    BetSum::restore(Decimal::new(cents, 2))
}

fn limits(liability: Decimal, max_liability: Decimal) -> RiskLimits {
    RiskLimits {
        bettor_max_stake: None,
        max_payout: dec!(10000000.00),
        liability,
        max_liability,
    }
}

fn room(balance: Decimal, limits: RiskLimits) -> StakeRoom {
    StakeRoom {
        balance,
        house_max_stake: dec!(1000000.00),
        limits,
    }
}

/// The price of a single at `coefficient`.
fn at(coefficient: Decimal) -> Price {
    Price::of([coefficient])
}

#[test]
fn liability_is_what_the_pending_bets_would_win_net() {
    let exposure = Exposure::default()
        .with(sum(1000), &at(dec!(2.50)))
        .with(sum(1050), &at(dec!(1.85)));
    assert_eq!(exposure.pending_bets, 2);
    assert_eq!(exposure.stakes, dec!(20.50));
    assert_eq!(exposure.potential_payout, dec!(44.43)); // 25.00 + 19.43
    assert_eq!(exposure.liability(), dec!(23.93));
}

#[test]
fn each_limit_refuses_by_its_own_name_in_order() {
    let open = limits(dec!(0), dec!(100.00));
    assert_eq!(check_risk(sum(10000), &at(dec!(2.00)), &open), Ok(()));
    assert_eq!(
        check_risk(sum(10001), &at(dec!(2.00)), &open),
        Err(LimitKind::Liability)
    );
    let capped = RiskLimits {
        bettor_max_stake: Some(dec!(50.00)),
        ..open
    };
    assert_eq!(
        check_risk(sum(10001), &at(dec!(2.00)), &capped),
        Err(LimitKind::Stake)
    );
    let small_payout = RiskLimits {
        max_payout: dec!(150.00),
        ..open
    };
    assert_eq!(
        check_risk(sum(10000), &at(dec!(2.00)), &small_payout),
        Err(LimitKind::Payout)
    );
}

#[test]
fn the_max_stake_is_the_smallest_of_every_bound() {
    // 100.00 of room at 2.00: stakes up to 100.00.
    assert_eq!(
        max_stake(
            &at(dec!(2.00)),
            &room(dec!(1000), limits(dec!(0), dec!(100)))
        ),
        dec!(100.00)
    );
    // The balance is smaller.
    assert_eq!(
        max_stake(
            &at(dec!(2.00)),
            &room(dec!(40.5), limits(dec!(0), dec!(100)))
        ),
        dec!(40.50)
    );
    // No room left.
    assert_eq!(
        max_stake(
            &at(dec!(2.00)),
            &room(dec!(1000), limits(dec!(100.01), dec!(100)))
        ),
        dec!(0.00)
    );
    // The payout cap: 3.00 × 333.33 = 999.99.
    let payout_capped = RiskLimits {
        max_payout: dec!(1000.00),
        ..limits(dec!(0), dec!(1000000))
    };
    assert_eq!(
        max_stake(&at(dec!(3.00)), &room(dec!(5000), payout_capped)),
        dec!(333.33)
    );
}

#[test]
fn a_trader_limit_is_zero_or_more_to_the_cent_up_to_the_bound() {
    assert_eq!(
        risk_limit(dec!(0)).map(|l| l.to_string()),
        Ok("0.00".to_owned())
    );
    assert_eq!(risk_limit(dec!(-0.01)), Err(RiskLimitError::Negative));
    assert_eq!(risk_limit(dec!(1.001)), Err(RiskLimitError::TooPrecise));
    assert_eq!(risk_limit(MAX_LIMIT), Ok(MAX_LIMIT));
    assert_eq!(
        risk_limit(MAX_LIMIT + dec!(0.01)),
        Err(RiskLimitError::TooLarge)
    );
}

proptest! {
    /// round(s × c, 2) − s never falls as the stake grows by a cent (c > 1):
    /// what makes bisection find the largest stake.
    #[test]
    fn the_net_win_grows_with_the_stake(cents in 1i64..=100_000_000_000, odds in 101i64..=100_000) {
        let c = Decimal::new(odds, 2);
        let net = |cents| potential_payout(sum(cents), &at(c)) - Decimal::new(cents, 2);
        prop_assert!(net(cents + 1) >= net(cents));
    }

    /// The quote fits every bound, and a cent more does not.
    #[test]
    fn the_max_stake_is_the_largest_that_fits(
        balance in 0i64..=200_000_000,
        cap in prop::option::of(0i64..=200_000_000),
        max_payout in 0i64..=2_000_000_000,
        liability in 0i64..=200_000_000,
        max_liability in 0i64..=200_000_000,
        odds in 101i64..=100_000,
    ) {
        let c = Decimal::new(odds, 2);
        let room = StakeRoom {
            balance: Decimal::new(balance, 2),
            house_max_stake: dec!(1000000.00),
            limits: RiskLimits {
                bettor_max_stake: cap.map(|cap| Decimal::new(cap, 2)),
                max_payout: Decimal::new(max_payout, 2),
                liability: Decimal::new(liability, 2),
                max_liability: Decimal::new(max_liability, 2),
            },
        };
        let quoted = max_stake(&at(c), &room);
        prop_assert_eq!(quoted.scale(), 2);
        let allowed = |amount: Decimal| {
            amount <= room.balance
                && amount <= room.house_max_stake
                && check_risk(BetSum::restore(amount), &at(c), &room.limits).is_ok()
        };
        if quoted > Decimal::ZERO {
            prop_assert!(allowed(quoted), "{} does not fit", quoted);
        }
        prop_assert!(!allowed(quoted + dec!(0.01)), "{} + 0.01 fits", quoted);
    }
}
