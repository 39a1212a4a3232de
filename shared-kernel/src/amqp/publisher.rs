//! Publishing with confirms, a batch at a time, every message signed.
//!
//! Every message carries the AMQP `user_id` property: the user the
//! connection authenticated as. RabbitMQ refuses a publish whose `user_id`
//! is not the connection's user (PRECONDITION_FAILED), so a consumer can
//! trust `user_id` to name who published, and refuse what the wrong user
//! sent.

use chrono::{DateTime, Utc};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, LongString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use std::sync::Arc;
use uuid::Uuid;

use crate::signing::MessageSigner;

/// One message to publish to the exchange.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'a> {
    /// Unique id; also the AMQP `message_id` property.
    pub message_id: Uuid,
    /// Routing key; also the AMQP `type` property.
    pub routing_key: &'a str,
    /// The JSON body.
    pub body: &'a [u8],
    /// When the change happened (AMQP `timestamp`, in seconds).
    pub occurred_at: DateTime<Utc>,
    /// W3C trace context, sent as the `traceparent` header.
    pub traceparent: Option<&'a str>,
}

/// The header carrying the W3C trace context of a message.
const TRACEPARENT: &str = "traceparent";

/// The trace context a message was published in (its `traceparent`
/// header), for its consumer to continue.
pub fn traceparent(properties: &BasicProperties) -> Option<&str> {
    let headers = properties.headers().as_ref()?;
    match headers.inner().get(TRACEPARENT)? {
        AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
        _ => None,
    }
}

/// What the broker said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Routed to at least one queue and confirmed: safe to forget.
    Acked,
    /// No queue was bound for its routing key (`mandatory`): keep it.
    Returned(String),
    /// The broker refused to take responsibility for it: keep it.
    Nacked,
}

/// A channel in confirm mode on one exchange, signing what it publishes.
#[derive(Debug)]
pub struct ConfirmedPublisher {
    channel: Channel,
    exchange: String,
    signer: Arc<MessageSigner>,
    user_id: String,
}

impl ConfirmedPublisher {
    /// Opens a channel on `connection` and puts it in confirm mode; every
    /// message is signed with `signer` (see [`crate::signing`]) and carries
    /// the connection's user as `user_id`: the user name of the AMQP URL
    /// the connection was opened with (lapin parses it with `AMQPUri` and
    /// keeps `uri.authority.userinfo.username`; `guest` when the URL names
    /// none, as the broker then authenticates `guest`).
    pub async fn open(
        connection: &Connection,
        exchange: &str,
        signer: Arc<MessageSigner>,
    ) -> Result<Self, lapin::Error> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self {
            channel,
            exchange: exchange.to_owned(),
            signer,
            user_id: connection.status().username(),
        })
    }

    /// Closes the channel (see [`super::close_channel`]); call it before
    /// the connection closes.
    pub async fn close(&self) -> Result<(), lapin::Error> {
        super::close_channel(&self.channel).await
    }

    /// The exchange it publishes to.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// The channel, e.g. to declare the topology on.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes every message (persistent, `mandatory`), then waits for all
    /// their confirms: one round-trip per batch, not per message. The
    /// outcomes are in the order of `messages`. An `Err` means the channel
    /// failed: treat every message of the batch as not published.
    pub async fn publish_batch(
        &self,
        messages: &[OutgoingMessage<'_>],
    ) -> Result<Vec<PublishOutcome>, lapin::Error> {
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let confirm = self
                .channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    message.routing_key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    message.body,
                    self.properties(message),
                )
                .await?;
            confirms.push(confirm);
        }
        let mut outcomes = Vec::with_capacity(confirms.len());
        for confirm in confirms {
            outcomes.push(match confirm.await? {
                Confirmation::Ack(None) | Confirmation::NotRequested => PublishOutcome::Acked,
                Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                    PublishOutcome::Returned(format!(
                        "{} {}",
                        returned.reply_code,
                        returned.reply_text.as_str()
                    ))
                }
                Confirmation::Nack(None) => PublishOutcome::Nacked,
            });
        }
        Ok(outcomes)
    }
}

impl ConfirmedPublisher {
    /// The AMQP properties of `message`, with its signature in the headers.
    fn properties(&self, message: &OutgoingMessage<'_>) -> BasicProperties {
        let mut headers = super::signature_headers(&self.signer, message.body);
        if let Some(traceparent) = message.traceparent {
            headers.insert(
                TRACEPARENT.into(),
                AMQPValue::LongString(LongString::from(traceparent)),
            );
        }
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message.message_id.to_string().into())
            .with_type(message.routing_key.into())
            .with_timestamp(u64::try_from(message.occurred_at.timestamp()).unwrap_or_default())
            .with_user_id(self.user_id.as_str().into())
            .with_headers(headers)
    }
}

#[cfg(test)]
#[path = "publisher_tests.rs"]
mod tests;
