//! The limits the bets' workloads are held to: the same work done directly
//! on a **minimal** schema (issue 24), in a throwaway database on the same
//! PostgreSQL, in the same run. Three tables and one partial index: a bet
//! row, a wallet with its balance, a ledger line per movement; no exposure,
//! no legs, no feed, no audit, no running balance, no foreign key. What the
//! service keeps beyond that (the double entry, the bettor's live stream,
//! the statement with its balances, the house's limits, exactly-once
//! settlement) is what a ratio above or below 1 is paid for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::migrations::{SqlMigration, boxed, fingerprint};
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

use super::super::Settings;
use super::super::load::{LoadResult, closed_loop};
use super::throughput::median_run;

/// The schema, exactly as issue 24 gives it.
const SCHEMA: &str = "
    create table bets(id uuid primary key, bettor text not null, event_id uuid not null,
      amount numeric(14,2) not null, coefficient numeric(8,2) not null,
      status text not null default 'PENDING', payout numeric(16,2),
      placed_at timestamptz not null default now(), settled_at timestamptz);
    create index on bets(event_id) where status = 'PENDING';
    create table wallets(bettor text primary key, balance numeric(16,2) not null check (balance >= 0));
    create table ledger(id bigserial primary key, bettor text, bet_id uuid, kind text not null,
      amount numeric(16,2) not null, created_at timestamptz not null default now())";

/// The placement limit's statement, one per bet: the wallet debited if it
/// holds the stake `$3`, bet `$1` of bettor `$2` on event `$4` at `$5`
/// written, its STAKE line.
const PLACE: &str = "
    with d as (update wallets set balance = balance - $3
               where bettor = $2 and balance >= $3 returning bettor),
    x as (insert into bets(id, bettor, event_id, amount, coefficient)
          select $1, bettor, $4, $3, $5 from d returning id, bettor)
    insert into ledger(bettor, bet_id, kind, amount) select bettor, id, 'STAKE', -$3 from x";

/// The settlement limit's statement: every pending bet on event `$1` won,
/// paid stake × coefficient, each wallet credited with its bets' sum, a
/// PAYOUT line per bet.
const SETTLE_WON: &str = "
    with s as (update bets set status = 'WON', payout = round(amount * coefficient, 2),
                               settled_at = clock_timestamp()
               where event_id = $1 and status = 'PENDING' returning id, bettor, payout),
    c as (update wallets w set balance = w.balance + t.total
          from (select bettor, sum(payout) total from s group by bettor) t
          where w.bettor = t.bettor returning w.bettor)
    insert into ledger(bettor, bet_id, kind, amount) select bettor, id, 'PAYOUT', payout from s";

/// The same for a cancelled event: every pending bet void, its stake back,
/// a REFUND line per bet.
const SETTLE_CANCELLED: &str = "
    with s as (update bets set status = 'VOID', payout = amount, settled_at = clock_timestamp()
               where event_id = $1 and status = 'PENDING' returning id, bettor, payout),
    c as (update wallets w set balance = w.balance + t.total
          from (select bettor, sum(payout) total from s group by bettor) t
          where w.bettor = t.bettor returning w.bettor)
    insert into ledger(bettor, bet_id, kind, amount) select bettor, id, 'REFUND', payout from s";

/// A cash-out's quote on the minimal schema: the bet's stake and
/// coefficient, if it is pending (what a quote is worked out from).
const QUOTE: &str = "select amount, coefficient from bets where id = $1 and status = 'PENDING'";

/// A cash-out's accept: bet `$1` CASHED_OUT at `$2` if still pending, its
/// bettor's wallet credited, a CASH_OUT line.
const CASH_OUT: &str = "
    with s as (update bets set status = 'CASHED_OUT', payout = $2, settled_at = clock_timestamp()
               where id = $1 and status = 'PENDING' returning id, bettor, payout),
    c as (update wallets w set balance = w.balance + s.payout from s where w.bettor = s.bettor)
    insert into ledger(bettor, bet_id, kind, amount) select bettor, id, 'CASH_OUT', payout from s";

/// How the minimal settlement ends the event's bets.
#[derive(Debug, Clone, Copy)]
pub enum MinimalEnding {
    /// Every bet won and paid ([`SETTLE_WON`]).
    Won,
    /// Every bet refunded ([`SETTLE_CANCELLED`]).
    Refunded,
}

impl MinimalEnding {
    /// Its statement.
    fn statement(self) -> &'static str {
        match self {
            Self::Won => SETTLE_WON,
            Self::Refunded => SETTLE_CANCELLED,
        }
    }

    /// What it does to the bets, in words: "won", "refunded".
    pub fn what(self) -> &'static str {
        match self {
            Self::Won => "won",
            Self::Refunded => "refunded",
        }
    }
}

/// The minimal schema as a migrator, so its database is made the way the
/// services' are (from a template, dropped at the end of the run).
struct Schema;

const TABLES: &[SqlMigration] = &[SqlMigration {
    name: "m20261208_000001_minimal_schema",
    up: SCHEMA,
    down: "drop table ledger, wallets, bets",
}];

impl MigratorTrait for Schema {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        boxed(TABLES)
    }
}

/// A throwaway database with the minimal schema.
#[derive(Debug)]
pub struct Minimal {
    db: TestDatabase,
}

impl Minimal {
    /// A fresh one.
    pub async fn create() -> anyhow::Result<Self> {
        let db = TestDatabase::create::<Schema>("bench_minimal", fingerprint(TABLES))
            .await
            .context("creating the minimal schema's database")?;
        Ok(Self { db })
    }

    /// A pool of the services' size on it.
    async fn pool(&self) -> anyhow::Result<PgPool> {
        super::pool(&self.db).await
    }

    /// `{prefix}0` .. `{prefix}{bettors - 1}`, each with `amount` (added to
    /// what they hold).
    pub async fn fund(&self, prefix: &str, bettors: i64, amount: Decimal) -> anyhow::Result<()> {
        let pool = self.pool().await?;
        sqlx::query(
            "insert into wallets as w (bettor, balance)
             select $1 || n, $3 from generate_series(0, $2 - 1) as n
             on conflict (bettor) do update set balance = w.balance + excluded.balance",
        )
        .bind(prefix)
        .bind(bettors)
        .bind(amount)
        .execute(&pool)
        .await
        .with_context(|| format!("funding {bettors} minimal wallets of {prefix}N"))?;
        pool.close().await;
        Ok(())
    }

    /// The placement limit: [`PLACE`] once per bet, at `concurrency`
    /// through a pool of the services' size, each bet by one of `bettors`
    /// (funded) drawn at random, on one of `events` drawn at random (one
    /// event: every bet on it); the median of the settings' runs. A bet that
    /// writes no row counts as an error.
    pub async fn place(
        &self,
        settings: &Settings,
        concurrency: usize,
        bettors: Arc<Vec<String>>,
        events: Arc<Vec<Uuid>>,
        stake: Decimal,
        coefficient: Decimal,
    ) -> anyhow::Result<LoadResult> {
        anyhow::ensure!(
            !bettors.is_empty() && !events.is_empty(),
            "the minimal placement needs bettors and events"
        );
        let pool = Arc::new(self.pool().await?);
        let result = median_run(settings.runs, || {
            let (pool, bettors, events) = (pool.clone(), bettors.clone(), events.clone());
            async move {
                Ok(
                    closed_loop(concurrency, settings.warmup, settings.duration, move || {
                        let pool = pool.clone();
                        let bettor = bettors[rand::random_range(0..bettors.len())].clone();
                        let event = events[rand::random_range(0..events.len())];
                        async move {
                            sqlx::query(PLACE)
                                .bind(Uuid::now_v7())
                                .bind(bettor)
                                .bind(stake)
                                .bind(event)
                                .bind(coefficient)
                                .execute(&*pool)
                                .await
                                .is_ok_and(|done| done.rows_affected() == 1)
                        }
                    })
                    .await,
                )
            }
        })
        .await;
        pool.close().await;
        result
    }

    /// The cash-out limit: `bets` pending bets of `stake` at `coefficient`
    /// from `bettors` funded bettors on events of their own, then, at
    /// `concurrency`, per bet not cashed out before: [`QUOTE`], then
    /// [`CASH_OUT`] at `quote` (two statements, as a quote and an accept are
    /// two requests); the median of the settings' runs. A cash-out that
    /// writes no row counts as an error.
    pub async fn cash_out(
        &self,
        settings: &Settings,
        concurrency: usize,
        terms: MinimalBets,
        quote: Decimal,
    ) -> anyhow::Result<LoadResult> {
        let prefix = "minimal-cashout-bettor-";
        self.fund(
            prefix,
            terms.bettors,
            terms.stake * Decimal::from(terms.bets),
        )
        .await?;
        let pool = Arc::new(self.pool().await?);
        let bets = stake_bets(&pool, prefix, terms, None).await?;
        let bets = Arc::new(bets);
        let next = Arc::new(AtomicUsize::new(0));
        let result = median_run(settings.runs, || {
            let (pool, bets, next) = (pool.clone(), bets.clone(), next.clone());
            async move {
                Ok(
                    closed_loop(concurrency, settings.warmup, settings.duration, move || {
                        let pool = pool.clone();
                        let bet = bets.get(next.fetch_add(1, Ordering::Relaxed)).copied();
                        async move {
                            match bet {
                                Some(bet) => cash_out(&pool, bet, quote).await.unwrap_or(false),
                                None => {
                                    tokio::time::sleep(Duration::from_millis(10)).await;
                                    false
                                }
                            }
                        }
                    })
                    .await,
                )
            }
        })
        .await;
        pool.close().await;
        result
    }

    /// The settlement limit: `bets` pending bets of `stake` at
    /// `coefficient` on a fresh event from `bettors` funded bettors (each
    /// with its STAKE line, as placing them would have left them), then
    /// the one statement that settles them all, timed from its start to
    /// its commit.
    pub async fn settle(
        &self,
        bets: i64,
        bettors: i64,
        stake: Decimal,
        coefficient: Decimal,
        ending: MinimalEnding,
    ) -> anyhow::Result<Duration> {
        let prefix = "minimal-settle-bettor-";
        self.fund(prefix, bettors, stake * Decimal::from(bets))
            .await?;
        let pool = self.pool().await?;
        let event = Uuid::now_v7();
        let terms = MinimalBets {
            bets,
            bettors,
            stake,
            coefficient,
        };
        stake_bets(&pool, prefix, terms, Some(event)).await?;
        sqlx::query("analyze bets, wallets, ledger")
            .execute(&pool)
            .await
            .context("analysing the minimal tables")?;
        let started = Instant::now();
        let mut txn = pool.begin().await?;
        let written = sqlx::query(ending.statement())
            .bind(event)
            .execute(&mut *txn)
            .await
            .context("settling the minimal bets")?
            .rows_affected();
        txn.commit()
            .await
            .context("committing the minimal settlement")?;
        let took = started.elapsed();
        pool.close().await;
        anyhow::ensure!(
            i64::try_from(written)? == bets,
            "the minimal settlement wrote {written} ledger lines for {bets} bets"
        );
        Ok(took)
    }
}

/// The bets a minimal limit works on.
#[derive(Debug, Clone, Copy)]
pub struct MinimalBets {
    /// How many.
    pub bets: i64,
    /// Placed by this many funded bettors, in turn.
    pub bettors: i64,
    /// Each bet's stake.
    pub stake: Decimal,
    /// Each bet's coefficient.
    pub coefficient: Decimal,
}

/// One minimal cash-out of `bet` at `quote`: [`QUOTE`], then [`CASH_OUT`];
/// whether it wrote the CASH_OUT line.
async fn cash_out(pool: &PgPool, bet: Uuid, quote: Decimal) -> Result<bool, sqlx::Error> {
    let quoted = sqlx::query(QUOTE).bind(bet).fetch_optional(pool).await?;
    if quoted.is_none() {
        return Ok(false);
    }
    let written = sqlx::query(CASH_OUT)
        .bind(bet)
        .bind(quote)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(written == 1)
}

/// Places `terms.bets` pending bets from `{prefix}0` ..
/// `{prefix}{terms.bettors - 1}` in turn, on `event` (each on an event of
/// its own when `None`), as placing them would have left them: each
/// wallet debited, a STAKE line per bet; their ids.
async fn stake_bets(
    pool: &PgPool,
    prefix: &str,
    terms: MinimalBets,
    event: Option<Uuid>,
) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "with placed as (
             insert into bets(id, bettor, event_id, amount, coefficient)
             select gen_random_uuid(), $2 || (n % $3), coalesce($4, gen_random_uuid()), $5, $6
             from generate_series(1, $1) as n
             returning id, bettor, amount
         ),
         debited as (
             update wallets w set balance = w.balance - t.total
             from (select bettor, sum(amount) total from placed group by bettor) t
             where w.bettor = t.bettor
         ),
         staked as (
             insert into ledger(bettor, bet_id, kind, amount)
             select bettor, id, 'STAKE', -amount from placed
         )
         select id from placed",
    )
    .bind(terms.bets)
    .bind(prefix)
    .bind(terms.bettors)
    .bind(event)
    .bind(terms.stake)
    .bind(terms.coefficient)
    .fetch_all(pool)
    .await
    .context("staking the minimal bets")
}
