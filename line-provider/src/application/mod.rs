//! The line's use cases: create, change, finish, read. Each speaks to the
//! outside world only through the ports in [`ports`].

mod events;
pub mod ports;

pub use events::{EventError, EventFilter, EventService, Precondition};
