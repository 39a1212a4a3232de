//! The transactional outbox: rows written with each change (see the event
//! repository), the relay that publishes them, the watch on their backlog,
//! and the same rows read back as the line's change log.

mod backlog;
mod batch;
mod change_log;
mod relay;

pub use backlog::BacklogWatch;
pub use change_log::PgChangeLog;
pub use relay::{OutboxRelay, RelayConfig};
