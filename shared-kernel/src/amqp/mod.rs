//! RabbitMQ plumbing: connecting with backoff, the line-events topology,
//! and a publisher that waits for the broker's confirms in batches.

mod backoff;
mod publisher;
mod status;

pub use backoff::Backoff;
pub use publisher::{ConfirmedPublisher, OutgoingMessage, PublishOutcome};
pub use status::BrokerStatus;

use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio_util::sync::CancellationToken;

/// Opens a connection, naming it so the admin panel shows who it is.
pub async fn connect(url: &str, connection_name: &str) -> Result<Connection, lapin::Error> {
    let properties =
        ConnectionProperties::default().with_connection_name(connection_name.to_owned().into());
    Connection::connect(url, properties).await
}

/// Connects, retrying with capped exponential backoff until it succeeds or
/// `stop` is cancelled (then `None`). Records each failure in `status`; the
/// caller marks it up once it has done its own set-up (declared its
/// topology, started consuming), which is what "ready" means.
pub async fn connect_with_backoff(
    url: &str,
    connection_name: &str,
    status: &BrokerStatus,
    stop: &CancellationToken,
) -> Option<Connection> {
    let mut backoff = Backoff::default();
    loop {
        match connect(url, connection_name).await {
            Ok(connection) => return Some(connection),
            Err(error) => {
                status.set_down(error.to_string());
                let delay = backoff.next_delay();
                tracing::warn!(%error, connection_name, retry_in = ?delay, "RabbitMQ unreachable");
                metrics::counter!("amqp_connect_failures_total", "connection" => connection_name.to_owned())
                    .increment(1);
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Declares the durable topic exchange line-provider publishes to.
pub async fn declare_line_exchange(channel: &Channel, exchange: &str) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}
