//! What goes over HTTP for `/wallet`, and its translation from the
//! application's statement lines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::money::WireDecimal;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::application::ports::StatementLine;
use crate::domain::WalletLine;

/// The bettor's wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletDto {
    /// What the bettor may bet or withdraw, two decimals; `0.00` before
    /// the first deposit.
    #[schema(value_type = String, example = "100.00")]
    pub balance: WireDecimal,
    /// The currency (three letters, ISO 4217).
    #[schema(example = "EUR")]
    pub currency: String,
}

/// What a line of the statement records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WalletLineKind {
    /// Money paid in: a deposit the provider confirmed (`POST
    /// /wallet/deposits`, then the provider's `deposit.succeeded`).
    Deposit,
    /// Money asked out (`POST /wallet/withdrawals`): it leaves the balance
    /// at once, while the provider pays it.
    Withdrawal,
    /// A withdrawal the provider did not pay: its money back.
    WithdrawalReturned,
    /// A cashier's correction, either way (`POST
    /// /admin/wallets/{bettor}/adjustments`).
    Adjustment,
    /// A bet's stake taken.
    Stake,
    /// A won bet's payout.
    Payout,
    /// A voided bet's stake given back.
    Refund,
    /// A settled bet re-settled after line-provider corrected its event's
    /// result: what it pays now minus what it paid, either way.
    Correction,
    /// A pending bet cashed out (`POST /bets/{id}/cash-out`): the quote
    /// taken.
    CashOut,
}

impl From<WalletLine> for WalletLineKind {
    fn from(line: WalletLine) -> Self {
        match line {
            WalletLine::Deposit => Self::Deposit,
            WalletLine::Withdrawal => Self::Withdrawal,
            WalletLine::Stake => Self::Stake,
            WalletLine::Payout => Self::Payout,
            WalletLine::Refund => Self::Refund,
            WalletLine::WithdrawalReturned => Self::WithdrawalReturned,
            WalletLine::Adjustment => Self::Adjustment,
            WalletLine::Correction => Self::Correction,
            WalletLine::CashOut => Self::CashOut,
        }
    }
}

/// One line of the bettor's statement: one movement of their money (its
/// entry on their wallet in the ledger).
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletLineDto {
    /// The line's id; pass it as `cursor` to read on from it.
    pub id: Uuid,
    /// What happened.
    pub kind: WalletLineKind,
    /// How the balance changed, two decimals: positive in, negative out.
    #[schema(value_type = String, example = "100.00")]
    pub amount: WireDecimal,
    /// The balance right after this line.
    #[schema(value_type = String, example = "100.00")]
    pub balance_after: WireDecimal,
    /// The bet the line is for (stakes, payouts, refunds); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bet_id: Option<Uuid>,
    /// The deposit or withdrawal the line is for (`GET
    /// /wallet/deposits/{id}`, `GET /wallet/withdrawals/{id}`); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl From<StatementLine> for WalletLineDto {
    fn from(line: StatementLine) -> Self {
        Self {
            id: line.id,
            kind: line.kind.into(),
            amount: WireDecimal::from_decimal_exact(line.amount),
            balance_after: WireDecimal::from_decimal_exact(line.balance_after),
            bet_id: line.bet_id,
            payment_id: line.payment_id,
            created_at: line.created_at,
        }
    }
}

/// A page of the statement, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletLinePage {
    /// The lines on this page.
    pub items: Vec<WalletLineDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /wallet/deposits` and `POST /wallet/withdrawals`: how much. The
/// amount follows the rules of a stake (the domain's `BetSum`); its shape
/// (an exact decimal) is checked while reading the JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementRequest {
    /// More than 0, at most two decimals, at most the house limit; a
    /// string (preferred) or a JSON number, read exactly.
    #[schema(value_type = String, example = "100.00")]
    pub amount: WireDecimal,
}
