//! bet-maker's use cases: place and read bets, read the open line, apply
//! news of events (settling bets), resync from line-provider, and follow
//! the line, bets and wallets live.

mod bets;
mod line;
pub mod live;
pub mod ports;
mod wallets;

pub use bets::{BetError, BetService, BetSlip};
pub use line::{LineError, LineService, ResyncReport};
pub use wallets::{Movement, WalletError, WalletService};

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;
