//! The JSON of the staff's read-only views beyond the risk calls: the
//! dead-letter queue as the back office shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::application::DeadLetterOverview;
use crate::application::ports::DeadLetterRecord;

/// The dead-letter queue: how many messages wait in it, and why bet-maker
/// put the latest ones there.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLettersDto {
    /// Messages in the queue at the latest reading (every
    /// `BET_MAKER_DLQ_CHECK_INTERVAL_MS`), whoever dead-lettered them;
    /// `null` until the broker has been reached.
    #[schema(example = 2)]
    pub depth: Option<u32>,
    /// The most the queue keeps (`BET_MAKER_DLQ_MAX_LENGTH`): beyond it
    /// the oldest are dropped; `null` with `depth`.
    #[schema(example = 100_000)]
    pub max_length: Option<u32>,
    /// When the depth was read; `null` with `depth`.
    pub read_at: Option<DateTime<Utc>>,
    /// The latest messages bet-maker dead-lettered, newest first (a
    /// message the broker dead-lettered by itself counts in `depth` but
    /// has no record).
    pub latest: Vec<DeadLetterDto>,
}

/// One message bet-maker dead-lettered.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterDto {
    /// The record's id.
    pub id: Uuid,
    /// When it was dead-lettered.
    pub at: DateTime<Utc>,
    /// Why, as a label from a fixed set.
    #[schema(example = "bad_signature")]
    pub label: String,
    /// Why, in words.
    #[schema(example = "the signature does not verify with key line-provider-2026")]
    pub reason: String,
    /// The routing key it was published with.
    #[schema(example = "event.finished")]
    pub routing_key: String,
    /// Its AMQP `message_id`, if it had one.
    pub message_id: Option<String>,
}

impl From<DeadLetterRecord> for DeadLetterDto {
    fn from(record: DeadLetterRecord) -> Self {
        Self {
            id: record.id,
            at: record.dead_lettered_at,
            label: record.label,
            reason: record.reason,
            routing_key: record.routing_key,
            message_id: record.message_id,
        }
    }
}

impl From<DeadLetterOverview> for DeadLettersDto {
    fn from(overview: DeadLetterOverview) -> Self {
        Self {
            depth: overview.depth.map(|reading| reading.depth),
            max_length: overview.depth.map(|reading| reading.max_length),
            read_at: overview.depth.map(|reading| reading.read_at),
            latest: overview.latest.into_iter().map(Into::into).collect(),
        }
    }
}

/// The example of `GET /admin/dead-letters`: two messages in the queue,
/// the latest refused as unreadable (its reason as the consumer words it).
pub fn example() -> DeadLettersDto {
    use chrono::TimeZone;
    let at = |second| {
        Utc.with_ymd_and_hms(2030, 6, 1, 17, 2, second)
            .single()
            .unwrap_or_default()
    };
    let unreadable = shared_kernel::contracts::LineEventMessage::from_slice(b"{\"kind\": 1")
        .err()
        .map_or_else(
            || "not a line message".to_owned(),
            |error| error.to_string(),
        );
    DeadLetterOverview {
        depth: Some(crate::application::DepthReading {
            depth: 2,
            max_length: 100_000,
            read_at: at(30),
        }),
        latest: vec![DeadLetterRecord {
            id: Uuid::from_u128(0x0193_6b50_3d21_7e5f_9a62_7b8c_9d0e_1f30),
            label: "malformed".to_owned(),
            reason: unreadable,
            routing_key: "event.created".to_owned(),
            message_id: Some("0193-6b50-example".to_owned()),
            dead_lettered_at: at(12),
        }],
    }
    .into()
}
