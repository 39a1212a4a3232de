//! Wallets and the ledger in PostgreSQL: a bettor's balance and statement,
//! and what the statements that post share (a posting's entries as
//! columns, a wallet line read back). Money is posted by
//! `ledger_writer` (payments, adjustments), `bet_repository` (stakes) and
//! `settlement` (payouts and refunds).

use async_trait::async_trait;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use crate::application::ports::{RepositoryError, StatementLine, WalletRepository};
use crate::domain::{BettorId, Posting, WalletLine};

const BALANCE: &str = "SELECT balance FROM wallets WHERE bettor_id = $1";

/// A page of a bettor's statement, newest first. Ordered by when each
/// line was written, not by its id: the id is drawn before the statement
/// runs, while `created_at` is taken after the wallet's row is locked, so
/// it follows the order in which the balance changed (`balance_after`
/// reads as a running balance down the page). The cursor is the id of the
/// last line seen.
const STATEMENT: &str = "
    SELECT id, line, amount, balance_after, bet_id, payment_id, created_at
    FROM ledger_entries
    WHERE account = 'WALLET' AND bettor_id = $1
      AND ($2::uuid IS NULL OR (created_at, id) <
           (SELECT created_at, id FROM ledger_entries WHERE id = $2 AND bettor_id = $1))
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// A posting's entries as the statements take them: one array per
/// column (new ids, accounts, amounts).
#[derive(Debug, Clone)]
pub(super) struct EntryColumns {
    pub ids: Vec<Uuid>,
    pub accounts: Vec<&'static str>,
    pub amounts: Vec<Decimal>,
}

impl EntryColumns {
    pub fn of(posting: &Posting) -> Self {
        let entries = posting.entries();
        let ids: Vec<Uuid> = entries.iter().map(|_| Uuid::now_v7()).collect();
        Self {
            accounts: entries.iter().map(|e| e.account.as_str()).collect(),
            amounts: entries.iter().map(|e| e.amount).collect(),
            ids,
        }
    }
}

/// The bettor's balance now: 0.00 before their first deposit.
pub(super) async fn read_balance(
    pool: &PgPool,
    bettor: &BettorId,
) -> Result<Decimal, StorageError> {
    let balance: Option<Decimal> = sqlx::query_scalar(BALANCE)
        .bind(bettor.as_str())
        .fetch_optional(pool)
        .await
        .map_err(sqlx_storage(format!("reading the balance of {bettor}")))?;
    Ok(balance.unwrap_or(Decimal::new(0, 2)))
}

/// [`WalletRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlWalletRepository {
    pool: PgPool,
}

impl SqlWalletRepository {
    /// A repository on this pool.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
        }
    }
}

#[async_trait]
impl WalletRepository for SqlWalletRepository {
    async fn balance(&self, bettor: &BettorId) -> Result<Decimal, RepositoryError> {
        Ok(read_balance(&self.pool, bettor).await?)
    }

    async fn statement(
        &self,
        bettor: &BettorId,
        page: PageRequest,
    ) -> Result<Vec<StatementLine>, RepositoryError> {
        let operation = format!("reading the statement of {bettor}");
        let rows = sqlx::query(STATEMENT)
            .bind(bettor.as_str())
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        rows.iter()
            .map(|row| statement_line(row, &operation))
            .collect()
    }
}

/// A wallet entry read back as a statement line.
pub(super) fn statement_line(
    row: &PgRow,
    operation: &str,
) -> Result<StatementLine, RepositoryError> {
    let read = || -> Result<StatementLine, StorageError> {
        let field = |error| sqlx_storage(operation.to_owned())(error);
        let text: String = row.try_get("line").map_err(field)?;
        let kind = WalletLine::parse(&text).ok_or_else(|| {
            StorageError::corrupt(operation.to_owned(), format!("unknown line kind {text}"))
        })?;
        Ok(StatementLine {
            id: row.try_get("id").map_err(field)?,
            kind,
            amount: row.try_get("amount").map_err(field)?,
            balance_after: row.try_get("balance_after").map_err(field)?,
            bet_id: row.try_get("bet_id").map_err(field)?,
            payment_id: row.try_get("payment_id").map_err(field)?,
            created_at: row.try_get("created_at").map_err(field)?,
        })
    };
    Ok(read()?)
}
