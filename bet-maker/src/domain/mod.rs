//! The rules of betting: who a bettor is, what a stake is, when an event takes bets, and
//! what a settled bet pays. Pure: no I/O, no framework.

mod bet;
mod bet_sum;
mod bettor;
mod currency;
mod ledger;
mod line_change;
mod line_event;
mod odds;

pub(crate) use bet::StoredBet;
pub use bet::{Bet, BetRefused, BetStatus, payout};
pub use bet_sum::{BetSum, BetSumError};
pub use bettor::{BettorId, BettorIdError, LEGACY_BETTOR, MAX_BETTOR_ID_CHARS};
pub use currency::{Currency, CurrencyError};
pub use ledger::{
    Account, Entry, InsufficientFunds, MAX_BALANCE, Posting, WalletLine, check_funds, deposit,
    settlement, stake, withdrawal,
};
pub use line_change::{
    ChangeKind, ImpossibleChange, MAX_VERSION, Refusal, check_values, is_coefficient,
};
pub use line_event::{Acceptance, CopyConflict, LineEvent, LineEventStatus};
pub use odds::{AcceptOddsChange, OddsChanged, OddsRequest};
