//! Cash-out: quotes taken and accepted per second, each on a pending
//! accumulator of its bettor's, beside the same database work issued
//! directly.
//!
//! Written against the contract (SPEC "Accumulators and cash-out"):
//! `POST /bets/{id}/cash-out/quote` → 200 `{quote_id, amount, expires_at}`,
//! then `POST /bets/{id}/cash-out` `{quote_id}` → 200, the bet
//! `CASHED_OUT`. A bet-maker without them answers 404 to the quote of a bet
//! its bettor has just placed: the row then says so and measures the limit
//! alone, rather than fail the run.
//!
//! The limit is the accept as one statement (the bet CASHED_OUT with its
//! ledger lines, the wallet credited, its legs' exposure relieved), and
//! before it the quote's own write: what is measured is a quote and an
//! accept, each of which the service must make durable (an accept names
//! a quote that must outlive the request that made it), so an accept
//! alone would set two commits against one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use bet_maker::domain::{BetStatus, Price, settlement};
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool, Row as _};
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::load::{LoadResult, closed_loop};
use super::super::{Row, Settings};
use super::settled::exposure_counts_pending_bets;
use super::throughput::{median_run, throughput_row};
use super::wallets::{StakedBets, bench_funds, books_balance, fund_bettors, insert_staked_bets};
use super::{COEFFICIENT, Platform, pool, seed_open_events};

/// Who cashes out: `bench-cashout-bettor-0`, `-1`, ...
const BETTOR_PREFIX: &str = "bench-cashout-bettor-";

/// How many bettors, each with a token of their own and a funded wallet.
const BETTORS: i64 = 1_000;

/// The stake of every bet cashed out.
const STAKE: &str = "10.00";

/// Legs of every bet cashed out.
const LEGS: i16 = 2;

/// bet-maker's `BET_MAKER_CASH_OUT_MARGIN` (its default: the bench sets
/// none).
const MARGIN: &str = "0.05";

/// bet-maker's `BET_MAKER_CASH_OUT_QUOTE_SECS` (its default).
const QUOTE_SECS: i64 = 10;

/// Connections.
const CONCURRENCY: usize = 32;

/// What the row is called.
const WORKLOAD: &str = "cash-out: quote + accept of a pending accumulator of 2 legs each, \
                        1,000 events, 1,000 funded bettors (c=32)";

/// The pending bets left to cash out, handed out one each, once.
#[derive(Debug)]
struct Pending {
    /// Each bet and its bettor's token.
    bets: Vec<(Uuid, Arc<str>)>,
    next: AtomicUsize,
}

impl Pending {
    fn take(&self) -> Option<&(Uuid, Arc<str>)> {
        self.bets.get(self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// Quotes and accepts per second through the API (32 connections, each
/// quote then accept of a bet not cashed out before), beside the same
/// work in SQL: a quote recorded from the bet's open legs as their events
/// stand, and the accept as one statement.
pub async fn cash_outs(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let pool = pool(&platform.bet_maker_db).await?;
    fund_bettors(&pool, BETTOR_PREFIX, BETTORS, bench_funds()).await?;
    let events = seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?;
    let endpoints = endpoints_answer(platform, &events).await?;
    // Enough for both runs at several thousand a second; the limit alone
    // when the service is skipped.
    let bets = settings.scale(100_000, 3_000);
    let terms = StakedBets {
        event: None,
        others: &events,
        legs: LEGS,
        bets,
        prefix: BETTOR_PREFIX,
        bettors: BETTORS,
        stake: STAKE.parse()?,
        coefficient: COEFFICIENT.parse()?,
    };
    insert_staked_bets(&pool, terms).await?;
    exposure_counts_pending_bets(&pool, &events).await?;
    let binds = Arc::new(CashOutBinds::new(terms)?);
    let pending = Arc::new(pending_bets(&pool).await?);

    let service = if endpoints {
        let pending = pending.clone();
        Some(
            median_run(settings.runs, || {
                let (client, base) = (platform.client.clone(), platform.bet_maker.base_url.clone());
                let pending = pending.clone();
                async move {
                    Ok(
                        closed_loop(CONCURRENCY, settings.warmup, settings.duration, move || {
                            let (client, base, pending) =
                                (client.clone(), base.clone(), pending.clone());
                            async move {
                                match pending.take() {
                                    Some((bet, token)) => {
                                        cash_out(&client, &base, token, *bet).await
                                    }
                                    None => exhausted().await,
                                }
                            }
                        })
                        .await,
                    )
                }
            })
            .await?,
        )
    } else {
        None
    };
    let limit = median_run(settings.runs, || {
        let (pool, pending, binds) = (pool.clone(), pending.clone(), binds.clone());
        async move {
            Ok(
                closed_loop(CONCURRENCY, settings.warmup, settings.duration, move || {
                    let (pool, pending, binds) = (pool.clone(), pending.clone(), binds.clone());
                    async move {
                        match pending.take() {
                            Some((bet, _)) => cash_out_directly(&pool, &binds, *bet)
                                .await
                                .unwrap_or(false),
                            None => exhausted().await,
                        }
                    }
                })
                .await,
            )
        }
    })
    .await?;
    cashed_out_by_the_rule(&pool, &binds).await?;
    exposure_counts_pending_bets(&pool, &events).await?;
    books_balance(&pool).await?;
    pool.close().await;
    Ok(match service {
        Some(service) => throughput_row(WORKLOAD, &service, &limit, 500, None),
        None => skipped_row(&limit),
    })
}

/// Whether the running bet-maker serves cash-out: a bet placed through
/// the API by its bettor, quoted and accepted. No (a 404 to the quote):
/// the row is skipped. Anything else than the contract fails the run.
async fn endpoints_answer(platform: &Platform, events: &[Uuid]) -> anyhow::Result<bool> {
    let token = crate::bet_maker_support::token_for(&format!("{BETTOR_PREFIX}0"));
    let base = &platform.bet_maker.base_url;
    let legs: Vec<Value> = events
        .iter()
        .take(usize::try_from(LEGS)?)
        .map(|event| json!({ "event_id": event }))
        .collect();
    let placed = platform
        .client
        .post(format!("{base}/bets"))
        .bearer_auth(&token)
        .json(&json!({ "legs": legs, "amount": STAKE }))
        .send()
        .await
        .context("placing the bet to cash out")?;
    anyhow::ensure!(
        placed.status().as_u16() == 201,
        "POST /bets for cash-out: {}",
        placed.status()
    );
    let bet: Value = placed.json().await?;
    let bet: Uuid = bet["id"].as_str().unwrap_or_default().parse()?;
    let quote = platform
        .client
        .post(format!("{base}/bets/{bet}/cash-out/quote"))
        .bearer_auth(&token)
        .send()
        .await
        .context("asking for a cash-out quote")?;
    if quote.status().as_u16() == 404 {
        return Ok(false);
    }
    anyhow::ensure!(
        cash_out(&platform.client, base, &token, bet).await,
        "a cash-out of bet {bet} through the API did not give a CASHED_OUT bet \
         (the quote answered {} first)",
        quote.status()
    );
    Ok(true)
}

/// The row when bet-maker has no cash-out yet: the limit, and why the
/// service has no figure.
fn skipped_row(limit: &LoadResult) -> Row {
    let empty = LoadResult::default();
    let mut row = throughput_row(WORKLOAD, &empty, limit, 500, None);
    row.service = "skipped: the cash-out endpoints answer 404".to_owned();
    row.ratio = None;
    row.met = false;
    row.skipped = true;
    row.json["skipped"] = json!("the cash-out endpoints answer 404");
    row.json["service"] = Value::Null;
    row.json["ratio_per_mille"] = Value::Null;
    row
}

/// A worker with no bet left to cash out: an error, and a pause so that
/// it does not spin (each run is given more bets than it can cash out).
async fn exhausted() -> bool {
    tokio::time::sleep(Duration::from_millis(1)).await;
    false
}

/// Quote then accept `bet` as its bettor (`token`): whether it ended
/// CASHED_OUT.
async fn cash_out(client: &reqwest::Client, base: &str, token: &str, bet: Uuid) -> bool {
    let quoted = client
        .post(format!("{base}/bets/{bet}/cash-out/quote"))
        .bearer_auth(token)
        .send()
        .await;
    let quote: Value = match quoted {
        Ok(response) if response.status().as_u16() == 200 => match response.json().await {
            Ok(quote) => quote,
            Err(_) => return false,
        },
        _ => return false,
    };
    let Some(quote_id) = quote["quote_id"].as_str() else {
        return false;
    };
    let accepted = client
        .post(format!("{base}/bets/{bet}/cash-out"))
        .bearer_auth(token)
        .json(&json!({ "quote_id": quote_id }))
        .send()
        .await;
    match accepted {
        Ok(response) if response.status().as_u16() == 200 => response
            .json::<Value>()
            .await
            .is_ok_and(|bet| bet["status"] == "CASHED_OUT"),
        _ => false,
    }
}

/// The workload's pending bets, each with its bettor's token.
async fn pending_bets(pool: &PgPool) -> anyhow::Result<Pending> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, bettor_id FROM bets
         WHERE bettor_id LIKE $1 || '%' AND status = 'PENDING' AND leg_count = $2",
    )
    .bind(BETTOR_PREFIX)
    .bind(LEGS)
    .fetch_all(pool)
    .await
    .context("reading the bets to cash out")?;
    let tokens: std::collections::HashMap<String, Arc<str>> = rows
        .iter()
        .map(|(_, bettor)| bettor.clone())
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .map(|bettor| {
            let token: Arc<str> = crate::bet_maker_support::token_for(&bettor).into();
            (bettor, token)
        })
        .collect();
    let bets = rows
        .into_iter()
        .filter_map(|(bet, bettor)| Some((bet, tokens.get(&bettor)?.clone())))
        .collect();
    Ok(Pending {
        bets,
        next: AtomicUsize::new(0),
    })
}

/// What a cash-out of one of the workload's bets pays and posts, by the
/// domain's rules, worked out once: every bet has the same stake and legs,
/// and no event moves during the workload.
#[derive(Debug)]
struct CashOutBinds {
    /// The quote: `floor(stake × Π locked / Π current × (1 − margin))`.
    quote: Decimal,
    /// `domain::settlement` of a bet CASHED_OUT at the quote.
    accounts: Vec<&'static str>,
    amounts: Vec<Decimal>,
}

impl CashOutBinds {
    fn new(terms: StakedBets<'_>) -> anyhow::Result<Self> {
        let amount = terms.amount()?;
        let legs = usize::try_from(terms.legs)?;
        let locked = Price::of(std::iter::repeat_n(terms.coefficient, legs));
        let current = locked.clone();
        let quote = locked.floor_ratio(amount.value(), &current, MARGIN.parse()?);
        let posting =
            settlement(amount, BetStatus::CashedOut, quote).context("a cash-out posts nothing")?;
        Ok(Self {
            quote,
            accounts: posting
                .entries()
                .iter()
                .map(|e| e.account.as_str())
                .collect(),
            amounts: posting.entries().iter().map(|e| e.amount).collect(),
        })
    }
}

/// A quote of bet `$2` for `$3`, valid `$4` seconds, recorded as quote
/// `$1` with its open legs as their events stand (what an accept compares
/// them with), if the bet is pending.
const QUOTE: &str = "
    INSERT INTO cash_out_quotes (id, bet_id, amount, legs, quoted_at, expires_at)
    SELECT $1, bets.id, $3,
           jsonb_agg(jsonb_build_object('event_id', events.id, 'coefficient', events.coefficient,
                                        'status', events.status) ORDER BY bet_legs.leg),
           now(), now() + $4::bigint * interval '1 second'
    FROM bets JOIN bet_legs ON bet_legs.bet_id = bets.id AND bet_legs.status = 'PENDING'
         JOIN events ON events.id = bet_legs.event_id
    WHERE bets.id = $2 AND bets.status = 'PENDING'
    GROUP BY bets.id";

/// Accepts quote `$1` of bet `$2`, in one statement: the open legs'
/// events held (`FOR SHARE`, in the order of their ids, as placement holds
/// them) and compared with the quote's, which must be unexpired and not
/// accepted; the bet CASHED_OUT at the quote if still pending; the quote
/// accepted; the exposure of its open legs' events locked (in their ids'
/// order) and relieved of it; the wallet credited; ledger transaction `$3`
/// with the entries `$4`–`$6` (`domain::settlement`, the wallet line
/// `CASH_OUT` with the balance after it).
const ACCEPT: &str = "
    WITH held AS MATERIALIZED (
        SELECT bet_legs.leg, events.id, events.coefficient, events.status
        FROM bet_legs JOIN events ON events.id = bet_legs.event_id
        WHERE bet_legs.bet_id = $2 AND bet_legs.status = 'PENDING'
        ORDER BY events.id
        FOR SHARE OF events
    ),
    valid AS MATERIALIZED (
        SELECT q.id, q.amount FROM cash_out_quotes q
        WHERE q.id = $1 AND q.bet_id = $2 AND q.accepted_at IS NULL AND q.expires_at > now()
          AND q.legs = (SELECT jsonb_agg(jsonb_build_object('event_id', id,
                                             'coefficient', coefficient, 'status', status)
                                         ORDER BY leg) FROM held)
        FOR UPDATE OF q
    ),
    cashed AS (
        UPDATE bets SET status = 'CASHED_OUT', payout = valid.amount,
                        settled_at = clock_timestamp()
        FROM valid
        WHERE bets.id = $2 AND bets.status = 'PENDING'
        RETURNING bets.id, bets.bettor_id, bets.amount, bets.payout, bets.potential_payout
    ),
    accepted AS (
        UPDATE cash_out_quotes SET accepted_at = now() FROM cashed WHERE cash_out_quotes.id = $1
    ),
    exposure AS MATERIALIZED (
        SELECT x.event_id FROM event_exposure x
        WHERE x.event_id IN (SELECT id FROM held) AND EXISTS (SELECT 1 FROM cashed)
        ORDER BY x.event_id
        FOR UPDATE OF x
    ),
    relieved AS (
        UPDATE event_exposure x SET pending_bets = x.pending_bets - 1,
                                    stakes = x.stakes - cashed.amount,
                                    potential_payout = x.potential_payout - cashed.potential_payout
        FROM cashed, exposure
        WHERE x.event_id = exposure.event_id
    ),
    credited AS (
        UPDATE wallets SET balance = wallets.balance + cashed.payout
        FROM cashed WHERE wallets.bettor_id = cashed.bettor_id
        RETURNING wallets.bettor_id, wallets.balance
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind) SELECT $3, 'CASH_OUT' FROM cashed
        RETURNING id, created_at
    ),
    entries AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id, created_at)
        SELECT gen_random_uuid(), txn.id, e.account, e.amount,
               CASE WHEN e.account = 'WALLET' THEN credited.bettor_id END,
               CASE WHEN e.account = 'WALLET' THEN 'CASH_OUT' END,
               CASE WHEN e.account = 'WALLET' THEN credited.balance END,
               $2, txn.created_at
        FROM txn, credited, UNNEST($4::text[], $5::numeric[]) AS e(account, amount)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM cashed) AS cashed, (SELECT count(*) FROM entries) AS entries";

/// One cash-out of `bet` done directly: [`QUOTE`], then [`ACCEPT`], each
/// its own statement (as a quote and an accept are two requests). The
/// quote's amount is the domain's, worked out once ([`CashOutBinds`]),
/// where the service works it out per quote from the legs it read: the
/// limit is the database's share of the work. Whether the bet ended
/// CASHED_OUT with its ledger lines.
async fn cash_out_directly(
    pool: &PgPool,
    binds: &CashOutBinds,
    bet: Uuid,
) -> Result<bool, sqlx::Error> {
    let quote = Uuid::now_v7();
    let quoted = sqlx::query(QUOTE)
        .bind(quote)
        .bind(bet)
        .bind(binds.quote)
        .bind(QUOTE_SECS)
        .execute(pool)
        .await?
        .rows_affected();
    if quoted != 1 {
        return Ok(false);
    }
    let row = sqlx::query(ACCEPT)
        .bind(quote)
        .bind(bet)
        .bind(Uuid::now_v7())
        .bind(&binds.accounts)
        .bind(&binds.amounts)
        .fetch_one(pool)
        .await?;
    let cashed: i64 = row.try_get("cashed")?;
    let entries: i64 = row.try_get("entries")?;
    Ok(cashed == 1 && usize::try_from(entries).is_ok_and(|n| n == binds.accounts.len()))
}

/// Every bet of the workload cashed out (through the API or directly) was
/// paid the quote the domain gives, once: as many accepted quotes and
/// CASH_OUT wallet lines as bets CASHED_OUT, each line the quote.
async fn cashed_out_by_the_rule(pool: &PgPool, binds: &CashOutBinds) -> anyhow::Result<()> {
    let row = sqlx::query(
        "SELECT
             (SELECT count(*) FROM bets WHERE bettor_id LIKE $1 || '%'
                 AND status = 'CASHED_OUT') AS cashed,
             (SELECT count(*) FROM bets WHERE bettor_id LIKE $1 || '%'
                 AND status = 'CASHED_OUT' AND payout = $2) AS at_the_quote,
             (SELECT count(*) FROM cash_out_quotes q JOIN bets ON bets.id = q.bet_id
              WHERE bets.bettor_id LIKE $1 || '%' AND q.accepted_at IS NOT NULL) AS accepted,
             (SELECT count(*) FROM ledger_entries WHERE bettor_id LIKE $1 || '%'
                 AND account = 'WALLET' AND line = 'CASH_OUT' AND amount = $2) AS lines",
    )
    .bind(BETTOR_PREFIX)
    .bind(binds.quote)
    .fetch_one(pool)
    .await
    .context("counting the cash-outs")?;
    let cashed: i64 = row.try_get("cashed")?;
    let at_the_quote: i64 = row.try_get("at_the_quote")?;
    let accepted: i64 = row.try_get("accepted")?;
    let lines: i64 = row.try_get("lines")?;
    anyhow::ensure!(
        cashed > 0 && at_the_quote == cashed && accepted == cashed && lines == cashed,
        "{cashed} bets CASHED_OUT, {at_the_quote} of them at the quote {}, {accepted} quotes \
         accepted, {lines} CASH_OUT lines of the quote",
        binds.quote
    );
    Ok(())
}
