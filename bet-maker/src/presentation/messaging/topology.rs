//! bet-maker's queues: a durable quorum queue bound to every event message,
//! and its dead-letter queue, bounded in length.
//!
//! Queue arguments are fixed at a queue's creation: declaring an existing
//! queue with other arguments (say, a new dead-letter bound) is refused by
//! the broker with PRECONDITION_FAILED. That is reported at ERROR naming
//! the queue and what to do, and the declare fails (the supervisor retries).

use lapin::Channel;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use shared_kernel::amqp::expect_line_exchange;

/// How many times a message is delivered before the broker gives up on it
/// and dead-letters it.
pub const DELIVERY_LIMIT: i32 = 5;

/// The dead-letter queue's bound by default: room for a long incident's
/// refusals, while a flood of forged messages cannot fill the broker's disk.
/// When full, the oldest dead letters are dropped (`drop-head`, the quorum
/// queue's default).
pub const DEAD_LETTER_MAX_LENGTH: u32 = 100_000;

/// The names bet-maker consumes with.
#[derive(Debug, Clone)]
pub struct Topology {
    /// line-provider's exchange (`line-provider.events`).
    pub exchange: String,
    /// bet-maker's queue (`bet-maker.line-events`).
    pub queue: String,
    /// Where messages go that cannot be applied (`<queue>.dlq`).
    pub dead_letter_queue: String,
    /// The most messages the dead-letter queue holds (`x-max-length`).
    pub dead_letter_max_length: u32,
}

impl Topology {
    /// The queue `queue` on `exchange`, with `<queue>.dlq` beside it.
    pub fn new(exchange: &str, queue: &str) -> Self {
        Self {
            exchange: exchange.to_owned(),
            queue: queue.to_owned(),
            dead_letter_queue: format!("{queue}.dlq"),
            dead_letter_max_length: DEAD_LETTER_MAX_LENGTH,
        }
    }

    /// The same, with the dead-letter queue bounded at `max_length`.
    pub fn with_dead_letter_max_length(self, max_length: u32) -> Self {
        Self {
            dead_letter_max_length: max_length,
            ..self
        }
    }
}

/// Checks that line-provider's exchange exists (bet-maker never declares
/// it: its broker user may configure only its own queues), then declares
/// the dead-letter queue and the queue bound with `event.#` whose
/// rejected-too-often messages go to the dead-letter queue. Idempotent:
/// safe on every (re)connect.
pub async fn declare(channel: &Channel, topology: &Topology) -> Result<(), lapin::Error> {
    expect_line_exchange(channel, &topology.exchange).await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut dead_letter_arguments = quorum();
    dead_letter_arguments.insert(
        "x-max-length".into(),
        AMQPValue::LongLongInt(i64::from(topology.dead_letter_max_length)),
    );
    channel
        .queue_declare(
            topology.dead_letter_queue.as_str().into(),
            durable,
            dead_letter_arguments,
        )
        .await
        .inspect_err(|error| explain_precondition(error, &topology.dead_letter_queue))?;
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
        .await
        .inspect_err(|error| explain_precondition(error, &topology.queue))?;
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

/// When the broker refused a declare because the queue exists with other
/// arguments, says so plainly: which queue, and how to resolve it.
fn explain_precondition(error: &lapin::Error, queue: &str) {
    if let lapin::ErrorKind::ProtocolError(amqp) = error.kind()
        && amqp.get_id() == PRECONDITION_FAILED
    {
        tracing::error!(queue, error = %error,
            "queue {queue} exists with other arguments than this bet-maker declares (x-max-length, x-delivery-limit, dead-lettering); \
             move its messages elsewhere (shovel) and delete it so bet-maker can declare it anew, \
             or set BET_MAKER_DLQ_MAX_LENGTH to the bound it was declared with");
    }
}

/// AMQP's reply code for PRECONDITION_FAILED.
const PRECONDITION_FAILED: u16 = 406;

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    arguments
}
