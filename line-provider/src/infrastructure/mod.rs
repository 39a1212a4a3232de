//! Outbound adapters: what the use cases call through their ports, and
//! what runs beside them to reach the outside world. PostgreSQL through
//! SeaORM (the event repository, the schema), and the outbox relay that
//! carries committed changes to RabbitMQ. Inbound adapters (HTTP) live in
//! [`crate::presentation`].

pub mod outbox;
pub mod persistence;
