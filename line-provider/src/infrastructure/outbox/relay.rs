//! The relay: moves outbox rows to RabbitMQ, and marks a row published only
//! after the broker confirmed it.
//!
//! One batch is one transaction: lock up to `batch_size` due rows with
//! `FOR UPDATE SKIP LOCKED` (so replicas never take the same rows), publish
//! them all with `mandatory`, wait for the confirms, then mark the acked
//! rows published and give the rest a later try. If anything fails midway,
//! the transaction rolls back and every row of the batch stays waiting: a
//! message may then be published twice (consumers deduplicate on
//! `message_id`), but never lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lapin::Connection;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::amqp::{
    AmqpSession, Backoff, BrokerStatus, ConfirmedPublisher, OutgoingMessage, PublishOutcome,
    connection_lost, declare_line_exchange, supervise,
};
use shared_kernel::postgres::{listen, sqlx_unavailable};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The `NOTIFY` channel the outbox trigger signals on commit.
const CHANNEL: &str = "outbox";

const SELECT_DUE: &str = "
    SELECT id, message_id, routing_key, payload::text AS payload, traceparent, occurred_at
    FROM outbox
    WHERE published_at IS NULL AND next_attempt_at <= now()
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED";

const MARK_PUBLISHED: &str = "
    UPDATE outbox SET published_at = clock_timestamp(), last_error = NULL
    WHERE id = ANY($1)
    RETURNING created_at";

/// A kept message is tried again after 0.2 s, 0.4 s, ... up to 5 s.
const MARK_KEPT: &str = "
    UPDATE outbox SET
        attempts = outbox.attempts + 1,
        last_error = kept.reason,
        next_attempt_at = now() + LEAST(interval '100 milliseconds' * power(2, outbox.attempts + 1),
                                        interval '5 seconds')
    FROM UNNEST($1::bigint[], $2::text[]) AS kept(id, reason)
    WHERE outbox.id = kept.id";

/// What is waiting, for the `outbox_waiting` and `outbox_oldest_waiting_seconds`
/// gauges.
const BACKLOG: &str = "
    SELECT count(*) AS waiting, min(created_at) AS oldest
    FROM outbox WHERE published_at IS NULL";

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
}

/// The outbox relay of one process. Run several processes: they share the
/// work and never publish the same row at the same time.
#[derive(Debug)]
pub struct OutboxRelay {
    pool: PgPool,
    config: RelayConfig,
    broker: BrokerStatus,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

struct DueRow {
    id: i64,
    message_id: Uuid,
    routing_key: String,
    payload: String,
    traceparent: Option<String>,
    occurred_at: DateTime<Utc>,
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
        let publisher = ConfirmedPublisher::open(connection, &self.config.exchange).await?;
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
                    self.record_backlog().await;
                    self.config.sweep_interval
                }
                Err(RelayError::Broker(error)) => return Err(error),
                Err(RelayError::Database(error)) => {
                    let pause = backoff.next_delay();
                    let unavailable = sqlx_unavailable(&error);
                    tracing::warn!(%error, unavailable, retry_in = ?pause, "outbox relay cannot read the outbox");
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

    /// Publishes the size and age of the backlog as gauges; a failure here
    /// only costs a stale gauge.
    async fn record_backlog(&self) {
        let Ok(row) = sqlx::query(BACKLOG).fetch_one(&self.pool).await else {
            return;
        };
        let waiting: i64 = row.try_get("waiting").unwrap_or_default();
        let oldest: Option<DateTime<Utc>> = row.try_get("oldest").unwrap_or_default();
        let age = oldest.map_or(Duration::ZERO, |oldest| {
            (Utc::now() - oldest).to_std().unwrap_or_default()
        });
        metrics::gauge!("outbox_waiting").set(u32::try_from(waiting).unwrap_or(u32::MAX));
        metrics::gauge!("outbox_oldest_waiting_seconds").set(age);
    }

    /// Relays [`PIPELINE`] batches at once: while one waits for the broker's
    /// confirms, the other reads or marks its rows. `SKIP LOCKED` gives each
    /// its own rows. Returns how many rows they took together.
    async fn relay_pipelined(&self, publisher: &ConfirmedPublisher) -> Result<usize, RelayError> {
        let (first, second) =
            tokio::join!(self.relay_batch(publisher), self.relay_batch(publisher));
        Ok(first? + second?)
    }

    /// Relays one batch; returns how many rows it took.
    async fn relay_batch(&self, publisher: &ConfirmedPublisher) -> Result<usize, RelayError> {
        let started = Instant::now();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(SELECT_DUE)
            .bind(i64::from(self.config.batch_size))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|row| {
                Ok(DueRow {
                    id: row.try_get("id")?,
                    message_id: row.try_get("message_id")?,
                    routing_key: row.try_get("routing_key")?,
                    payload: row.try_get("payload")?,
                    traceparent: row.try_get("traceparent")?,
                    occurred_at: row.try_get("occurred_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }

        let messages: Vec<OutgoingMessage<'_>> = rows
            .iter()
            .map(|row| OutgoingMessage {
                message_id: row.message_id,
                routing_key: &row.routing_key,
                body: row.payload.as_bytes(),
                occurred_at: row.occurred_at,
                traceparent: row.traceparent.as_deref(),
            })
            .collect();
        // On error the transaction is dropped, i.e. rolled back: every row
        // of the batch stays waiting for the next try.
        let outcomes = publisher.publish_batch(&messages).await?;

        let mut published = Vec::with_capacity(rows.len());
        let (mut kept, mut reasons) = (Vec::new(), Vec::new());
        for (row, outcome) in rows.iter().zip(outcomes) {
            match outcome {
                PublishOutcome::Acked => published.push(row.id),
                PublishOutcome::Returned(reason) => {
                    tracing::warn!(message_id = %row.message_id, routing_key = %row.routing_key, %reason,
                        "message unroutable (no queue bound); kept for a later try");
                    kept.push(row.id);
                    reasons.push(format!("returned: {reason}"));
                }
                PublishOutcome::Nacked => {
                    tracing::warn!(message_id = %row.message_id, "broker nacked the message; kept for a later try");
                    kept.push(row.id);
                    reasons.push("nacked by the broker".to_owned());
                }
            }
        }
        let written_at: Vec<DateTime<Utc>> = sqlx::query_scalar(MARK_PUBLISHED)
            .bind(&published)
            .fetch_all(&mut *tx)
            .await?;
        if !kept.is_empty() {
            sqlx::query(MARK_KEPT)
                .bind(&kept)
                .bind(&reasons)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;

        metrics::counter!("outbox_published_total").increment(published.len() as u64);
        metrics::counter!("outbox_kept_total").increment(kept.len() as u64);
        metrics::histogram!("outbox_batch_seconds").record(started.elapsed());
        let now = Utc::now();
        for written_at in written_at {
            let lag = (now - written_at).to_std().unwrap_or_default();
            metrics::histogram!("outbox_delivery_lag_seconds").record(lag);
        }
        tracing::debug!(
            published = published.len(),
            kept = kept.len(),
            "outbox batch relayed"
        );
        Ok(rows.len())
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
