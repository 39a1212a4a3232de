//! Throughput workloads: requests per second beside the same work done
//! directly.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::{self, PgPool, Row as _};
use serde_json::json;
use uuid::Uuid;

use super::super::load::{LoadResult, closed_loop, median};
use super::super::{Row, Settings, ms, ratio};
use super::{Platform, pool, seed_open_events};

fn throughput_row(
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
            "{}/s, p50 {}, p99 {}, {} errors",
            service.rate(),
            ms(service.percentile(500)),
            ms(p99),
            service.errors
        ),
        limit: format!(
            "{}/s, p50 {}, p99 {}",
            limit.rate(),
            ms(limit.percentile(500)),
            ms(limit.percentile(990))
        ),
        ratio: Some(ratio(
            u128::from(service.rate()),
            u128::from(limit.rate().max(1)),
        )),
        target,
        met,
        json: json!({
            "workload": workload,
            "service": { "per_second": service.rate(), "p50_ms": service.percentile(500).as_micros() as u64 / 1000,
                         "p50_us": service.percentile(500).as_micros() as u64, "p99_us": p99.as_micros() as u64,
                         "errors": service.errors, "requests": service.latencies.len() },
            "limit": { "per_second": limit.rate(), "p50_us": limit.percentile(500).as_micros() as u64,
                       "p99_us": limit.percentile(990).as_micros() as u64 },
            "ratio_per_mille": share as u64,
            "met": met,
        }),
    }
}

/// The median run by rate, of `runs` runs.
async fn median_run<F, Fut>(runs: usize, mut run: F) -> anyhow::Result<LoadResult>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<LoadResult>>,
{
    let mut results = Vec::new();
    for _ in 0..runs {
        results.push(run().await?);
    }
    let rate = median(results.iter().map(LoadResult::rate).collect());
    Ok(results
        .into_iter()
        .find(|r| r.rate() == rate)
        .unwrap_or_default())
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
        300,
        None,
    ))
}

/// How many bettors place the benchmark's bets, each with a token of their
/// own.
const BETTORS: usize = 1_000;

/// `POST /bets` at `concurrency` connections on 1,000 open events from
/// 1,000 bettors, beside the same transaction issued directly.
pub async fn place_bets(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let events =
        Arc::new(seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?);
    let bettors: Arc<Vec<(String, String)>> = Arc::new(
        (0..BETTORS)
            .map(|n| {
                let bettor = format!("bench-bettor-{n}");
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
                    let event = events[rand::random_range(0..events.len())];
                    let (_, token) = &bettors[rand::random_range(0..bettors.len())];
                    let token = token.clone();
                    async move {
                        let body = json!({ "event_id": event, "amount": "10.00" });
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
    let pool = Arc::new(pool(&platform.bet_maker_db).await?);
    let limit = median_run(settings.runs, || {
        let (pool, events, bettors) = (pool.clone(), events.clone(), bettors.clone());
        async move {
            Ok(
                closed_loop(concurrency, settings.warmup, settings.duration, move || {
                    let pool = pool.clone();
                    let event = events[rand::random_range(0..events.len())];
                    let (bettor, _) = &bettors[rand::random_range(0..bettors.len())];
                    let bettor = bettor.clone();
                    async move { place_bet_directly(&pool, &bettor, event).await.is_ok() }
                })
                .await,
            )
        }
    })
    .await?;
    let p99_bound = (concurrency == 32).then_some(Duration::from_millis(50));
    Ok(throughput_row(
        &format!("POST /bets, 1,000 events, 1,000 bettors (c={concurrency})"),
        &service,
        &limit,
        500,
        p99_bound,
    ))
}

/// What bet-maker's database does for one bet: lock the event, insert.
async fn place_bet_directly(pool: &PgPool, bettor: &str, event: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row =
        sqlx::query("SELECT coefficient, status, deadline FROM events WHERE id = $1 FOR SHARE")
            .bind(event)
            .fetch_one(&mut *tx)
            .await?;
    let coefficient: rust_decimal::Decimal = row.try_get("coefficient")?;
    sqlx::query(
        "INSERT INTO bets (id, bettor_id, event_id, amount, coefficient, status, placed_at)
         VALUES ($1, $2, $3, 10.00, $4, 'PENDING', now())",
    )
    .bind(Uuid::now_v7())
    .bind(bettor)
    .bind(event)
    .bind(coefficient)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
