//! Money for the workloads: bettors' wallets funded by balanced deposits,
//! bets whose stakes are in the ledger, and the check that the books
//! balance once a workload has moved money.
//!
//! Set-based SQL, since seeding 100,000 bets one request at a time would
//! take longer than the workloads themselves; each statement posts its
//! movements as the domain's rules do (`bet_maker::domain::deposit` and
//! `stake`): every transaction's entries sum to zero, and each wallet line
//! carries the balance after it.

use anyhow::Context as _;
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool, Row as _};
use uuid::Uuid;

/// The currency bet-maker's wallets hold by default.
const CURRENCY: &str = "EUR";

/// What each bench bettor is given: 100,000,000.00, enough for ten million
/// stakes of 10.00 each, far more than any run places (a few thousand bets
/// a second for well under a minute, spread over a thousand bettors), so no
/// bet is ever refused for want of money.
pub fn bench_funds() -> Decimal {
    Decimal::new(10_000_000_000, 2)
}

/// Pays `amount` into the wallets of `{prefix}0` .. `{prefix}{bettors - 1}`
/// (made when missing) as one DEPOSIT transaction: per bettor a WALLET
/// line with the balance after it, and the HOUSE_CASH entry that balances
/// it.
pub async fn fund_bettors(
    pool: &PgPool,
    prefix: &str,
    bettors: i64,
    amount: Decimal,
) -> anyhow::Result<()> {
    let mut txn = pool.begin().await?;
    let transaction = Uuid::now_v7();
    sqlx::query("INSERT INTO ledger_transactions (id, kind) VALUES ($1, 'DEPOSIT')")
        .bind(transaction)
        .execute(&mut *txn)
        .await
        .context("opening the deposit transaction")?;
    sqlx::query(
        "WITH funded AS (
             INSERT INTO wallets AS w (bettor_id, currency, balance)
             SELECT $1 || n, $3, $4 FROM generate_series(0, $2 - 1) AS n
             ON CONFLICT (bettor_id) DO UPDATE SET balance = w.balance + EXCLUDED.balance
             RETURNING bettor_id, balance
         ),
         txn AS (
             SELECT id, created_at FROM ledger_transactions WHERE id = $5
         )
         INSERT INTO ledger_entries
             (id, transaction_id, account, amount, bettor_id, line, balance_after, created_at)
         SELECT gen_random_uuid(), txn.id, entry.account, entry.amount,
                entry.bettor_id, entry.line, entry.balance_after, txn.created_at
         FROM funded, txn, LATERAL (VALUES
             ('WALLET', $4::numeric, funded.bettor_id, 'DEPOSIT', funded.balance),
             ('HOUSE_CASH', -$4::numeric, NULL, NULL, NULL)
         ) AS entry(account, amount, bettor_id, line, balance_after)",
    )
    .bind(prefix)
    .bind(bettors)
    .bind(CURRENCY)
    .bind(amount)
    .bind(transaction)
    .execute(&mut *txn)
    .await
    .with_context(|| format!("funding {bettors} wallets of {prefix}N"))?;
    txn.commit().await.context("committing the deposits")?;
    Ok(())
}

/// The terms of the bets [`insert_staked_bets`] writes.
#[derive(Debug, Clone, Copy)]
pub struct StakedBets<'a> {
    /// The event they are on.
    pub event: Uuid,
    /// How many.
    pub bets: i64,
    /// Placed by `{prefix}0` .. `{prefix}{bettors - 1}`, in turn.
    pub prefix: &'a str,
    /// How many bettors place them (each with a funded wallet).
    pub bettors: i64,
    /// Each bet's stake.
    pub stake: Decimal,
    /// Each bet's coefficient (the event's).
    pub coefficient: Decimal,
}

/// Pending bets whose stakes were taken from their bettors' wallets, as
/// placing them would have left them: `stake_posted`, each wallet debited,
/// and one STAKE transaction with a WALLET line per bet (the running
/// balance after it, in the order of the bets' ids) and the stakes held.
pub async fn insert_staked_bets(pool: &PgPool, bets: StakedBets<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "WITH placed AS (
             INSERT INTO bets
                 (id, bettor_id, event_id, amount, coefficient, status, placed_at, stake_posted)
             SELECT gen_random_uuid(), $3 || (n % $4), $1, $5, $6, 'PENDING', now(), true
             FROM generate_series(1, $2) AS n
             RETURNING id, bettor_id, amount
         ),
         debited AS (
             UPDATE wallets SET balance = wallets.balance - staked.total
             FROM (SELECT bettor_id, sum(amount) AS total FROM placed GROUP BY bettor_id) AS staked
             WHERE wallets.bettor_id = staked.bettor_id
             RETURNING wallets.bettor_id, wallets.balance, staked.total
         ),
         txn AS (
             INSERT INTO ledger_transactions (id, kind) VALUES ($7, 'STAKE')
             RETURNING id, created_at
         ),
         wallet_lines AS (
             INSERT INTO ledger_entries
                 (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
             SELECT gen_random_uuid(), txn.id, 'WALLET', -placed.amount, placed.bettor_id, 'STAKE',
                    debited.balance + debited.total
                      - sum(placed.amount) OVER (PARTITION BY placed.bettor_id ORDER BY placed.id),
                    placed.id, txn.created_at
             FROM placed JOIN debited USING (bettor_id), txn
         )
         INSERT INTO ledger_entries (id, transaction_id, account, amount, created_at)
         SELECT gen_random_uuid(), txn.id, 'STAKES_HELD', sum(placed.amount), txn.created_at
         FROM placed, txn GROUP BY txn.id, txn.created_at",
    )
    .bind(bets.event)
    .bind(bets.bets)
    .bind(bets.prefix)
    .bind(bets.bettors)
    .bind(bets.stake)
    .bind(bets.coefficient)
    .bind(Uuid::now_v7())
    .execute(pool)
    .await
    .with_context(|| format!("staking {} bets on event {}", bets.bets, bets.event))?;
    // A bulk load: the planner's statistics must see it, as autovacuum's
    // would for bets placed over hours. Without this, SETTLE_BETS
    // is planned for the handful of pending bets the stale statistics
    // promise, and 100,000 bets took 80-95 s instead of about 6.5 s.
    sqlx::query("ANALYZE bets, wallets, ledger_entries")
        .execute(pool)
        .await
        .context("analysing the staked bets")?;
    Ok(())
}

/// The count and sum of the `line` wallet lines of the bets on `event`.
pub async fn wallet_lines_of_event(
    pool: &PgPool,
    event: Uuid,
    line: &str,
) -> anyhow::Result<(i64, Decimal)> {
    let row = sqlx::query(
        "SELECT count(*) AS lines, coalesce(sum(e.amount), 0) AS total
         FROM ledger_entries e JOIN bets b ON b.id = e.bet_id
         WHERE b.event_id = $1 AND e.account = 'WALLET' AND e.line = $2",
    )
    .bind(event)
    .bind(line)
    .fetch_one(pool)
    .await
    .with_context(|| format!("reading the {line} lines of event {event}"))?;
    Ok((row.try_get("lines")?, row.try_get("total")?))
}

/// Fails unless the books balance: every ledger transaction's entries sum
/// to zero, and every wallet's balance is the sum of its WALLET entries.
pub async fn books_balance(pool: &PgPool) -> anyhow::Result<()> {
    let row = sqlx::query(
        "SELECT
             (SELECT count(*) FROM (
                  SELECT transaction_id FROM ledger_entries
                  GROUP BY transaction_id HAVING sum(amount) <> 0
              ) AS unbalanced) AS unbalanced_transactions,
             (SELECT count(*) FROM wallets w
              LEFT JOIN (
                  SELECT bettor_id, sum(amount) AS total FROM ledger_entries
                  WHERE account = 'WALLET' GROUP BY bettor_id
              ) AS lines USING (bettor_id)
              WHERE w.balance <> coalesce(lines.total, 0)) AS wallets_off",
    )
    .fetch_one(pool)
    .await
    .context("checking the books")?;
    let unbalanced: i64 = row.try_get("unbalanced_transactions")?;
    let wallets_off: i64 = row.try_get("wallets_off")?;
    anyhow::ensure!(
        unbalanced == 0 && wallets_off == 0,
        "the books do not balance: {unbalanced} ledger transactions do not sum to zero, \
         {wallets_off} wallets differ from the sum of their entries"
    );
    Ok(())
}
