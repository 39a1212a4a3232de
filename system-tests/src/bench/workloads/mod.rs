//! The workloads of `make bench`, each beside its limit, and the platform
//! they run on.

mod cashout;
mod line_reads;
mod messaging;
mod minimal;
mod settled;
mod settlement;
mod streams;
mod throughput;
mod wallets;

pub use cashout::cash_outs;
pub use line_reads::grpc_beside_rest;
pub use messaging::{change_propagation, relay_throughput};
pub use settlement::{settle_accumulator_leg, settle_cancelled_event, settle_large_event};
pub use streams::live_streams;
pub use throughput::{
    ACCUMULATOR_LEGS, open_events, place_accumulators, place_bets, place_bets_on_one_event,
};

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::{self, PgPool};
use serde_json::json;
use shared_kernel::testing::{TestBroker, TestDatabase, amqp_url, count};
use uuid::Uuid;

use super::Row;
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
    /// line-provider's gRPC API, `http://127.0.0.1:<port>`.
    pub line_provider_grpc_url: String,
    /// bet-maker.
    pub bet_maker: ServiceProcess,
    /// Keep-alive HTTP client.
    pub client: reqwest::Client,
    /// The minimal schema the bets' limits run on.
    pub minimal: minimal::Minimal,
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
        let (queue, _) = broker.own_consumer_queues("bet-maker");
        let grpc_port = free_port();
        let line_provider =
            start_line_provider(&line_provider_db, &broker.exchange, grpc_port).await;
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
                // The bench is one client with thousands of connections
                // and streams: the per-client cap would refuse most.
                env("HTTP_MAX_CONNECTIONS_PER_CLIENT", "1000000"),
                env("RUST_LOG", "warn"),
            ],
        )
        .await;
        Ok(Self {
            line_provider_db,
            bet_maker_db,
            broker,
            line_provider,
            line_provider_grpc_url: format!("http://127.0.0.1:{grpc_port}"),
            bet_maker,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?,
            minimal: minimal::Minimal::create().await?,
        })
    }
}

/// line-provider as a process, its gRPC API on `grpc_port` (0: any).
async fn start_line_provider(db: &TestDatabase, exchange: &str, grpc_port: u16) -> ServiceProcess {
    let port = free_port();
    ServiceProcess::start(
        "bench-line-provider",
        &binary("line-provider"),
        port,
        &[
            env("LINE_PROVIDER_PORT", &port.to_string()),
            env("LINE_PROVIDER_GRPC_PORT", &grpc_port.to_string()),
            env("LINE_PROVIDER_DATABASE_URL", &db.url),
            env("LINE_PROVIDER_ADMIN_TOKEN", TOKEN),
            env("AMQP_URL", &amqp_url()),
            env("LINE_EVENTS_EXCHANGE", exchange),
            env("HTTP_MAX_CONNECTIONS_PER_CLIENT", "1000000"),
            env("RUST_LOG", "warn"),
        ],
    )
    .await
}

const TOKEN: &str = "8cff7c2bcab66f234355c74ce04e8285a76916d692c7dabb1342aff7f6b6f7d7";

/// The coefficient of the events the workloads create.
const COEFFICIENT: &str = "1.85";

fn env(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

async fn pool(db: &TestDatabase) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(POOL)
        .connect(&db.url)
        .await?)
}

/// Open events (at [`COEFFICIENT`], which the workloads never change)
/// written straight into bet-maker's copy of the line: their ids.
async fn seed_open_events(db: &TestDatabase, how_many: i64) -> anyhow::Result<Vec<Uuid>> {
    let pool = pool(db).await?;
    let ids = sqlx::query_scalar(
        "INSERT INTO events (id, coefficient, deadline, status, version)
         SELECT gen_random_uuid(), $2, now() + interval '1 day', 'NEW', 1 FROM generate_series(1, $1)
         RETURNING id",
    )
    .bind(how_many)
    .bind(COEFFICIENT.parse::<Decimal>()?)
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    Ok(ids)
}

async fn create_event(platform: &Platform) -> anyhow::Result<Uuid> {
    let deadline = chrono::Utc::now() + chrono::Duration::days(1);
    let response = platform
        .client
        .post(format!("{}/events", platform.line_provider.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({ "coefficient": COEFFICIENT, "deadline": deadline }))
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

/// `PATCH /events/{event}` with a new coefficient, at line-provider.
async fn change_coefficient(
    platform: &Platform,
    event: Uuid,
    coefficient: &str,
) -> anyhow::Result<()> {
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
    Ok(())
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
        skipped: false,
        json: json!({ "workload": "memory", "line_provider_kib": line_provider, "bet_maker_kib": bet_maker, "met": met }),
    }
}
