//! The business rules of the line: what an event is, what may change, and
//! when. Pure: no I/O, no framework, only values in and decisions out.

mod change;
mod coefficient;
mod deadline;
mod error;
mod event;
mod reason;
mod status;

pub use change::{ChangeKind, Decision, EventChanged, EventPatch};
pub use coefficient::{Coefficient, CoefficientError};
pub use deadline::{Deadline, DeadlineError};
pub use error::{DomainError, InvalidFields};
pub use event::Event;
pub use reason::{CorrectionReason, ReasonError};
pub use status::{EventResult, EventStatus};
