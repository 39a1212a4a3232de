//! An exchange and queues of the test's own on the machine's RabbitMQ.

use lapin::options::{
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use uuid::Uuid;

use super::run_blocking_cleanup;

/// The broker tests run against: `TEST_AMQP_URL`, or the local default.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// An exchange name of the test's own, deleted (with the queues made
/// through [`TestBroker::bind_queue`]) when this value is dropped.
#[derive(Debug)]
pub struct TestBroker {
    /// The exchange the service under test should publish to.
    pub exchange: String,
    /// A connection for the test's own observing.
    pub connection: Connection,
    queues: Vec<String>,
}

impl TestBroker {
    /// Names an exchange `test.<label>.<uuid>`; the service declares it.
    pub async fn new(label: &str) -> Result<Self, lapin::Error> {
        let connection = crate::amqp::connect(&amqp_url(), &format!("test-{label}")).await?;
        Ok(Self {
            exchange: format!("test.{label}.{}", Uuid::new_v4().simple()),
            connection,
            queues: Vec::new(),
        })
    }

    /// A name for a queue of this test (deleted at the end if declared
    /// through [`bind_queue`](Self::bind_queue) or [`own_queue`](Self::own_queue)).
    pub fn queue_name(&self, label: &str) -> String {
        format!("{}.{label}", self.exchange)
    }

    /// A queue name that the service under test will declare; it is deleted
    /// when the test ends.
    pub fn own_queue(&mut self, name: &str) -> String {
        self.queues.push(name.to_owned());
        name.to_owned()
    }

    /// Names for a consumer's queue of this test and its dead-letter queue
    /// (`<queue>.dlq`, as the consumer declares it); both are deleted when
    /// the test ends.
    pub fn own_consumer_queues(&mut self, label: &str) -> (String, String) {
        let queue = self.own_queue(&self.queue_name(label));
        let dead_letter_queue = self.own_queue(&format!("{queue}.dlq"));
        (queue, dead_letter_queue)
    }

    /// Declares the exchange, as line-provider does when it connects.
    pub async fn declare_exchange(&self) -> Result<(), lapin::Error> {
        let channel = self.connection.create_channel().await?;
        crate::amqp::declare_line_exchange(&channel, &self.exchange).await?;
        channel.close(200, "declared".into()).await
    }

    /// Messages waiting in `queue` (a passive declare: it fails if nobody
    /// declared the queue).
    pub async fn depth(&self, queue: &str) -> Result<u32, lapin::Error> {
        let channel = self.connection.create_channel().await?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await?;
        channel.close(200, "inspected".into()).await?;
        Ok(declared.message_count())
    }

    /// Publishes `body` to the exchange with `routing_key` (persistent),
    /// signed with the [`test_keys`](super::test_keys) as line-provider
    /// signs, and waits for the broker to take it.
    pub async fn publish(&self, routing_key: &str, body: &[u8]) -> Result<(), lapin::Error> {
        self.publish_with_headers(
            routing_key,
            body,
            crate::amqp::signature_headers(&super::test_keys().signer, body),
        )
        .await
    }

    /// Publishes `body` with exactly these headers (none, a foreign
    /// signature, ...), and waits for the broker to take it.
    pub async fn publish_with_headers(
        &self,
        routing_key: &str,
        body: &[u8],
        headers: FieldTable,
    ) -> Result<(), lapin::Error> {
        let channel = self.connection.create_channel().await?;
        crate::amqp::declare_line_exchange(&channel, &self.exchange).await?;
        channel
            .confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await?;
        channel
            .basic_publish(
                self.exchange.as_str().into(),
                routing_key.into(),
                lapin::options::BasicPublishOptions::default(),
                body,
                lapin::BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_headers(headers),
            )
            .await?
            .await?;
        channel.close(200, "published".into()).await
    }

    /// Declares a durable queue bound to the exchange with `pattern`
    /// (declaring the exchange too, if the service has not yet).
    pub async fn bind_queue(
        &mut self,
        label: &str,
        pattern: &str,
    ) -> Result<(Channel, String), lapin::Error> {
        let channel = self.connection.create_channel().await?;
        crate::amqp::declare_line_exchange(&channel, &self.exchange).await?;
        let queue = self.queue_name(label);
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.as_str().into(),
                self.exchange.as_str().into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.queues.push(queue.clone());
        Ok((channel, queue))
    }
}

/// The alerts exchange of a test whose line exchange is `exchange`.
pub fn alerts_exchange(exchange: &str) -> String {
    format!("{exchange}.alerts")
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let exchange = self.exchange.clone();
        let queues = std::mem::take(&mut self.queues);
        run_blocking_cleanup(async move {
            let connection = crate::amqp::connect(&amqp_url(), "test-cleanup")
                .await
                .map_err(|e| e.to_string())?;
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| e.to_string())?;
            for queue in queues {
                channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            for exchange in [alerts_exchange(&exchange), exchange] {
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            connection
                .close(200, "done".into())
                .await
                .map_err(|e| e.to_string())
        });
    }
}
