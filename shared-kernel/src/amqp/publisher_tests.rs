//! Against the machine's real RabbitMQ: the publisher's `user_id` is the
//! connection's user, and the broker really checks it.

use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Connection};

use super::*;

/// The broker tests run against (as `testing::amqp_url`, which this
/// crate's own tests cannot reach: it needs the `test-support` feature).
fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A connection, and a queue of this test's own on it (exclusive: the
/// broker deletes it when the connection closes).
async fn connection_and_queue() -> (Connection, Channel, String) {
    let connection = crate::amqp::connect(&amqp_url(), "test-publisher")
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    let channel = connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("declaring the queue: {e}"));
    (connection, channel, queue.name().to_string())
}

#[tokio::test]
async fn every_message_carries_the_user_of_the_amqp_url_as_user_id() {
    let (connection, channel, queue) = connection_and_queue().await;
    let url_user = amqp_url()
        .parse::<AMQPUri>()
        .unwrap_or_else(|e| panic!("{e}"))
        .authority
        .userinfo
        .username;
    // The default exchange routes by queue name.
    let signer = Arc::new(MessageSigner::from_seed([3; 32]));
    let publisher = ConfirmedPublisher::open(&connection, "", signer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let outcomes = publisher
        .publish_batch(&[OutgoingMessage {
            message_id: Uuid::now_v7(),
            routing_key: &queue,
            body: b"{}",
            occurred_at: Utc::now(),
            traceparent: None,
        }])
        .await
        .unwrap_or_else(|e| panic!("publishing: {e}"));

    assert_eq!(outcomes, [PublishOutcome::Acked]);
    let message = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the message did not arrive"));
    assert_eq!(
        message
            .delivery
            .properties
            .user_id()
            .as_ref()
            .map(ToString::to_string),
        Some(url_user)
    );
    publisher.close().await.unwrap_or_else(|e| panic!("{e}"));
    connection
        .close(200, "done".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn the_broker_refuses_a_user_id_that_is_not_the_connections_user() {
    let (connection, _, queue) = connection_and_queue().await;
    let channel = connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let published = match channel
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default().with_user_id("line-provider-impostor".into()),
        )
        .await
    {
        Ok(confirm) => confirm.await.map(|confirmation| confirmation.is_ack()),
        Err(error) => Err(error),
    };

    let error = match published {
        Err(error) => error,
        Ok(acked) => panic!("the broker took the publish (acked: {acked})"),
    };
    let refusal = match error.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => amqp.to_string(),
        other => panic!("not the broker's refusal: {other:?}"),
    };
    assert!(
        refusal.contains("PRECONDITION_FAILED") && refusal.contains("user_id"),
        "{refusal}"
    );
    assert!(
        !channel.status().connected(),
        "the broker closed the channel"
    );
    connection
        .close(200, "done".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
