//! Money: what every movement posts to the ledger, by double entry.
//!
//! Five kinds of account hold money: each bettor's wallet, and four of the
//! house's. An account's balance is the sum of its entries, and every
//! posting's entries sum to zero, so money is only ever moved, never made
//! or lost:
//!
//! | account | its balance is |
//! | --- | --- |
//! | [`Account::Wallet`] | what the bettor may bet or withdraw (never negative) |
//! | [`Account::HouseCash`] | minus the cash bettors brought in, net of withdrawals |
//! | [`Account::StakesHeld`] | the stakes of bets not yet settled |
//! | [`Account::HouseResult`] | what the house has won (negative: lost) |
//! | [`Account::WithdrawalsPending`] | withdrawals asked for, not yet paid or returned |
//!
//! So at every moment: deposits + adjustments − withdrawals paid = wallets
//! + stakes held + withdrawals pending + the house's result.
//!
//! These functions are the definition. The statements that post in bulk
//! (placing a bet, settling an event) apply them in SQL, and
//! `tests/rules_in_sql.rs` holds those statements to these functions.

use rust_decimal::Decimal;

use super::{BetStatus, BetSum, BetSumError};

/// The most a wallet (and any ledger amount) can hold: what the ledger's
/// `NUMERIC(28, 2)` columns store (see `MAX_LIMIT` for why nothing a
/// bettor does gets there).
pub const MAX_BALANCE: Decimal = rust_decimal::dec!(99_999_999_999_999_999_999_999_999.99);

/// Where money sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// The bettor's wallet.
    Wallet,
    /// The house's counterpart of the cash bettors deposited.
    HouseCash,
    /// Stakes of pending bets.
    StakesHeld,
    /// The house's winnings (or losses).
    HouseResult,
    /// Money on its way out: withdrawals the provider has not paid yet.
    WithdrawalsPending,
}

impl Account {
    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "WALLET",
            Self::HouseCash => "HOUSE_CASH",
            Self::StakesHeld => "STAKES_HELD",
            Self::HouseResult => "HOUSE_RESULT",
            Self::WithdrawalsPending => "WITHDRAWALS_PENDING",
        }
    }
}

/// What a line of a bettor's wallet statement says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalletLine {
    /// Money paid in (the provider confirmed a deposit).
    Deposit,
    /// Money asked out: reserved for a withdrawal until the provider pays it.
    Withdrawal,
    /// A withdrawal the provider did not pay: its money back.
    WithdrawalReturned,
    /// A cashier's correction, either way, with a reason.
    Adjustment,
    /// A bet's stake taken.
    Stake,
    /// A won bet's payout.
    Payout,
    /// A voided bet's stake given back.
    Refund,
    /// A settled bet re-settled after line-provider corrected its event's
    /// result: the difference between what it paid and what it pays now,
    /// either way.
    Correction,
    /// A pending bet cashed out: the quote the bettor took.
    CashOut,
}

impl WalletLine {
    /// The name on the wire and in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "DEPOSIT",
            Self::Withdrawal => "WITHDRAWAL",
            Self::Stake => "STAKE",
            Self::Payout => "PAYOUT",
            Self::Refund => "REFUND",
            Self::CashOut => "CASH_OUT",
            Self::WithdrawalReturned => "WITHDRAWAL_RETURNED",
            Self::Adjustment => "ADJUSTMENT",
            Self::Correction => "CORRECTION",
        }
    }

    /// The line named as [`Self::as_str`] spells it.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Deposit,
            Self::Withdrawal,
            Self::Stake,
            Self::Payout,
            Self::Refund,
            Self::WithdrawalReturned,
            Self::Adjustment,
            Self::Correction,
            Self::CashOut,
        ]
        .into_iter()
        .find(|line| line.as_str() == text)
    }
}

/// One entry: an amount (signed) on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The account.
    pub account: Account,
    /// Positive adds to the account's balance, negative takes from it.
    pub amount: Decimal,
}

/// The entries of one movement of one bettor's money; they sum to zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    entries: Vec<Entry>,
    wallet_line: Option<WalletLine>,
}

impl Posting {
    fn new(wallet_line: Option<WalletLine>, entries: &[(Account, Decimal)]) -> Self {
        let entries = entries
            .iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|&(account, amount)| Entry { account, amount })
            .collect();
        Self {
            entries,
            wallet_line,
        }
    }

    /// Every entry, none zero.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How the wallet's balance changes (zero when it does not).
    pub fn wallet_change(&self) -> Decimal {
        self.on(Account::Wallet)
    }

    /// The sum of the entries on `account`.
    pub fn on(&self, account: Account) -> Decimal {
        self.entries
            .iter()
            .filter(|entry| entry.account == account)
            .map(|entry| entry.amount)
            .sum()
    }

    /// What the bettor's statement shows for it, if it touches the wallet.
    pub fn wallet_line(&self) -> Option<WalletLine> {
        self.wallet_line
    }

    /// The sum of every entry: zero, always.
    pub fn total(&self) -> Decimal {
        self.entries.iter().map(|entry| entry.amount).sum()
    }
}

/// A withdrawal or a stake larger than the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the balance is {balance}, less than the {wanted} asked for")]
pub struct InsufficientFunds {
    /// The wallet's balance.
    pub balance: Decimal,
    /// What was asked for.
    pub wanted: Decimal,
}

impl InsufficientFunds {
    /// Whether the wallet is below zero (a correction took back a payout
    /// already spent): then nothing leaves it, neither a stake nor a
    /// withdrawal, until a deposit covers it. The refusal says so
    /// (`negative-balance`) rather than blame the amount asked for.
    pub fn is_negative_balance(&self) -> bool {
        self.balance.is_sign_negative() && !self.balance.is_zero()
    }
}

/// Money paid into a wallet.
pub fn deposit(amount: BetSum) -> Posting {
    let amount = amount.value();
    Posting::new(
        Some(WalletLine::Deposit),
        &[(Account::Wallet, amount), (Account::HouseCash, -amount)],
    )
}

/// A withdrawal asked for from a wallet holding `balance`: the amount
/// leaves the wallet at once and waits in [`Account::WithdrawalsPending`]
/// until the provider pays it ([`withdrawal_paid`]) or does not
/// ([`withdrawal_returned`]).
pub fn withdrawal(amount: BetSum, balance: Decimal) -> Result<Posting, InsufficientFunds> {
    let amount = amount.value();
    let posting = Posting::new(
        Some(WalletLine::Withdrawal),
        &[
            (Account::Wallet, -amount),
            (Account::WithdrawalsPending, amount),
        ],
    );
    check_funds(&posting, balance)?;
    Ok(posting)
}

/// A withdrawal the provider paid: the money leaves the house's cash. The
/// wallet does not change (it did when the withdrawal was asked for).
pub fn withdrawal_paid(amount: BetSum) -> Posting {
    let amount = amount.value();
    Posting::new(
        None,
        &[
            (Account::WithdrawalsPending, -amount),
            (Account::HouseCash, amount),
        ],
    )
}

/// A withdrawal the provider did not pay: its money goes back to the
/// wallet.
pub fn withdrawal_returned(amount: BetSum) -> Posting {
    let amount = amount.value();
    Posting::new(
        Some(WalletLine::WithdrawalReturned),
        &[
            (Account::WithdrawalsPending, -amount),
            (Account::Wallet, amount),
        ],
    )
}

/// A cashier's adjustment of `amount` (signed: positive pays in, negative
/// takes out) to a wallet holding `balance`. The counterpart is the
/// house's cash, as for money a bettor brings to or takes from a cash
/// desk; the wallet never goes below zero.
pub fn adjustment(amount: Adjustment, balance: Decimal) -> Result<Posting, InsufficientFunds> {
    let amount = amount.value();
    let posting = Posting::new(
        Some(WalletLine::Adjustment),
        &[(Account::Wallet, amount), (Account::HouseCash, -amount)],
    );
    check_funds(&posting, balance)?;
    Ok(posting)
}

/// The amount of a cashier's adjustment: not zero, at most two decimal
/// places, at most the configured maximum either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment(Decimal);

impl Adjustment {
    /// Checks the rules of a stake on the amount's size, either sign.
    pub fn new(amount: Decimal, maximum: Decimal) -> Result<Self, BetSumError> {
        let size = BetSum::new(amount.abs(), maximum)?;
        Ok(Self(if amount.is_sign_negative() {
            -size.value()
        } else {
            size.value()
        }))
    }

    /// The signed amount, two decimal places.
    pub fn value(self) -> Decimal {
        self.0
    }
}

/// A bet's stake, taken from the wallet and held until the bet is
/// settled. Whether the wallet holds enough is [`check_funds`]: a bet is
/// placed in one statement, which applies that rule to the balance it
/// finds, since reading the balance first would cost a round trip.
pub fn stake(amount: BetSum) -> Posting {
    let amount = amount.value();
    Posting::new(
        Some(WalletLine::Stake),
        &[(Account::Wallet, -amount), (Account::StakesHeld, amount)],
    )
}

/// Whether a wallet holding `balance` can take `posting`: a wallet never
/// goes below zero.
pub fn check_funds(posting: &Posting, balance: Decimal) -> Result<(), InsufficientFunds> {
    let change = posting.wallet_change();
    if balance + change < Decimal::ZERO {
        return Err(InsufficientFunds {
            balance,
            wanted: -change,
        });
    }
    Ok(())
}

/// A bet of `amount` settled as `status` with `payout` (see
/// [`super::payout`]): its stake leaves the stakes held; a win pays the
/// payout into the wallet, the house paying what exceeds the stake; a loss
/// gives the stake to the house; a void gives it back. `None` while pending.
pub fn settlement(amount: BetSum, status: BetStatus, payout: Decimal) -> Option<Posting> {
    let amount = amount.value();
    let (line, entries): (_, &[(Account, Decimal)]) = match status {
        BetStatus::Pending => return None,
        BetStatus::Won => (
            Some(WalletLine::Payout),
            &[
                (Account::StakesHeld, -amount),
                (Account::HouseResult, amount - payout),
                (Account::Wallet, payout),
            ],
        ),
        BetStatus::Lost => (
            None,
            &[
                (Account::StakesHeld, -amount),
                (Account::HouseResult, amount),
            ],
        ),
        BetStatus::Void => (
            Some(WalletLine::Refund),
            &[(Account::StakesHeld, -amount), (Account::Wallet, payout)],
        ),
        // Settled by the bettor: as a win at the quote, which may be less
        // than the stake.
        BetStatus::CashedOut => (
            Some(WalletLine::CashOut),
            &[
                (Account::StakesHeld, -amount),
                (Account::HouseResult, amount - payout),
                (Account::Wallet, payout),
            ],
        ),
    };
    Some(Posting::new(line, entries))
}

/// What re-settling a bet moves when a correction changes what it pays
/// from `paid` to `pays`: the difference, from the house's result to the
/// wallet (a payout taken back, a new payout paid, a stake refunded or
/// taken again); nothing when it pays the same. The stake left the stakes
/// held at the first settlement, so only the wallet and the house's result
/// move. The wallet may go below zero: the bettor was paid money that was
/// not theirs.
///
/// This is the definition; the correction statement posts it in bulk, and
/// `tests/rules_in_sql.rs` holds it to this function.
pub fn correction(paid: Decimal, pays: Decimal) -> Option<Posting> {
    let change = pays - paid;
    if change.is_zero() {
        return None;
    }
    Some(Posting::new(
        Some(WalletLine::Correction),
        &[(Account::Wallet, change), (Account::HouseResult, -change)],
    ))
}

/// What a correction moves when it makes a settled bet that paid `paid`
/// pending again (an accumulator lost on one leg while others were open,
/// whose loss line-provider corrected): the payout taken back from the
/// wallet (a lost bet paid nothing), and the stake back from the house's
/// result into the stakes held, where it waits for the bet's other legs.
///
/// This is the definition; the settlement statement posts it in bulk, and
/// `tests/rules_in_sql.rs` holds it to this function.
pub fn reopening(amount: BetSum, paid: Decimal) -> Posting {
    let amount = amount.value();
    let line = (!paid.is_zero()).then_some(WalletLine::Correction);
    Posting::new(
        line,
        &[
            (Account::Wallet, -paid),
            (Account::StakesHeld, amount),
            (Account::HouseResult, paid - amount),
        ],
    )
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
