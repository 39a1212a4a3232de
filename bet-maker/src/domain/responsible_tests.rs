use chrono::TimeZone;
use proptest::prelude::*;
use rust_decimal::dec;

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, day, hour, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a valid time"))
}

#[test]
fn lowering_or_a_first_limit_applies_at_once() {
    let none = Limit::default();
    let first = none.change(Some(dec!(100.00)), at(1, 0));
    assert_eq!(
        first,
        Limit {
            current: Some(dec!(100.00)),
            pending: None
        }
    );
    let lower = first.change(Some(dec!(50.00)), at(1, 1));
    assert_eq!(
        lower,
        Limit {
            current: Some(dec!(50.00)),
            pending: None
        }
    );
}

#[test]
fn raising_or_removing_waits_a_day_and_then_applies() {
    let limit = Limit {
        current: Some(dec!(50.00)),
        pending: None,
    };
    let raised = limit.change(Some(dec!(500.00)), at(1, 0));
    let waiting = PendingLimit {
        amount: Some(dec!(500.00)),
        effective_at: at(2, 0),
    };
    assert_eq!(
        raised,
        Limit {
            current: Some(dec!(50.00)),
            pending: Some(waiting)
        }
    );
    // Until the day has passed, the lower limit is in force.
    assert_eq!(raised.at(at(1, 23)).current, Some(dec!(50.00)));
    assert_eq!(
        raised.at(at(2, 0)),
        Limit {
            current: Some(dec!(500.00)),
            pending: None
        }
    );

    let removed = limit.change(None, at(1, 0));
    assert_eq!(
        removed.pending,
        Some(PendingLimit {
            amount: None,
            effective_at: at(2, 0)
        })
    );
    assert_eq!(removed.at(at(1, 12)).current, Some(dec!(50.00)));
    assert_eq!(removed.at(at(2, 0)), Limit::default());
}

#[test]
fn a_pending_raise_is_dropped_by_lowering_or_asking_for_the_limit_in_force() {
    let raised = Limit {
        current: Some(dec!(50.00)),
        pending: None,
    }
    .change(Some(dec!(500.00)), at(1, 0));
    assert_eq!(
        raised.change(Some(dec!(50.00)), at(1, 2)),
        Limit {
            current: Some(dec!(50.00)),
            pending: None
        }
    );
    assert_eq!(
        raised.change(Some(dec!(20.00)), at(1, 2)),
        Limit {
            current: Some(dec!(20.00)),
            pending: None
        }
    );
    // A second raise starts the day again.
    let again = raised.change(Some(dec!(80.00)), at(1, 12));
    assert_eq!(again.pending.map(|p| p.effective_at), Some(at(2, 12)));
}

proptest! {
    /// Whatever a bettor asks, and in whatever order: the limit in force an
    /// instant later is never higher than the one before, except through a
    /// change asked for at least a day earlier.
    #[test]
    fn no_limit_rises_sooner_than_a_day(requests in prop::collection::vec((0u32..48, prop::option::of(0i64..1_000)), 1..20)) {
        let mut limit = Limit { current: Some(dec!(5.00)), pending: None };
        let mut now = at(1, 0);
        for (hours, amount) in requests {
            now += Duration::hours(i64::from(hours));
            let before = limit.at(now).current;
            limit = limit.change(amount.map(|cents| Decimal::new(cents, 2)), now);
            let after = limit.at(now).current;
            let higher = match (after, before) {
                (None, Some(_)) => true,
                (Some(after), Some(before)) => after > before,
                _ => false,
            };
            prop_assert!(!higher, "{before:?} rose to {after:?} at once");
            if let Some(pending) = limit.pending {
                prop_assert_eq!(pending.effective_at, now + RAISE_DELAY);
            }
        }
    }
}

#[test]
fn a_deposit_past_the_tightest_limit_is_refused_with_what_remains() {
    let limits = [
        (LimitPeriod::Daily, dec!(100.00)),
        (LimitPeriod::Weekly, dec!(150.00)),
    ];
    let deposited = |period| match period {
        LimitPeriod::Daily => dec!(30.00),
        LimitPeriod::Weekly => dec!(120.00),
        LimitPeriod::Monthly => dec!(120.00),
    };
    assert_eq!(check_deposit(&limits, deposited, dec!(30.00)), Ok(()));
    assert_eq!(
        check_deposit(&limits, deposited, dec!(30.01)),
        Err(DepositLimitReached {
            period: LimitPeriod::Weekly,
            limit: dec!(150.00),
            remaining: dec!(30.00)
        })
    );
    // Over the limit already (it was lowered): nothing remains.
    let over = check_deposit(&[(LimitPeriod::Daily, dec!(10.00))], deposited, dec!(0.01));
    assert_eq!(over.map_err(|reached| reached.remaining), Err(dec!(0.00)));
    assert_eq!(check_deposit(&[], deposited, dec!(1000000.00)), Ok(()));
}

#[test]
fn windows_are_a_day_a_week_and_thirty_days() {
    assert_eq!(LimitPeriod::Daily.window(), Duration::hours(24));
    assert_eq!(LimitPeriod::Weekly.window(), Duration::hours(168));
    assert_eq!(LimitPeriod::Monthly.window(), Duration::hours(720));
}

#[test]
fn a_limit_is_zero_or_more_in_cents() {
    assert_eq!(limit_amount(dec!(0)), Ok(dec!(0.00)));
    assert_eq!(limit_amount(dec!(-0.00)), Ok(dec!(0.00)));
    assert_eq!(limit_amount(dec!(12.5)), Ok(dec!(12.50)));
    assert_eq!(limit_amount(dec!(-1)), Err(LimitAmountError::Negative));
    assert_eq!(limit_amount(dec!(1.001)), Err(LimitAmountError::TooPrecise));
    assert_eq!(
        limit_amount(MAX_BALANCE + dec!(0.01)),
        Err(LimitAmountError::TooLarge)
    );
}

#[test]
fn exclusions_last_as_long_as_their_kind_allows() {
    assert_eq!(
        ExclusionRequest::time_out(23),
        Err(ExclusionError::TimeOutHours)
    );
    assert_eq!(
        ExclusionRequest::time_out(1_009),
        Err(ExclusionError::TimeOutHours)
    );
    assert_eq!(
        ExclusionRequest::self_exclusion(3),
        Err(ExclusionError::SelfExclusionMonths)
    );
    let now = at(31, 12);
    let time_out = ExclusionRequest::time_out(24).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(time_out.until(now), Some(now + Duration::hours(24)));
    assert_eq!(
        ExclusionRequest::time_out(1_008)
            .unwrap_or_else(|e| panic!("{e}"))
            .until(now),
        Some(now + Duration::weeks(6))
    );
    // 31 August + 6 months: the last day of February.
    let months = ExclusionRequest::self_exclusion(6).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        months.until(now),
        Utc.with_ymd_and_hms(2027, 2, 28, 12, 0, 0).single()
    );
    assert_eq!(months.kind(), ExclusionKind::SelfExclusion);
    assert_eq!(ExclusionRequest::Permanent.until(now), None);
}

#[test]
fn the_longest_exclusion_still_running_is_the_one_that_counts() {
    let now = at(10, 0);
    assert_eq!(excluded_at([], now), None);
    assert_eq!(excluded_at([Some(at(10, 0)), Some(at(9, 0))], now), None);
    assert_eq!(
        excluded_at([Some(at(11, 0)), Some(at(20, 0)), Some(at(9, 0))], now),
        Some(Excluded::Until(at(20, 0)))
    );
    assert_eq!(
        excluded_at([Some(at(20, 0)), None], now),
        Some(Excluded::Permanently)
    );
}
