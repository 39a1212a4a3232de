//! line-provider's reads over gRPC beside the same reads over REST, on the
//! same process and the same rows: `GetEvent` beside `GET /events/{id}`,
//! `ListEvents` (50) beside `GET /events?limit=50`. Here REST is the
//! "limit" column: the target is gRPC serving at least what REST serves.

use std::future::Future;
use std::sync::Arc;

use sea_orm::sqlx::{self, Row as _};
use serde_json::json;
use shared_kernel::proto::line::v1::{GetEventRequest, ListEventsRequest};
use shared_kernel::testing::TestDatabase;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::super::connections::{GrpcClient, Http1Client, grpc_client};
use super::super::load::{LoadResult, closed_loop_each};
use super::super::{Row, Settings};
use super::throughput::{median_run, throughput_row};
use super::{COEFFICIENT, Platform, pool};

/// Concurrent clients, each on a connection of its own.
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

/// Both reads over both APIs, 32 clients, on 1,000 events. Each client
/// owns one connection with nothing in between (see
/// [`connections`](super::super::connections)), so the client costs each
/// protocol about the same.
pub async fn grpc_beside_rest(
    platform: &Platform,
    settings: &Settings,
) -> anyhow::Result<Vec<Row>> {
    let ids = Arc::new(seed_line(&platform.line_provider_db, settings.scale(1_000, 100)).await?);
    let random_id = move || ids[rand::random_range(0..ids.len())].to_string();
    let grpc_url = platform.line_provider_grpc_url.as_str();
    let rest_url = platform.line_provider.base_url.as_str();

    let get_grpc = grpc(grpc_url, settings, {
        let random_id = random_id.clone();
        move |mut client: GrpcClient| {
            let id = random_id();
            async move { client.get_event(GetEventRequest { id }).await.is_ok() }
        }
    })
    .await?;
    let get_rest = rest(rest_url, settings, {
        let random_id = random_id.clone();
        move || format!("/events/{}", random_id())
    })
    .await?;
    let list_grpc = grpc(grpc_url, settings, |mut client: GrpcClient| async move {
        let request = ListEventsRequest {
            limit: PAGE,
            ..ListEventsRequest::default()
        };
        client
            .list_events(request)
            .await
            .is_ok_and(|page| page.get_ref().items.len() == PAGE as usize)
    })
    .await?;
    let list_rest = rest(rest_url, settings, || format!("/events?limit={PAGE}")).await?;
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

/// `call` at 32 clients, each on an HTTP/2 connection of its own.
async fn grpc<F, Fut>(url: &str, settings: &Settings, call: F) -> anyhow::Result<LoadResult>
where
    F: Fn(GrpcClient) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    median_run(settings.runs, || {
        let call = call.clone();
        async move {
            let mut clients = Vec::with_capacity(CONCURRENCY);
            for _ in 0..CONCURRENCY {
                clients.push(grpc_client(url).await?);
            }
            Ok(
                closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
                    let (client, call) = (clients[n].clone(), call.clone());
                    move || call(client.clone())
                })
                .await,
            )
        }
    })
    .await
}

/// `GET path()` at 32 clients, each on an HTTP/1.1 connection of its own,
/// reading each whole body (as the gRPC client decodes each whole message).
async fn rest<F>(url: &str, settings: &Settings, path: F) -> anyhow::Result<LoadResult>
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    median_run(settings.runs, || {
        let path = path.clone();
        async move {
            let mut clients = Vec::with_capacity(CONCURRENCY);
            for _ in 0..CONCURRENCY {
                clients.push(Arc::new(Mutex::new(Http1Client::connect(url).await?)));
            }
            Ok(
                closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
                    let (client, path) = (clients[n].clone(), path.clone());
                    move || {
                        let (client, path) = (client.clone(), path());
                        async move { client.lock().await.get(&path).await }
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
