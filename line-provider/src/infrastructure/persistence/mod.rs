//! PostgreSQL: the schema, the entities, and the event repository.

mod entities;
mod event_repository;
mod mapping;
pub mod migrations;
mod turns;

pub use event_repository::SeaOrmEventRepository;
