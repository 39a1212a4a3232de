//! PostgreSQL: the schema, the entities, the bet repository, and the line
//! repository (the copy of the line, and settlement).

mod bet_repository;
mod entities;
mod line_repository;
mod mapping;
pub mod migrations;
mod settlement;
mod wallet_repository;

pub use bet_repository::{PLACE_BET, SeaOrmBetRepository};
pub use line_repository::SeaOrmLineRepository;
/// Public so `make bench` can issue the very statements directly, as the
/// limit the service is measured against.
pub use settlement::SETTLE_PENDING_BETS;
pub use wallet_repository::SqlWalletRepository;
