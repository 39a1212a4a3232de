use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::{Decimal, dec};

use super::*;
use crate::domain::{LineEventStatus, payout};

const MAX: Decimal = dec!(1000000.00);

fn sum(value: Decimal) -> BetSum {
    BetSum::new(value, MAX).unwrap()
}

/// A posting's entries by account, and its statement line.
fn posted(posting: &Posting) -> (Vec<(Account, Decimal)>, Option<WalletLine>) {
    let mut by_account: Vec<(Account, Decimal)> = posting
        .entries()
        .iter()
        .map(|entry| (entry.account, entry.amount))
        .collect();
    by_account.sort();
    (by_account, posting.wallet_line())
}

#[test]
fn each_movement_posts_what_the_table_says() {
    assert_eq!(
        posted(&deposit(sum(dec!(100.00)))),
        (
            vec![
                (Account::Wallet, dec!(100.00)),
                (Account::HouseCash, dec!(-100.00))
            ],
            Some(WalletLine::Deposit)
        )
    );
    assert_eq!(
        posted(&stake(sum(dec!(10.00)))),
        (
            vec![
                (Account::Wallet, dec!(-10.00)),
                (Account::StakesHeld, dec!(10.00))
            ],
            Some(WalletLine::Stake)
        )
    );
    // 10.00 at 1.85 wins 18.50: 10.00 from the stakes held, 8.50 from the house.
    assert_eq!(
        posted(&settlement(sum(dec!(10.00)), BetStatus::Won, dec!(18.50)).unwrap()),
        (
            vec![
                (Account::Wallet, dec!(18.50)),
                (Account::StakesHeld, dec!(-10.00)),
                (Account::HouseResult, dec!(-8.50))
            ],
            Some(WalletLine::Payout)
        )
    );
    assert_eq!(
        posted(&settlement(sum(dec!(10.00)), BetStatus::Lost, dec!(0.00)).unwrap()),
        (
            vec![
                (Account::StakesHeld, dec!(-10.00)),
                (Account::HouseResult, dec!(10.00))
            ],
            None
        )
    );
    assert_eq!(
        posted(&settlement(sum(dec!(10.00)), BetStatus::Void, dec!(10.00)).unwrap()),
        (
            vec![
                (Account::Wallet, dec!(10.00)),
                (Account::StakesHeld, dec!(-10.00))
            ],
            Some(WalletLine::Refund)
        )
    );
    assert_eq!(
        settlement(sum(dec!(10.00)), BetStatus::Pending, dec!(0.00)),
        None
    );
}

#[test]
fn more_than_the_balance_is_refused_saying_the_balance() {
    let refused = InsufficientFunds {
        balance: dec!(5.00),
        wanted: dec!(5.01),
    };
    assert_eq!(withdrawal(sum(dec!(5.01)), dec!(5.00)), Err(refused));
    assert_eq!(
        check_funds(&stake(sum(dec!(5.01))), dec!(5.00)),
        Err(refused)
    );
    assert!(withdrawal(sum(dec!(5.00)), dec!(5.00)).is_ok());
    let take = |amount| Adjustment::new(amount, MAX).unwrap();
    assert_eq!(adjustment(take(dec!(-5.01)), dec!(5.00)), Err(refused));
    assert!(adjustment(take(dec!(-5.00)), dec!(5.00)).is_ok());
    assert!(adjustment(take(dec!(5.01)), dec!(0.00)).is_ok());
}

#[test]
fn a_withdrawal_waits_in_the_house_until_paid_or_returned() {
    assert_eq!(
        posted(&withdrawal(sum(dec!(30.00)), dec!(30.00)).unwrap()),
        (
            vec![
                (Account::Wallet, dec!(-30.00)),
                (Account::WithdrawalsPending, dec!(30.00))
            ],
            Some(WalletLine::Withdrawal)
        )
    );
    assert_eq!(
        posted(&withdrawal_paid(sum(dec!(30.00)))),
        (
            vec![
                (Account::HouseCash, dec!(30.00)),
                (Account::WithdrawalsPending, dec!(-30.00))
            ],
            None
        )
    );
    assert_eq!(
        posted(&withdrawal_returned(sum(dec!(30.00)))),
        (
            vec![
                (Account::Wallet, dec!(30.00)),
                (Account::WithdrawalsPending, dec!(-30.00))
            ],
            Some(WalletLine::WithdrawalReturned)
        )
    );
}

#[test]
fn an_adjustment_is_a_stakes_amount_either_way() {
    assert_eq!(
        Adjustment::new(dec!(-2.5), MAX).unwrap().value(),
        dec!(-2.50)
    );
    assert_eq!(Adjustment::new(dec!(2.5), MAX).unwrap().value(), dec!(2.50));
    assert_eq!(Adjustment::new(dec!(0), MAX), Err(BetSumError::NotPositive));
    assert_eq!(
        Adjustment::new(dec!(-0.001), MAX),
        Err(BetSumError::TooPrecise)
    );
    assert_eq!(
        Adjustment::new(dec!(-1000000.01), MAX),
        Err(BetSumError::AboveMaximum(MAX))
    );
    assert!(check_funds(&stake(sum(dec!(5.00))), dec!(5.00)).is_ok());
}

/// What a bettor may do next.
#[derive(Debug, Clone)]
enum Movement {
    Deposit(i64),
    Withdraw(i64),
    /// The provider's verdict on a pending withdrawal: paid or not.
    Decide(usize, bool),
    /// A cashier's adjustment, signed.
    Adjust(i64),
    Bet(i64, i64),
    Settle(usize, LineEventStatus),
}

fn movements() -> impl Strategy<Value = Vec<Movement>> {
    let cents = 1..=100_000i64;
    let coefficient = 101..=100_000i64;
    let result = prop_oneof![
        Just(LineEventStatus::FinishedWin),
        Just(LineEventStatus::FinishedLose),
        Just(LineEventStatus::Cancelled)
    ];
    prop::collection::vec(
        prop_oneof![
            cents.clone().prop_map(Movement::Deposit),
            cents.clone().prop_map(Movement::Withdraw),
            (0..5usize, any::<bool>()).prop_map(|(index, paid)| Movement::Decide(index, paid)),
            (-100_000..=100_000i64)
                .prop_filter("not zero", |cents| *cents != 0)
                .prop_map(Movement::Adjust),
            (cents, coefficient).prop_map(|(stake, odds)| Movement::Bet(stake, odds)),
            (0..20usize, result).prop_map(|(bet, result)| Movement::Settle(bet, result)),
        ],
        1..60,
    )
}

proptest! {
    /// Whatever a bettor does, in any order: every posting sums to zero,
    /// the wallet never goes below zero (what it cannot cover is refused),
    /// and what came in (deposits and adjustments, less withdrawals paid)
    /// = wallet + stakes held + withdrawals pending + the house's result.
    #[test]
    fn money_is_conserved_and_no_wallet_goes_negative(movements in movements()) {
        let mut balances: BTreeMap<Account, Decimal> = BTreeMap::new();
        let mut pending: Vec<(BetSum, Decimal)> = Vec::new();
        let mut brought_in = Decimal::ZERO;
        let mut withdrawals: Vec<BetSum> = Vec::new();
        for movement in movements {
            let wallet = balances.get(&Account::Wallet).copied().unwrap_or_default();
            let posting = match movement {
                Movement::Deposit(cents) => {
                    brought_in += Decimal::new(cents, 2);
                    Some(deposit(sum(Decimal::new(cents, 2))))
                }
                Movement::Withdraw(cents) => {
                    let posting = withdrawal(sum(Decimal::new(cents, 2)), wallet).ok();
                    if posting.is_some() {
                        withdrawals.push(sum(Decimal::new(cents, 2)));
                    }
                    posting
                }
                Movement::Decide(index, paid) if index < withdrawals.len() => {
                    let amount = withdrawals.remove(index);
                    if paid {
                        brought_in -= amount.value();
                        Some(withdrawal_paid(amount))
                    } else {
                        Some(withdrawal_returned(amount))
                    }
                }
                Movement::Decide(..) => None,
                Movement::Adjust(cents) => {
                    let amount = Adjustment::new(Decimal::new(cents, 2), MAX).unwrap();
                    let posting = adjustment(amount, wallet).ok();
                    if posting.is_some() {
                        brought_in += amount.value();
                    }
                    posting
                }
                Movement::Bet(cents, odds) => {
                    let posting = stake(sum(Decimal::new(cents, 2)));
                    let posting = check_funds(&posting, wallet).is_ok().then_some(posting);
                    if posting.is_some() {
                        pending.push((sum(Decimal::new(cents, 2)), Decimal::new(odds, 2)));
                    }
                    posting
                }
                Movement::Settle(index, result) if index < pending.len() => {
                    let (amount, coefficient) = pending.remove(index);
                    let (status, paid) = payout(amount, coefficient, result).unwrap();
                    settlement(amount, status, paid)
                }
                Movement::Settle(..) => None,
            };
            let Some(posting) = posting else { continue };
            prop_assert_eq!(posting.total(), Decimal::ZERO);
            for entry in posting.entries() {
                *balances.entry(entry.account).or_default() += entry.amount;
            }
            let wallet = balances.get(&Account::Wallet).copied().unwrap_or_default();
            prop_assert!(wallet >= Decimal::ZERO, "wallet {}", wallet);
            let on = |account| balances.get(&account).copied().unwrap_or_default();
            prop_assert_eq!(-on(Account::HouseCash), brought_in);
            prop_assert_eq!(
                brought_in,
                on(Account::Wallet)
                    + on(Account::StakesHeld)
                    + on(Account::WithdrawalsPending)
                    + on(Account::HouseResult)
            );
            let reserved: Decimal = withdrawals.iter().map(|amount| amount.value()).sum();
            prop_assert_eq!(on(Account::WithdrawalsPending), reserved);
            let held: Decimal = pending.iter().map(|(amount, _)| amount.value()).sum();
            prop_assert_eq!(on(Account::StakesHeld), held);
        }
    }
}
