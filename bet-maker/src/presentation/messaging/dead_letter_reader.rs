//! Reading the dead-letter queue: why each message is there, and a
//! listing that leaves every message where it was.
//!
//! A message reaches the queue one of two ways. bet-maker dead-letters what
//! it refuses or keeps failing on, with its own headers (see
//! [`super::dead_letter`]). The broker dead-letters a message itself when a
//! consumer died holding it [`super::DELIVERY_LIMIT`] times: then only the
//! broker's `x-death` header says why (reason `delivery_limit`, the queue,
//! how many times, when). [`read_dead_letter`] reads either.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::options::{BasicGetOptions, BasicNackOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection};
use shared_kernel::amqp::close_channel;

/// Header: our reason for a dead letter.
pub const REASON_HEADER: &str = "x-dead-letter-reason";
/// Header: our label for it, from a fixed set.
pub const LABEL_HEADER: &str = "x-dead-letter-label";
/// Header: the routing key it was published with.
pub const ROUTING_KEY_HEADER: &str = "x-original-routing-key";
/// Header: when bet-maker dead-lettered it (AMQP timestamp, seconds).
pub const DEAD_LETTERED_AT_HEADER: &str = "x-dead-lettered-at";

/// How many dead letters `bet-maker dead-letters` lists by default.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

/// One dead letter, as an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The AMQP `message_id`, if it had one.
    pub message_id: Option<String>,
    /// The routing key it was first published with.
    pub routing_key: String,
    /// bet-maker's label (`malformed`, `wrong_publisher`, ...), or
    /// `broker_<reason>` when the broker dead-lettered it, or `unknown`.
    pub label: String,
    /// Why, in words.
    pub reason: String,
    /// When it was dead-lettered, when that is known.
    pub dead_lettered_at: Option<DateTime<Utc>>,
}

impl fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = self
            .dead_lettered_at
            .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339());
        let message_id = self.message_id.as_deref().unwrap_or("-");
        write!(
            f,
            "{when} {message_id} {} {}: {}",
            self.routing_key, self.label, self.reason
        )
    }
}

/// Why a message is in the dead-letter queue: bet-maker's headers if it
/// has them, else the broker's latest `x-death` entry, else `unknown`.
/// `routing_key` is the one it was delivered from the dead-letter queue
/// with (the original is in the headers).
pub fn read_dead_letter(properties: &BasicProperties, routing_key: &str) -> DeadLetter {
    let empty = FieldTable::default();
    let headers = properties.headers().as_ref().unwrap_or(&empty);
    let text = |table: &FieldTable, name: &str| {
        table
            .inner()
            .get(name)
            .and_then(AMQPValue::as_long_string)
            .map(ToString::to_string)
    };
    let message_id = properties.message_id().as_ref().map(ToString::to_string);
    if let Some(reason) = text(headers, REASON_HEADER) {
        return DeadLetter {
            message_id,
            routing_key: text(headers, ROUTING_KEY_HEADER)
                .unwrap_or_else(|| routing_key.to_owned()),
            label: text(headers, LABEL_HEADER).unwrap_or_else(|| "unlabelled".to_owned()),
            reason,
            dead_lettered_at: timestamp(headers.inner().get(DEAD_LETTERED_AT_HEADER)),
        };
    }
    let latest_death = headers
        .inner()
        .get("x-death")
        .and_then(AMQPValue::as_array)
        .and_then(|deaths| deaths.as_slice().first())
        .and_then(AMQPValue::as_field_table);
    let Some(death) = latest_death else {
        return DeadLetter {
            message_id,
            routing_key: routing_key.to_owned(),
            label: "unknown".to_owned(),
            reason: "neither bet-maker's x-dead-letter-reason header nor the broker's x-death"
                .to_owned(),
            dead_lettered_at: None,
        };
    };
    let broker_reason = text(death, "reason").unwrap_or_else(|| "unknown".to_owned());
    let queue = text(death, "queue").unwrap_or_else(|| "?".to_owned());
    let count = death.inner().get("count").and_then(integer).unwrap_or(1);
    let first_routing_key = death
        .inner()
        .get("routing-keys")
        .and_then(AMQPValue::as_array)
        .and_then(|keys| keys.as_slice().first())
        .and_then(AMQPValue::as_long_string)
        .map(ToString::to_string);
    DeadLetter {
        message_id,
        routing_key: first_routing_key.unwrap_or_else(|| routing_key.to_owned()),
        reason: format!(
            "the broker dead-lettered it from {queue}: {} ({broker_reason}, {count} time(s))",
            explain(&broker_reason)
        ),
        label: format!("broker_{broker_reason}"),
        dead_lettered_at: timestamp(death.inner().get("time")),
    }
}

/// The broker's dead-letter reasons in words.
fn explain(broker_reason: &str) -> &'static str {
    match broker_reason {
        "delivery_limit" => {
            "delivered as often as the queue allows (x-delivery-limit) without being acked, \
             e.g. a consumer died holding it each time"
        }
        "rejected" => "rejected by a consumer without requeueing",
        "expired" => "its time to live ran out",
        "maxlen" => "the queue was over its length bound",
        _ => "a reason this bet-maker does not know",
    }
}

fn integer(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

fn timestamp(value: Option<&AMQPValue>) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(value?.as_timestamp()?).ok()?;
    DateTime::from_timestamp(seconds, 0)
}

/// The dead-letter queue as `bet-maker dead-letters` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterListing {
    /// Messages in the queue.
    pub depth: usize,
    /// The first of them, oldest first.
    pub letters: Vec<DeadLetter>,
}

/// Lists the first `limit` messages of `queue` and leaves the queue as it
/// was.
///
/// AMQP has no read-without-taking, so every message is taken
/// unacknowledged and then given back (`nack` with requeue), one by one in
/// the order they came. A quorum queue puts given-back messages behind the
/// others (RabbitMQ 3.x) or ahead of them, in the order given back; either
/// way the order holds only if the whole queue is taken and given back, so
/// all the messages present at the start are read, not only `limit` (their
/// bodies are dropped at once; only the delivery tags are kept). A message
/// dead-lettered meanwhile may end up ahead of them. The broker counts one
/// more delivery of each; the dead-letter queue has no delivery limit.
///
/// A nack is not answered, and the broker hands it on to the queue
/// asynchronously, a few at a time: past about 32 in flight RabbitMQ 3.10
/// was seen to apply the rest in reverse, and closing the channel before
/// the queue applied them all gives the rest back another way (ahead of the
/// others). So they are given back [`GIVE_BACK_BATCH`] at a time, each
/// batch once the queue holds the one before, and the channel closes only
/// then.
pub async fn list_dead_letters(
    connection: &Connection,
    queue: &str,
    limit: u32,
) -> Result<DeadLetterListing, lapin::Error> {
    let channel = connection.create_channel().await?;
    let read = async {
        let depth = ready(&channel, queue).await?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let to_take = depth.max(limit);
        let mut letters = Vec::new();
        let mut taken = Vec::new();
        while taken.len() < to_take {
            let Some(message) = channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                .await?
            else {
                break;
            };
            let delivery = message.delivery;
            if letters.len() < limit {
                letters.push(read_dead_letter(
                    &delivery.properties,
                    delivery.routing_key.as_str(),
                ));
            }
            taken.push(delivery.delivery_tag);
        }
        let give_back = BasicNackOptions {
            requeue: true,
            multiple: false,
        };
        let ready_before = ready(&channel, queue).await?;
        let mut given_back = 0;
        for batch in taken.chunks(GIVE_BACK_BATCH) {
            for delivery_tag in batch {
                channel.basic_nack(*delivery_tag, give_back).await?;
            }
            given_back += batch.len();
            wait_until_ready(&channel, queue, ready_before + given_back).await?;
        }
        Ok::<_, lapin::Error>(DeadLetterListing { depth, letters })
    }
    .await;
    // Whatever a failure left unacknowledged goes back when the channel
    // closes (then perhaps out of order).
    close_channel(&channel).await?;
    read
}

/// Messages given back at once (see [`list_dead_letters`]).
const GIVE_BACK_BATCH: usize = 16;

/// How long the broker may take to put a batch of messages back.
const GIVE_BACK_PATIENCE: Duration = Duration::from_secs(10);

/// Messages ready in `queue`.
async fn ready(channel: &Channel, queue: &str) -> Result<usize, lapin::Error> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?;
    Ok(usize::try_from(declared.message_count()).unwrap_or(usize::MAX))
}

/// Waits until `queue` holds at least `count` messages ready.
async fn wait_until_ready(
    channel: &Channel,
    queue: &str,
    count: usize,
) -> Result<(), lapin::Error> {
    let deadline = tokio::time::Instant::now() + GIVE_BACK_PATIENCE;
    loop {
        let ready = ready(channel, queue).await?;
        if ready >= count {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                queue,
                ready,
                expected = count,
                "the broker has not put every listed dead letter back yet; the rest go back when the channel closes, perhaps out of order"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(test)]
#[path = "dead_letter_reader_tests.rs"]
mod tests;
