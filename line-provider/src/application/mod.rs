//! The line's use cases: create, change, finish, read. Each speaks to the
//! outside world only through the ports in [`ports`].

mod error;
mod events;
pub mod ports;
mod precondition;

pub use error::EventError;
pub use events::{EventFilter, EventService, RequestedChanges};
pub use precondition::Precondition;
