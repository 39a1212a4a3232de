//! A change announced by line-provider, held to the rules line-provider
//! itself keeps, so a message that line-provider could not have written is
//! refused before it touches the copy.

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::line_event::{CopyConflict, LineEvent, LineEventStatus};

/// The highest version bet-maker believes. line-provider starts an event at
/// 1 and adds 1 per operator change (each one an HTTP request that writes
/// the row and its outbox message); a million changes to one event is a
/// change a second for eleven and a half days without pause, far beyond
/// any real event's life. A higher version can only be forged, and one
/// near `i64::MAX` would freeze the copy against every real change.
pub const MAX_VERSION: i64 = 1_000_000;

/// The lowest coefficient is above this (line-provider's rule).
const MIN_COEFFICIENT_EXCLUSIVE: Decimal = Decimal::ONE;
/// The highest coefficient (line-provider's rule).
const MAX_COEFFICIENT: Decimal = Decimal::from_parts(100_000, 0, 0, false, 2);

/// What kind of change a message announces (its routing key and `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The event was created: version 1, open.
    Created,
    /// The coefficient or deadline changed: open, after version 1.
    Updated,
    /// The result is in: `FINISHED_WIN` or `FINISHED_LOSE`.
    Finished,
    /// The event was cancelled: `CANCELLED`.
    Cancelled,
    /// Betting paused: `SUSPENDED`.
    Suspended,
    /// Betting open again: `NEW`, after a suspension.
    Resumed,
    /// A final status replaced by another final status.
    Corrected,
}

/// A change as line-provider announced it: what kind, the event after it,
/// and when line-provider made it (its clock: the message's
/// `occurred_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The kind of change.
    pub kind: ChangeKind,
    /// The event as it is after the change.
    pub event: LineEvent,
    /// When line-provider made it.
    pub occurred_at: DateTime<Utc>,
}

impl Announced {
    /// Whether it replaces a final status by another (`event.corrected`).
    pub fn is_correction(&self) -> bool {
        self.kind == ChangeKind::Corrected
    }
}

/// Why an announced version of an event is not one line-provider could
/// have written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpossibleChange {
    /// Coefficient not above 1.00, above 1000.00, or with more than two
    /// decimals.
    #[error("coefficient {0} is not above 1.00 and at most 1000.00 with two decimals")]
    Coefficient(Decimal),
    /// Deadline outside the years 0001 to 9999.
    #[error("deadline year {0} is outside 0001-9999")]
    Deadline(i32),
    /// Version not positive, or beyond [`MAX_VERSION`].
    #[error("version {0} is not between 1 and {MAX_VERSION}")]
    Version(i64),
    /// The kind contradicts the status or the version.
    #[error("{kind:?} cannot announce version {version} with status {status:?}")]
    KindContradicts {
        /// The kind announced.
        kind: ChangeKind,
        /// The status carried.
        status: LineEventStatus,
        /// The version carried.
        version: i64,
    },
    /// The routing key, the AMQP `type` and the envelope's `type` disagree.
    #[error(
        "routing key {routing_key:?}, type property {property:?} and envelope type {envelope:?} disagree"
    )]
    KindsDisagree {
        /// The routing key.
        routing_key: String,
        /// The AMQP `type` property, if set.
        property: Option<String>,
        /// The envelope's `type`.
        envelope: String,
    },
}

/// Why a message about the line is refused. Each is dead-lettered with
/// its reason and raised as an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// line-provider could not have written it.
    #[error(transparent)]
    Impossible(#[from] ImpossibleChange),
    /// It contradicts the copy held.
    #[error(transparent)]
    Conflict(#[from] CopyConflict),
    /// Its `message_id` was applied before with other content.
    #[error("message {0} was applied before with other content")]
    MessageIdReused(Uuid),
}

impl Refusal {
    /// A label from a fixed set, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Impossible(ImpossibleChange::KindContradicts { .. })
            | Self::Impossible(ImpossibleChange::KindsDisagree { .. }) => "kind_mismatch",
            Self::Impossible(_) => "invalid_value",
            Self::Conflict(CopyConflict::SameVersionDiffers { .. }) => "same_version_differs",
            Self::Conflict(_) => "final_status_changed",
            Self::MessageIdReused(_) => "message_id_reused",
        }
    }
}

impl ChangeKind {
    /// Checks `event` against line-provider's value rules and against
    /// this kind: `Created` only at version 1 and open, `Updated` only
    /// open or suspended after version 1, `Finished` only with a result
    /// after version 1, `Cancelled` only cancelled after version 1,
    /// `Suspended` only suspended after version 1, `Resumed` only open
    /// after version 2, `Corrected` only final after version 2.
    pub fn check(self, event: &LineEvent) -> Result<(), ImpossibleChange> {
        check_values(event)?;
        let fits = match self {
            Self::Created => event.version == 1 && event.status == LineEventStatus::New,
            // The odds or the deadline of a suspended event move too, and
            // it stays suspended.
            Self::Updated => {
                event.version > 1
                    && matches!(
                        event.status,
                        LineEventStatus::New | LineEventStatus::Suspended
                    )
            }
            Self::Finished => event.version > 1 && event.status.is_result(),
            Self::Cancelled => event.version > 1 && event.status == LineEventStatus::Cancelled,
            Self::Suspended => event.version > 1 && event.status == LineEventStatus::Suspended,
            Self::Resumed => event.version > 2 && event.status == LineEventStatus::New,
            // Created, decided, then corrected: version 3 at the earliest.
            Self::Corrected => event.version > 2 && event.status.is_final(),
        };
        if fits {
            Ok(())
        } else {
            Err(ImpossibleChange::KindContradicts {
                kind: self,
                status: event.status,
                version: event.version,
            })
        }
    }
}

/// line-provider's value rules on an event, whatever the change.
pub fn check_values(event: &LineEvent) -> Result<(), ImpossibleChange> {
    let coefficient = event.coefficient;
    if !is_coefficient(coefficient) {
        return Err(ImpossibleChange::Coefficient(coefficient));
    }
    let year = event.deadline.year();
    if !(1..=9999).contains(&year) {
        return Err(ImpossibleChange::Deadline(year));
    }
    if !(1..=MAX_VERSION).contains(&event.version) {
        return Err(ImpossibleChange::Version(event.version));
    }
    Ok(())
}

/// Whether a coefficient is one line-provider can set: above 1.00, at
/// most 1000.00, with at most two decimals.
pub fn is_coefficient(coefficient: Decimal) -> bool {
    coefficient > MIN_COEFFICIENT_EXCLUSIVE
        && coefficient <= MAX_COEFFICIENT
        && coefficient.normalize().scale() <= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal::dec;

    fn event(coefficient: Decimal, status: LineEventStatus, version: i64) -> LineEvent {
        LineEvent {
            id: Uuid::nil(),
            coefficient,
            deadline: Utc::now() + Duration::hours(1),
            status,
            version,
        }
    }

    #[test]
    fn values_follow_line_providers_rules() {
        let new = LineEventStatus::New;
        assert!(check_values(&event(dec!(1.01), new, 1)).is_ok());
        assert!(check_values(&event(dec!(1000.00), new, MAX_VERSION)).is_ok());
        for bad in [
            dec!(1.00),
            dec!(1000.01),
            dec!(9999.99),
            dec!(1.234),
            dec!(-2),
        ] {
            assert_eq!(
                check_values(&event(bad, new, 1)),
                Err(ImpossibleChange::Coefficient(bad))
            );
        }
        for bad in [0, -1, MAX_VERSION + 1, i64::MAX] {
            assert_eq!(
                check_values(&event(dec!(1.50), new, bad)),
                Err(ImpossibleChange::Version(bad))
            );
        }
        let far = LineEvent {
            deadline: Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            ..event(dec!(1.50), new, 1)
        };
        assert_eq!(check_values(&far), Err(ImpossibleChange::Deadline(10000)));
    }

    #[test]
    fn the_kind_agrees_with_status_and_version() {
        use LineEventStatus::*;
        let ok = [
            (ChangeKind::Created, New, 1),
            (ChangeKind::Updated, New, 2),
            (ChangeKind::Finished, FinishedWin, 2),
            (ChangeKind::Finished, FinishedLose, 7),
            (ChangeKind::Cancelled, Cancelled, 2),
            (ChangeKind::Updated, Suspended, 3),
            (ChangeKind::Suspended, Suspended, 2),
            (ChangeKind::Resumed, New, 3),
            (ChangeKind::Corrected, FinishedLose, 3),
            (ChangeKind::Corrected, Cancelled, 4),
        ];
        for (kind, status, version) in ok {
            assert!(kind.check(&event(dec!(1.50), status, version)).is_ok());
        }
        let bad = [
            (ChangeKind::Created, New, 2),
            (ChangeKind::Created, FinishedWin, 1),
            (ChangeKind::Updated, New, 1),
            (ChangeKind::Updated, FinishedLose, 3),
            (ChangeKind::Finished, New, 3),
            (ChangeKind::Finished, FinishedWin, 1),
            (ChangeKind::Finished, Cancelled, 3),
            (ChangeKind::Cancelled, New, 3),
            (ChangeKind::Cancelled, FinishedWin, 3),
            (ChangeKind::Cancelled, FinishedLose, 3),
            (ChangeKind::Cancelled, Cancelled, 1),
            (ChangeKind::Created, Cancelled, 1),
            (ChangeKind::Updated, Cancelled, 2),
            (ChangeKind::Suspended, New, 2),
            (ChangeKind::Suspended, FinishedWin, 2),
            (ChangeKind::Suspended, Suspended, 1),
            (ChangeKind::Resumed, Suspended, 3),
            (ChangeKind::Resumed, New, 2),
            (ChangeKind::Corrected, New, 3),
            (ChangeKind::Corrected, Suspended, 3),
            (ChangeKind::Corrected, FinishedWin, 2),
        ];
        for (kind, status, version) in bad {
            assert!(
                matches!(
                    kind.check(&event(dec!(1.50), status, version)),
                    Err(ImpossibleChange::KindContradicts { .. })
                ),
                "{kind:?} {status:?} {version}"
            );
        }
    }
}
