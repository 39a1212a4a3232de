//! bet-maker's use cases: place and read bets, read the open line, apply
//! news of events (settling bets), resync from line-provider, and follow
//! the line, bets and wallets live.

mod account;
mod bets;
mod cash_out;
mod cashier;
mod dead_letters;
mod line;
pub mod live;
mod payments;
pub mod ports;
mod risk;
mod wallets;

pub use account::{AccountError, AccountService, Limits};
pub use bets::{BetError, BetService, BetSlip, SlipLeg};
pub use cash_out::{CashOutError, CashOutService, CashOutSettings};
pub use cashier::{AdjustRefused, AdjustmentOrder, CashierError, CashierService, MAX_REASON_CHARS};
pub use dead_letters::{
    DeadLetterOverview, DeadLetterService, DeadLettered, DepthReading, MAX_KEPT_REASON_CHARS,
};
pub use line::{Holds, LineError, LineService, OpenEvents, ResyncReport};
pub use payments::{Movement, PaymentError, PaymentService};
pub use risk::{
    DEFAULT_REASON, EventExposure, OpenExposure, RiskError, RiskService, RiskSettings, StakeQuote,
};
pub use wallets::{WalletError, WalletService};

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;
