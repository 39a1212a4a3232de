//! Live streams: thousands of `GET /events/stream` subscribers on one
//! bet-maker while line-provider changes the line twenty times a second.
//! Every subscriber must receive every change; delivery is timed from the
//! moment bet-maker's consumer wrote the change (the feed row's
//! `created_at`, taken just before its commit) to the moment this client
//! read it, on the same clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use sea_orm::sqlx;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::load::percentile;
use super::super::{Row, Settings, ms};
use super::{Platform, change_coefficient, create_event, pool, wait_until};
use crate::process::resident_kib_of;

/// Changes a second made at line-provider.
const CHANGES_PER_SECOND: u64 = 20;

/// Subscribers connecting at once (the listen backlog is finite).
const CONNECTING: usize = 200;

/// What one subscriber read: each change's position and when it arrived
/// (microseconds since the epoch).
type Received = Vec<(i64, i64)>;

/// Every subscriber receives every change made while they are all
/// connected; p99 delivery from bet-maker's commit; bet-maker's peak
/// resident memory meanwhile.
pub async fn live_streams(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let subscribers = usize::try_from(settings.scale(10_000, 50))?;
    let events: Vec<uuid::Uuid> = {
        let mut events = Vec::new();
        for _ in 0..20 {
            events.push(create_event(platform).await?);
        }
        events
    };
    // Their creation reaches bet-maker first, so that the changes counted
    // from `start` on are only the measured ones.
    let ids: Vec<String> = events.iter().map(|id| format!("'{id}'")).collect();
    wait_until(
        &platform.bet_maker_db,
        &format!(
            "SELECT count(*) FROM events WHERE id IN ({})",
            ids.join(", ")
        ),
        i64::try_from(events.len())?,
    )
    .await?;
    let bet_maker = pool(&platform.bet_maker_db).await?;
    let start: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM change_feed")
        .fetch_one(&bet_maker)
        .await?;

    // Each subscriber on a connection of its own, read as plain bytes (a
    // full HTTP client per message would take the service's share of the
    // two cores).
    let address = platform
        .bet_maker
        .base_url
        .trim_start_matches("http://")
        .parse::<std::net::SocketAddr>()?;
    let connections: Vec<anyhow::Result<TcpStream>> = stream::iter(0..subscribers)
        .map(|_| subscribe(address))
        .buffer_unordered(CONNECTING)
        .collect()
        .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut readers = Vec::with_capacity(subscribers);
    for connection in connections {
        let progress = Arc::new(AtomicI64::new(0));
        let reader = tokio::spawn(read_positions(connection?, progress.clone(), stop.clone()));
        readers.push((progress, reader));
    }

    // The line changes, at a steady rate, while memory is watched.
    let peak_kib = Arc::new(AtomicU64::new(0));
    let watch = {
        let (peak_kib, stop) = (peak_kib.clone(), stop.clone());
        let pid = platform.bet_maker.pid();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let now = pid.and_then(resident_kib_of).unwrap_or_default();
                peak_kib.fetch_max(now, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let window = settings.warmup + settings.duration;
    let changes = (u64::try_from(window.as_millis())? * CHANGES_PER_SECOND / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / CHANGES_PER_SECOND));
    for change in 0..changes {
        tick.tick().await;
        let event = events[usize::try_from(change)? % events.len()];
        let coefficient = format!("{}.{:02}", 2 + change / 100 % 5, change % 100);
        change_coefficient(platform, event, &coefficient).await?;
    }

    // Every change made is in the feed once applied: wait for the last.
    let made: Vec<(i64, DateTime<Utc>)> = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
                "SELECT position, created_at FROM change_feed
                 WHERE position > $1 AND bettor_id IS NULL ORDER BY position",
            )
            .bind(start)
            .fetch_all(&bet_maker)
            .await?;
            if rows.len() as u64 >= changes {
                break rows;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {changes} changes applied",
                rows.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let last = made.last().map_or(0, |(position, _)| *position);
    let received = collect(readers, last, &stop).await?;
    let _ = watch.await;
    bet_maker.close().await;

    let committed: HashMap<i64, i64> = made
        .iter()
        .map(|(position, at)| (*position, at.timestamp_micros()))
        .collect();
    let mut missing = 0_u64;
    let mut delays = Vec::with_capacity(subscribers * made.len());
    for got in &received {
        let by_position: HashMap<i64, i64> = got.iter().copied().collect();
        for (position, committed_at) in &committed {
            match by_position.get(position) {
                Some(arrived) => delays.push(Duration::from_micros(
                    u64::try_from(arrived - committed_at).unwrap_or_default(),
                )),
                None => missing += 1,
            }
        }
    }
    delays.sort_unstable();
    let (p50, p99) = (percentile(&delays, 500), percentile(&delays, 990));
    let peak = peak_kib.load(Ordering::Relaxed);
    let met = missing == 0 && p99 < Duration::from_millis(250) && peak < 150 * 1024;
    Ok(Row {
        workload: format!(
            "{subscribers} `/events/stream` subscribers, {changes} line changes at {CHANGES_PER_SECOND}/s"
        ),
        service: format!(
            "{} deliveries, {missing} missing; p50 {}, p99 {} from bet-maker's commit; bet-maker peak {} MiB",
            delays.len(),
            ms(p50),
            ms(p99),
            peak / 1024
        ),
        limit: String::new(),
        ratio: None,
        target: "none missing, p99 < 250 ms, < 150 MiB".to_owned(),
        met,
        skipped: false,
        json: json!({
            "workload": "live_streams", "subscribers": subscribers, "changes": made.len(),
            "deliveries": delays.len(), "missing": missing,
            "p50_us": p50.as_micros() as u64, "p99_us": p99.as_micros() as u64,
            "bet_maker_peak_kib": peak, "met": met,
        }),
    })
}

/// Waits until every subscriber has read the change at `last` (or a
/// minute has passed), then ends them all; what each read.
async fn collect(
    readers: Vec<(
        Arc<AtomicI64>,
        tokio::task::JoinHandle<anyhow::Result<Received>>,
    )>,
    last: i64,
    stop: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<Vec<Received>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && readers
            .iter()
            .any(|(progress, _)| progress.load(Ordering::Relaxed) < last)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    let mut received = Vec::with_capacity(readers.len());
    for (_, reader) in readers {
        received.push(reader.await??);
    }
    Ok(received)
}

/// Opens `GET /events/stream` and reads up to the end of the response's
/// head, which must say 200.
async fn subscribe(address: std::net::SocketAddr) -> anyhow::Result<TcpStream> {
    let mut connection = TcpStream::connect(address).await?;
    connection
        .write_all(
            b"GET /events/stream HTTP/1.1\r\nHost: bet-maker\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await?;
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        anyhow::ensure!(
            connection.read(&mut byte).await? == 1,
            "closed before answering"
        );
        head.extend_from_slice(&byte);
    }
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200"),
        "GET /events/stream: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(connection)
}

/// Reads one stream until `stop`, noting each message's position (`id:`)
/// and arrival time, and the last position in `progress`. Nothing else is
/// parsed: the chunked encoding's size lines never start with `id: `.
async fn read_positions(
    mut connection: TcpStream,
    progress: Arc<AtomicI64>,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Received> {
    let mut received = Received::with_capacity(512);
    let mut pending = Vec::with_capacity(4096);
    let mut buffer = [0_u8; 4096];
    loop {
        let read = tokio::select! {
            () = stop.cancelled() => return Ok(received),
            read = connection.read(&mut buffer) => read?,
        };
        if read == 0 {
            return Ok(received);
        }
        let arrived = Utc::now().timestamp_micros();
        pending.extend_from_slice(&buffer[..read]);
        let mut consumed = 0;
        while let Some(end) = pending[consumed..].iter().position(|b| *b == b'\n') {
            let line = &pending[consumed..consumed + end];
            if let Some(id) = line.strip_prefix(b"id: ")
                && let Some(position) = std::str::from_utf8(id).ok().and_then(|t| t.parse().ok())
            {
                received.push((position, arrived));
                progress.store(position, Ordering::Relaxed);
            }
            consumed += end + 1;
        }
        pending.drain(..consumed);
    }
}
