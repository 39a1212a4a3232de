//! The records of bet-maker's latest dead letters in PostgreSQL, bounded:
//! each insert drops what is older than the latest [`KEPT_DEAD_LETTERS`].

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};

use crate::application::ports::{DeadLetterLog, DeadLetterRecord, RepositoryError};

/// How many records are kept.
pub const KEPT_DEAD_LETTERS: i64 = 1_000;

/// The record `$1..$6`, and whatever is older than the latest `$7` before
/// it dropped, in one statement.
const RECORD: &str = "
    WITH recorded AS (
        INSERT INTO dead_letter_records
            (id, label, reason, routing_key, message_id, dead_lettered_at)
        VALUES ($1, $2, $3, $4, $5, $6)
    )
    DELETE FROM dead_letter_records WHERE id < (
        SELECT id FROM dead_letter_records ORDER BY id DESC OFFSET $7 - 1 LIMIT 1
    )";

const LATEST: &str = "
    SELECT id, label, reason, routing_key, message_id, dead_lettered_at
    FROM dead_letter_records ORDER BY id DESC LIMIT $1";

/// [`DeadLetterLog`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlDeadLetterLog {
    pool: PgPool,
}

impl SqlDeadLetterLog {
    /// A log on this pool.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
        }
    }
}

fn record_of(row: &PgRow) -> Result<DeadLetterRecord, StorageError> {
    let field = |error| sqlx_storage("reading a dead letter's record")(error);
    Ok(DeadLetterRecord {
        id: row.try_get("id").map_err(field)?,
        label: row.try_get("label").map_err(field)?,
        reason: row.try_get("reason").map_err(field)?,
        routing_key: row.try_get("routing_key").map_err(field)?,
        message_id: row.try_get("message_id").map_err(field)?,
        dead_lettered_at: row.try_get("dead_lettered_at").map_err(field)?,
    })
}

#[async_trait]
impl DeadLetterLog for SqlDeadLetterLog {
    async fn record(&self, record: &DeadLetterRecord) -> Result<(), RepositoryError> {
        sqlx::query(RECORD)
            .bind(record.id)
            .bind(&record.label)
            .bind(&record.reason)
            .bind(&record.routing_key)
            .bind(record.message_id.as_deref())
            .bind(record.dead_lettered_at)
            .bind(KEPT_DEAD_LETTERS)
            .execute(&self.pool)
            .await
            .map_err(sqlx_storage(format!(
                "recording the dead letter {} ({})",
                record.id, record.label
            )))?;
        Ok(())
    }

    async fn latest(&self, limit: u32) -> Result<Vec<DeadLetterRecord>, RepositoryError> {
        let rows = sqlx::query(LATEST)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage("reading the latest dead letters"))?;
        Ok(rows.iter().map(record_of).collect::<Result<_, _>>()?)
    }
}
