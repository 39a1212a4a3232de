//! Throughput workloads: requests per second beside the same work done
//! directly.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx;
use serde_json::json;
use uuid::Uuid;

use super::super::load::{LoadResult, closed_loop, median};
use super::super::{Row, Settings, ms, ratio};
use super::wallets::{bench_funds, books_balance, fund_bettors};
use super::{COEFFICIENT, Platform, pool, seed_open_events};

pub(super) fn throughput_row(
    workload: &str,
    service: &LoadResult,
    limit: &LoadResult,
    target_share: u128,
    p99_under: Option<Duration>,
) -> Row {
    let share = u128::from(service.rate()) * 1000 / u128::from(limit.rate().max(1));
    let p99 = service.percentile(990);
    let met = share >= target_share && p99_under.is_none_or(|bound| p99 < bound);
    let target = match p99_under {
        Some(bound) => format!(
            ">= {}.{} of limit, p99 < {}",
            target_share / 1000,
            target_share % 1000 / 100,
            ms(bound)
        ),
        None => format!(
            ">= {}.{} of limit",
            target_share / 1000,
            target_share % 1000 / 100
        ),
    };
    Row {
        workload: workload.to_owned(),
        service: format!(
            "{}/s, p50 {}, p99 {}, {} errors{}",
            service.rate(),
            ms(service.percentile(500)),
            ms(p99),
            service.errors,
            cpu_words(service)
        ),
        limit: format!(
            "{}/s, p50 {}, p99 {}{}",
            limit.rate(),
            ms(limit.percentile(500)),
            ms(limit.percentile(990)),
            cpu_words(limit)
        ),
        ratio: Some(ratio(
            u128::from(service.rate()),
            u128::from(limit.rate().max(1)),
        )),
        target,
        met,
        skipped: false,
        json: json!({
            "workload": workload,
            "service": { "cpu_us_per_request": service.cpu_per_request().map(|cpu| cpu.as_micros() as u64),
                         "per_second": service.rate(), "p50_ms": service.percentile(500).as_micros() as u64 / 1000,
                         "p50_us": service.percentile(500).as_micros() as u64, "p99_us": p99.as_micros() as u64,
                         "errors": service.errors, "requests": service.latencies.len() },
            "limit": { "cpu_us_per_request": limit.cpu_per_request().map(|cpu| cpu.as_micros() as u64),
                       "per_second": limit.rate(), "p50_us": limit.percentile(500).as_micros() as u64,
                       "p99_us": limit.percentile(990).as_micros() as u64 },
            "ratio_per_mille": share as u64,
            "met": met,
        }),
    }
}

/// ", server CPU 87 µs/request", when the run measured it.
fn cpu_words(result: &LoadResult) -> String {
    result
        .cpu_per_request()
        .map(|cpu| format!(", server CPU {} µs/request", cpu.as_micros()))
        .unwrap_or_default()
}

/// The median run by rate, of `runs` runs.
pub(super) async fn median_run<F, Fut>(runs: usize, mut run: F) -> anyhow::Result<LoadResult>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<LoadResult>>,
{
    let mut results = Vec::new();
    for _ in 0..runs {
        results.push(run().await?);
    }
    Ok(median_result(results))
}

/// The run of median rate.
pub(super) fn median_result(results: Vec<LoadResult>) -> LoadResult {
    let rate = median(results.iter().map(LoadResult::rate).collect());
    results
        .into_iter()
        .find(|r| r.rate() == rate)
        .unwrap_or_default()
}

/// `GET /events` on bet-maker with 5,000 open events, beside a static
/// route of the same server.
pub async fn open_events(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    seed_open_events(&platform.bet_maker_db, settings.scale(5_000, 200)).await?;
    let concurrency = 32;
    let get = |path: &'static str| {
        let client = platform.client.clone();
        let url = format!("{}{path}", platform.bet_maker.base_url);
        move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let service = median_run(settings.runs, || async {
        Ok(closed_loop(
            concurrency,
            settings.warmup,
            settings.duration,
            get("/events"),
        )
        .await)
    })
    .await?;
    let limit = median_run(settings.runs, || async {
        Ok(closed_loop(
            concurrency,
            settings.warmup,
            settings.duration,
            get("/health/live"),
        )
        .await)
    })
    .await?;
    Ok(throughput_row(
        "GET /events, 5,000 open (c=32)",
        &service,
        &limit,
        500,
        None,
    ))
}

/// How many bettors place the benchmark's bets, each with a token of their
/// own and a funded wallet.
const BETTORS: i64 = 1_000;

/// Who they are: `bench-bettor-0`, `-1`, ...
const BETTOR_PREFIX: &str = "bench-bettor-";

/// The stake of every bet.
const STAKE: &str = "10.00";

/// Legs of the accumulators the placement workload places.
pub const ACCUMULATOR_LEGS: usize = 4;

/// `POST /bets` at `concurrency` connections on 1,000 open events from
/// 1,000 funded bettors, beside the placement limit: the minimal schema's
/// one statement per bet (the wallet debited, the bet, its STAKE line) at
/// the same concurrency and pool size. At 32 connections the service must
/// beat it (it groups concurrent bets into one commit); at 128, the
/// machine oversubscribed, keep half of it.
pub async fn place_bets(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let events = seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?;
    let name = format!("POST /bets, 1,000 events, 1,000 funded bettors (c={concurrency})");
    let target = if concurrency == 32 { 1000 } else { 500 };
    place_bets_on(platform, settings, concurrency, events, 1, &name, target).await
}

/// The same setup with accumulators of [`ACCUMULATOR_LEGS`] legs, each on
/// distinct events drawn at random from the 1,000 (every leg's event
/// locked, every leg's exposure locked and moved), held to the singles'
/// limit and target.
pub async fn place_accumulators(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let events = seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?;
    let name = format!(
        "POST /bets, accumulators of {ACCUMULATOR_LEGS} legs, 1,000 events, \
         1,000 funded bettors (c={concurrency})"
    );
    place_bets_on(
        platform,
        settings,
        concurrency,
        events,
        ACCUMULATOR_LEGS,
        &name,
        1000,
    )
    .await
}

/// The same with every bet on one event: each bet locks and moves that
/// event's exposure row (the liability limit), so the bets on it are
/// decided one after the other, held to 0.7 of the minimal statement
/// placing every bet on one event (which has no liability to keep). The
/// event's maximum liability is raised out of the way (the limit is
/// measured, not hit).
pub async fn place_bets_on_one_event(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let events = seed_open_events(&platform.bet_maker_db, 1).await?;
    let pool = pool(&platform.bet_maker_db).await?;
    sqlx::query(
        "UPDATE event_exposure SET max_liability = 1000000000000000.00 WHERE event_id = $1",
    )
    .bind(events[0])
    .execute(&pool)
    .await?;
    pool.close().await;
    let name =
        format!("POST /bets, every bet on one event, 1,000 funded bettors (c={concurrency})");
    place_bets_on(platform, settings, concurrency, events, 1, &name, 700).await
}

/// `legs` distinct events of `events`, at random.
fn pick_legs(events: &[Uuid], legs: usize) -> Vec<Uuid> {
    rand::seq::index::sample(&mut rand::rng(), events.len(), legs.min(events.len()))
        .into_iter()
        .map(|i| events[i])
        .collect()
}

/// The body of `POST /bets` for these legs: a single's own form for one.
fn bet_body(legs: &[Uuid]) -> serde_json::Value {
    match legs {
        [event] => json!({ "event_id": event, "amount": STAKE }),
        _ => json!({
            "legs": legs.iter().map(|leg| json!({ "event_id": leg })).collect::<Vec<_>>(),
            "amount": STAKE,
        }),
    }
}

async fn place_bets_on(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
    events: Vec<Uuid>,
    legs: usize,
    name: &str,
    target: u128,
) -> anyhow::Result<Row> {
    anyhow::ensure!(
        (1..=events.len()).contains(&legs),
        "{legs} legs on {} events",
        events.len()
    );
    let events = Arc::new(events);
    let pool = Arc::new(pool(&platform.bet_maker_db).await?);
    fund_bettors(&pool, BETTOR_PREFIX, BETTORS, bench_funds()).await?;
    let bettors: Arc<Vec<(String, String)>> = Arc::new(
        (0..BETTORS)
            .map(|n| {
                let bettor = format!("{BETTOR_PREFIX}{n}");
                let token = crate::bet_maker_support::token_for(&bettor);
                (bettor, token)
            })
            .collect(),
    );
    let service = median_run(settings.runs, || {
        let client = platform.client.clone();
        let url = format!("{}/bets", platform.bet_maker.base_url);
        let (events, bettors) = (events.clone(), bettors.clone());
        async move {
            Ok(
                closed_loop(concurrency, settings.warmup, settings.duration, move || {
                    let (client, url) = (client.clone(), url.clone());
                    let body = bet_body(&pick_legs(&events, legs));
                    let (_, token) = &bettors[rand::random_range(0..bettors.len())];
                    let token = token.clone();
                    async move {
                        client
                            .post(&url)
                            .bearer_auth(token)
                            .json(&body)
                            .send()
                            .await
                            .is_ok_and(|r| r.status().as_u16() == 201)
                    }
                })
                .await,
            )
        }
    })
    .await?;
    books_balance(&pool).await?;
    pool.close().await;
    // The limit: the minimal statement once per bet, from bettors of the
    // same names, funded alike, on the same events (a single's one).
    platform
        .minimal
        .fund(BETTOR_PREFIX, BETTORS, bench_funds())
        .await?;
    let names = Arc::new(bettors.iter().map(|(bettor, _)| bettor.clone()).collect());
    let limit = platform
        .minimal
        .place(
            settings,
            concurrency,
            names,
            events,
            STAKE.parse()?,
            COEFFICIENT.parse()?,
        )
        .await?;
    let p99_bound = (concurrency == 32).then_some(Duration::from_millis(25));
    Ok(throughput_row(name, &service, &limit, target, p99_bound))
}
