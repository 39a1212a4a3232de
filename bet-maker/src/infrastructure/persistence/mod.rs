//! PostgreSQL: the schema, the entities, the bet repository, the line
//! repository (the copy of the line, and settlement), the wallets, and the
//! change feed behind the live streams.

mod bet_repository;
mod change_log;
mod entities;
mod feed_snapshots;
mod line_repository;
mod mapping;
pub mod migrations;
mod settlement;
mod wallet_repository;

pub use bet_repository::{PLACE_BET, SeaOrmBetRepository};
pub use change_log::SqlChangeLog;
pub use line_repository::SeaOrmLineRepository;
/// Public so `make bench` can issue the very statements directly, as the
/// limit the service is measured against.
pub use settlement::SETTLE_PENDING_BETS;
pub use wallet_repository::SqlWalletRepository;
