//! Events in PostgreSQL, each write together with its outbox message;
//! changes to one event take turns under its row lock.

use std::sync::Arc;

use async_trait::async_trait;
use opentelemetry::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, storage};
use shared_kernel::telemetry::{SPANS, context_for, traceparent_of};
use tracing::Instrument as _;
use uuid::Uuid;

use super::entities::{events, outbox};
use super::mapping::{event_from_row, outbox_row};
use super::turns::Turns;
use crate::application::EventError;
use crate::application::ports::{Decide, EventRepository, RepositoryError};
use crate::domain::{Decision, Event, EventChanged, EventStatus};

/// [`EventRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmEventRepository {
    db: DatabaseConnection,
    turns: Arc<Turns>,
}

impl SeaOrmEventRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            turns: Arc::default(),
        }
    }

    async fn begin(&self, event: &Event) -> Result<DatabaseTransaction, RepositoryError> {
        let operation = format!("starting the transaction for event {}", event.id());
        Ok(self.db.begin().await.map_err(storage(operation))?)
    }
}

#[async_trait]
impl EventRepository for SeaOrmEventRepository {
    async fn get(&self, id: Uuid) -> Result<Option<Event>, RepositoryError> {
        let row = events::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage(format!("reading event {id}")))?;
        Ok(row.map(event_from_row).transpose()?)
    }

    async fn list(
        &self,
        status: Option<EventStatus>,
        page: PageRequest,
    ) -> Result<Vec<Event>, RepositoryError> {
        let mut query = events::Entity::find();
        if let Some(status) = status {
            query = query.filter(events::Column::Status.eq(events::Status::from(status)));
        }
        let rows = select_page(query, events::Column::Id, PageOrder::OldestFirst, page)
            .all(&self.db)
            .await
            .map_err(storage("listing events"))?;
        let events: Result<Vec<Event>, _> = rows.into_iter().map(event_from_row).collect();
        Ok(events?)
    }

    async fn insert(&self, change: &EventChanged) -> Result<(), RepositoryError> {
        let event = change.event();
        let txn = self.begin(event).await?;
        let row = events::ActiveModel {
            id: Set(event.id()),
            coefficient: Set(event.coefficient().value()),
            deadline: Set(event.deadline().at()),
            status: Set(event.status().into()),
            version: Set(event.version()),
            created_at: Set(change.occurred_at()),
            updated_at: Set(change.occurred_at()),
        };
        events::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(storage(format!("inserting event {}", event.id())))?;
        enqueue(&txn, change).await?;
        commit(txn, event).await
    }

    async fn change(&self, id: Uuid, decide: Decide<'_>) -> Result<Decision, EventError> {
        let ticket = self.turns.ticket(id);
        let _turn = ticket.wait().await;
        let txn = self.db.begin().await.map_err(storage(format!(
            "starting the transaction to change event {id}"
        )))?;
        // FOR UPDATE: a concurrent change of this event waits here until we
        // commit, then reads what we wrote.
        let row = events::Entity::find_by_id(id)
            .lock_exclusive()
            .one(&txn)
            .await
            .map_err(storage(format!("locking event {id}")));
        let decision = match row {
            Ok(Some(row)) => event_from_row(row)
                .map_err(EventError::from)
                .and_then(decide),
            Ok(None) => Err(EventError::NotFound(id)),
            Err(error) => Err(error.into()),
        };
        match decision {
            Ok(Decision::Changed(change)) => {
                write_change(&txn, &change).await?;
                enqueue(&txn, &change).await?;
                commit(txn, change.event()).await?;
                Ok(Decision::Changed(change))
            }
            Ok(unchanged @ Decision::Unchanged(_)) => {
                release(txn, id).await?;
                Ok(unchanged)
            }
            Err(refused) => {
                release(txn, id).await?;
                Err(refused)
            }
        }
    }
}

/// Writes the changed event over the locked row.
async fn write_change(
    txn: &DatabaseTransaction,
    change: &EventChanged,
) -> Result<(), RepositoryError> {
    let event = change.event();
    let previous = event.version() - 1;
    let operation = || format!("updating event {} at version {previous}", event.id());
    let status: events::Status = event.status().into();
    let updated = events::Entity::update_many()
        .col_expr(
            events::Column::Coefficient,
            Expr::value(event.coefficient().value()),
        )
        .col_expr(events::Column::Deadline, Expr::value(event.deadline().at()))
        .col_expr(events::Column::Status, Expr::value(status))
        .col_expr(events::Column::Version, Expr::value(event.version()))
        .col_expr(events::Column::UpdatedAt, Expr::value(change.occurred_at()))
        .filter(events::Column::Id.eq(event.id()))
        .filter(events::Column::Version.eq(previous))
        .exec(txn)
        .await
        .map_err(storage(operation()))?;
    if updated.rows_affected == 0 {
        // The row is locked: only a writer that bypasses the lock (a bug,
        // or a hand-made UPDATE) gets here.
        return Err(
            StorageError::corrupt(operation(), "the locked row changed under its lock").into(),
        );
    }
    Ok(())
}

/// Ends a transaction that wrote nothing, releasing the lock at once
/// rather than when the connection is next used.
async fn release(txn: DatabaseTransaction, id: Uuid) -> Result<(), RepositoryError> {
    let operation = format!("ending the unchanged transaction of event {id}");
    Ok(txn.rollback().await.map_err(storage(operation))?)
}

/// Writes the message announcing `change` into the outbox, in the caller's
/// transaction: the change and its announcement commit together. The row
/// is a span of the trace the change was made in, and stores that span's
/// context: the relay publishes the message as its child.
async fn enqueue(txn: &DatabaseTransaction, change: &EventChanged) -> Result<(), RepositoryError> {
    let event_id = change.event().id();
    let span = tracing::info_span!(
        target: SPANS,
        "outbox row",
        otel.name = "outbox insert",
        event.id = %event_id,
        event.version = change.event().version(),
    );
    let traceparent = traceparent_of(&context_for(&span, Context::current()));
    // Without RETURNING: one round-trip, and nothing to read back.
    outbox::Entity::insert(outbox_row(change, traceparent))
        .exec_without_returning(txn)
        .instrument(span)
        .await
        .map_err(storage(format!(
            "inserting the outbox row for event {event_id}"
        )))?;
    Ok(())
}

async fn commit(txn: DatabaseTransaction, event: &Event) -> Result<(), RepositoryError> {
    let operation = format!(
        "committing event {} at version {}",
        event.id(),
        event.version()
    );
    Ok(txn.commit().await.map_err(storage(operation))?)
}
