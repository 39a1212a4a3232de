//! PostgreSQL: the schema, the entities, the bet repository and the line
//! event store.

mod bet_repository;
mod entities;
mod line_event_store;
pub mod migrations;
mod open_events_cache;
mod rows;

pub use bet_repository::SeaOrmBetRepository;
pub use line_event_store::SeaOrmLineEventStore;
pub use open_events_cache::CachedLineEventStore;
