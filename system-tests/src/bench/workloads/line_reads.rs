//! line-provider's reads over gRPC beside the same reads over REST, on the
//! same process and the same rows: `GetEvent` beside `GET /events/{id}`,
//! `ListEvents` (50) beside `GET /events?limit=50`. Here REST is the
//! "limit" column: the target is gRPC serving at least what REST serves.

use std::sync::Arc;

use sea_orm::sqlx::{self, Row as _};
use serde_json::json;
use shared_kernel::proto::line::v1::line_service_client::LineServiceClient;
use shared_kernel::proto::line::v1::{GetEventRequest, ListEventsRequest};
use shared_kernel::testing::TestDatabase;
use tonic::transport::Channel;
use uuid::Uuid;

use super::super::load::{LoadResult, closed_loop, closed_loop_each};
use super::super::{Row, Settings};
use super::throughput::{median_run, throughput_row};
use super::{COEFFICIENT, Platform, pool};

/// Concurrent clients, each gRPC one on an HTTP/2 connection of its own.
const CONCURRENCY: usize = 32;

/// Events per page listed, as a client would page the line.
const PAGE: u32 = 50;

/// Open events written straight into line-provider's table; their ids.
async fn seed_line(db: &TestDatabase, how_many: i64) -> anyhow::Result<Vec<Uuid>> {
    let pool = pool(db).await?;
    let rows = sqlx::query(
        "INSERT INTO events (id, coefficient, deadline, status, version)
         SELECT gen_random_uuid(), $2::numeric, now() + interval '1 day', 'NEW', 1
         FROM generate_series(1, $1)
         RETURNING id",
    )
    .bind(how_many)
    .bind(COEFFICIENT)
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    Ok(rows
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?)
}

/// Both reads over both APIs, 32 clients, on 1,000 events.
pub async fn grpc_beside_rest(
    platform: &Platform,
    settings: &Settings,
) -> anyhow::Result<Vec<Row>> {
    let ids = Arc::new(seed_line(&platform.line_provider_db, settings.scale(1_000, 100)).await?);
    let mut channels = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        channels.push(
            Channel::from_shared(platform.line_provider_grpc_url.clone())?
                .connect()
                .await?,
        );
    }
    let channels = Arc::new(channels);
    let random_id = {
        let ids = ids.clone();
        move || ids[rand::random_range(0..ids.len())].to_string()
    };

    let get_grpc = median_run(settings.runs, || {
        let (channels, random_id) = (channels.clone(), random_id.clone());
        async move {
            Ok(
                closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
                    let (client, random_id) = (
                        LineServiceClient::new(channels[n].clone()),
                        random_id.clone(),
                    );
                    move || {
                        let (mut client, id) = (client.clone(), random_id());
                        async move { client.get_event(GetEventRequest { id }).await.is_ok() }
                    }
                })
                .await,
            )
        }
    })
    .await?;
    let base = platform.line_provider.base_url.clone();
    let get_rest = rest(platform, settings, {
        let base = base.clone();
        move || format!("{base}/events/{}", random_id())
    })
    .await?;
    let list_grpc = median_run(settings.runs, || {
        let channels = channels.clone();
        async move {
            Ok(
                closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
                    let client = LineServiceClient::new(channels[n].clone());
                    move || {
                        let mut client = client.clone();
                        async move {
                            let request = ListEventsRequest {
                                limit: PAGE,
                                ..ListEventsRequest::default()
                            };
                            client
                                .list_events(request)
                                .await
                                .is_ok_and(|page| page.get_ref().items.len() == PAGE as usize)
                        }
                    }
                })
                .await,
            )
        }
    })
    .await?;
    let list_rest = rest(platform, settings, move || {
        format!("{base}/events?limit={PAGE}")
    })
    .await?;
    Ok(vec![
        beside_rest(
            "GetEvent (gRPC) beside GET /events/{id} (REST), 1,000 events (c=32)",
            &get_grpc,
            &get_rest,
        ),
        beside_rest(
            "ListEvents, 50 (gRPC) beside GET /events?limit=50 (REST) (c=32)",
            &list_grpc,
            &list_rest,
        ),
    ])
}

/// `GET url()` at 32 connections, reading each whole body (as the gRPC
/// client decodes each whole message).
async fn rest(
    platform: &Platform,
    settings: &Settings,
    url: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> anyhow::Result<LoadResult> {
    median_run(settings.runs, || {
        let (client, url) = (platform.client.clone(), url.clone());
        async move {
            Ok(
                closed_loop(CONCURRENCY, settings.warmup, settings.duration, move || {
                    let (client, url) = (client.clone(), url());
                    async move {
                        match client.get(url).send().await {
                            Ok(response) if response.status().is_success() => {
                                response.bytes().await.is_ok()
                            }
                            _ => false,
                        }
                    }
                })
                .await,
            )
        }
    })
    .await
}

/// A row whose limit column is REST's figure: met when gRPC serves at
/// least as many requests a second.
fn beside_rest(workload: &str, grpc: &LoadResult, rest: &LoadResult) -> Row {
    let mut row = throughput_row(workload, grpc, rest, 1000, None);
    row.target = ">= 1.0 × REST".to_owned();
    row.json["limit_is"] = json!("the same read over REST");
    row
}
