//! Wallets and the ledger in PostgreSQL.
//!
//! A posting is written in one statement: the wallet's balance changes by
//! the posting's wallet entries (never below zero), and the transaction and
//! every entry are inserted, or nothing is. Raw SQL because the statement
//! chains an upsert, a guarded update and two inserts in data-modifying
//! CTEs, so that it costs one round trip and cannot be half done; the
//! entries themselves come from `domain::ledger`, never from SQL. A
//! movement's `Idempotency-Key` is claimed in the same statement.

use async_trait::async_trait;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use crate::application::ports::{
    EarlierUse, IdempotencyClaim, PostOutcome, RepositoryError, StatementLine, WalletRepository,
};
use crate::domain::{Account, BettorId, Currency, Posting, WalletLine};

const BALANCE: &str = "SELECT balance FROM wallets WHERE bettor_id = $1";

/// The wallet's change `$3` applied, never below zero, then the
/// transaction and its entries, and the bettor's idempotency key `$10`
/// (if any) claimed for request `$11` and wallet entry `$12`; returns the
/// wallet's entry. A credit makes the wallet when it is the first; a debit
/// of a wallet that does not exist, or would go negative, matches no row,
/// so nothing is inserted. A key the bettor holds already fails the whole
/// statement on `idempotency_keys_pkey` (a concurrent duplicate waits for
/// the first to commit, then fails), so a movement and its key are written
/// together or not at all.
const POST: &str = "
    WITH credited AS (
        INSERT INTO wallets AS w (bettor_id, currency, balance)
        SELECT $1, $2, $3 WHERE $3 >= 0
        ON CONFLICT (bettor_id) DO UPDATE SET balance = w.balance + EXCLUDED.balance
        RETURNING balance
    ),
    debited AS (
        UPDATE wallets SET balance = balance + $3
        WHERE bettor_id = $1 AND $3 < 0 AND balance + $3 >= 0
        RETURNING balance
    ),
    wallet AS (
        SELECT balance FROM credited UNION ALL SELECT balance FROM debited
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind)
        SELECT $4, $5 FROM wallet
        RETURNING id, created_at
    ),
    entries AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
        SELECT e.id, txn.id, e.account, e.amount,
               CASE WHEN e.account = 'WALLET' THEN $1 END,
               CASE WHEN e.account = 'WALLET' THEN $6 END,
               CASE WHEN e.account = 'WALLET' THEN wallet.balance END,
               NULL, txn.created_at
        FROM txn, wallet, UNNEST($7::uuid[], $8::text[], $9::numeric[]) AS e(id, account, amount)
        RETURNING id, account, line, amount, balance_after, bet_id, created_at
    ),
    claimed AS (
        INSERT INTO idempotency_keys (bettor_id, key, request, ledger_entry_id)
        SELECT $1, $10, $11, $12 FROM wallet WHERE $10::text IS NOT NULL
    )
    SELECT id, line, amount, balance_after, bet_id, created_at FROM entries WHERE account = 'WALLET'";

/// The constraint a second claim of a bettor's key breaks.
const KEY_CONSTRAINT: &str = "idempotency_keys_pkey";

/// What a bettor's key was used for, with the wallet line it posted (none
/// for a key that placed a bet).
const EARLIER_USE: &str = "
    SELECT k.request, e.id, e.line, e.amount, e.balance_after, e.bet_id, e.created_at
    FROM idempotency_keys k
    LEFT JOIN ledger_entries e ON e.id = k.ledger_entry_id AND e.bettor_id = k.bettor_id
    WHERE k.bettor_id = $1 AND k.key = $2";

/// A page of a bettor's statement, newest first. Ordered by when each
/// line was written, not by its id: the id is drawn before the statement
/// runs, while `created_at` is taken after the wallet's row is locked, so
/// it follows the order in which the balance changed (`balance_after`
/// reads as a running balance down the page). The cursor is the id of the
/// last line seen.
const STATEMENT: &str = "
    SELECT id, line, amount, balance_after, bet_id, created_at
    FROM ledger_entries
    WHERE account = 'WALLET' AND bettor_id = $1
      AND ($2::uuid IS NULL OR (created_at, id) <
           (SELECT created_at, id FROM ledger_entries WHERE id = $2 AND bettor_id = $1))
    ORDER BY created_at DESC, id DESC
    LIMIT $3";

/// A posting's entries as the statements take them: one array per
/// column (new ids, accounts, amounts), and the id of the wallet's entry.
pub(super) struct EntryColumns {
    pub ids: Vec<Uuid>,
    pub accounts: Vec<&'static str>,
    pub amounts: Vec<Decimal>,
    pub wallet_entry: Option<Uuid>,
}

impl EntryColumns {
    pub fn of(posting: &Posting) -> Self {
        let entries = posting.entries();
        let ids: Vec<Uuid> = entries.iter().map(|_| Uuid::now_v7()).collect();
        let wallet_entry = entries
            .iter()
            .zip(&ids)
            .find(|(entry, _)| entry.account == Account::Wallet)
            .map(|(_, id)| *id);
        Self {
            accounts: entries.iter().map(|e| e.account.as_str()).collect(),
            amounts: entries.iter().map(|e| e.amount).collect(),
            ids,
            wallet_entry,
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
    currency: Currency,
}

impl SqlWalletRepository {
    /// A repository on this pool; new wallets hold `currency`.
    pub fn new(db: &DatabaseConnection, currency: Currency) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            currency,
        }
    }
}

/// The transaction kind a posting is recorded as.
fn transaction_kind(line: WalletLine) -> &'static str {
    match line {
        WalletLine::Deposit => "DEPOSIT",
        WalletLine::Withdrawal => "WITHDRAWAL",
        WalletLine::Stake => "STAKE",
        WalletLine::Payout | WalletLine::Refund => "SETTLEMENT",
    }
}

#[async_trait]
impl WalletRepository for SqlWalletRepository {
    async fn balance(&self, bettor: &BettorId) -> Result<Decimal, RepositoryError> {
        Ok(read_balance(&self.pool, bettor).await?)
    }

    async fn post(
        &self,
        bettor: &BettorId,
        posting: &Posting,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<PostOutcome, RepositoryError> {
        let line = posting.wallet_line().ok_or_else(|| {
            StorageError::corrupt(
                "posting to a wallet",
                "the posting does not touch the wallet",
            )
        })?;
        let columns = EntryColumns::of(posting);
        let operation = format!("posting a {} for {bettor}", line.as_str());
        let posted = sqlx::query(POST)
            .bind(bettor.as_str())
            .bind(self.currency.as_str())
            .bind(posting.on(Account::Wallet))
            .bind(Uuid::now_v7())
            .bind(transaction_kind(line))
            .bind(line.as_str())
            .bind(&columns.ids)
            .bind(&columns.accounts)
            .bind(&columns.amounts)
            .bind(claim.map(|claim| claim.key.as_str()))
            .bind(claim.map(|claim| claim.request.as_str()))
            .bind(columns.wallet_entry)
            .fetch_optional(&self.pool)
            .await;
        match posted {
            Ok(Some(row)) => Ok(PostOutcome::Posted(statement_line(&row, &operation)?)),
            Ok(None) => Ok(PostOutcome::BalanceChanged),
            Err(sqlx::Error::Database(error)) if error.constraint() == Some(KEY_CONSTRAINT) => {
                Ok(PostOutcome::KeyTaken)
            }
            // numeric_value_out_of_range: the balance outgrew NUMERIC(16, 2).
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("22003") => {
                Ok(PostOutcome::BalanceLimit)
            }
            Err(error) => Err(sqlx_storage(operation)(error).into()),
        }
    }

    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierUse>, RepositoryError> {
        let operation = format!(
            "reading the idempotency key {} of {}",
            claim.key, claim.bettor_id
        );
        let Some(row) = sqlx::query(EARLIER_USE)
            .bind(claim.bettor_id.as_str())
            .bind(&claim.key)
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?
        else {
            return Ok(None);
        };
        let request: String = row
            .try_get("request")
            .map_err(sqlx_storage(operation.clone()))?;
        if request != claim.request {
            return Ok(Some(EarlierUse::Different));
        }
        // Same request: a wallet movement's (a bet's request names its
        // event), so the key names a wallet line.
        let line: Option<Uuid> = row.try_get("id").map_err(sqlx_storage(operation.clone()))?;
        if line.is_none() {
            return Err(StorageError::corrupt(
                operation,
                "the key of a wallet movement names no wallet line of its bettor",
            )
            .into());
        }
        Ok(Some(EarlierUse::Same(statement_line(&row, &operation)?)))
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
fn statement_line(row: &PgRow, operation: &str) -> Result<StatementLine, RepositoryError> {
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
            created_at: row.try_get("created_at").map_err(field)?,
        })
    };
    Ok(read()?)
}
