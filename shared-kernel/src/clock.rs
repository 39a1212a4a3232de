//! The current time as a port: use cases ask a [`Clock`], so tests can
//! fix "now" while production reads the system clock.

use chrono::{DateTime, Utc};

/// The current time, replaceable in tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
