//! Measures the outbox relay on this machine's PostgreSQL and RabbitMQ:
//!
//! - latency: 1,000 changes made one after another through the HTTP API;
//!   the time from the change's insert (inside its transaction) to the
//!   broker's ack, as recorded in the outbox (`published_at - created_at`);
//! - throughput: 100,000 messages queued in the outbox while the relay is
//!   down, then the time the relay takes to publish them all.
//!
//! `cargo run --release -p line-provider --example relay_bench`
//! (`make bench` will grow out of this; it is a measurement, not a test).

use std::time::{Duration, Instant};

use anyhow::Context;
use lapin::options::QueuePurgeOptions;
use line_provider::app;
use line_provider::config::Config;
use line_provider::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use shared_kernel::telemetry::LogFormat;
use shared_kernel::testing::{TestBroker, TestDatabase, amqp_url};

const CHANGES: usize = 1_000;
const QUEUED: i64 = 100_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = TestDatabase::create::<Migrator>("line_provider_bench", schema_fingerprint()).await?;
    let mut broker = TestBroker::new("relay-bench").await?;
    let (channel, queue) = broker.bind_queue("sink", "event.#").await?;
    let config = Config {
        database_url: db.url.clone(),
        database_pool_size: 10,
        host: [127, 0, 0, 1].into(),
        port: 0,
        admin_token: "bench".to_owned(),
        operator_auth_max_failures: 10,
        operator_auth_window: Duration::from_secs(60),
        operator_auth_max_clients: 10_000,
        amqp_url: amqp_url(),
        exchange: broker.exchange.clone(),
        outbox_batch_size: 500,
        outbox_sweep_interval: Duration::from_secs(1),
        http: shared_kernel::http::HttpSettings::default(),
        log_format: LogFormat::Pretty,
    };

    let app = app::start(config.clone()).await?;
    let base = format!("http://{}", app.address());
    let client = reqwest::Client::new();
    let deadline = chrono::Utc::now() + chrono::Duration::days(1);
    for _ in 0..CHANGES {
        let response = client
            .post(format!("{base}/events"))
            .bearer_auth("bench")
            .json(&json!({ "coefficient": "1.50", "deadline": deadline }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "POST /events: {}",
            response.status()
        );
    }
    wait_until_published(&db.connection).await?;
    let latency = scalar(
        &db.connection,
        "SELECT format('p50 %s ms, p90 %s ms, p99 %s ms', \
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2), \
           round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 2), \
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2)) \
         FROM (SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM outbox) AS lag",
    )
    .await?;
    println!("commit to broker ack, {CHANGES} sequential changes: {latency}");
    app.stop().await?;

    channel
        .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
        .await?;
    db.connection
        .execute_unprepared(&format!(
            "INSERT INTO outbox (message_id, routing_key, payload, occurred_at) \
             SELECT gen_random_uuid(), 'event.created', \
                    jsonb_build_object('schema_version', 1, 'n', n, 'padding', repeat('x', 200)), now() \
             FROM generate_series(1, {QUEUED}) AS n"
        ))
        .await?;
    let started = Instant::now();
    let app = app::start(config).await?;
    wait_until_published(&db.connection).await?;
    let elapsed = started.elapsed();
    let rate = u128::from(QUEUED.unsigned_abs()) * 1000 / elapsed.as_millis().max(1);
    println!("relay throughput: {QUEUED} queued messages in {elapsed:.2?} = {rate} messages/s");
    app.stop().await?;
    channel
        .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
        .await?;
    Ok(())
}

async fn wait_until_published(db: &DatabaseConnection) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while scalar(
        db,
        "SELECT count(*)::text FROM outbox WHERE published_at IS NULL",
    )
    .await?
        != "0"
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the relay did not publish everything in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(row.try_get_by_index::<String>(0)?)
}
