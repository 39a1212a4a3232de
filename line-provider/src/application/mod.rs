//! The line's use cases: create, change, suspend and resume, finish,
//! correct, read, and follow the changes. Each speaks to the outside world
//! only through the ports in [`ports`].

mod changes;
mod error;
mod events;
pub mod ports;
mod precondition;

pub use changes::{ChangeFeed, FeedItem, FeedSettings, MalformedPosition, StartAt, StartError};
pub use error::EventError;
pub use events::{EventFilter, EventService, RequestedChanges};
pub use precondition::Precondition;
