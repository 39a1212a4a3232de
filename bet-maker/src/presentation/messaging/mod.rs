//! RabbitMQ: the queue topology and the consumer of line-provider's messages.

mod consumer;
mod topology;

pub use consumer::{ConsumerConfig, LineEventConsumer};
pub use topology::{DELIVERY_LIMIT, Topology, declare};
