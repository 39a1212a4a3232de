//! Events in PostgreSQL, each write together with its outbox message.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, TransactionTrait,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::storage;
use uuid::Uuid;

use super::entities::{events, outbox};
use super::mapping::{event_from_row, outbox_row};
use crate::application::ports::{EventRepository, RepositoryError};
use crate::domain::{Event, EventChanged, EventStatus};

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

    async fn update(&self, change: &EventChanged) -> Result<(), RepositoryError> {
        let event = change.event();
        let txn = self.begin(event).await?;
        let previous = event.version() - 1;
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
            .exec(&txn)
            .await
            .map_err(storage(format!(
                "updating event {} at version {previous}",
                event.id()
            )))?;
        if updated.rows_affected == 0 {
            return Err(RepositoryError::VersionConflict);
        }
        enqueue(&txn, change).await?;
        commit(txn, event).await
    }
}

/// Writes the message announcing `change` into the outbox, in the caller's
/// transaction: the change and its announcement commit together.
async fn enqueue(txn: &DatabaseTransaction, change: &EventChanged) -> Result<(), RepositoryError> {
    // Without RETURNING: one round-trip, and nothing to read back.
    outbox::Entity::insert(outbox_row(change))
        .exec_without_returning(txn)
        .await
        .map_err(storage(format!(
            "inserting the outbox row for event {}",
            change.event().id()
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
