//! bet-maker's copy of the line in PostgreSQL, and settlement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::entities::events;
use super::rows::{event_from_row, event_status_name, storage_error};
use crate::application::ports::{Applied, LineEventStore, RepositoryError};
use crate::domain::{LineEvent, LineEventStatus};

/// Replaces the copy only with a newer version (`LineEvent::is_superseded_by`).
const UPSERT_IF_NEWER: &str = "
    INSERT INTO events (id, coefficient, deadline, status, version)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (id) DO UPDATE SET
        coefficient = EXCLUDED.coefficient,
        deadline = EXCLUDED.deadline,
        status = EXCLUDED.status,
        version = EXCLUDED.version,
        updated_at = now()
    WHERE events.version < EXCLUDED.version";

/// Settles every pending bet of a finished event in one statement, by the
/// rule of `domain::payout`: won pays round(amount × coefficient, 2) (numeric
/// `round` goes half away from zero: half-up for these positive amounts),
/// lost pays 0.00. `clock_timestamp()`, not `now()`: the transaction may
/// have waited for bets being placed, and a bet is never settled before it
/// was placed.
const SETTLE_PENDING_BETS: &str = "
    UPDATE bets SET
        status = CASE WHEN $2 = 'FINISHED_WIN' THEN 'WON' ELSE 'LOST' END,
        payout = CASE WHEN $2 = 'FINISHED_WIN' THEN round(amount * coefficient, 2) ELSE 0.00 END,
        settled_at = clock_timestamp()
    WHERE event_id = $1 AND status = 'PENDING'";

/// [`LineEventStore`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmLineEventStore {
    db: DatabaseConnection,
}

impl SeaOrmLineEventStore {
    /// A store on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl LineEventStore for SeaOrmLineEventStore {
    async fn apply_message(
        &self,
        message_id: Uuid,
        event: &LineEvent,
    ) -> Result<Applied, RepositoryError> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let first_time = txn
            .execute_raw(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "INSERT INTO inbox (message_id) VALUES ($1) ON CONFLICT DO NOTHING",
                [message_id.into()],
            ))
            .await
            .map_err(storage_error)?
            .rows_affected()
            == 1;
        let applied = if first_time {
            upsert_and_settle(&txn, event).await?
        } else {
            Applied::Duplicate
        };
        txn.commit().await.map_err(storage_error)?;
        Ok(applied)
    }

    async fn apply_snapshot(&self, event: &LineEvent) -> Result<Applied, RepositoryError> {
        let txn = self.db.begin().await.map_err(storage_error)?;
        let applied = upsert_and_settle(&txn, event).await?;
        txn.commit().await.map_err(storage_error)?;
        Ok(applied)
    }

    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError> {
        let mut query = events::Entity::find()
            .filter(events::Column::Status.eq(event_status_name(LineEventStatus::New)))
            .filter(events::Column::Deadline.gt(now))
            .order_by_asc(events::Column::Id);
        if let Some(after) = page.after {
            query = query.filter(events::Column::Id.gt(after));
        }
        let rows = query
            .limit(u64::from(page.limit) + 1)
            .all(&self.db)
            .await
            .map_err(storage_error)?;
        rows.into_iter().map(event_from_row).collect()
    }
}

/// Replaces the copy if `event` is newer; if it is then finished, settles
/// its pending bets. The event row is updated first, so bets being placed
/// on it (which hold `FOR SHARE` on that row) commit before the settlement
/// reads the pending bets, or wait and then see the event finished.
async fn upsert_and_settle(
    txn: &DatabaseTransaction,
    event: &LineEvent,
) -> Result<Applied, RepositoryError> {
    let backend = txn.get_database_backend();
    let status = event_status_name(event.status);
    let replaced = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            UPSERT_IF_NEWER,
            [
                event.id.into(),
                event.coefficient.into(),
                event.deadline.into(),
                status.into(),
                event.version.into(),
            ],
        ))
        .await
        .map_err(storage_error)?
        .rows_affected()
        == 1;
    if !replaced {
        return Ok(Applied::Stale);
    }
    let settled = if event.status == LineEventStatus::New {
        0
    } else {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            SETTLE_PENDING_BETS,
            [event.id.into(), status.into()],
        ))
        .await
        .map_err(storage_error)?
        .rows_affected()
    };
    Ok(Applied::Updated { settled })
}
