//! Whether the broker connection is up, for readiness probes.

use std::sync::{Arc, RwLock};

/// Shared view of a service's broker connection: up, or down with a reason.
/// Written by the connection loops, read by `/health/ready`.
#[derive(Debug, Clone)]
pub struct BrokerStatus(Arc<RwLock<Result<(), String>>>);

impl Default for BrokerStatus {
    fn default() -> Self {
        Self(Arc::new(RwLock::new(Err("not connected yet".to_owned()))))
    }
}

impl BrokerStatus {
    /// The connection is up.
    pub fn set_up(&self) {
        self.set(Ok(()));
    }

    /// The connection is down, and why.
    pub fn set_down(&self, reason: impl Into<String>) {
        self.set(Err(reason.into()));
    }

    /// `Ok` when up, the reason when down.
    pub fn state(&self) -> Result<(), String> {
        match self.0.read() {
            Ok(state) => state.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, state: Result<(), String>) {
        match self.0.write() {
            Ok(mut current) => *current = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
    }
}
