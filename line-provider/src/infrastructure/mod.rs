//! The ports' implementations: PostgreSQL through SeaORM, the outbox and
//! its relay to RabbitMQ.

pub mod outbox;
pub mod persistence;
