//! Money: what every movement posts to the ledger, by double entry.
//!
//! Four kinds of account hold money: each bettor's wallet, and three of the
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
//!
//! So at every moment: deposits − withdrawals = wallets + stakes held +
//! the house's result.
//!
//! These functions are the definition. The statements that post in bulk
//! (placing a bet, settling an event) apply them in SQL, and
//! `tests/rules_in_sql.rs` holds those statements to these functions.

use rust_decimal::Decimal;

use super::{BetStatus, BetSum};

/// The most a wallet (and any ledger amount) can hold: what the ledger's
/// `NUMERIC(16, 2)` columns store.
pub const MAX_BALANCE: Decimal = rust_decimal::dec!(99_999_999_999_999.99);

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
}

impl Account {
    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "WALLET",
            Self::HouseCash => "HOUSE_CASH",
            Self::StakesHeld => "STAKES_HELD",
            Self::HouseResult => "HOUSE_RESULT",
        }
    }
}

/// What a line of a bettor's wallet statement says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WalletLine {
    /// Money paid in.
    Deposit,
    /// Money paid out.
    Withdrawal,
    /// A bet's stake taken.
    Stake,
    /// A won bet's payout.
    Payout,
    /// A voided bet's stake given back.
    Refund,
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

/// Money paid into a wallet.
pub fn deposit(amount: BetSum) -> Posting {
    let amount = amount.value();
    Posting::new(
        Some(WalletLine::Deposit),
        &[(Account::Wallet, amount), (Account::HouseCash, -amount)],
    )
}

/// Money paid out of a wallet holding `balance`.
pub fn withdrawal(amount: BetSum, balance: Decimal) -> Result<Posting, InsufficientFunds> {
    let amount = amount.value();
    let posting = Posting::new(
        Some(WalletLine::Withdrawal),
        &[(Account::Wallet, -amount), (Account::HouseCash, amount)],
    );
    check_funds(&posting, balance)?;
    Ok(posting)
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
    };
    Some(Posting::new(line, entries))
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
