//! The consumer of line-provider's messages.
//!
//! Each message is applied in one database transaction (inbox, copy by
//! version, settlement) and acked only after that transaction committed. A
//! redelivery therefore finds its `message_id` in the inbox and changes
//! nothing: the effect is exactly once.
//!
//! What cannot be applied never blocks the queue:
//! - a message that cannot be read is published to the dead-letter queue
//!   with the reason (confirmed by the broker), then acked;
//! - a message whose application fails is rejected back to the queue; after
//!   `delivery_limit` deliveries the broker dead-letters it;
//! - while the database is unreachable the message in hand is retried in
//!   place with backoff (not rejected, which would dead-letter good messages
//!   during an outage), and the rest wait in the queue.

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection};
use shared_kernel::amqp::{AmqpSession, Backoff, BrokerStatus, close_channel, supervise};
use shared_kernel::contracts::LineEventMessage;
use shared_kernel::storage::chain;
use tokio_util::sync::CancellationToken;

use super::topology::{Topology, declare};
use crate::application::LineService;
use crate::line_contract::to_line_event;

/// How the consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The broker.
    pub amqp_url: String,
    /// Exchange, queue and dead-letter queue names.
    pub topology: Topology,
    /// Unacked messages the broker may send ahead.
    pub prefetch: u16,
}

/// Consumes `bet-maker.line-events` until stopped, reconnecting as needed.
#[derive(Debug)]
pub struct LineEventConsumer {
    config: ConsumerConfig,
    line: LineService,
    broker: BrokerStatus,
}

/// What to do with a delivery once handled.
enum DeliveryAction {
    /// Applied (or applied before): ack.
    Ack,
    /// Unreadable: dead-letter with this reason, then ack.
    DeadLetter(String),
    /// Failed to apply: reject to the queue (the broker counts deliveries).
    Requeue(String),
    /// Asked to stop while waiting for the database: leave unacked, so the
    /// broker redelivers it to whoever consumes next.
    Release,
}

impl LineEventConsumer {
    /// A consumer applying messages through `line`.
    pub fn new(config: ConsumerConfig, line: LineService, broker: BrokerStatus) -> Self {
        Self {
            config,
            line,
            broker,
        }
    }

    /// Consumes until `stop`; the message in hand is finished first.
    pub async fn run(self, stop: CancellationToken) {
        let mut session = ConsumerSession {
            consumer: &self,
            stop: &stop,
        };
        supervise(
            &self.config.amqp_url,
            "consumer",
            &self.broker,
            &stop,
            &mut session,
        )
        .await;
        tracing::info!("consumer stopped");
    }

    async fn consume_on(
        &self,
        connection: &Connection,
        stop: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let channel = connection.create_channel().await?;
        declare(&channel, &self.config.topology).await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        // A second channel, in confirm mode, for dead-lettering: a message is
        // acked only once the dead-letter queue has it.
        let dead_letters = connection.create_channel().await?;
        dead_letters
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                self.config.topology.queue.as_str().into(),
                "bet-maker".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.broker.set_up();
        tracing::info!(queue = %self.config.topology.queue, "consuming line events");
        loop {
            let delivery = tokio::select! {
                () = stop.cancelled() => {
                    // Unacked prefetched messages go back to the queue when
                    // the channel closes.
                    return close_channels(&channel, &dead_letters).await;
                }
                next = deliveries.next() => match next {
                    Some(delivery) => delivery?,
                    None => return Err(lapin::ErrorKind::InvalidChannelState(lapin::ChannelState::Closed, "the broker cancelled the consumer").into()),
                },
            };
            if delivery.redelivered {
                metrics::counter!("consumer_messages_redelivered_total").increment(1);
            }
            match self.handle(&delivery, stop).await {
                DeliveryAction::Ack => {
                    delivery.ack(BasicAckOptions::default()).await?;
                    metrics::counter!("consumer_messages_processed_total").increment(1);
                }
                DeliveryAction::DeadLetter(reason) => {
                    dead_letter(&dead_letters, &self.config.topology, &delivery, &reason).await?;
                    delivery.ack(BasicAckOptions::default()).await?;
                    metrics::counter!("consumer_messages_dead_lettered_total").increment(1);
                }
                DeliveryAction::Requeue(reason) => {
                    tracing::warn!(%reason, "message not applied; rejected for redelivery");
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        })
                        .await?;
                }
                DeliveryAction::Release => return close_channels(&channel, &dead_letters).await,
            }
        }
    }

    async fn handle(&self, delivery: &Delivery, stop: &CancellationToken) -> DeliveryAction {
        let message = match LineEventMessage::from_slice(&delivery.data) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, routing_key = %delivery.routing_key, "unreadable message; dead-lettering");
                return DeliveryAction::DeadLetter(error.to_string());
            }
        };
        let event = to_line_event(&message.data);
        let mut backoff = Backoff::default();
        loop {
            match self.line.apply_message(message.message_id, &event).await {
                Ok(_) => return DeliveryAction::Ack,
                Err(error) if error.is_unavailable() => {
                    let pause = backoff.next_delay();
                    tracing::warn!(message_id = %message.message_id, error = %chain(&error), retry_in = ?pause,
                        "database unavailable; holding the message");
                    tokio::select! {
                        () = stop.cancelled() => return DeliveryAction::Release,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                Err(error) => return DeliveryAction::Requeue(chain(&error)),
            }
        }
    }
}

/// Closes both channels before the supervisor closes the connection.
async fn close_channels(channel: &Channel, dead_letters: &Channel) -> Result<(), lapin::Error> {
    close_channel(channel).await?;
    close_channel(dead_letters).await
}

/// The consumer on one broker connection.
struct ConsumerSession<'a> {
    consumer: &'a LineEventConsumer,
    stop: &'a CancellationToken,
}

impl AmqpSession for ConsumerSession<'_> {
    async fn run(&mut self, connection: &Connection) -> Result<(), lapin::Error> {
        self.consumer.consume_on(connection, self.stop).await
    }
}

/// Publishes the delivery, as it came, to the dead-letter queue with the
/// reason and its original routing key in headers, and waits for the
/// broker's confirm.
async fn dead_letter(
    channel: &Channel,
    topology: &Topology,
    delivery: &Delivery,
    reason: &str,
) -> Result<(), lapin::Error> {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(
        "x-dead-letter-reason".into(),
        AMQPValue::LongString(LongString::from(reason)),
    );
    headers.insert(
        "x-original-routing-key".into(),
        AMQPValue::LongString(LongString::from(delivery.routing_key.as_str())),
    );
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    let properties = match delivery.properties.message_id() {
        Some(id) => properties.with_message_id(id.clone()),
        None => properties,
    };
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
