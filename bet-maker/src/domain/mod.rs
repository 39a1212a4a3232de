//! The rules of betting: what a stake is, when an event takes bets, and
//! what a settled bet pays. Pure: no I/O, no framework.

mod bet;
mod bet_sum;
mod line_event;

pub use bet::{Bet, BetStatus, PlaceBetError, payout};
pub use bet_sum::{BetSum, BetSumError};
pub use line_event::{LineEvent, LineEventStatus};
