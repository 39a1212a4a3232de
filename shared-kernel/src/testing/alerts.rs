//! Listening to a service's alerts, as an operator's queue bound to the
//! alerts exchange would.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, Consumer};
use serde_json::Value;

/// A server-named, exclusive queue bound to an alerts exchange; it goes
/// away with the connection.
#[derive(Debug)]
pub struct AlertListener {
    consumer: Consumer,
}

impl AlertListener {
    /// Binds a queue to `exchange` (declaring the exchange as the services
    /// do: a durable fanout), so every alert raised from now on arrives.
    pub async fn bind(connection: &Connection, exchange: &str) -> Result<Self, lapin::Error> {
        let channel = connection.create_channel().await?;
        crate::alerts::declare_alerts_exchange(&channel, exchange).await?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "alert-listener".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(Self { consumer })
    }

    /// Every alert that arrives within `within`, as JSON, with its AMQP
    /// `type` checked against its `kind`.
    pub async fn collect(&mut self, within: Duration) -> Vec<Value> {
        let mut alerts = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(alert)) = tokio::time::timeout_at(deadline, self.next_alert()).await {
            alerts.push(alert);
        }
        alerts
    }

    /// The first alert of `kind` within `within`, passing over others;
    /// `None` if none came.
    pub async fn wait_for(&mut self, kind: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.next_alert()).await {
                Ok(Some(alert)) if alert["kind"] == kind => return Some(alert),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }

    async fn next_alert(&mut self) -> Option<Value> {
        let delivery = self.consumer.next().await?.ok()?;
        delivery.ack(BasicAckOptions::default()).await.ok()?;
        let alert: Value = serde_json::from_slice(&delivery.data)
            .unwrap_or_else(|e| panic!("an alert that is not JSON: {e}"));
        let kind = delivery
            .properties
            .kind()
            .as_ref()
            .map(|kind| kind.to_string());
        assert_eq!(
            kind.as_deref(),
            alert["kind"].as_str(),
            "the AMQP type of an alert is its kind: {alert}"
        );
        Some(alert)
    }
}
