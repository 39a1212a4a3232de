//! bet-maker's copy of the line in PostgreSQL: the inbox that makes each
//! message count once, and the copy of each event at the newest version
//! heard of. Settling the bets of a finished event is
//! [`super::settlement`]'s.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Statement, TransactionTrait, TryInsertResult,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, storage};
use uuid::Uuid;

use super::entities::{events, inbox};
use super::mapping::event_from_row;
use super::settlement::settle_pending_bets;
use crate::application::ports::{ApplyOutcome, LineRepository, RepositoryError};
use crate::domain::{LineEvent, LineEventStatus};

/// Replaces the copy only with a newer version, by the rule of
/// `LineEvent::is_superseded_by`.
///
/// Raw SQL: the rule must hold under concurrency (two replicas applying two
/// versions of one event at once end with the newer, whatever order they
/// commit in), so one `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE`
/// decides it in the database, with no read-compare-write round trip and
/// no lock held across it. Its conditional `WHERE` on `EXCLUDED` reads
/// plainly as SQL, where SeaORM's builder would spell it as nested
/// expressions. `tests/rules_in_sql.rs` runs this statement against
/// `is_superseded_by` on a real database.
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

/// [`LineRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmLineRepository {
    db: DatabaseConnection,
}

impl SeaOrmLineRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn begin(&self, event: &LineEvent) -> Result<DatabaseTransaction, StorageError> {
        self.db
            .begin()
            .await
            .map_err(storage(format!("starting to apply event {}", event.id)))
    }
}

#[async_trait]
impl LineRepository for SeaOrmLineRepository {
    async fn apply_message(
        &self,
        message_id: Uuid,
        event: &LineEvent,
    ) -> Result<ApplyOutcome, RepositoryError> {
        let txn = self.begin(event).await?;
        let outcome = if record_in_inbox(&txn, message_id).await? {
            upsert_and_settle(&txn, event).await?
        } else {
            ApplyOutcome::AlreadyApplied
        };
        txn.commit()
            .await
            .map_err(storage(format!("committing message {message_id}")))?;
        Ok(outcome)
    }

    async fn apply_snapshot(&self, event: &LineEvent) -> Result<ApplyOutcome, RepositoryError> {
        let txn = self.begin(event).await?;
        let outcome = upsert_and_settle(&txn, event).await?;
        txn.commit()
            .await
            .map_err(storage(format!("committing event {}", event.id)))?;
        Ok(outcome)
    }

    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError> {
        let open = events::Entity::find()
            .filter(events::Column::Status.eq(events::Status::from(LineEventStatus::New)))
            .filter(events::Column::Deadline.gt(now));
        let rows = select_page(open, events::Column::Id, PageOrder::OldestFirst, page)
            .all(&self.db)
            .await
            .map_err(storage("listing open events"))?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }
}

/// Records `message_id` as applied; `false` if it was before.
async fn record_in_inbox(
    txn: &DatabaseTransaction,
    message_id: Uuid,
) -> Result<bool, StorageError> {
    let row = inbox::ActiveModel {
        message_id: Set(message_id),
        ..Default::default()
    };
    let inserted = inbox::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await
        .map_err(storage(format!(
            "recording message {message_id} in the inbox"
        )))?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// Replaces the copy if `event` is newer; if it is then finished, settles
/// its pending bets. The event row is updated first, so bets being placed
/// on it (which hold `FOR SHARE` on that row) commit before the settlement
/// reads the pending bets, or wait and then see the event finished.
async fn upsert_and_settle(
    txn: &DatabaseTransaction,
    event: &LineEvent,
) -> Result<ApplyOutcome, StorageError> {
    let replaced = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            UPSERT_IF_NEWER,
            [
                event.id.into(),
                event.coefficient.into(),
                event.deadline.into(),
                events::Status::from(event.status).into(),
                event.version.into(),
            ],
        ))
        .await
        .map_err(storage(format!(
            "storing version {} of event {}",
            event.version, event.id
        )))?
        .rows_affected()
        == 1;
    if !replaced {
        return Ok(ApplyOutcome::Outdated);
    }
    let bets_settled = if event.status == LineEventStatus::New {
        0
    } else {
        settle_pending_bets(txn, event).await?
    };
    Ok(ApplyOutcome::Applied { bets_settled })
}
