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
use bet_maker::domain::{BetSum, Price, potential_payout};
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
    /// The event every bet's first leg is on (the one a settlement
    /// workload decides), if any.
    pub event: Option<Uuid>,
    /// The events of the other legs (of every leg, without `event`): bet
    /// `n`'s are the next `legs` (or `legs - 1`) of them in turn after bet
    /// `n - 1`'s, so a bet's legs are distinct events while there are at
    /// least that many.
    pub others: &'a [Uuid],
    /// Legs per bet: 1 for singles, 2 to 20 for accumulators.
    pub legs: i16,
    /// How many.
    pub bets: i64,
    /// Placed by `{prefix}0` .. `{prefix}{bettors - 1}`, in turn.
    pub prefix: &'a str,
    /// How many bettors place them (each with a funded wallet).
    pub bettors: i64,
    /// Each bet's stake.
    pub stake: Decimal,
    /// Each leg's coefficient (the events').
    pub coefficient: Decimal,
}

impl StakedBets<'_> {
    /// Legs per bet on `others`.
    fn other_legs(&self) -> i64 {
        i64::from(self.legs) - i64::from(self.event.is_some())
    }

    /// A bet's stake, as the domain holds it.
    pub fn amount(&self) -> anyhow::Result<BetSum> {
        BetSum::new(self.stake, crate::MAX_STAKE.parse()?)
            .with_context(|| format!("{} is not a stake", self.stake))
    }

    /// What each bet pays if every leg wins, by the domain's rule: the
    /// stake times the exact product of its legs' coefficients, to the
    /// cent (what its legs' event exposures count).
    pub fn potential_payout(&self) -> anyhow::Result<Decimal> {
        let legs = usize::try_from(self.legs)?;
        let price = Price::of(std::iter::repeat_n(self.coefficient, legs));
        Ok(potential_payout(self.amount()?, &price))
    }
}

/// Pending bets whose stakes were taken from their bettors' wallets, as
/// placing them would have left them: each bet with its legs (`leg_count`,
/// its `potential_payout`), `stake_posted`, each wallet debited, one STAKE
/// transaction with a WALLET line per bet (the running balance after it,
/// in the order of the bets' ids) and the stakes held, and every leg's
/// event exposure counting the bet.
pub async fn insert_staked_bets(pool: &PgPool, bets: StakedBets<'_>) -> anyhow::Result<()> {
    let other_legs = bets.other_legs();
    anyhow::ensure!(
        (1..=20).contains(&bets.legs)
            && other_legs >= 0
            && usize::try_from(other_legs)? <= bets.others.len(),
        "{} legs a bet on {} events: the legs must be distinct events",
        bets.legs,
        bets.others.len() + usize::from(bets.event.is_some())
    );
    sqlx::query(
        "WITH fresh AS MATERIALIZED (
             SELECT gen_random_uuid() AS id, $3 || (n % $4) AS bettor_id, n
             FROM generate_series(1, $2) AS n
         ),
         placed AS (
             INSERT INTO bets
                 (id, bettor_id, amount, status, placed_at, stake_posted, leg_count,
                  potential_payout)
             SELECT id, bettor_id, $5, 'PENDING', now(), true, $8::smallint, $9 FROM fresh
             RETURNING id, bettor_id, amount
         ),
         leg_rows AS MATERIALIZED (
             SELECT fresh.id AS bet_id, leg::smallint AS leg,
                    CASE WHEN $1::uuid IS NOT NULL AND leg = 1 THEN $1::uuid
                         ELSE ($10::uuid[])[(1 + ((fresh.n - 1) * $11
                              + leg - 1 - CASE WHEN $1::uuid IS NULL THEN 0 ELSE 1 END)
                              % nullif(cardinality($10::uuid[]), 0))::int]
                    END AS event_id
             FROM fresh, generate_series(1, $8::int) AS leg
         ),
         legs AS (
             INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
             SELECT bet_id, leg, event_id, $6 FROM leg_rows
         ),
         exposed AS (
             UPDATE event_exposure x SET pending_bets = x.pending_bets + counted.bets,
                                         stakes = x.stakes + counted.stakes,
                                         potential_payout = x.potential_payout + counted.potential
             FROM (SELECT event_id, count(*) AS bets, count(*) * $5::numeric AS stakes,
                          count(*) * $9::numeric AS potential
                   FROM leg_rows GROUP BY event_id) AS counted
             WHERE x.event_id = counted.event_id
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
    .bind(bets.legs)
    .bind(bets.potential_payout()?)
    .bind(bets.others)
    .bind(other_legs)
    .execute(pool)
    .await
    .with_context(|| {
        format!(
            "staking {} bets of {} legs (the first on event {:?})",
            bets.bets, bets.legs, bets.event
        )
    })?;
    // A bulk load: the planner's statistics must see it, as autovacuum's
    // would for bets placed over hours. Without this, SETTLE_BETS
    // is planned for the handful of pending bets the stale statistics
    // promise, and 100,000 bets took 80-95 s instead of about 6.5 s.
    sqlx::query("ANALYZE bets, bet_legs, wallets, ledger_entries, event_exposure")
        .execute(pool)
        .await
        .context("analysing the staked bets")?;
    Ok(())
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
