//! Cash-out: quotes taken and accepted per second, each on a pending
//! accumulator of its bettor's, beside the same work done directly on the
//! minimal schema (issue 24).
//!
//! Written against the contract (SPEC "Accumulators and cash-out"):
//! `POST /bets/{id}/cash-out/quote` → 200 `{quote_id, amount, expires_at}`,
//! then `POST /bets/{id}/cash-out` `{quote_id}` → 200, the bet
//! `CASHED_OUT`.
//!
//! The limit is a quote and an accept on the minimal schema: the bet read,
//! then one statement that cashes it out, credits the wallet and writes the
//! ledger line. What the service does beyond that (the quote made durable
//! with the legs it was made from, its legs' events held and compared, the
//! exposure relieved, the double entry with the running balance, the
//! bettor's stream) is what the ratio pays for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use bet_maker::domain::Price;
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool, Row as _};
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::load::closed_loop;
use super::super::{Row, Settings};
use super::minimal::MinimalBets;
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
/// quote then accept of a bet not cashed out before), beside a quote and
/// an accept on the minimal schema (`Minimal::cash_out`).
pub async fn cash_outs(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let pool = pool(&platform.bet_maker_db).await?;
    fund_bettors(&pool, BETTOR_PREFIX, BETTORS, bench_funds()).await?;
    let events = seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?;
    anyhow::ensure!(
        endpoints_answer(platform, &events).await?,
        "bet-maker answers 404 to the cash-out quote of a bet just placed"
    );
    // Enough for both runs at several thousand a second.
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
    let quote = quote(terms)?;
    let pending = Arc::new(pending_bets(&pool).await?);

    let service = median_run(settings.runs, || {
        let (client, base) = (platform.client.clone(), platform.bet_maker.base_url.clone());
        let pending = pending.clone();
        async move {
            Ok(
                closed_loop(CONCURRENCY, settings.warmup, settings.duration, move || {
                    let (client, base, pending) = (client.clone(), base.clone(), pending.clone());
                    async move {
                        match pending.take() {
                            Some((bet, token)) => cash_out(&client, &base, token, *bet).await,
                            None => exhausted().await,
                        }
                    }
                })
                .await,
            )
        }
    })
    .await?;
    let limit = platform
        .minimal
        .cash_out(
            settings,
            CONCURRENCY,
            MinimalBets {
                bets,
                bettors: BETTORS,
                stake: STAKE.parse()?,
                coefficient: COEFFICIENT.parse()?,
            },
            quote,
        )
        .await?;
    cashed_out_by_the_rule(&pool, quote).await?;
    exposure_counts_pending_bets(&pool, &events).await?;
    books_balance(&pool).await?;
    pool.close().await;
    Ok(throughput_row(WORKLOAD, &service, &limit, 500, None))
}

/// Whether the running bet-maker serves cash-out: a bet placed through
/// the API by its bettor, quoted and accepted. No (a 404 to the quote)
/// stops the workload, saying so; anything else than the contract fails
/// the run.
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

/// What a cash-out of one of the workload's bets pays, by the domain's
/// rule, worked out once (every bet has the same stake and legs, and no
/// event moves during the workload): `floor(stake × Π locked / Π current ×
/// (1 − margin))`.
fn quote(terms: StakedBets<'_>) -> anyhow::Result<Decimal> {
    let legs = usize::try_from(terms.legs)?;
    let locked = Price::of(std::iter::repeat_n(terms.coefficient, legs));
    Ok(locked.floor_ratio(terms.amount()?.value(), &locked, MARGIN.parse()?))
}

/// Every bet of the workload cashed out (through the API or directly) was
/// paid the quote the domain gives, once: as many accepted quotes and
/// CASH_OUT wallet lines as bets CASHED_OUT, each line the quote.
async fn cashed_out_by_the_rule(pool: &PgPool, quote: Decimal) -> anyhow::Result<()> {
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
    .bind(quote)
    .fetch_one(pool)
    .await
    .context("counting the cash-outs")?;
    let cashed: i64 = row.try_get("cashed")?;
    let at_the_quote: i64 = row.try_get("at_the_quote")?;
    let accepted: i64 = row.try_get("accepted")?;
    let lines: i64 = row.try_get("lines")?;
    anyhow::ensure!(
        cashed > 0 && at_the_quote == cashed && accepted == cashed && lines == cashed,
        "{cashed} bets CASHED_OUT, {at_the_quote} of them at the quote {quote}, {accepted} quotes \
         accepted, {lines} CASH_OUT lines of the quote"
    );
    Ok(())
}
