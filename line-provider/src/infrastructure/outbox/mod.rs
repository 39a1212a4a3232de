//! The transactional outbox: rows written with each change (see the event
//! repository), the relay that publishes them, and the same rows read back
//! as the line's change log.

mod batch;
mod change_log;
mod relay;

pub use change_log::PgChangeLog;
pub use relay::{OutboxRelay, RelayConfig};
