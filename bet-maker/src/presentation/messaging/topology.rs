//! bet-maker's queues: a durable quorum queue bound to every event message,
//! and its dead-letter queue.

use lapin::Channel;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use shared_kernel::amqp::declare_line_exchange;

/// How many times a message is delivered before the broker gives up on it
/// and dead-letters it.
pub const DELIVERY_LIMIT: i32 = 5;

/// The names bet-maker consumes with.
#[derive(Debug, Clone)]
pub struct Topology {
    /// line-provider's exchange (`line-provider.events`).
    pub exchange: String,
    /// bet-maker's queue (`bet-maker.line-events`).
    pub queue: String,
    /// Where messages go that cannot be applied (`<queue>.dlq`).
    pub dead_letter_queue: String,
}

impl Topology {
    /// The queue `queue` on `exchange`, with `<queue>.dlq` beside it.
    pub fn new(exchange: &str, queue: &str) -> Self {
        Self {
            exchange: exchange.to_owned(),
            queue: queue.to_owned(),
            dead_letter_queue: format!("{queue}.dlq"),
        }
    }
}

/// Declares the exchange, the dead-letter queue, and the queue bound with
/// `event.#` whose rejected-too-often messages go to the dead-letter queue.
/// Idempotent: safe on every (re)connect.
pub async fn declare(channel: &Channel, topology: &Topology) -> Result<(), lapin::Error> {
    declare_line_exchange(channel, &topology.exchange).await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(
            topology.dead_letter_queue.as_str().into(),
            durable,
            quorum(),
        )
        .await?;
    let mut arguments = quorum();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(LongString::from("")),
    );
    arguments.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(topology.dead_letter_queue.as_str())),
    );
    arguments.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongInt(DELIVERY_LIMIT),
    );
    channel
        .queue_declare(topology.queue.as_str().into(), durable, arguments)
        .await?;
    channel
        .queue_bind(
            topology.queue.as_str().into(),
            topology.exchange.as_str().into(),
            "event.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    arguments
}
