//! RabbitMQ plumbing: connecting with backoff, the line-events topology,
//! and a publisher that waits for the broker's confirms in batches.

mod backoff;
mod publisher;
mod signed;
mod status;

pub use backoff::Backoff;
pub use publisher::{ConfirmedPublisher, OutgoingMessage, PublishOutcome, traceparent};
pub use signed::{signature_headers, verify_delivery};
pub use status::BrokerStatus;

use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::future::Future;

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

/// A worker's work on one connection, run by [`supervise`].
pub trait AmqpSession: Send {
    /// Declares what it needs, marks the broker up, and works until the
    /// connection fails (`Err`) or the worker is asked to stop (`Ok`).
    ///
    /// Before returning `Ok`, close every channel it opened
    /// ([`close_channel`], [`ConfirmedPublisher::close`]): lapin closes a
    /// dropped channel in the background, and if that runs after
    /// [`supervise`] has begun closing the connection it fails ("invalid
    /// channel state: Closing") and is logged as a connection ERROR.
    fn run(
        &mut self,
        connection: &Connection,
    ) -> impl Future<Output = Result<(), lapin::Error>> + Send;
}

/// Keeps one worker (the outbox relay, the consumer) connected to the
/// broker until `stop`: connects with capped exponential backoff and jitter,
/// runs `session` on the connection, and when the session fails (the broker
/// went away, a channel was closed, the network was cut) marks the broker
/// down with the reason, counts a reconnect, and starts over. The session
/// declares its own topology, so every reconnect re-declares it, and marks
/// `status` up once it is doing its work. It returns `Ok(())` when `stop` is
/// cancelled; this loop never gives up by itself.
pub async fn supervise(
    url: &str,
    name: &'static str,
    status: &BrokerStatus,
    stop: &CancellationToken,
    session: &mut impl AmqpSession,
) {
    // The series exists from the start, at zero, so a dashboard's rate()
    // reads 0 rather than nothing until the first reconnect.
    metrics::counter!("amqp_reconnects_total", "connection" => name).increment(0);
    let mut backoff = Backoff::default();
    while let Some(connection) = connect_with_backoff(url, name, status, stop).await {
        let outcome = session.run(&connection).await;
        close_connection(&connection, name).await;
        match outcome {
            Ok(()) => break,
            Err(error) => {
                status.set_down(error.to_string());
                metrics::counter!("amqp_reconnects_total", "connection" => name).increment(1);
                let pause = backoff.next_delay();
                tracing::warn!(%error, connection = name, retry_in = ?pause, "lost the broker; reconnecting");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    status.set_down("shut down");
}

/// Closes a connection whose channels are closed. One that is already
/// closing or closed (the broker went away) needs nothing more.
async fn close_connection(connection: &Connection, name: &'static str) {
    if !connection.status().connected() {
        return;
    }
    if let Err(error) = connection.close(200, "stopping".into()).await {
        tracing::debug!(%error, connection = name, "the connection was already going away");
    }
}

/// Closes a channel, waiting for the broker's answer, so that it is closed
/// before its connection is. One that is already closing or closed (the
/// broker or the connection closed it) needs nothing more: during a stop
/// that is normal, not an error.
pub async fn close_channel(channel: &Channel) -> Result<(), lapin::Error> {
    if !channel.status().connected() {
        return Ok(());
    }
    channel.close(200, "stopping".into()).await
}

/// Resolves with an error when the connection fails, so that a worker
/// waiting for something else notices a dead connection at once; at once
/// too when it has failed already. A listener hears only the events after
/// it was made, and a worker makes one each time it waits: a connection
/// that failed while the worker was busy (the outbox relay publishing a
/// batch) would otherwise be taken for up until the worker next used it,
/// and an idle relay then never did (readiness stayed 200 with the broker
/// cut; a fault test caught it one run in three).
pub async fn connection_lost(connection: &Connection) -> lapin::Error {
    use futures_util::StreamExt;
    let mut events = connection.events_listener();
    if !connection.status().connected() {
        return lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed).into();
    }
    loop {
        match events.next().await {
            Some(lapin::Event::Error(error)) => return error,
            Some(_) => continue,
            None => {
                return lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed)
                    .into();
            }
        }
    }
}

/// Checks that line-provider's exchange exists, without declaring it: a
/// passive declare needs no `configure` permission, so a consumer's broker
/// user need not be able to create (or delete) another service's exchange.
/// Until line-provider has declared it, this fails with NOT_FOUND (and
/// says so): the caller's supervisor retries.
pub async fn expect_line_exchange(channel: &Channel, exchange: &str) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .inspect_err(|error| {
            if let lapin::ErrorKind::ProtocolError(amqp) = error.kind()
                && amqp.get_id() == NOT_FOUND
            {
                tracing::warn!(exchange,
                    "exchange {exchange} does not exist yet: line-provider declares it when it first connects; waiting for it");
            }
        })
}

/// AMQP's reply code for NOT_FOUND.
const NOT_FOUND: u16 = 404;

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

#[cfg(test)]
mod connection_lost_tests {
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// The broker tests run against (as `publisher_tests`).
    fn broker_address() -> String {
        std::env::var("TEST_AMQP_ADDRESS").unwrap_or_else(|_| "127.0.0.1:5672".to_owned())
    }

    /// A connection to the real broker through a relay of one TCP
    /// connection, and the relay's task: aborting it cuts the connection.
    async fn connection_through_a_relay() -> (Connection, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding the relay: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the relay's address: {e}"));
        let upstream = broker_address();
        let relay = tokio::spawn(async move {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut broker) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
        });
        let url = format!("amqp://guest:guest@{address}/%2f");
        let connection = connect(&url, "test-connection-lost")
            .await
            .unwrap_or_else(|e| panic!("connecting through the relay: {e}"));
        (connection, relay)
    }

    #[tokio::test]
    async fn a_connection_that_failed_while_nobody_listened_is_known_lost_at_once() {
        let (connection, relay) = connection_through_a_relay().await;
        // Up: waiting for its loss does not end.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), connection_lost(&connection))
                .await
                .is_err(),
            "a live connection is not lost"
        );
        // Cut while no one waits on it (a worker busy elsewhere).
        relay.abort();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let lost = tokio::time::timeout(Duration::from_secs(2), connection_lost(&connection)).await;
        assert!(
            lost.is_ok(),
            "a connection cut before anyone listened must be reported lost at once"
        );
    }
}
