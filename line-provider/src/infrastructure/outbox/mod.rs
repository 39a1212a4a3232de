//! The transactional outbox: rows written with each change (see the event
//! repository) and the relay that publishes them.

mod batch;
mod relay;

pub use relay::{OutboxRelay, RelayConfig};
