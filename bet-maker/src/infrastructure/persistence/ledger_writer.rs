//! Writing to a wallet inside a transaction that holds the wallet's row:
//! payments, their notices and a cashier's adjustments take the lock,
//! decide with the domain on the balance they find, and post. (Bets and
//! settlements post in one statement each instead, being the hot paths.)

use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgConnection, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::wallet_repository::{EntryColumns, statement_line};
use crate::application::ports::{RepositoryError, StatementLine};
use crate::domain::{Account, BettorId, Currency, Posting};

/// The bettor's wallet, locked until the transaction ends.
const LOCK: &str = "SELECT balance, currency FROM wallets WHERE bettor_id = $1 FOR UPDATE";

/// An empty wallet, for a bettor's first use (a concurrent first use makes
/// the same row; either wins).
const MAKE: &str = "
    INSERT INTO wallets (bettor_id, currency, balance) VALUES ($1, $2, 0)
    ON CONFLICT (bettor_id) DO NOTHING";

/// The wallet's balance changed by `$2`; the check on `balance` refuses a
/// negative one (the caller decided with the balance it locked, so it
/// never does).
const MOVE: &str =
    "UPDATE wallets SET balance = balance + $2 WHERE bettor_id = $1 RETURNING balance";

/// Transaction `$1` of kind `$2`, and its entries `$6`–`$8`; the wallet's
/// entry names bettor `$3`, line `$4` and the balance after, `$5`; every
/// entry names payment `$9`, if any.
const INSERT: &str = "
    WITH txn AS (
        INSERT INTO ledger_transactions (id, kind) VALUES ($1, $2)
        RETURNING id, created_at
    )
    INSERT INTO ledger_entries
        (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, payment_id, created_at)
    SELECT e.id, txn.id, e.account, e.amount,
           CASE WHEN e.account = 'WALLET' THEN $3 END,
           CASE WHEN e.account = 'WALLET' THEN $4 END,
           CASE WHEN e.account = 'WALLET' THEN $5::numeric END,
           NULL, $9, txn.created_at
    FROM txn, UNNEST($6::uuid[], $7::text[], $8::numeric[]) AS e(id, account, amount)
    RETURNING id, account, line, amount, balance_after, bet_id, payment_id, created_at";

/// PostgreSQL's numeric_value_out_of_range: a balance past NUMERIC(28, 2).
const OUT_OF_RANGE: &str = "22003";

/// The bettor's wallet locked, made empty in `currency` if it is the
/// first use: its balance and currency.
pub(super) async fn lock_wallet(
    conn: &mut PgConnection,
    bettor: &BettorId,
    currency: &Currency,
) -> Result<(Decimal, String), StorageError> {
    let operation = || format!("locking the wallet of {bettor}");
    for _ in 0..2 {
        let row = sqlx::query(LOCK)
            .bind(bettor.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(sqlx_storage(operation()))?;
        if let Some(row) = row {
            let balance = row.try_get("balance").map_err(sqlx_storage(operation()))?;
            let currency = row.try_get("currency").map_err(sqlx_storage(operation()))?;
            return Ok((balance, currency));
        }
        sqlx::query(MAKE)
            .bind(bettor.as_str())
            .bind(currency.as_str())
            .execute(&mut *conn)
            .await
            .map_err(sqlx_storage(format!("making the wallet of {bettor}")))?;
    }
    Err(StorageError::corrupt(
        operation(),
        "the wallet was made and is not there",
    ))
}

/// What posting came to.
pub(super) enum Posted {
    /// Posted: the wallet's line, if the posting touches the wallet.
    Posted(Option<StatementLine>),
    /// The balance would pass what a wallet holds: nothing was written.
    BalanceLimit,
}

/// Posts `posting` as a transaction of `kind`, for `payment` if any, on the
/// wallet of `bettor` whose row this transaction holds.
pub(super) async fn post_locked(
    conn: &mut PgConnection,
    bettor: &BettorId,
    posting: &Posting,
    kind: &'static str,
    payment: Option<Uuid>,
) -> Result<Posted, RepositoryError> {
    let operation = || format!("posting a {kind} for {bettor}");
    let change = posting.on(Account::Wallet);
    let mut balance_after = None;
    if !change.is_zero() {
        let moved = sqlx::query_scalar::<_, Decimal>(MOVE)
            .bind(bettor.as_str())
            .bind(change)
            .fetch_one(&mut *conn)
            .await;
        match moved {
            Ok(balance) => balance_after = Some(balance),
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(OUT_OF_RANGE) => {
                return Ok(Posted::BalanceLimit);
            }
            Err(error) => return Err(sqlx_storage(operation())(error).into()),
        }
    }
    let columns = EntryColumns::of(posting);
    let line = posting.wallet_line().map(|line| line.as_str());
    let rows = sqlx::query(INSERT)
        .bind(Uuid::now_v7())
        .bind(kind)
        .bind(bettor.as_str())
        .bind(line)
        .bind(balance_after)
        .bind(&columns.ids)
        .bind(&columns.accounts)
        .bind(&columns.amounts)
        .bind(payment)
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_storage(operation()))?;
    let mut wallet_line = None;
    for row in &rows {
        let account: String = row.try_get("account").map_err(sqlx_storage(operation()))?;
        if account == Account::Wallet.as_str() {
            wallet_line = Some(statement_line(row, &operation())?);
        }
    }
    Ok(Posted::Posted(wallet_line))
}
