//! Staff actions and their audit log in PostgreSQL: each action and its
//! audit entry are one transaction.

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use serde_json::json;
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::ledger_writer::{Posted, lock_wallet, post_locked};
use crate::application::ports::{
    AdjustOutcome, AdjustmentRequest, AuditEntry, RepositoryError, StaffRepository,
};
use crate::domain::{Currency, adjustment};

/// The action a cashier's adjustment is audited as.
pub const ADJUST_WALLET: &str = "wallet.adjust";

/// Writes an audit entry (in the transaction of its action).
pub(super) const AUDIT: &str = "
    INSERT INTO audit_log (id, actor, action, subject, reason, before, after)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id, actor, action, subject, reason, before, after, created_at";

const AUDIT_PAGE: &str = "
    SELECT id, actor, action, subject, reason, before, after, created_at
    FROM audit_log WHERE ($1::uuid IS NULL OR id < $1)
    ORDER BY id DESC LIMIT $2";

/// [`StaffRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStaffRepository {
    pool: PgPool,
    currency: Currency,
}

impl SqlStaffRepository {
    /// A repository on this pool; a wallet an adjustment makes holds
    /// `currency`.
    pub fn new(db: &DatabaseConnection, currency: Currency) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            currency,
        }
    }
}

pub(super) fn audit_entry(row: &PgRow, operation: &str) -> Result<AuditEntry, StorageError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    Ok(AuditEntry {
        id: row.try_get("id").map_err(field)?,
        actor: row.try_get("actor").map_err(field)?,
        action: row.try_get("action").map_err(field)?,
        subject: row.try_get("subject").map_err(field)?,
        reason: row.try_get("reason").map_err(field)?,
        before: row.try_get("before").map_err(field)?,
        after: row.try_get("after").map_err(field)?,
        created_at: row.try_get("created_at").map_err(field)?,
    })
}

#[async_trait]
impl StaffRepository for SqlStaffRepository {
    async fn adjust(
        &self,
        request: AdjustmentRequest<'_>,
    ) -> Result<AdjustOutcome, RepositoryError> {
        let AdjustmentRequest {
            actor,
            bettor_id,
            amount,
            reason,
        } = request;
        let operation = format!("adjusting the wallet of {bettor_id}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let (balance, currency) = lock_wallet(&mut tx, bettor_id, &self.currency).await?;
        let posting = match adjustment(amount, balance) {
            Ok(posting) => posting,
            Err(short) => return Ok(AdjustOutcome::InsufficientFunds(short)),
        };
        let line = match post_locked(&mut tx, bettor_id, &posting, "ADJUSTMENT", None).await? {
            Posted::BalanceLimit => return Ok(AdjustOutcome::BalanceLimit),
            Posted::Posted(Some(line)) => line,
            Posted::Posted(None) => {
                return Err(StorageError::corrupt(
                    operation,
                    "an adjustment posted no wallet line",
                )
                .into());
            }
        };
        let money = |value| WireDecimal::from_decimal_exact(value).to_string();
        let row = sqlx::query(AUDIT)
            .bind(Uuid::now_v7())
            .bind(actor.as_str())
            .bind(ADJUST_WALLET)
            .bind(format!("wallet:{bettor_id}"))
            .bind(reason)
            .bind(json!({ "balance": money(balance), "currency": currency }))
            .bind(json!({
                "balance": money(line.balance_after),
                "currency": currency,
                "amount": money(line.amount),
                "line_id": line.id,
            }))
            .fetch_one(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let entry = audit_entry(&row, &operation)?;
        tx.commit().await.map_err(sqlx_storage(operation))?;
        Ok(AdjustOutcome::Adjusted(Box::new((line, entry))))
    }

    async fn audit(&self, page: PageRequest) -> Result<Vec<AuditEntry>, RepositoryError> {
        let operation = "reading the audit log";
        let rows = sqlx::query(AUDIT_PAGE)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation))?;
        Ok(rows
            .iter()
            .map(|row| audit_entry(row, operation))
            .collect::<Result<_, _>>()?)
    }
}
