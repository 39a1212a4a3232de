//! Whether the broker connection is up, for readiness probes.

use std::sync::{Arc, RwLock};

/// Shared view of a service's broker connection: up, or down with a reason.
/// Written by the connection loops, read by `/health/ready`.
#[derive(Debug, Clone)]
pub struct BrokerStatus(Arc<RwLock<Option<String>>>);

impl Default for BrokerStatus {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(Some("not connected yet".to_owned()))))
    }
}

impl BrokerStatus {
    /// The connection is up.
    pub fn set_up(&self) {
        self.set(None);
    }

    /// The connection is down, and why.
    pub fn set_down(&self, reason: impl Into<String>) {
        self.set(Some(reason.into()));
    }

    /// Why the connection is down; `None` while it is up.
    pub fn down_reason(&self) -> Option<String> {
        match self.0.read() {
            Ok(reason) => reason.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, down_reason: Option<String>) {
        match self.0.write() {
            Ok(mut current) => *current = down_reason,
            Err(poisoned) => *poisoned.into_inner() = down_reason,
        }
    }
}
