//! The outbox read as the line's change log (see the migration
//! `m20261123_000004_outbox_change_log` for why positions are transaction
//! ids first).

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::sqlx::{self, PgPool, Row as _};
use shared_kernel::contracts::{EventStatusWire, LineEventKind, LineEventMessage};
use shared_kernel::postgres::listen;
use shared_kernel::storage::{StorageError, sqlx_storage};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::relay::CHANNEL;
use crate::application::ports::{ChangeLog, LogPosition, LoggedChange, RepositoryError};
use crate::domain::{ChangeKind, Coefficient, Deadline, Event, EventStatus};

/// The changes after a position, in log order, written by transactions that
/// have all ended (below the oldest one still running), so no commit still
/// to come can fall below what is returned. The row comparison walks the
/// `(xid, id)` index. `ORDER BY` names the table's column: a bare `xid`
/// would be the output column, the text, sorted as text (9 after 10) and
/// by a sort of every row instead of the index.
const READ_AFTER: &str = "
    SELECT xid::text AS xid, id, payload::text AS payload
    FROM outbox
    WHERE (xid, id) > ($1::text::xid8, $2)
      AND xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY outbox.xid, outbox.id
    LIMIT $3";

/// The log's end: every transaction from the oldest one still running on.
const END: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";

/// The first transaction id not yet given out: every transaction from it
/// on has not begun (the query itself takes no id, being read-only).
const NEXT_TRANSACTION: &str = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text";

/// [`ChangeLog`] over the outbox table in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgChangeLog {
    pool: PgPool,
    growth: Arc<watch::Sender<()>>,
}

impl PgChangeLog {
    /// The log in `pool`'s database. Its growth is signalled only while
    /// [`listen`](Self::listen) runs.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            growth: Arc::new(watch::channel(()).0),
        }
    }

    /// Signals growth on every `NOTIFY` of the outbox trigger (one LISTEN
    /// connection for all watchers of this process) until `stop`.
    pub async fn listen(self, stop: CancellationToken) {
        let growth = self.growth.clone();
        listen(self.pool, CHANNEL, stop, move || {
            growth.send_replace(());
        })
        .await;
    }
}

impl PgChangeLog {
    /// The xid8 a one-value `query` returns.
    async fn transaction_id(
        &self,
        query: &'static str,
        operation: &'static str,
    ) -> Result<u64, RepositoryError> {
        let xid: String = sqlx::query_scalar(query)
            .fetch_one(&self.pool)
            .await
            .map_err(sqlx_storage(operation))?;
        xid.parse().map_err(|_| {
            StorageError::corrupt(operation, format!("the snapshot's {xid:?} is no xid8")).into()
        })
    }
}

#[async_trait]
impl ChangeLog for PgChangeLog {
    async fn read_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedChange>, RepositoryError> {
        let operation = || format!("reading the change log after {after}");
        let rows = sqlx::query(READ_AFTER)
            .bind(after.transaction.to_string())
            .bind(after.sequence)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation()))?;
        rows.iter()
            .map(|row| {
                let xid: String = row.try_get("xid").map_err(sqlx_storage(operation()))?;
                let id: i64 = row.try_get("id").map_err(sqlx_storage(operation()))?;
                let payload: String = row.try_get("payload").map_err(sqlx_storage(operation()))?;
                Ok(logged_change(&xid, id, &payload)?)
            })
            .collect()
    }

    async fn end(&self) -> Result<LogPosition, RepositoryError> {
        let transaction = self
            .transaction_id(END, "reading where the change log ends")
            .await?;
        // Sequence 0 comes before every row of that transaction.
        Ok(LogPosition {
            transaction,
            sequence: 0,
        })
    }

    async fn next_transaction(&self) -> Result<u64, RepositoryError> {
        self.transaction_id(NEXT_TRANSACTION, "reading the next transaction id")
            .await
    }

    fn growth(&self) -> watch::Receiver<()> {
        self.growth.subscribe()
    }
}

/// A row of the log as the change it records. The payload is the message
/// the relay publishes, so it holds the whole event after the change.
fn logged_change(xid: &str, id: i64, payload: &str) -> Result<LoggedChange, StorageError> {
    let operation = || format!("reading outbox row {id} as a change");
    let transaction = xid
        .parse()
        .map_err(|_| StorageError::corrupt(operation(), format!("the xid {xid:?} is no xid8")))?;
    let message = LineEventMessage::from_slice(payload.as_bytes())
        .map_err(|error| StorageError::corrupt(operation(), error.to_string()))?;
    let snapshot = &message.data;
    let coefficient = Coefficient::new(snapshot.coefficient.value()).map_err(|error| {
        StorageError::corrupt(
            operation(),
            format!("the coefficient {} {error}", snapshot.coefficient),
        )
    })?;
    let event = Event::restore(
        snapshot.id,
        coefficient,
        Deadline::restore(snapshot.deadline),
        status_of(snapshot.status),
        snapshot.version,
    );
    Ok(LoggedChange {
        position: LogPosition {
            transaction,
            sequence: id,
        },
        kind: kind_of(message.kind),
        event,
        message_id: message.message_id,
        occurred_at: message.occurred_at,
        reason: message.reason,
    })
}

fn kind_of(kind: LineEventKind) -> ChangeKind {
    match kind {
        LineEventKind::Created => ChangeKind::Created,
        LineEventKind::Updated => ChangeKind::Updated,
        LineEventKind::Finished => ChangeKind::Finished,
        LineEventKind::Cancelled => ChangeKind::Cancelled,
        LineEventKind::Suspended => ChangeKind::Suspended,
        LineEventKind::Resumed => ChangeKind::Resumed,
        LineEventKind::Corrected => ChangeKind::Corrected,
    }
}

fn status_of(status: EventStatusWire) -> EventStatus {
    match status {
        EventStatusWire::New => EventStatus::New,
        EventStatusWire::Suspended => EventStatus::Suspended,
        EventStatusWire::FinishedWin => EventStatus::FinishedWin,
        EventStatusWire::FinishedLose => EventStatus::FinishedLose,
        EventStatusWire::Cancelled => EventStatus::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use shared_kernel::contracts::EventSnapshot;
    use shared_kernel::money::WireDecimal;

    use super::*;

    #[test]
    fn a_row_that_is_no_message_is_reported_corrupt_naming_the_row() {
        let error = logged_change("7", 3, "{}").err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("outbox row 3")),
            "{error:?}"
        );
        assert!(logged_change("x", 3, "{}").is_err());
    }

    #[test]
    fn a_published_message_reads_back_as_its_change() {
        let snapshot = EventSnapshot {
            id: uuid::Uuid::now_v7(),
            coefficient: WireDecimal::from_decimal_exact(rust_decimal::Decimal::new(185, 2)),
            deadline: Utc::now(),
            status: EventStatusWire::Cancelled,
            version: 2,
        };
        let message = LineEventMessage::new(LineEventKind::Cancelled, Utc::now(), snapshot);
        let payload = message.to_json().to_string();

        let change =
            logged_change("18446744073709551615", 9, &payload).unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(change.position.to_string(), "18446744073709551615.9");
        assert_eq!(change.kind, ChangeKind::Cancelled);
        assert_eq!(change.event.status(), EventStatus::Cancelled);
        assert_eq!(change.event.version(), 2);
        assert_eq!(change.message_id, message.message_id);
        assert_eq!(change.occurred_at, message.occurred_at);
    }

    #[test]
    fn a_correction_reads_back_with_its_reason_and_a_suspension_without() {
        let snapshot = |status| EventSnapshot {
            id: uuid::Uuid::now_v7(),
            coefficient: WireDecimal::from_decimal_exact(rust_decimal::Decimal::new(185, 2)),
            deadline: Utc::now(),
            status,
            version: 3,
        };
        let corrected = LineEventMessage::new(
            LineEventKind::Corrected,
            Utc::now(),
            snapshot(EventStatusWire::FinishedLose),
        )
        .with_reason("VAR overturned the goal");
        let suspended = LineEventMessage::new(
            LineEventKind::Suspended,
            Utc::now(),
            snapshot(EventStatusWire::Suspended),
        );

        let read = |message: &LineEventMessage| {
            logged_change("7", 1, &message.to_json().to_string()).unwrap_or_else(|e| panic!("{e}"))
        };

        let correction = read(&corrected);
        assert_eq!(correction.kind, ChangeKind::Corrected);
        assert_eq!(
            correction.reason.as_deref(),
            Some("VAR overturned the goal")
        );
        let suspension = read(&suspended);
        assert_eq!(suspension.kind, ChangeKind::Suspended);
        assert_eq!(suspension.event.status(), EventStatus::Suspended);
        assert_eq!(suspension.reason, None);
    }
}
