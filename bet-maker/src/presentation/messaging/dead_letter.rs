//! Dead-lettering: every message that is not applied goes to the
//! dead-letter queue with the reason, and raises an alert.
//!
//! The consumer dead-letters what it refuses itself, with the reason in
//! the `x-dead-letter-reason` header and a label from a fixed set in
//! `x-dead-letter-label`. A message whose application keeps failing is
//! dead-lettered by the consumer on its last allowed delivery, with the
//! error, rather than left for the broker to drop there without one. A
//! message the broker dead-letters anyway (the consumer died while holding
//! it, [`super::DELIVERY_LIMIT`] times) carries the broker's `x-death`
//! header: reason `delivery_limit`, the queue, and the count.
//! [`super::dead_letter_reader`] reads the reason of either.

use lapin::message::Delivery;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, LongString};
use lapin::{BasicProperties, Channel};
use shared_kernel::alerts::{Alert, Alerts};
use shared_kernel::storage::chain;

use crate::application::{DeadLetterService, DeadLettered};

use super::dead_letter_reader::{
    DEAD_LETTERED_AT_HEADER, LABEL_HEADER, REASON_HEADER, ROUTING_KEY_HEADER,
};
use super::topology::{DELIVERY_LIMIT, Topology};

/// Why a message is dead-lettered: a label from a fixed set (for the
/// `consumer_messages_rejected_total{reason}` metric) and the details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// One of `unsigned`, `unknown_key`, `bad_signature`, `malformed`, `invalid_value`, `kind_mismatch`,
    /// `final_status_changed`, `same_version_differs`,
    /// `message_id_reused`, `failed_repeatedly`, `wrong_publisher`.
    pub label: &'static str,
    /// What was wrong, for the dead letter's header and the log.
    pub reason: String,
}

impl Rejection {
    /// A rejection with this label and reason.
    pub fn new(label: &'static str, reason: impl Into<String>) -> Self {
        Self {
            label,
            reason: reason.into(),
        }
    }

    /// Raises the alert (see [`shared_kernel::alerts`]) and counts the
    /// refusal by label. The alert's kind tells an operator what to look
    /// at: `forged_message` (not provably line-provider's),
    /// `conflicting_result` (a final result changing), or
    /// `message_refused` (anything else the line's rules refuse).
    pub fn raise(&self, delivery: &Delivery, alerts: &Alerts) {
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string);
        let kind = match self.label {
            "unsigned" | "unknown_key" | "bad_signature" | "wrong_publisher" => "forged_message",
            "final_status_changed" => "conflicting_result",
            _ => "message_refused",
        };
        alerts.raise(
            Alert::new(kind, "line message refused; dead-lettered")
                .with("reason", self.label)
                .with("detail", self.reason.as_str())
                .with("routing_key", delivery.routing_key.as_str())
                .with("message_id", message_id),
        );
        metrics::counter!("consumer_messages_rejected_total", "reason" => self.label).increment(1);
    }
}

/// How long recording a dead letter for staff may take: the record is
/// for reading, and a slow database must not hold up the queue.
const RECORD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Records the dead letter just made, for staff (`GET
/// /admin/dead-letters`). The message is in the dead-letter queue
/// already, so a failure here loses only the record: logged, never
/// holding up the consumer for more than [`RECORD_PATIENCE`].
pub async fn keep_record(book: &DeadLetterService, delivery: &Delivery, rejection: &Rejection) {
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str());
    let letter = DeadLettered {
        label: rejection.label,
        reason: &rejection.reason,
        routing_key: delivery.routing_key.as_str(),
        message_id,
    };
    match tokio::time::timeout(RECORD_PATIENCE, book.record(letter)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(label = rejection.label, message_id, error = %chain(&error),
                "dead-lettered, but its record for staff was not written");
        }
        Err(_) => {
            tracing::warn!(label = rejection.label, message_id, patience = ?RECORD_PATIENCE,
                "dead-lettered, but its record for staff took too long and was given up");
        }
    }
}

/// Whether this delivery is the last the broker allows (quorum queues
/// count earlier deliveries in `x-delivery-count`): a failure now must be
/// dead-lettered by the consumer, with its error, or the broker would
/// drop it there without one.
pub fn is_last_delivery(delivery: &Delivery) -> bool {
    let earlier = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| match headers.inner().get("x-delivery-count")? {
            AMQPValue::LongLongInt(n) => Some(*n),
            AMQPValue::LongInt(n) => Some(i64::from(*n)),
            AMQPValue::LongUInt(n) => Some(i64::from(*n)),
            AMQPValue::ShortInt(n) => Some(i64::from(*n)),
            _ => None,
        })
        .unwrap_or(0);
    earlier + 1 >= i64::from(DELIVERY_LIMIT)
}

/// Publishes the delivery, as it came, to the dead-letter queue with the
/// reason, its original routing key and the time in headers, and waits for
/// the broker's confirm.
pub async fn dead_letter(
    channel: &Channel,
    topology: &Topology,
    delivery: &Delivery,
    rejection: &Rejection,
) -> Result<(), lapin::Error> {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(
        REASON_HEADER.into(),
        AMQPValue::LongString(LongString::from(rejection.reason.as_str())),
    );
    headers.insert(
        LABEL_HEADER.into(),
        AMQPValue::LongString(LongString::from(rejection.label)),
    );
    headers.insert(
        ROUTING_KEY_HEADER.into(),
        AMQPValue::LongString(LongString::from(delivery.routing_key.as_str())),
    );
    headers.insert(
        DEAD_LETTERED_AT_HEADER.into(),
        AMQPValue::Timestamp(u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()),
    );
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    if let Some(id) = delivery.properties.message_id() {
        properties = properties.with_message_id(id.clone());
    }
    if let Some(kind) = delivery.properties.kind() {
        properties = properties.with_type(kind.clone());
    }
    let confirm = channel
        .basic_publish(
            "".into(),
            topology.dead_letter_queue.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &delivery.data,
            properties,
        )
        .await?
        .await?;
    if confirm.is_ack() && confirm.take_message().is_none() {
        Ok(())
    } else {
        Err(lapin::ErrorKind::InvalidChannelState(
            lapin::ChannelState::Error,
            "the dead-letter queue did not take the message",
        )
        .into())
    }
}
