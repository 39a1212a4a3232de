//! The dead-letter queue, against the real RabbitMQ and PostgreSQL: its
//! fill is watched (gauges on `/metrics`, an alert at 80 % of its bound,
//! once per crossing), and why each message is there can be read, whether
//! bet-maker or the broker put it there, without taking it out.

mod support;

use reqwest::Method;
use rust_decimal::Decimal;
use shared_kernel::testing::{PATIENCE, eventually};
use support::TestApp;

/// The value of the series `name{queue="<queue>"}` on `/metrics`.
async fn metric(app: &TestApp, name: &str, queue: &str) -> Option<Decimal> {
    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /metrics: {e}"));
    let series = format!("{name}{{queue=\"{queue}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
}

/// Waits until `name` for the app's dead-letter queue reads `value`.
async fn until_metric(app: &TestApp, name: &str, value: i64) {
    eventually(&format!("{name} reaching {value}"), PATIENCE, || async {
        (metric(app, name, &app.dead_letter_queue).await == Some(Decimal::from(value)))
            .then_some(())
    })
    .await;
}

async fn publish_unreadable(app: &TestApp, count: usize) {
    for _ in 0..count {
        app.publish_raw("event.created", b"not json").await;
    }
}

#[tokio::test]
async fn the_dead_letter_queue_fill_is_a_gauge_and_80_percent_alerts_once_per_crossing() {
    let mut app = TestApp::spawn_with(|config| config.dead_letter_max_length = 5).await;
    until_metric(&app, "dead_letter_queue_max_length", 5).await;
    until_metric(&app, "dead_letter_queue_messages", 0).await;

    publish_unreadable(&app, 3).await;
    until_metric(&app, "dead_letter_queue_messages", 3).await;
    assert_eq!(
        metric(
            &app,
            "dead_letter_queue_fill_alerts_total",
            &app.dead_letter_queue
        )
        .await,
        None,
        "no alert below 80 %"
    );

    // 4 of 5 is 80 %: the alert, once, however long it stays there.
    publish_unreadable(&app, 1).await;
    until_metric(&app, "dead_letter_queue_fill_alerts_total", 1).await;
    publish_unreadable(&app, 1).await;
    // A later reading than the one that alerted (that one saw 4).
    until_metric(&app, "dead_letter_queue_messages", 5).await;
    assert_eq!(
        metric(
            &app,
            "dead_letter_queue_fill_alerts_total",
            &app.dead_letter_queue
        )
        .await,
        Some(Decimal::ONE)
    );

    // Emptied, then filled again: a new crossing, a new alert.
    assert_eq!(app.take_dead_letters(5).await.len(), 5);
    until_metric(&app, "dead_letter_queue_messages", 0).await;
    publish_unreadable(&app, 4).await;
    until_metric(&app, "dead_letter_queue_fill_alerts_total", 2).await;
    app.stop().await;
}
