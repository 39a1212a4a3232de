//! Outbound adapters: what the use cases call through their ports.
//! PostgreSQL through SeaORM, the in-memory cache of open events in front
//! of it, the gRPC client of line-provider used by resync, and the payment
//! provider's adapters.

pub mod line_provider_client;
pub mod open_events_cache;
pub mod payment_provider;
pub mod persistence;
