//! RabbitMQ: the queue topology and the consumer of line-provider's messages.

mod consumer;
mod dead_letter;
mod dead_letter_reader;
mod dead_letter_watch;
mod handling;
mod publisher_identity;
mod topology;

pub use consumer::{ConsumerConfig, LineEventConsumer};
pub use dead_letter_reader::{
    DEFAULT_LIST_LIMIT, DeadLetter, DeadLetterListing, list_dead_letters, read_dead_letter,
};
pub use dead_letter_watch::{DeadLetterWatch, FILL_ALERT_PERCENT, FillAlarm, FillChange};
pub use topology::{DEAD_LETTER_MAX_LENGTH, DELIVERY_LIMIT, Topology, declare};
