//! The gRPC APIs, generated from `proto/` by the build script, and the
//! reading of their event into the contract both services share.

use std::error::Error;

use crate::contracts::{EventSnapshot, EventStatusWire};
use crate::http::{WireDateTime, WireUuid};
use crate::money::WireDecimal;

/// line-provider's API.
pub mod line {
    /// `line.v1`: `LineService` and its messages.
    pub mod v1 {
        #![allow(missing_docs, missing_debug_implementations, clippy::all)]
        tonic::include_proto!("line.v1");
    }

    /// The encoded descriptor set of `line.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("line_descriptor");
}

/// A field of a `line.v1.Event` that does not hold what the API promises.
#[derive(Debug, thiserror::Error)]
#[error("reading `{field}` of the line.v1.Event with id {id:?}")]
pub struct WireEventError {
    /// The field.
    pub field: &'static str,
    /// The event's id, as sent.
    pub id: String,
    /// Why the field was refused.
    #[source]
    pub source: Box<dyn Error + Send + Sync>,
}

/// A status number that names no final or open status.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not an event status (UNSPECIFIED is none either)")]
pub struct UnknownStatus(i32);

impl TryFrom<&line::v1::Event> for EventSnapshot {
    type Error = WireEventError;

    /// Reads a `line.v1.Event` with the rules its fields are written by:
    /// a UUID, two-decimal odds, an RFC 3339 instant and a known status.
    fn try_from(event: &line::v1::Event) -> Result<Self, WireEventError> {
        let refused = |field: &'static str| {
            move |source: Box<dyn Error + Send + Sync>| WireEventError {
                field,
                id: event.id.clone(),
                source,
            }
        };
        let id = WireUuid::parse(&event.id).map_err(|e| refused("id")(e.into()))?;
        let coefficient =
            WireDecimal::parse(&event.coefficient).map_err(|e| refused("coefficient")(e.into()))?;
        let deadline =
            WireDateTime::parse(&event.deadline).map_err(|e| refused("deadline")(e.into()))?;
        let status = match line::v1::EventStatus::try_from(event.status) {
            Ok(line::v1::EventStatus::New) => EventStatusWire::New,
            Ok(line::v1::EventStatus::FinishedWin) => EventStatusWire::FinishedWin,
            Ok(line::v1::EventStatus::FinishedLose) => EventStatusWire::FinishedLose,
            Ok(line::v1::EventStatus::Cancelled) => EventStatusWire::Cancelled,
            Ok(line::v1::EventStatus::Suspended) => EventStatusWire::Suspended,
            Ok(line::v1::EventStatus::Unspecified) | Err(_) => {
                return Err(refused("status")(Box::new(UnknownStatus(event.status))));
            }
        };
        Ok(Self {
            id: id.0,
            coefficient,
            deadline: deadline.0,
            status,
            version: event.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> line::v1::Event {
        line::v1::Event {
            id: "0192f0c4-3c3a-7b8e-9d2a-5b6c7d8e9f00".to_owned(),
            coefficient: "1.85".to_owned(),
            deadline: "2030-06-01T18:00:00Z".to_owned(),
            status: line::v1::EventStatus::FinishedWin.into(),
            version: 3,
        }
    }

    #[test]
    fn an_event_reads_as_the_snapshot_it_describes() {
        let snapshot = EventSnapshot::try_from(&event()).map_err(|e| e.to_string());
        let snapshot = snapshot.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(snapshot.id.to_string(), event().id);
        assert_eq!(snapshot.coefficient.to_string(), "1.85");
        assert_eq!(snapshot.deadline.to_rfc3339(), "2030-06-01T18:00:00+00:00");
        assert_eq!(snapshot.status, EventStatusWire::FinishedWin);
        assert_eq!(snapshot.version, 3);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                "id",
                line::v1::Event {
                    id: "42".to_owned(),
                    ..event()
                },
            ),
            (
                "coefficient",
                line::v1::Event {
                    coefficient: "1.855".to_owned(),
                    ..event()
                },
            ),
            (
                "deadline",
                line::v1::Event {
                    deadline: "tomorrow".to_owned(),
                    ..event()
                },
            ),
            (
                "status",
                line::v1::Event {
                    status: 0,
                    ..event()
                },
            ),
            (
                "status",
                line::v1::Event {
                    status: 99,
                    ..event()
                },
            ),
        ];
        for (field, bad) in cases {
            let refused = EventSnapshot::try_from(&bad).err().map(|e| e.field);
            assert_eq!(refused, Some(field), "{bad:?}");
        }
    }
}
