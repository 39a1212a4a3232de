//! line-provider's reads over gRPC beside the same reads over REST, on the
//! same process and the same rows: `GetEvent` beside `GET /events/{id}`,
//! `ListEvents` (50) beside `GET /events?limit=50`. Here REST is the
//! "limit" column: the target is gRPC serving at least what REST serves.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use prost::Message as _;
use sea_orm::sqlx::{self, Row as _};
use serde_json::json;
use shared_kernel::proto::line::v1::{
    Event, GetEventRequest, ListEventsRequest, ListEventsResponse,
};
use shared_kernel::testing::TestDatabase;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::super::connections::{GrpcConnection, Http1Client};
use super::super::load::{LoadResult, closed_loop_each, cpu_in_window};
use super::super::{Row, Settings};
use super::throughput::{median_result, throughput_row};
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

    let pid = platform
        .line_provider
        .pid()
        .context("line-provider has exited")?;
    let get_event = GrpcMethod::new(grpc_url, "/line.v1.LineService/GetEvent")?;
    let list_events = GrpcMethod::new(grpc_url, "/line.v1.LineService/ListEvents")?;
    let page = ListEventsRequest {
        limit: PAGE,
        ..ListEventsRequest::default()
    }
    .encode_to_vec();
    check_replies(&get_event, &list_events, &random_id(), &page).await?;

    let (get_grpc, get_rest) = alternating(
        settings.runs,
        || {
            let random_id = random_id.clone();
            grpc(pid, &get_event, settings, move |connection, method| {
                let request = GetEventRequest { id: random_id() }.encode_to_vec();
                async move { connection.unary(&method, &request).await.is_some() }
            })
        },
        || {
            let random_id = random_id.clone();
            rest(pid, rest_url, settings, move || {
                format!("/events/{}", random_id())
            })
        },
    )
    .await?;
    let page = Arc::new(page);
    let (list_grpc, list_rest) = alternating(
        settings.runs,
        || {
            let page = page.clone();
            grpc(pid, &list_events, settings, move |connection, method| {
                let page = page.clone();
                async move { connection.unary(&method, &page).await.is_some() }
            })
        },
        || rest(pid, rest_url, settings, || format!("/events?limit={PAGE}")),
    )
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

/// A method of line-provider's gRPC API, with the server's URL.
struct GrpcMethod {
    url: String,
    uri: http::Uri,
}

impl GrpcMethod {
    /// `path` (`/line.v1.LineService/GetEvent`) on the server at `url`,
    /// made once per workload rather than once per call.
    fn new(url: &str, path: &str) -> anyhow::Result<Self> {
        let uri = format!("{}{path}", url.trim_end_matches('/'))
            .parse()
            .with_context(|| format!("gRPC method {path} at {url}"))?;
        Ok(Self {
            url: url.to_owned(),
            uri,
        })
    }
}

/// Both replies decoded once, before the timed runs (which read them
/// whole but, as the REST client, do not parse them): the event asked
/// for, and a full page.
async fn check_replies(
    get_event: &GrpcMethod,
    list_events: &GrpcMethod,
    id: &str,
    page: &[u8],
) -> anyhow::Result<()> {
    let connection = GrpcConnection::connect(&get_event.url).await?;
    let request = GetEventRequest { id: id.to_owned() }.encode_to_vec();
    let reply = connection
        .unary(&get_event.uri, &request)
        .await
        .context("GetEvent did not answer OK")?;
    let event = Event::decode(reply).context("GetEvent's reply")?;
    anyhow::ensure!(event.id == id, "GetEvent answered {} for {id}", event.id);
    let reply = connection
        .unary(&list_events.uri, page)
        .await
        .context("ListEvents did not answer OK")?;
    let listed = ListEventsResponse::decode(reply).context("ListEvents' reply")?;
    anyhow::ensure!(
        listed.items.len() == PAGE as usize,
        "ListEvents answered {} events, not {PAGE}",
        listed.items.len()
    );
    Ok(())
}

/// `runs` runs of each, alternating (gRPC, REST, gRPC, ...), so that a
/// drift of the shared machine weighs on both alike; the median of each.
async fn alternating<G, GF, R, RF>(
    runs: usize,
    mut grpc: G,
    mut rest: R,
) -> anyhow::Result<(LoadResult, LoadResult)>
where
    G: FnMut() -> GF,
    GF: Future<Output = anyhow::Result<LoadResult>>,
    R: FnMut() -> RF,
    RF: Future<Output = anyhow::Result<LoadResult>>,
{
    let (mut grpc_runs, mut rest_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        grpc_runs.push(grpc().await?);
        rest_runs.push(rest().await?);
    }
    Ok((median_result(grpc_runs), median_result(rest_runs)))
}

/// One run of `call` at 32 clients, each on an HTTP/2 connection of its
/// own, with line-provider's (`pid`) CPU time in the measured window.
async fn grpc<F, Fut>(
    pid: u32,
    method: &GrpcMethod,
    settings: &Settings,
    call: F,
) -> anyhow::Result<LoadResult>
where
    F: Fn(GrpcConnection, http::Uri) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let mut connections = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        connections.push(GrpcConnection::connect(&method.url).await?);
    }
    let cpu = cpu_in_window(pid, settings.warmup, settings.duration);
    let load = closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
        let (connection, call) = (connections[n].clone(), call.clone());
        let uri = method.uri.clone();
        move || call(connection.clone(), uri.clone())
    });
    let (mut result, cpu) = tokio::join!(load, cpu);
    result.server_cpu = cpu;
    Ok(result)
}

/// One run of `GET path()` at 32 clients, each on an HTTP/1.1 connection
/// of its own, reading each whole body (as the gRPC client reads each whole
/// reply), with line-provider's (`pid`) CPU time in the measured window.
async fn rest<F>(pid: u32, url: &str, settings: &Settings, path: F) -> anyhow::Result<LoadResult>
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    let mut clients = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        clients.push(Arc::new(Mutex::new(Http1Client::connect(url).await?)));
    }
    let cpu = cpu_in_window(pid, settings.warmup, settings.duration);
    let load = closed_loop_each(CONCURRENCY, settings.warmup, settings.duration, |n| {
        let (client, path) = (clients[n].clone(), path.clone());
        move || {
            let (client, path) = (client.clone(), path());
            async move { client.lock().await.get(&path).await }
        }
    });
    let (mut result, cpu) = tokio::join!(load, cpu);
    result.server_cpu = cpu;
    Ok(result)
}

/// A row whose limit column is REST's figure: met when gRPC serves at
/// least as many requests a second.
fn beside_rest(workload: &str, grpc: &LoadResult, rest: &LoadResult) -> Row {
    let mut row = throughput_row(workload, grpc, rest, 1000, None);
    row.target = ">= 1.0 × REST".to_owned();
    row.json["limit_is"] = json!("the same read over REST");
    row
}
