//! Messages: how fast a change reaches bet-maker, and how fast the relay
//! publishes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::{self};
use serde_json::json;
use shared_kernel::amqp::{ConfirmedPublisher, OutgoingMessage};
use shared_kernel::signing::MessageSigner;
use shared_kernel::testing::{TestBroker, TestDatabase};
use uuid::Uuid;

use super::super::load::percentile;
use super::super::{Row, Settings, ms, ratio};
use super::{Platform, change_coefficient, create_event, pool, start_line_provider, wait_until};

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
        change_coefficient(platform, event, coefficient).await?;
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
        skipped: false,
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
    let relay = start_line_provider(&db, &broker.exchange, 0).await;
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

    // The same work as the relay's: every message signed, then published.
    let signer = Arc::new(MessageSigner::generate()?);
    let publisher =
        ConfirmedPublisher::open(&broker.connection, &broker.exchange, signer.clone()).await?;
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

    // What signing alone costs: the same bodies, signed and nothing else.
    let started = Instant::now();
    for _ in 0..messages {
        std::hint::black_box(signer.sign(payload.as_bytes()));
    }
    let signing = started.elapsed();

    let per_second =
        |elapsed: Duration| u128::from(messages.unsigned_abs()) * 1000 / elapsed.as_millis().max(1);
    let (service_rate, limit_rate) = (per_second(service), per_second(limit));
    let signing_rate = per_second(signing);
    let share = service_rate * 1000 / limit_rate.max(1);
    let met = share >= 700;
    Ok(Row {
        workload: format!("outbox relay, {messages} queued"),
        service: format!("{service_rate} messages/s ({})", ms(service)),
        limit: format!(
            "{limit_rate} messages/s (signed, confirmed batches of 500; signing alone {signing_rate}/s)"
        ),
        ratio: Some(ratio(service_rate, limit_rate)),
        target: ">= 0.7 of limit".to_owned(),
        met,
        skipped: false,
        json: json!({
            "workload": "relay_throughput", "messages": messages,
            "service_per_second": service_rate as u64, "limit_per_second": limit_rate as u64,
            "ratio_per_mille": share as u64, "signing_per_second": signing_rate as u64,
            "met": met,
        }),
    })
}
