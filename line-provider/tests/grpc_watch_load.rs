//! A thousand `WatchEvents` replaying the log from the start do not starve
//! the operator: their reads share a bounded set of database readers (and
//! one live tail), so `POST /events` keeps its pace while they replay, and
//! every watcher still gets every change.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use shared_kernel::proto::line::v1::WatchEventsRequest;
use support::grpc::{LineClient, line_client};
use support::{TOKEN, TestApp};

const WATCHERS: usize = 1_000;
/// Channels the watchers share (each well under the streams-per-connection
/// cap).
const CHANNELS: usize = 10;
const CHANGES: usize = 3_000;
const WRITES: usize = 50;
const P95_BOUND: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_writes_keep_their_pace_while_a_thousand_watchers_replay_the_log() {
    // The default pool, as in production.
    let app = TestApp::spawn_with(|config| config.database_pool_size = 10).await;
    app.create_event("1.85").await;
    // The rest of the outbox as copies of that change, each its own message.
    app.db
        .connection
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "INSERT INTO outbox (message_id, routing_key, payload, occurred_at)
                 SELECT fresh.id, routing_key,
                        jsonb_set(payload, '{{message_id}}', to_jsonb(fresh.id::text)), occurred_at
                 FROM outbox, LATERAL (SELECT gen_random_uuid() AS id, n
                                       FROM generate_series(2, {CHANGES}) AS n) AS fresh"
            ),
        ))
        .await
        .unwrap_or_else(|e| panic!("filling the outbox: {e}"));
    assert_eq!(
        app.count("SELECT count(*) FROM outbox").await,
        CHANGES as i64
    );

    let received = Arc::new(AtomicUsize::new(0));
    let expected_each = CHANGES + WRITES;
    // Every stream is opened before any is read, so the replay runs while
    // the writes are measured rather than while streams are being opened.
    let (go, ready) = tokio::sync::watch::channel(false);
    let (opened, all_open) = tokio::sync::oneshot::channel();
    let watchers = watchers_elsewhere(
        app.grpc_url(),
        received.clone(),
        expected_each,
        ready,
        opened,
    );
    all_open
        .await
        .unwrap_or_else(|e| panic!("the watchers' thread stopped before opening its streams: {e}"));

    go.send_replace(true);
    let before = received.load(Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..WRITES {
        let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
        let started = Instant::now();
        let response = app
            .request(reqwest::Method::POST, "/events")
            .bearer_auth(TOKEN)
            .json(&json!({ "coefficient": "1.85", "deadline": deadline }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /events: {e}"));
        latencies.push(started.elapsed());
        statuses.push(response.status());
    }
    let during = received.load(Ordering::Relaxed);
    latencies.sort();
    let p95 = latencies[WRITES * 95 / 100 - 1];
    let failed = statuses
        .iter()
        .filter(|status| **status != StatusCode::CREATED)
        .count();
    println!(
        "POST /events p95 {p95:?} (max {:?}, {failed} not 201) while {WATCHERS} watchers replayed; \
         {before} then {during} changes delivered",
        latencies[WRITES - 1]
    );
    assert!(
        statuses.iter().all(|status| *status == StatusCode::CREATED),
        "writes during the replay: {statuses:?}"
    );
    assert!(
        before < WATCHERS * CHANGES,
        "the watchers had finished before the writes: no bound was tested"
    );
    assert!(
        p95 < P95_BOUND,
        "POST /events p95 {p95:?} while {WATCHERS} watchers replayed (bound {P95_BOUND:?}): {latencies:?}"
    );

    // And each watcher gets every change, the writes' too.
    let finished = tokio::time::timeout(Duration::from_secs(300), async {
        let failures = watchers
            .await
            .unwrap_or_else(|e| panic!("the watchers' thread: {e}"));
        assert!(
            failures.is_empty(),
            "{} watchers failed: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
    })
    .await;
    assert!(
        finished.is_ok(),
        "not every watcher got its {expected_each} changes in time: {} of {}",
        received.load(Ordering::Relaxed),
        WATCHERS * expected_each
    );
}

/// The watchers, as remote clients would be: on a thread and runtime of
/// their own, so that decoding three million changes does not queue the
/// test's own HTTP client (and the server's REST handlers) behind it on
/// the test's runtime. Opens every stream, says so on `opened`, waits for
/// `ready`, then reads `expected_each` changes on each; the answer is
/// the failures.
fn watchers_elsewhere(
    url: String,
    received: Arc<AtomicUsize>,
    expected_each: usize,
    ready: tokio::sync::watch::Receiver<bool>,
    opened: tokio::sync::oneshot::Sender<()>,
) -> tokio::task::JoinHandle<Vec<String>> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the watchers' runtime: {e}"));
        let failures = runtime.block_on(async move {
            let mut clients: Vec<LineClient> = Vec::new();
            for _ in 0..CHANNELS {
                clients.push(line_client(&url).await);
            }
            let mut watchers = Vec::new();
            for watcher in 0..WATCHERS {
                let mut client = clients[watcher % CHANNELS].clone();
                let mut stream = client
                    .watch_events(WatchEventsRequest::default())
                    .await
                    .unwrap_or_else(|e| panic!("WatchEvents {watcher}: {e}"))
                    .into_inner();
                let received = received.clone();
                let mut ready = ready.clone();
                watchers.push(tokio::spawn(async move {
                    if ready.wait_for(|go| *go).await.is_err() {
                        return Err(format!("watcher {watcher} never started"));
                    }
                    let mut got = 0;
                    while got < expected_each {
                        match stream.message().await {
                            Ok(Some(_)) => {
                                got += 1;
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(None) => {
                                return Err(format!(
                                    "watcher {watcher}'s stream ended after {got}"
                                ));
                            }
                            Err(status) => {
                                return Err(format!("watcher {watcher} failed: {status:?}"));
                            }
                        }
                    }
                    Ok(())
                }));
            }
            let _ = opened.send(());
            let mut failures = Vec::new();
            for watcher in watchers {
                match watcher.await {
                    Ok(Ok(())) => {}
                    Ok(Err(failure)) => failures.push(failure),
                    Err(error) => failures.push(format!("a watcher's task: {error}")),
                }
            }
            failures
        });
        let _ = done.send(failures);
    });
    tokio::spawn(async move {
        result
            .await
            .unwrap_or_else(|_| vec!["the watchers' thread panicked".to_owned()])
    })
}
