//! What a command on an event decided: a change to store and announce, or
//! nothing at all.

use chrono::{DateTime, Utc};

use super::{Coefficient, CorrectionReason, Event};

/// Which kind of change happened; each is announced under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The event was created.
    Created,
    /// Its coefficient or deadline moved.
    Updated,
    /// Its result was set.
    Finished,
    /// It was cancelled.
    Cancelled,
    /// Betting on it was paused.
    Suspended,
    /// Betting on it was opened again.
    Resumed,
    /// Its final status was replaced by another, for a reason.
    Corrected,
}

/// A change that happened: the event as it is afterwards, to be stored and
/// announced together. Only the aggregate's methods make one, so its event
/// is always one version after the stored one (or version 1 when created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventChanged {
    pub(super) kind: ChangeKind,
    pub(super) event: Event,
    pub(super) occurred_at: DateTime<Utc>,
    /// The operator's reason: only a correction has one.
    pub(super) reason: Option<CorrectionReason>,
}

impl EventChanged {
    /// What kind of change.
    pub fn kind(&self) -> ChangeKind {
        self.kind
    }

    /// The event after the change.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The event after the change, by value.
    pub fn into_event(self) -> Event {
        self.event
    }

    /// When it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// Why, in the operator's words: a correction's reason, `None` for
    /// every other kind.
    pub fn reason(&self) -> Option<&CorrectionReason> {
        self.reason.as_ref()
    }
}

/// What a command decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Something changed: store it and announce it.
    Changed(EventChanged),
    /// The command asked for what already is: nothing to store or announce.
    Unchanged(Event),
}

/// New values for an open event, each already a valid value of its type
/// (the deadline is judged against the event); `None` keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventPatch {
    /// The new odds.
    pub coefficient: Option<Coefficient>,
    /// The new deadline; must be in the future when it differs, and the
    /// current one must not have passed.
    pub deadline: Option<DateTime<Utc>>,
}
