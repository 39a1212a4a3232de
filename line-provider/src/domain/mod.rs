//! The business rules of the line: what an event is, what may change, and
//! when. Pure: no I/O, no framework, only values in and decisions out.

mod coefficient;
mod deadline;
mod event;

pub use coefficient::{Coefficient, CoefficientError};
pub use deadline::{Deadline, DeadlineError};
pub use event::{
    ChangeKind, Decision, DomainError, Event, EventChanged, EventPatch, EventResult, EventStatus,
};
