//! The workloads of `make bench`, each beside its limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::{self, PgPool, Row as _};
use serde_json::json;
use shared_kernel::amqp::{ConfirmedPublisher, OutgoingMessage};
use shared_kernel::testing::{TestBroker, TestDatabase, amqp_url, count};
use uuid::Uuid;

use super::load::{LoadResult, closed_loop, median, percentile};
use super::{Row, Settings, ms, ratio};
use crate::process::{ServiceProcess, binary, free_port};

/// The services' database pool size (their default), used for the limits too.
const POOL: u32 = 10;

/// Both services running as processes, and what they run on.
#[derive(Debug)]
pub struct Platform {
    /// line-provider's database.
    pub line_provider_db: TestDatabase,
    /// bet-maker's database.
    pub bet_maker_db: TestDatabase,
    /// The exchange and queues.
    pub broker: TestBroker,
    /// line-provider.
    pub line_provider: ServiceProcess,
    /// bet-maker.
    pub bet_maker: ServiceProcess,
    /// Keep-alive HTTP client.
    pub client: reqwest::Client,
}

impl Platform {
    /// Fresh databases and broker names; both services started and ready.
    pub async fn start() -> anyhow::Result<Self> {
        let line_provider_db = TestDatabase::create::<
            line_provider::infrastructure::persistence::migrations::Migrator,
        >(
            "bench_line_provider",
            line_provider::infrastructure::persistence::migrations::schema_fingerprint(),
        )
        .await?;
        let bet_maker_db =
            TestDatabase::create::<bet_maker::infrastructure::persistence::migrations::Migrator>(
                "bench_bet_maker",
                bet_maker::infrastructure::persistence::migrations::schema_fingerprint(),
            )
            .await?;
        let mut broker = TestBroker::new("bench").await?;
        let queue = broker.own_queue(&broker.queue_name("bet-maker"));
        broker.own_queue(&format!("{queue}.dlq"));
        let line_provider = start_line_provider(&line_provider_db, &broker.exchange).await;
        let port = free_port();
        let bet_maker = ServiceProcess::start(
            "bench-bet-maker",
            &binary("bet-maker"),
            port,
            &[
                env("BET_MAKER_PORT", &port.to_string()),
                env("BET_MAKER_DATABASE_URL", &bet_maker_db.url),
                env("AMQP_URL", &amqp_url()),
                env("LINE_EVENTS_EXCHANGE", &broker.exchange),
                env("BET_MAKER_QUEUE", &queue),
                env("LINE_PROVIDER_URL", &line_provider.base_url),
                env("RUST_LOG", "warn"),
            ],
        )
        .await;
        Ok(Self {
            line_provider_db,
            bet_maker_db,
            broker,
            line_provider,
            bet_maker,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?,
        })
    }
}

async fn start_line_provider(db: &TestDatabase, exchange: &str) -> ServiceProcess {
    let port = free_port();
    ServiceProcess::start(
        "bench-line-provider",
        &binary("line-provider"),
        port,
        &[
            env("LINE_PROVIDER_PORT", &port.to_string()),
            env("LINE_PROVIDER_DATABASE_URL", &db.url),
            env("LINE_PROVIDER_ADMIN_TOKEN", TOKEN),
            env("AMQP_URL", &amqp_url()),
            env("LINE_EVENTS_EXCHANGE", exchange),
            env("RUST_LOG", "warn"),
        ],
    )
    .await
}

const TOKEN: &str = "bench-operator-token";

fn env(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

async fn pool(db: &TestDatabase) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(POOL)
        .connect(&db.url)
        .await?)
}

/// Open events written straight into bet-maker's copy of the line.
async fn seed_open_events(db: &TestDatabase, how_many: i64) -> anyhow::Result<Vec<Uuid>> {
    let pool = pool(db).await?;
    let ids = sqlx::query_scalar(
        "INSERT INTO events (id, coefficient, deadline, status, version)
         SELECT gen_random_uuid(), 1.85, now() + interval '1 day', 'NEW', 1 FROM generate_series(1, $1)
         RETURNING id",
    )
    .bind(how_many)
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    Ok(ids)
}

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

/// `POST /bets` at `concurrency` connections on 1,000 open events, beside
/// the same transaction issued directly.
pub async fn place_bets(
    platform: &Platform,
    settings: &Settings,
    concurrency: usize,
) -> anyhow::Result<Row> {
    let events =
        Arc::new(seed_open_events(&platform.bet_maker_db, settings.scale(1_000, 50)).await?);
    let service = median_run(settings.runs, || {
        let client = platform.client.clone();
        let url = format!("{}/bets", platform.bet_maker.base_url);
        let events = events.clone();
        async move {
            Ok(
                closed_loop(concurrency, settings.warmup, settings.duration, move || {
                    let (client, url) = (client.clone(), url.clone());
                    let event = events[rand::random_range(0..events.len())];
                    async move {
                        let body = json!({ "event_id": event, "amount": "10.00" });
                        client
                            .post(&url)
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
        let (pool, events) = (pool.clone(), events.clone());
        async move {
            Ok(
                closed_loop(concurrency, settings.warmup, settings.duration, move || {
                    let pool = pool.clone();
                    let event = events[rand::random_range(0..events.len())];
                    async move { place_bet_directly(&pool, event).await.is_ok() }
                })
                .await,
            )
        }
    })
    .await?;
    let p99_bound = (concurrency == 32).then_some(Duration::from_millis(50));
    Ok(throughput_row(
        &format!("POST /bets, 1,000 events (c={concurrency})"),
        &service,
        &limit,
        500,
        p99_bound,
    ))
}

/// What bet-maker's database does for one bet: lock the event, insert.
async fn place_bet_directly(pool: &PgPool, event: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row =
        sqlx::query("SELECT coefficient, status, deadline FROM events WHERE id = $1 FOR SHARE")
            .bind(event)
            .fetch_one(&mut *tx)
            .await?;
    let coefficient: rust_decimal::Decimal = row.try_get("coefficient")?;
    sqlx::query(
        "INSERT INTO bets (id, event_id, amount, coefficient, status, placed_at)
         VALUES ($1, $2, 10.00, $3, 'PENDING', now())",
    )
    .bind(Uuid::now_v7())
    .bind(event)
    .bind(coefficient)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One event with 100,000 pending bets: from `PUT /events/{id}/status` to
/// the last bet WON, beside the same UPDATE issued directly.
pub async fn settle_large_event(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let bets = settings.scale(100_000, 1_000);
    let event = create_event(platform).await?;
    wait_until(
        &platform.bet_maker_db,
        &format!("SELECT count(*) FROM events WHERE id = '{event}'"),
        1,
    )
    .await?;
    let pending =
        format!("SELECT count(*) FROM bets WHERE event_id = '{event}' AND status = 'PENDING'");
    insert_pending_bets(&platform.bet_maker_db, event, bets).await?;

    let started = Instant::now();
    let response = platform
        .client
        .put(format!(
            "{}/events/{event}/status",
            platform.line_provider.base_url
        ))
        .bearer_auth(TOKEN)
        .json(&json!({ "status": "FINISHED_WIN" }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "PUT status: {}",
        response.status()
    );
    wait_until(&platform.bet_maker_db, &pending, 0).await?;
    let service = started.elapsed();

    let direct_event = seed_open_events(&platform.bet_maker_db, 1).await?[0];
    insert_pending_bets(&platform.bet_maker_db, direct_event, bets).await?;
    let pool = pool(&platform.bet_maker_db).await?;
    let started = Instant::now();
    sqlx::query(
        "UPDATE bets SET status = 'WON', payout = round(amount * coefficient, 2), settled_at = clock_timestamp()
         WHERE event_id = $1 AND status = 'PENDING'",
    )
    .bind(direct_event)
    .execute(&pool)
    .await?;
    let limit = started.elapsed();
    pool.close().await;

    let times = service.as_micros() * 100 / limit.as_micros().max(1);
    let met = times <= 150;
    Ok(Row {
        workload: format!("settle one event of {bets} bets"),
        service: format!(
            "{}, {} bets/s",
            ms(service),
            u128::from(bets.unsigned_abs()) * 1000 / service.as_millis().max(1)
        ),
        limit: format!("{} (one UPDATE)", ms(limit)),
        ratio: Some(format!("{}.{:02}x", times / 100, times % 100)),
        target: "<= 1.5x limit".to_owned(),
        met,
        json: json!({
            "workload": "settle_large_event", "bets": bets,
            "service_us": service.as_micros() as u64, "limit_us": limit.as_micros() as u64,
            "times_limit_per_hundred": times as u64, "met": met,
        }),
    })
}

async fn insert_pending_bets(db: &TestDatabase, event: Uuid, bets: i64) -> anyhow::Result<()> {
    db.connection
        .execute_unprepared(&format!(
            "INSERT INTO bets (id, event_id, amount, coefficient, status, placed_at)
             SELECT gen_random_uuid(), '{event}', 10.00, 1.85, 'PENDING', now() FROM generate_series(1, {bets})"
        ))
        .await?;
    Ok(())
}

async fn create_event(platform: &Platform) -> anyhow::Result<Uuid> {
    let deadline = chrono::Utc::now() + chrono::Duration::days(1);
    let response = platform
        .client
        .post(format!("{}/events", platform.line_provider.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({ "coefficient": "1.85", "deadline": deadline }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "POST /events: {}",
        response.status()
    );
    let event: serde_json::Value = response.json().await?;
    Ok(event["id"].as_str().unwrap_or_default().parse()?)
}

/// Polls (every millisecond) until `sql` counts `expected`.
async fn wait_until(db: &TestDatabase, sql: &str, expected: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    while count(&db.connection, sql).await != expected {
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out waiting for: {sql} = {expected}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// 1,000 changes made one after another: the time from line-provider
/// deciding a change (its `updated_at`, just before commit) to bet-maker's
/// copy holding it (its `updated_at`, set by the consumer's statement).
pub async fn change_propagation(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let changes = settings.scale(1_000, 20);
    let event = create_event(platform).await?;
    let line_provider = pool(&platform.line_provider_db).await?;
    let bet_maker = pool(&platform.bet_maker_db).await?;
    let mut lags = Vec::new();
    for change in 0..changes {
        let coefficient = if change % 2 == 0 { "1.90" } else { "1.85" };
        let response = platform
            .client
            .patch(format!(
                "{}/events/{event}",
                platform.line_provider.base_url
            ))
            .bearer_auth(TOKEN)
            .json(&json!({ "coefficient": coefficient }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "PATCH: {}",
            response.status()
        );
        let version = change + 2;
        let decided: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT updated_at FROM events WHERE id = $1")
                .bind(event)
                .fetch_one(&line_provider)
                .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let applied = loop {
            let row: Option<(i64, chrono::DateTime<chrono::Utc>)> =
                sqlx::query_as("SELECT version, updated_at FROM events WHERE id = $1")
                    .bind(event)
                    .fetch_optional(&bet_maker)
                    .await?;
            if let Some((seen, at)) = row
                && seen >= version
            {
                break at;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "bet-maker never saw version {version}"
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        lags.push((applied - decided).to_std().unwrap_or_default());
    }
    lags.sort_unstable();
    let (p50, p99) = (percentile(&lags, 500), percentile(&lags, 990));
    let met = p50 < Duration::from_millis(10) && p99 < Duration::from_millis(50);
    Ok(Row {
        workload: format!("event change to bet-maker's copy, {changes} sequential"),
        service: format!("p50 {}, p99 {}", ms(p50), ms(p99)),
        limit: String::new(),
        ratio: None,
        target: "p50 < 10 ms, p99 < 50 ms".to_owned(),
        met,
        json: json!({
            "workload": "change_propagation", "changes": changes,
            "p50_us": p50.as_micros() as u64, "p99_us": p99.as_micros() as u64, "met": met,
        }),
    })
}

/// 100,000 messages queued in an outbox: how fast the relay publishes them,
/// beside this program publishing as many with confirms in batches of the
/// relay's size. A line-provider of its own, on an exchange of its own.
pub async fn relay_throughput(settings: &Settings) -> anyhow::Result<Row> {
    let messages = settings.scale(100_000, 2_000);
    let db =
        TestDatabase::create::<line_provider::infrastructure::persistence::migrations::Migrator>(
            "bench_relay",
            line_provider::infrastructure::persistence::migrations::schema_fingerprint(),
        )
        .await?;
    let mut broker = TestBroker::new("bench-relay").await?;
    let (channel, sink) = broker.bind_queue("sink", "#").await?;
    let relay = start_line_provider(&db, &broker.exchange).await;
    let payload = format!(
        r#"{{"schema_version":1,"type":"event.created","data":{{"padding":"{}"}}}}"#,
        "x".repeat(200)
    );

    // The clock starts when the rows are queued: the relay cannot see them
    // before this statement commits.
    db.connection
        .execute_unprepared(&format!(
            "INSERT INTO outbox (message_id, routing_key, payload, occurred_at)
             SELECT gen_random_uuid(), 'event.created', '{payload}'::jsonb, now() FROM generate_series(1, {messages})"
        ))
        .await?;
    let started = Instant::now();
    wait_until(
        &db,
        "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        0,
    )
    .await?;
    let service = started.elapsed();
    drop(relay);
    channel
        .queue_purge(
            sink.as_str().into(),
            lapin::options::QueuePurgeOptions::default(),
        )
        .await?;

    let publisher = ConfirmedPublisher::open(&broker.connection, &broker.exchange).await?;
    let ids: Vec<Uuid> = (0..messages).map(|_| Uuid::new_v4()).collect();
    let now = chrono::Utc::now();
    let started = Instant::now();
    for batch in ids.chunks(500) {
        let outgoing: Vec<OutgoingMessage<'_>> = batch
            .iter()
            .map(|id| OutgoingMessage {
                message_id: *id,
                routing_key: "event.created",
                body: payload.as_bytes(),
                occurred_at: now,
                traceparent: None,
            })
            .collect();
        publisher.publish_batch(&outgoing).await?;
    }
    let limit = started.elapsed();
    channel
        .queue_purge(
            sink.as_str().into(),
            lapin::options::QueuePurgeOptions::default(),
        )
        .await?;

    let per_second =
        |elapsed: Duration| u128::from(messages.unsigned_abs()) * 1000 / elapsed.as_millis().max(1);
    let (service_rate, limit_rate) = (per_second(service), per_second(limit));
    let share = service_rate * 1000 / limit_rate.max(1);
    let met = share >= 700;
    Ok(Row {
        workload: format!("outbox relay, {messages} queued"),
        service: format!("{service_rate} messages/s ({})", ms(service)),
        limit: format!("{limit_rate} messages/s (confirmed batches of 500)"),
        ratio: Some(ratio(service_rate, limit_rate)),
        target: ">= 0.7 of limit".to_owned(),
        met,
        json: json!({
            "workload": "relay_throughput", "messages": messages,
            "service_per_second": service_rate as u64, "limit_per_second": limit_rate as u64,
            "ratio_per_mille": share as u64, "met": met,
        }),
    })
}

/// Resident memory of both services now.
pub fn memory(platform: &Platform) -> Row {
    let line_provider = platform.line_provider.resident_kib().unwrap_or_default();
    let bet_maker = platform.bet_maker.resident_kib().unwrap_or_default();
    let met = line_provider < 50 * 1024 && bet_maker < 50 * 1024;
    Row {
        workload: "resident memory at the end".to_owned(),
        service: format!(
            "line-provider {} MiB, bet-maker {} MiB",
            line_provider / 1024,
            bet_maker / 1024
        ),
        limit: String::new(),
        ratio: None,
        target: "< 50 MiB each".to_owned(),
        met,
        json: json!({ "workload": "memory", "line_provider_kib": line_provider, "bet_maker_kib": bet_maker, "met": met }),
    }
}
