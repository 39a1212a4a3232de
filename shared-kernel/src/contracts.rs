//! The messages line-provider publishes and bet-maker consumes.
//!
//! These types are the only code the two services share about each other.
//! Every message is an [`Envelope`] around the whole event as it is after the
//! change ([`EventSnapshot`]), so a consumer never needs an earlier message
//! to understand a later one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::WireDecimal;

/// The envelope's schema version. Additive changes (a new optional field)
/// keep it; anything a consumer could misread raises it.
pub const SCHEMA_VERSION: u16 = 1;

/// A versioned message: who it is (`message_id`), what happened (`type`),
/// when (`occurred_at`), and the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u16,
    /// Unique per message; consumers deduplicate on it.
    pub message_id: Uuid,
    /// What happened; also the AMQP routing key and `type` property.
    #[serde(rename = "type")]
    pub kind: LineEventKind,
    /// When the change was committed by its producer.
    pub occurred_at: DateTime<Utc>,
    /// The state after the change.
    pub data: T,
    /// Why the change was made, in the operator's words: set on
    /// `event.corrected` (1 to 500 characters), absent on every other kind.
    /// Additive: a consumer that does not know it ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A message about a sporting event.
pub type LineEventMessage = Envelope<EventSnapshot>;

/// Why bytes from the broker are not a message this code understands.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// Not JSON, or JSON of another shape.
    #[error("malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by a newer (or unknown) producer.
    #[error("unsupported schema_version {0}, this consumer reads {SCHEMA_VERSION}")]
    UnsupportedVersion(u16),
}

impl LineEventMessage {
    /// A new message with a fresh time-ordered id.
    pub fn new(kind: LineEventKind, occurred_at: DateTime<Utc>, data: EventSnapshot) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            message_id: Uuid::now_v7(),
            kind,
            occurred_at,
            data,
            reason: None,
        }
    }

    /// The same message with the operator's reason (a correction).
    pub fn with_reason(self, reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..self
        }
    }

    /// Reads a message from the broker, refusing versions it does not know.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ContractError> {
        let message: Self = serde_json::from_slice(bytes)?;
        if message.schema_version != SCHEMA_VERSION {
            return Err(ContractError::UnsupportedVersion(message.schema_version));
        }
        Ok(message)
    }

    /// The JSON body, as published.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing these plain structs cannot fail; a Null body would be
        // rejected by every consumer rather than go unnoticed.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// What happened to an event; each kind is its own routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LineEventKind {
    /// An operator created the event.
    #[serde(rename = "event.created")]
    Created,
    /// The coefficient or the deadline changed.
    #[serde(rename = "event.updated")]
    Updated,
    /// The result is in: the status is `FINISHED_WIN` or `FINISHED_LOSE`.
    #[serde(rename = "event.finished")]
    Finished,
    /// The event was cancelled: the status is `CANCELLED`, final like a
    /// result, and bets on it are void.
    #[serde(rename = "event.cancelled")]
    Cancelled,
    /// Betting is paused: the status is `SUSPENDED`; no bets until it is
    /// resumed (or decided).
    #[serde(rename = "event.suspended")]
    Suspended,
    /// Betting is open again: the status is back to `NEW`.
    #[serde(rename = "event.resumed")]
    Resumed,
    /// A final status was replaced by another final status; the envelope's
    /// `reason` says why. Consumers re-settle.
    #[serde(rename = "event.corrected")]
    Corrected,
}

impl LineEventKind {
    /// Every kind, for bindings and tests.
    pub const ALL: [Self; 7] = [
        Self::Created,
        Self::Updated,
        Self::Finished,
        Self::Cancelled,
        Self::Suspended,
        Self::Resumed,
        Self::Corrected,
    ];

    /// The AMQP routing key, e.g. `event.finished`.
    pub fn routing_key(self) -> &'static str {
        match self {
            Self::Created => "event.created",
            Self::Updated => "event.updated",
            Self::Finished => "event.finished",
            Self::Cancelled => "event.cancelled",
            Self::Suspended => "event.suspended",
            Self::Resumed => "event.resumed",
            Self::Corrected => "event.corrected",
        }
    }

    /// The kind a routing key names, if any.
    pub fn from_routing_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.routing_key() == key)
    }
}

/// The whole event as it is after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSnapshot {
    /// The event's id (UUID v7).
    pub id: Uuid,
    /// Odds, two decimals, as a string.
    pub coefficient: WireDecimal,
    /// Bets are accepted strictly before this instant.
    pub deadline: DateTime<Utc>,
    /// Where the event is in its life.
    pub status: EventStatusWire,
    /// 1 at creation, +1 per change: newer versions win.
    pub version: i64,
}

/// An event's status as written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatusWire {
    /// Open for changes (and, before the deadline, for bets).
    New,
    /// Open for changes, closed for bets until resumed.
    Suspended,
    /// Finished; bets on it win.
    FinishedWin,
    /// Finished; bets on it lose.
    FinishedLose,
    /// Cancelled: final like a result; bets on it are void (the stake is
    /// returned).
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot() -> EventSnapshot {
        EventSnapshot {
            id: Uuid::now_v7(),
            coefficient: WireDecimal::parse("1.85").unwrap_or_else(|e| panic!("{e}")),
            deadline: DateTime::parse_from_rfc3339("2030-01-01T18:00:00Z")
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_else(|e| panic!("{e}")),
            status: EventStatusWire::FinishedWin,
            version: 3,
        }
    }

    #[test]
    fn a_message_round_trips_through_json() {
        let message = LineEventMessage::new(LineEventKind::Finished, Utc::now(), snapshot());
        let bytes = serde_json::to_vec(&message).unwrap_or_default();
        let read = LineEventMessage::from_slice(&bytes).map_err(|e| e.to_string());
        assert_eq!(read, Ok(message));
    }

    #[test]
    fn the_wire_shape_is_stable() {
        let message = LineEventMessage::new(LineEventKind::Finished, Utc::now(), snapshot());
        let value = message.to_json();
        assert_eq!(value["schema_version"], json!(1));
        assert_eq!(value["type"], json!("event.finished"));
        assert_eq!(value["data"]["coefficient"], json!("1.85"));
        assert_eq!(value["data"]["status"], json!("FINISHED_WIN"));
        assert_eq!(value["data"]["deadline"], json!("2030-01-01T18:00:00Z"));
        assert_eq!(value["data"]["version"], json!(3));
        assert_eq!(value["message_id"], json!(message.message_id.to_string()));
    }

    #[test]
    fn a_cancellation_is_spelled_as_the_routing_key_and_the_status() {
        let cancelled = EventSnapshot {
            status: EventStatusWire::Cancelled,
            ..snapshot()
        };
        let message = LineEventMessage::new(LineEventKind::Cancelled, Utc::now(), cancelled);
        let value = message.to_json();
        assert_eq!(value["type"], json!("event.cancelled"));
        assert_eq!(value["data"]["status"], json!("CANCELLED"));
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        let read = LineEventMessage::from_slice(&bytes).map_err(|e| e.to_string());
        assert_eq!(read, Ok(message));
    }

    #[test]
    fn a_correction_carries_its_reason_and_other_kinds_none() {
        let message = LineEventMessage::new(LineEventKind::Corrected, Utc::now(), snapshot())
            .with_reason("VAR overturned the goal");
        let value = message.to_json();
        assert_eq!(value["type"], json!("event.corrected"));
        assert_eq!(value["reason"], json!("VAR overturned the goal"));
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        let read = LineEventMessage::from_slice(&bytes).map_err(|e| e.to_string());
        assert_eq!(read, Ok(message));
        let created = LineEventMessage::new(LineEventKind::Created, Utc::now(), snapshot());
        assert!(created.to_json().get("reason").is_none());
    }

    #[test]
    fn a_suspension_is_spelled_as_the_routing_key_and_the_status() {
        let suspended = EventSnapshot {
            status: EventStatusWire::Suspended,
            ..snapshot()
        };
        let value =
            LineEventMessage::new(LineEventKind::Suspended, Utc::now(), suspended).to_json();
        assert_eq!(value["type"], json!("event.suspended"));
        assert_eq!(value["data"]["status"], json!("SUSPENDED"));
    }

    #[test]
    fn an_unknown_schema_version_is_refused() {
        let mut value =
            LineEventMessage::new(LineEventKind::Created, Utc::now(), snapshot()).to_json();
        value["schema_version"] = json!(2);
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        assert!(matches!(
            LineEventMessage::from_slice(&bytes),
            Err(ContractError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            LineEventMessage::from_slice(b"{not json"),
            Err(ContractError::Malformed(_))
        ));
    }

    #[test]
    fn routing_keys_name_their_kind() {
        for kind in LineEventKind::ALL {
            assert_eq!(
                LineEventKind::from_routing_key(kind.routing_key()),
                Some(kind)
            );
            assert_eq!(json!(kind), json!(kind.routing_key()));
        }
        assert_eq!(LineEventKind::from_routing_key("event.deleted"), None);
    }
}
