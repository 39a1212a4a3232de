//! The ports' implementations: PostgreSQL through SeaORM, the consumer of
//! line-provider's messages, and the HTTP client used by resync.

pub mod line_provider_client;
pub mod messaging;
pub mod persistence;
mod snapshot;
