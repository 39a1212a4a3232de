//! Events in PostgreSQL, each write together with its outbox message.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use shared_kernel::contracts::{EventSnapshot, EventStatusWire, LineEventKind, LineEventMessage};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::PageRequest;
use shared_kernel::postgres::is_unavailable;
use shared_kernel::telemetry::TraceContext;
use uuid::Uuid;

use super::entities::{events, outbox};
use crate::application::ports::{EventRepository, RepositoryError};
use crate::domain::{ChangeKind, Coefficient, Deadline, Event, EventChanged, EventStatus};

/// [`EventRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmEventRepository {
    db: DatabaseConnection,
}

impl SeaOrmEventRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl EventRepository for SeaOrmEventRepository {
    async fn get(&self, id: Uuid) -> Result<Option<Event>, RepositoryError> {
        let row = events::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage_error)?;
        row.map(to_domain).transpose()
    }

    async fn list(
        &self,
        status: Option<EventStatus>,
        page: PageRequest,
    ) -> Result<Vec<Event>, RepositoryError> {
        let mut query = events::Entity::find().order_by_asc(events::Column::Id);
        if let Some(status) = status {
            query = query.filter(events::Column::Status.eq(status_name(status)));
        }
        if let Some(after) = page.after {
            query = query.filter(events::Column::Id.gt(after));
        }
        let rows = query
            .limit(u64::from(page.limit) + 1)
            .all(&self.db)
            .await
            .map_err(storage_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn insert(&self, change: &EventChanged) -> Result<(), RepositoryError> {
        let event = &change.event;
        let txn = self.db.begin().await.map_err(storage_error)?;
        let row = events::ActiveModel {
            id: Set(event.id),
            coefficient: Set(event.coefficient.value()),
            deadline: Set(event.deadline.at()),
            status: Set(status_name(event.status).to_owned()),
            version: Set(event.version),
            created_at: Set(change.occurred_at),
            updated_at: Set(change.occurred_at),
        };
        insert_row(row, &txn).await?;
        enqueue(&txn, change).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn update(&self, change: &EventChanged) -> Result<(), RepositoryError> {
        let event = &change.event;
        let txn = self.db.begin().await.map_err(storage_error)?;
        let updated = events::Entity::update_many()
            .col_expr(
                events::Column::Coefficient,
                Expr::value(event.coefficient.value()),
            )
            .col_expr(events::Column::Deadline, Expr::value(event.deadline.at()))
            .col_expr(
                events::Column::Status,
                Expr::value(status_name(event.status)),
            )
            .col_expr(events::Column::Version, Expr::value(event.version))
            .col_expr(events::Column::UpdatedAt, Expr::value(change.occurred_at))
            .filter(events::Column::Id.eq(event.id))
            .filter(events::Column::Version.eq(event.version - 1))
            .exec(&txn)
            .await
            .map_err(storage_error)?;
        if updated.rows_affected == 0 {
            return Err(RepositoryError::VersionConflict);
        }
        enqueue(&txn, change).await?;
        txn.commit().await.map_err(storage_error)
    }
}

/// Writes the message announcing `change` into the outbox, in the caller's
/// transaction, with the trace context of the request that made it.
async fn enqueue(txn: &DatabaseTransaction, change: &EventChanged) -> Result<(), RepositoryError> {
    let message = LineEventMessage::new(
        kind_of(change.kind),
        change.occurred_at,
        snapshot_of(&change.event),
    );
    let row = outbox::ActiveModel {
        id: NotSet,
        message_id: Set(message.message_id),
        routing_key: Set(message.kind.routing_key().to_owned()),
        payload: Set(message.to_json()),
        traceparent: Set(Some(TraceContext::current_or_new().to_string())),
        occurred_at: Set(change.occurred_at),
        created_at: NotSet,
        published_at: NotSet,
        attempts: NotSet,
        next_attempt_at: NotSet,
        last_error: NotSet,
    };
    insert_row(row, txn).await
}

/// Inserts a row without reading it back (one round-trip, no RETURNING).
async fn insert_row<A>(row: A, txn: &DatabaseTransaction) -> Result<(), RepositoryError>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    A::Entity::insert(row)
        .exec_without_returning(txn)
        .await
        .map(|_| ())
        .map_err(storage_error)
}

fn storage_error(error: DbErr) -> RepositoryError {
    if is_unavailable(&error) {
        RepositoryError::Unavailable(error.to_string())
    } else {
        RepositoryError::Failed(error.to_string())
    }
}

fn kind_of(kind: ChangeKind) -> LineEventKind {
    match kind {
        ChangeKind::Created => LineEventKind::Created,
        ChangeKind::Updated => LineEventKind::Updated,
        ChangeKind::Finished => LineEventKind::Finished,
    }
}

fn snapshot_of(event: &Event) -> EventSnapshot {
    EventSnapshot {
        id: event.id,
        coefficient: WireDecimal::from_decimal_exact(event.coefficient.value()),
        deadline: event.deadline.at(),
        status: match event.status {
            EventStatus::New => EventStatusWire::New,
            EventStatus::FinishedWin => EventStatusWire::FinishedWin,
            EventStatus::FinishedLose => EventStatusWire::FinishedLose,
        },
        version: event.version,
    }
}

fn status_name(status: EventStatus) -> &'static str {
    match status {
        EventStatus::New => "NEW",
        EventStatus::FinishedWin => "FINISHED_WIN",
        EventStatus::FinishedLose => "FINISHED_LOSE",
    }
}

fn to_domain(row: events::Model) -> Result<Event, RepositoryError> {
    let corrupt =
        |what: String| RepositoryError::Failed(format!("event {} in storage: {what}", row.id));
    let status = match row.status.as_str() {
        "NEW" => EventStatus::New,
        "FINISHED_WIN" => EventStatus::FinishedWin,
        "FINISHED_LOSE" => EventStatus::FinishedLose,
        other => return Err(corrupt(format!("unknown status {other}"))),
    };
    let coefficient =
        Coefficient::new(row.coefficient).map_err(|e| corrupt(format!("coefficient {e}")))?;
    Ok(Event {
        id: row.id,
        coefficient,
        deadline: Deadline::restore(row.deadline),
        status,
        version: row.version,
    })
}
