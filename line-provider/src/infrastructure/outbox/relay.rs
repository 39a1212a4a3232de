//! The relay: moves outbox rows to RabbitMQ, and marks a row published only
//! after the broker confirmed it.
//!
//! One batch is one transaction (see [`super::batch`]): lock up to
//! `batch_size` due rows with `FOR UPDATE SKIP LOCKED` (so replicas never
//! take the same rows), publish them all with `mandatory`, wait for the
//! confirms, then mark the acked rows published and give the rest a later
//! try. If anything fails midway, the transaction rolls back and every row
//! of the batch stays waiting: a message may then be published twice
//! (consumers deduplicate on `message_id`), but never lost.

use std::sync::Arc;
use std::time::Duration;

use lapin::Connection;
use sea_orm::sqlx::PgPool;
use shared_kernel::amqp::{
    AmqpSession, Backoff, BrokerStatus, ConfirmedPublisher, connection_lost, declare_line_exchange,
    supervise,
};
use shared_kernel::postgres::listen;
use shared_kernel::signing::MessageSigner;
use shared_kernel::storage::chain;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::batch::{BatchError, relay_batch};

/// The `NOTIFY` channel the outbox trigger signals on commit.
pub(super) const CHANNEL: &str = "outbox";

/// Batches in flight at once (see `relay_pipelined`).
const PIPELINE: usize = 2;

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The broker.
    pub amqp_url: String,
    /// The topic exchange to publish to.
    pub exchange: String,
    /// Rows per batch (one transaction, one confirm round-trip).
    pub batch_size: u16,
    /// How often to look for due rows without a notification: the
    /// fallback for lost notifications and for rows kept for a later try.
    pub sweep_interval: Duration,
    /// The key every message is signed with.
    pub signer: Arc<MessageSigner>,
}

/// The outbox relay of one process. Run several processes: they share the
/// work and never publish the same row at the same time.
#[derive(Debug)]
pub struct OutboxRelay {
    pool: PgPool,
    config: RelayConfig,
    broker: BrokerStatus,
}

impl OutboxRelay {
    /// A relay over the outbox in `pool`, reporting its broker connection
    /// in `broker`.
    pub fn new(pool: PgPool, config: RelayConfig, broker: BrokerStatus) -> Self {
        Self {
            pool,
            config,
            broker,
        }
    }

    /// Relays until `stop` is cancelled, reconnecting to the broker as
    /// often as it takes. A batch in flight is finished (or rolled back)
    /// before it returns.
    pub async fn run(self, stop: CancellationToken) {
        let wake = Arc::new(Notify::new());
        // Woken as soon as a transaction with new messages commits.
        let notified = wake.clone();
        let listener = tokio::spawn(listen(
            self.pool.clone(),
            CHANNEL,
            stop.clone(),
            move || {
                notified.notify_one();
            },
        ));
        let mut session = RelaySession {
            relay: &self,
            wake: &wake,
            stop: &stop,
        };
        supervise(
            &self.config.amqp_url,
            "outbox-relay",
            &self.broker,
            &stop,
            &mut session,
        )
        .await;
        let _ = listener.await;
        tracing::info!("outbox relay stopped");
    }

    /// Publishes on one connection until it fails (`Err`) or `stop` (`Ok`).
    async fn relay_on(
        &self,
        connection: &Connection,
        wake: &Notify,
        stop: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let mut backoff = Backoff::default();
        let publisher = ConfirmedPublisher::open(
            connection,
            &self.config.exchange,
            self.config.signer.clone(),
        )
        .await?;
        declare_line_exchange(publisher.channel(), &self.config.exchange).await?;
        self.broker.set_up();
        tracing::info!(exchange = %self.config.exchange, "outbox relay connected");
        loop {
            if stop.is_cancelled() {
                return publisher.close().await;
            }
            let pause = match self.relay_pipelined(&publisher).await {
                Ok(relayed) if relayed == PIPELINE * usize::from(self.config.batch_size) => {
                    backoff.reset();
                    continue;
                }
                Ok(_) => {
                    backoff.reset();
                    self.config.sweep_interval
                }
                Err(BatchError::Broker(error)) => return Err(error),
                Err(BatchError::Database(error)) => {
                    let pause = backoff.next_delay();
                    tracing::warn!(error = %chain(&error), unavailable = error.is_unavailable(),
                        retry_in = ?pause, "outbox relay cannot read the outbox");
                    pause
                }
            };
            tokio::select! {
                () = stop.cancelled() => return publisher.close().await,
                error = connection_lost(connection) => return Err(error),
                () = wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Relays [`PIPELINE`] batches at once: while one waits for the broker's
    /// confirms, the other reads or marks its rows. `SKIP LOCKED` gives each
    /// its own rows. Returns how many rows they took together.
    async fn relay_pipelined(&self, publisher: &ConfirmedPublisher) -> Result<usize, BatchError> {
        let size = self.config.batch_size;
        let (first, second) = tokio::join!(
            relay_batch(&self.pool, publisher, size),
            relay_batch(&self.pool, publisher, size)
        );
        Ok(first? + second?)
    }
}

/// The relay on one broker connection.
struct RelaySession<'a> {
    relay: &'a OutboxRelay,
    wake: &'a Notify,
    stop: &'a CancellationToken,
}

impl AmqpSession for RelaySession<'_> {
    async fn run(&mut self, connection: &Connection) -> Result<(), lapin::Error> {
        self.relay.relay_on(connection, self.wake, self.stop).await
    }
}
