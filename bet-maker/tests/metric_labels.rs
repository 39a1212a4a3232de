//! Request metrics have a fixed set of labels: no request adds a series.
//! Alone in its test binary, so no other test's requests change the count.

mod support;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use support::TestApp;

async fn metrics_text(app: &TestApp) -> String {
    app.management(Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /metrics: {e}"))
}

/// Series in `/metrics`: its lines that are not comments.
async fn series(app: &TestApp) -> usize {
    let text = metrics_text(app).await;
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .count()
}

async fn made_up_request(app: &TestApp, n: usize) -> StatusCode {
    let method =
        Method::from_bytes(format!("MADEUP{n}").as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    app.request(method, &format!("/no/such/path/{n}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("request {n}: {e}"))
        .status()
}

#[tokio::test]
async fn ten_thousand_made_up_methods_and_paths_add_no_series() {
    // The dead-letter watch adds its depth series at its first reading:
    // not during this test.
    let app = TestApp::spawn_with(|config| config.dead_letter_check_interval_ms = 3_600_000).await;
    shared_kernel::testing::eventually(
        "the dead-letter watch publishing the queue's bound",
        shared_kernel::testing::PATIENCE,
        || async {
            (metrics_text(&app)
                .await
                .contains("dead_letter_queue_max_length"))
            .then_some(())
        },
    )
    .await;
    // The series every kind of request below lands in, made once.
    assert_eq!(made_up_request(&app, 0).await, StatusCode::NOT_FOUND);
    let _ = series(&app).await;
    let before = series(&app).await;

    let statuses: Vec<StatusCode> = futures_util::stream::iter(1..=10_000)
        .map(|n| made_up_request(&app, n))
        .buffer_unordered(16)
        .collect()
        .await;

    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::NOT_FOUND)
    );
    assert_eq!(series(&app).await, before);
}
