//! RabbitMQ: the queue topology and the consumer of line-provider's messages.

mod consumer;
mod dead_letter;
mod publisher_identity;
mod topology;

pub use consumer::{ConsumerConfig, LineEventConsumer};
pub use topology::{DEAD_LETTER_MAX_LENGTH, DELIVERY_LIMIT, Topology, declare};
