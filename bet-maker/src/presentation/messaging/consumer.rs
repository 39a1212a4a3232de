//! The consumer of line-provider's messages.
//!
//! Each message is applied in one database transaction (inbox, copy by
//! version, settlement) and acked only after that transaction committed. A
//! redelivery therefore finds its `message_id` in the inbox and changes
//! nothing: the effect is exactly once.
//!
//! Nothing is applied on trust: the body must be signed by a key in
//! `LINE_EVENTS_VERIFY_KEY_FILES` (checked first, see
//! [`shared_kernel::signing`]); the routing key, the AMQP `type` and the
//! envelope's `type` must agree, the snapshot must keep line-provider's
//! value rules and fit its kind (`event.finished` carries a result,
//! `event.cancelled` the status `CANCELLED`), and the copy must accept it
//! (a result or a cancellation never changes; one version has one content;
//! one `message_id` one content).
//!
//! What cannot be applied never blocks the queue:
//! - a message that cannot be read, or is refused, is published to the
//!   dead-letter queue with the reason (confirmed by the broker), then
//!   acked, and raised as an alert (to `ops.alerts`, an ERROR log line and
//!   `consumer_messages_rejected_total{reason}`): see [`super::dead_letter`];
//! - a message whose application fails is rejected back to the queue; on
//!   its last allowed delivery it is dead-lettered with the error;
//! - while the database is unreachable the message in hand is retried in
//!   place with backoff (not rejected, which would dead-letter good messages
//!   during an outage), and the rest wait in the queue.

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use opentelemetry::context::FutureExt as _;
use shared_kernel::alerts::Alerts;
use shared_kernel::amqp::{
    AmqpSession, Backoff, BrokerStatus, close_channel, supervise, traceparent, verify_delivery,
};
use shared_kernel::contracts::{LineEventKind, LineEventMessage};
use shared_kernel::signing::MessageVerifier;
use shared_kernel::storage::chain;
use shared_kernel::telemetry::{context_for, context_from_traceparent};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::dead_letter::{Rejection, dead_letter, is_last_delivery, keep_record};
use super::handling::{Handled, handling_span};
use super::publisher_identity::check_publisher;
use super::topology::{DELIVERY_LIMIT, Topology, declare};
use crate::application::ports::ApplyOutcome;
use crate::application::{DeadLetterService, LineService};
use crate::domain::{Announced, ImpossibleChange, Refusal};
use crate::line_contract::{to_change_kind, to_line_event};

/// How the consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The broker.
    pub amqp_url: String,
    /// Exchange, queue and dead-letter queue names.
    pub topology: Topology,
    /// Unacked messages the broker may send ahead.
    pub prefetch: u16,
    /// The keys a message must be signed by.
    pub verifier: MessageVerifier,
    /// line-provider's broker user: messages with another `user_id` are
    /// refused (see [`super::publisher_identity`]). `None` takes any.
    pub line_provider_user: Option<String>,
    /// Where a refused message is raised as an alert.
    pub alerts: Alerts,
    /// Where each dead letter's reason is recorded for staff.
    pub dead_letters: DeadLetterService,
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
    /// Unreadable or refused: dead-letter with this reason, raise the
    /// alert, then ack.
    DeadLetter(Rejection),
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
        // At zero from the start, so dashboards read 0 rather than nothing.
        metrics::counter!("consumer_messages_redelivered_total").increment(0);
        metrics::counter!("consumer_messages_dead_lettered_total").increment(0);
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
            // Handled in a span continuing the trace the message was
            // published in (see shared_kernel::telemetry).
            let span = handling_span(&delivery, &self.config.topology.queue);
            let context = context_for(
                &span,
                context_from_traceparent(traceparent(&delivery.properties)),
            );
            let handled = self
                .process(&delivery, &dead_letters, stop)
                .instrument(span.clone())
                .with_context(context)
                .await?;
            span.record("messaging.outcome", handled.label());
            if let Handled::Released = handled {
                return close_channels(&channel, &dead_letters).await;
            }
        }
    }

    /// Handles one delivery and answers the broker (ack, dead-letter then
    /// ack, reject); `Released` when asked to stop before it was applied.
    async fn process(
        &self,
        delivery: &Delivery,
        dead_letters: &Channel,
        stop: &CancellationToken,
    ) -> Result<Handled, lapin::Error> {
        if delivery.redelivered {
            metrics::counter!("consumer_messages_redelivered_total").increment(1);
        }
        // Who published comes first: another user's message is not read.
        let action = match check_publisher(delivery, self.config.line_provider_user.as_deref()) {
            Ok(()) => self.handle(delivery, stop).await,
            Err(rejection) => DeliveryAction::DeadLetter(rejection),
        };
        match action {
            DeliveryAction::Ack => {
                delivery.ack(BasicAckOptions::default()).await?;
                metrics::counter!("consumer_messages_processed_total").increment(1);
                Ok(Handled::Acked)
            }
            DeliveryAction::DeadLetter(rejection) => {
                rejection.raise(delivery, &self.config.alerts);
                dead_letter(dead_letters, &self.config.topology, delivery, &rejection).await?;
                delivery.ack(BasicAckOptions::default()).await?;
                metrics::counter!("consumer_messages_dead_lettered_total").increment(1);
                keep_record(&self.config.dead_letters, delivery, &rejection).await;
                Ok(Handled::DeadLettered)
            }
            DeliveryAction::Requeue(reason) => {
                tracing::warn!(%reason, "message not applied; rejected for redelivery");
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await?;
                Ok(Handled::Requeued)
            }
            DeliveryAction::Release => Ok(Handled::Released),
        }
    }

    async fn handle(&self, delivery: &Delivery, stop: &CancellationToken) -> DeliveryAction {
        // Before anything else: only line-provider's messages are read.
        if let Err(error) =
            verify_delivery(&self.config.verifier, &delivery.properties, &delivery.data)
        {
            return DeliveryAction::DeadLetter(Rejection::new(error.label(), error.to_string()));
        }
        let message = match LineEventMessage::from_slice(&delivery.data) {
            Ok(message) => message,
            Err(error) => {
                return DeliveryAction::DeadLetter(Rejection::new("malformed", error.to_string()));
            }
        };
        if let Err(disagree) = kinds_agree(delivery, message.kind) {
            return DeliveryAction::DeadLetter(refused(&disagree.into()));
        }
        let change = Announced {
            kind: to_change_kind(message.kind),
            event: to_line_event(&message.data),
            occurred_at: message.occurred_at,
        };
        let mut backoff = Backoff::default();
        loop {
            match self.line.apply_message(message.message_id, &change).await {
                Ok(ApplyOutcome::Refused(refusal)) => {
                    return DeliveryAction::DeadLetter(refused(&refusal));
                }
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
                Err(error) if is_last_delivery(delivery) => {
                    return DeliveryAction::DeadLetter(Rejection::new(
                        "failed_repeatedly",
                        format!(
                            "failed on each of {DELIVERY_LIMIT} deliveries; last error: {}",
                            chain(&error)
                        ),
                    ));
                }
                Err(error) => return DeliveryAction::Requeue(chain(&error)),
            }
        }
    }
}

/// A refusal by the rules of the line, as a dead letter's reason.
fn refused(refusal: &Refusal) -> Rejection {
    Rejection::new(refusal.label(), refusal.to_string())
}

/// The routing key, the AMQP `type` property (when set) and the envelope's
/// `type` must name the same kind.
fn kinds_agree(delivery: &Delivery, envelope: LineEventKind) -> Result<(), ImpossibleChange> {
    let property = delivery
        .properties
        .kind()
        .as_ref()
        .map(|kind| kind.as_str());
    let routing_key = delivery.routing_key.as_str();
    if routing_key == envelope.routing_key()
        && property.is_none_or(|kind| kind == envelope.routing_key())
    {
        Ok(())
    } else {
        Err(ImpossibleChange::KindsDisagree {
            routing_key: routing_key.to_owned(),
            property: property.map(str::to_owned),
            envelope: envelope.routing_key().to_owned(),
        })
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
