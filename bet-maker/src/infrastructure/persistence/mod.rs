//! PostgreSQL: the schema, the entities, the bet repository (and its
//! group commit of placements), the line
//! repository (the copy of the line, and settlement), the wallets, and the
//! change feed behind the live streams.

mod account_repository;
mod bet_repository;
mod cash_out_repository;
mod change_log;
mod dead_letter_log;
mod entities;
mod feed_snapshots;
mod idempotency_keys;
mod ledger_writer;
mod line_repository;
mod mapping;
pub mod migrations;
mod payment_repository;
mod placement;
mod placement_groups;
mod risk_repository;
mod settlement;
mod staff_repository;
mod wallet_repository;

pub use account_repository::SqlAccountRepository;
pub use bet_repository::SeaOrmBetRepository;
pub use cash_out_repository::SqlCashOutRepository;
pub use change_log::SqlChangeLog;
pub use dead_letter_log::{KEPT_DEAD_LETTERS, SqlDeadLetterLog};
pub use idempotency_keys::KeySweeper;
pub use line_repository::SeaOrmLineRepository;
pub use payment_repository::SqlPaymentRepository;
/// Public so tests can find the statement among the server's queries.
pub use placement::PLACE_BETS;
pub use placement_groups::{
    GroupSettings, GroupedBetRepository, PlacementWriters, writers_database_url,
};
pub use risk_repository::{RELEASE_EXPOSURE, SET_BETTOR_LIMIT, SET_EVENT_LIMIT, SqlRiskRepository};
/// Public so `make bench` can issue the very statements directly, as the
/// limit the service is measured against.
pub use settlement::{
    LOCK_ACCUMULATORS, LOCK_EXPOSURE, LOCK_OTHER_LEGS_EXPOSURE, MOVE_EXPOSURE, SETTLE_BETS,
};
pub use staff_repository::{ADJUST_WALLET, SqlStaffRepository};
pub use wallet_repository::SqlWalletRepository;
