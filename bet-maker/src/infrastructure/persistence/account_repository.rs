//! A bettor's deposit limits and exclusions in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::ledger_writer::lock_wallet;
use super::payment_repository::{LIMITS, limit_from_row};
use crate::application::ports::{AccountRepository, Exclusion, RepositoryError};
use crate::domain::{
    BettorId, Currency, ExclusionKind, ExclusionRequest, Limit, LimitPeriod, excluded_at,
};

const SAVE_LIMIT: &str = "
    INSERT INTO deposit_limits (bettor_id, period, amount, pending_amount, pending_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (bettor_id, period) DO UPDATE
    SET amount = EXCLUDED.amount, pending_amount = EXCLUDED.pending_amount,
        pending_at = EXCLUDED.pending_at";

const EXCLUDE: &str = "
    INSERT INTO exclusions (id, bettor_id, kind, starts_at, until) VALUES ($1, $2, $3, $4, $5)
    RETURNING id, kind, starts_at, until";

const EXCLUSIONS: &str = "
    SELECT id, kind, starts_at, until FROM exclusions
    WHERE bettor_id = $1 AND starts_at <= $2 ORDER BY starts_at, id";

/// [`AccountRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlAccountRepository {
    pool: PgPool,
    currency: Currency,
}

impl SqlAccountRepository {
    /// A repository on this pool; the wallet a first limit makes (to be
    /// locked, as deposits lock it) holds `currency`.
    pub fn new(db: &DatabaseConnection, currency: Currency) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            currency,
        }
    }
}

fn exclusion(row: &PgRow, operation: &str) -> Result<Exclusion, StorageError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    let kind: String = row.try_get("kind").map_err(field)?;
    Ok(Exclusion {
        id: row.try_get("id").map_err(field)?,
        kind: ExclusionKind::parse(&kind).ok_or_else(|| {
            StorageError::corrupt(
                operation.to_owned(),
                format!("unknown exclusion kind {kind}"),
            )
        })?,
        starts_at: row.try_get("starts_at").map_err(field)?,
        until: row.try_get("until").map_err(field)?,
    })
}

#[async_trait]
impl AccountRepository for SqlAccountRepository {
    async fn limits(
        &self,
        bettor_id: &BettorId,
    ) -> Result<Vec<(LimitPeriod, Limit)>, RepositoryError> {
        let operation = format!("reading the limits of {bettor_id}");
        let rows = sqlx::query(LIMITS)
            .bind(bettor_id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(rows
            .iter()
            .map(|row| limit_from_row(row, &operation))
            .collect::<Result<_, _>>()?)
    }

    async fn change_limits(
        &self,
        bettor_id: &BettorId,
        changes: &[(LimitPeriod, Option<Decimal>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<(LimitPeriod, Limit)>, RepositoryError> {
        let operation = format!("changing the limits of {bettor_id}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        lock_wallet(&mut tx, bettor_id, &self.currency).await?;
        let rows = sqlx::query(LIMITS)
            .bind(bettor_id.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let mut limits: Vec<(LimitPeriod, Limit)> = rows
            .iter()
            .map(|row| limit_from_row(row, &operation))
            .collect::<Result<_, _>>()?;
        for &(period, requested) in changes {
            let stored = limits.iter().position(|(stored, _)| *stored == period);
            let before = stored.map(|index| limits[index].1).unwrap_or_default();
            let after = before.change(requested, now);
            sqlx::query(SAVE_LIMIT)
                .bind(bettor_id.as_str())
                .bind(period.as_str())
                .bind(after.current)
                .bind(after.pending.and_then(|pending| pending.amount))
                .bind(after.pending.map(|pending| pending.effective_at))
                .execute(&mut *tx)
                .await
                .map_err(sqlx_storage(operation.clone()))?;
            match stored {
                Some(index) => limits[index].1 = after,
                None => limits.push((period, after)),
            }
        }
        tx.commit().await.map_err(sqlx_storage(operation))?;
        Ok(limits)
    }

    async fn exclude(
        &self,
        bettor_id: &BettorId,
        request: ExclusionRequest,
        now: DateTime<Utc>,
    ) -> Result<Exclusion, RepositoryError> {
        let operation = format!("excluding {bettor_id}");
        let row = sqlx::query(EXCLUDE)
            .bind(Uuid::now_v7())
            .bind(bettor_id.as_str())
            .bind(request.kind().as_str())
            .bind(now)
            .bind(request.until(now))
            .fetch_one(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(exclusion(&row, &operation)?)
    }

    async fn exclusions(
        &self,
        bettor_id: &BettorId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Exclusion>, RepositoryError> {
        let operation = format!("reading the exclusions of {bettor_id}");
        let rows = sqlx::query(EXCLUSIONS)
            .bind(bettor_id.as_str())
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let mut lasting = Vec::new();
        for row in &rows {
            let exclusion = exclusion(row, &operation)?;
            if excluded_at([exclusion.until], now).is_some() {
                lasting.push(exclusion);
            }
        }
        Ok(lasting)
    }
}
