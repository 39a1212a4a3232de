//! One batch of the relay: lock due rows, publish them, record what the
//! broker said. One batch is one transaction.
//!
//! The statements here are raw SQL on purpose: they are set-based
//! (`FOR UPDATE SKIP LOCKED` over a batch, one `UPDATE` for all acked ids,
//! one `UPDATE ... FROM UNNEST` for the kept ones with their reasons), which
//! a query builder would either not express or turn into a round-trip per
//! row.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, PgPool, Postgres, Row, Transaction};
use shared_kernel::amqp::{ConfirmedPublisher, OutgoingMessage, PublishOutcome};
use shared_kernel::storage::{StorageError, sqlx_storage};
use shared_kernel::telemetry::{SPANS, context_for, context_from_traceparent, traceparent_of};
use uuid::Uuid;

/// Locks the rows that wait and are due, oldest first, skipping those
/// another relay holds, so replicas never take the same rows.
const SELECT_DUE: &str = "
    SELECT id, message_id, routing_key, payload::text AS payload, traceparent, occurred_at
    FROM outbox
    WHERE published_at IS NULL AND next_attempt_at <= now()
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED";

/// Marks every acked row at once, returning when each was written (for
/// the delivery-lag histogram).
const MARK_PUBLISHED: &str = "
    UPDATE outbox SET published_at = clock_timestamp(), last_error = NULL
    WHERE id = ANY($1)
    RETURNING created_at";

/// Gives every kept row its reason and a later try in one statement: after
/// 0.2 s, 0.4 s, ... up to 5 s.
const MARK_KEPT: &str = "
    UPDATE outbox SET
        attempts = outbox.attempts + 1,
        last_error = kept.reason,
        next_attempt_at = now() + LEAST(interval '100 milliseconds' * power(2, outbox.attempts + 1),
                                        interval '5 seconds')
    FROM UNNEST($1::bigint[], $2::text[]) AS kept(id, reason)
    WHERE outbox.id = kept.id";

/// Why a batch failed; either way its transaction rolled back and every
/// row of it waits for the next try.
#[derive(Debug, thiserror::Error)]
pub(super) enum BatchError {
    /// The broker connection failed: reconnect.
    #[error("publishing the batch to the broker")]
    Broker(#[source] lapin::Error),
    /// The database failed: wait, then try again on the same connection.
    #[error(transparent)]
    Database(#[from] StorageError),
}

struct DueRow {
    id: i64,
    message_id: Uuid,
    routing_key: String,
    payload: String,
    traceparent: Option<String>,
    occurred_at: DateTime<Utc>,
}

impl DueRow {
    fn read(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            message_id: row.try_get("message_id")?,
            routing_key: row.try_get("routing_key")?,
            payload: row.try_get("payload")?,
            traceparent: row.try_get("traceparent")?,
            occurred_at: row.try_get("occurred_at")?,
        })
    }

    /// The message, sent with the trace context of its publish.
    fn message<'a>(&'a self, publish: &'a Publish) -> OutgoingMessage<'a> {
        OutgoingMessage {
            message_id: self.message_id,
            routing_key: &self.routing_key,
            body: self.payload.as_bytes(),
            occurred_at: self.occurred_at,
            traceparent: publish.traceparent.as_deref(),
        }
    }
}

/// The publish of one row: a span of the trace the change was made in,
/// child of the context the row stored, lasting until the broker
/// answered. The message carries the publish's context on to its consumer.
struct Publish {
    span: tracing::Span,
    traceparent: Option<String>,
}

impl Publish {
    fn start(row: &DueRow, exchange: &str) -> Self {
        let span = tracing::info_span!(
            target: SPANS,
            "publish",
            otel.name = %format!("{exchange} publish"),
            otel.kind = "producer",
            messaging.system = "rabbitmq",
            messaging.operation.type = "send",
            messaging.destination.name = exchange,
            messaging.rabbitmq.destination.routing_key = %row.routing_key,
            messaging.message.id = %row.message_id,
            messaging.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let stored = context_from_traceparent(row.traceparent.as_deref());
        let traceparent = traceparent_of(&context_for(&span, stored));
        Self { span, traceparent }
    }

    /// Records what the broker said; the span ends when dropped.
    fn answered(&self, outcome: Option<&PublishOutcome>) {
        let (label, failed) = match outcome {
            Some(PublishOutcome::Acked) => ("acked", false),
            Some(PublishOutcome::Returned(_)) => ("returned", true),
            Some(PublishOutcome::Nacked) => ("nacked", true),
            None => ("channel failed", true),
        };
        self.span.record("messaging.outcome", label);
        if failed {
            self.span.record("otel.status_code", "ERROR");
        }
    }
}

/// What the broker said about a batch, split for the two updates.
#[derive(Default)]
struct Verdicts {
    published: Vec<i64>,
    kept: Vec<i64>,
    reasons: Vec<String>,
}

impl Verdicts {
    fn sort(rows: &[DueRow], outcomes: Vec<PublishOutcome>) -> Self {
        let mut verdicts = Self::default();
        for (row, outcome) in rows.iter().zip(outcomes) {
            let reason = match outcome {
                PublishOutcome::Acked => {
                    verdicts.published.push(row.id);
                    continue;
                }
                PublishOutcome::Returned(reason) => {
                    tracing::warn!(message_id = %row.message_id, routing_key = %row.routing_key, %reason,
                        "message unroutable (no queue bound); kept for a later try");
                    format!("returned: {reason}")
                }
                PublishOutcome::Nacked => {
                    tracing::warn!(message_id = %row.message_id, "broker nacked the message; kept for a later try");
                    "nacked by the broker".to_owned()
                }
            };
            verdicts.kept.push(row.id);
            verdicts.reasons.push(reason);
        }
        verdicts
    }
}

/// Relays one batch of up to `batch_size` rows; returns how many it took.
pub(super) async fn relay_batch(
    pool: &PgPool,
    publisher: &ConfirmedPublisher,
    batch_size: u16,
) -> Result<usize, BatchError> {
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .map_err(sqlx_storage("starting an outbox batch"))?;
    let rows = sqlx::query(SELECT_DUE)
        .bind(i64::from(batch_size))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlx_storage("locking the due outbox rows"))?
        .iter()
        .map(DueRow::read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlx_storage("reading a due outbox row"))?;
    if rows.is_empty() {
        tx.commit()
            .await
            .map_err(sqlx_storage("ending an empty outbox batch"))?;
        return Ok(0);
    }
    let publishes: Vec<Publish> = rows
        .iter()
        .map(|row| Publish::start(row, publisher.exchange()))
        .collect();
    let messages: Vec<OutgoingMessage<'_>> = rows
        .iter()
        .zip(&publishes)
        .map(|(row, publish)| row.message(publish))
        .collect();
    // On error the transaction is dropped, i.e. rolled back: every row
    // of the batch stays waiting for the next try.
    let outcomes = match publisher.publish_batch(&messages).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            publishes.iter().for_each(|publish| publish.answered(None));
            return Err(BatchError::Broker(error));
        }
    };
    for (publish, outcome) in publishes.iter().zip(&outcomes) {
        publish.answered(Some(outcome));
    }
    // Their spans end here, with the broker's answer.
    drop(publishes);
    let verdicts = Verdicts::sort(&rows, outcomes);
    let written_at = record(&mut tx, &verdicts).await?;
    tx.commit()
        .await
        .map_err(sqlx_storage("committing an outbox batch"))?;
    record_metrics(&verdicts, &written_at, started.elapsed());
    Ok(rows.len())
}

/// Marks the acked rows published and the rest kept; returns when each
/// published row was written.
async fn record(
    tx: &mut Transaction<'_, Postgres>,
    verdicts: &Verdicts,
) -> Result<Vec<DateTime<Utc>>, StorageError> {
    let written_at = sqlx::query_scalar(MARK_PUBLISHED)
        .bind(&verdicts.published)
        .fetch_all(&mut **tx)
        .await
        .map_err(sqlx_storage("marking the acked outbox rows published"))?;
    if !verdicts.kept.is_empty() {
        sqlx::query(MARK_KEPT)
            .bind(&verdicts.kept)
            .bind(&verdicts.reasons)
            .execute(&mut **tx)
            .await
            .map_err(sqlx_storage(
                "scheduling the kept outbox rows for a later try",
            ))?;
    }
    Ok(written_at)
}

fn record_metrics(verdicts: &Verdicts, written_at: &[DateTime<Utc>], took: Duration) {
    metrics::counter!("outbox_published_total").increment(verdicts.published.len() as u64);
    metrics::counter!("outbox_kept_total").increment(verdicts.kept.len() as u64);
    metrics::histogram!("outbox_batch_seconds").record(took);
    let now = Utc::now();
    for written_at in written_at {
        let lag = (now - *written_at).to_std().unwrap_or_default();
        metrics::histogram!("outbox_delivery_lag_seconds").record(lag);
    }
    tracing::debug!(
        published = verdicts.published.len(),
        kept = verdicts.kept.len(),
        "outbox batch relayed"
    );
}
