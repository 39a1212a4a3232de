//! The worker that publishes queued alerts to the alerts exchange.

use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::AlertMessage;
use crate::amqp::{AmqpSession, BrokerStatus, close_channel, connection_lost, supervise};

/// Publishes what [`super::Alerts::raise`] queued, on a broker connection
/// of its own (named `alerts`), reconnecting as needed, until stopped.
#[derive(Debug)]
pub struct AlertPublisher {
    amqp_url: String,
    exchange: String,
    service: &'static str,
    queue: mpsc::Receiver<AlertMessage>,
}

impl AlertPublisher {
    pub(super) fn new(
        amqp_url: &str,
        exchange: &str,
        service: &'static str,
        queue: mpsc::Receiver<AlertMessage>,
    ) -> Self {
        Self {
            amqp_url: amqp_url.to_owned(),
            exchange: exchange.to_owned(),
            service,
            queue,
        }
    }

    /// Publishes until `stop`. Alerts still queued then are dropped: the
    /// log has every one of them.
    pub async fn run(mut self, stop: CancellationToken) {
        // Readiness is the service's work, not its alerts: this status only
        // feeds the supervisor.
        let status = BrokerStatus::default();
        let amqp_url = self.amqp_url.clone();
        supervise(
            &amqp_url,
            "alerts",
            &status,
            &stop,
            &mut Session {
                publisher: &mut self,
                stop: &stop,
            },
        )
        .await;
    }

    /// Declares the exchange, then publishes each queued alert as it comes.
    async fn publish_on(
        &mut self,
        connection: &Connection,
        stop: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let channel = connection.create_channel().await?;
        declare_alerts_exchange(&channel, &self.exchange).await?;
        loop {
            let alert = tokio::select! {
                () = stop.cancelled() => return close_channel(&channel).await,
                error = connection_lost(connection) => return Err(error),
                alert = self.queue.recv() => match alert {
                    Some(alert) => alert,
                    None => return close_channel(&channel).await,
                },
            };
            self.publish(&channel, &alert).await?;
        }
    }

    /// One alert. A body that cannot be written is logged and skipped; a
    /// channel that fails loses this alert (logged already) and reconnects.
    async fn publish(&self, channel: &Channel, alert: &AlertMessage) -> Result<(), lapin::Error> {
        let body = match serde_json::to_vec(alert) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, kind = alert.kind, "alert not published: unwritable");
                return Ok(());
            }
        };
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id(Uuid::now_v7().to_string().into())
            .with_type(alert.kind.into())
            .with_app_id(self.service.into())
            .with_timestamp(u64::try_from(alert.raised_at.timestamp()).unwrap_or_default());
        channel
            .basic_publish(
                self.exchange.as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                &body,
                properties,
            )
            .await?;
        metrics::counter!("alerts_published_total", "kind" => alert.kind).increment(1);
        Ok(())
    }
}

/// Declares the alerts exchange: a durable fanout, so every queue bound to
/// it gets every alert.
pub async fn declare_alerts_exchange(
    channel: &Channel,
    exchange: &str,
) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// The publisher on one broker connection.
struct Session<'a> {
    publisher: &'a mut AlertPublisher,
    stop: &'a CancellationToken,
}

impl AmqpSession for Session<'_> {
    async fn run(&mut self, connection: &Connection) -> Result<(), lapin::Error> {
        self.publisher.publish_on(connection, self.stop).await
    }
}
