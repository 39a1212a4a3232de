//! Alerts on the broker, against the real RabbitMQ: a forged message and a
//! conflicting result each reach a queue bound to the alerts exchange as a
//! small JSON document naming what happened, rate-limited per kind, while
//! every refused message still reaches the dead-letter queue.

mod support;

use std::time::Duration;

use bet_maker::domain::{LineEvent, LineEventStatus};
use lapin::types::FieldTable;
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{AlertListener, PATIENCE, alerts_exchange};
use support::{TestApp, message_for};

/// Alerts of one kind a minute in these tests.
const PER_MINUTE: u32 = 3;

#[tokio::test]
async fn forged_messages_and_a_conflicting_result_are_alerted_a_few_a_minute_each() {
    let mut app = TestApp::spawn_with(|config| config.alerts.per_minute = PER_MINUTE).await;
    let mut alerts = AlertListener::bind(
        &app.broker.connection,
        &alerts_exchange(&app.broker.exchange),
    )
    .await
    .unwrap_or_else(|e| panic!("binding to the alerts exchange: {e}"));
    let event = app.open_event("1.85").await;
    let won = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };
    let finished = message_for(LineEventKind::Finished, &won);
    let body = serde_json::to_vec(&finished).unwrap_or_else(|e| panic!("{e}"));

    // Five unsigned copies of a result: every one dead-lettered, the first
    // three alerted, the other two held back by the rate limit.
    for _ in 0..5 {
        app.broker
            .publish_with_headers("event.finished", &body, FieldTable::default())
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
    }
    let dead = app.take_dead_letters(5).await;
    assert!(
        dead.iter().all(|(label, _)| label == "unsigned"),
        "{dead:?}"
    );
    let forged = alerts.collect(Duration::from_secs(2)).await;
    assert_eq!(forged.len(), PER_MINUTE as usize, "{forged:#?}");
    for alert in &forged {
        assert_eq!(alert["kind"], "forged_message", "{alert}");
        assert_eq!(alert["service"], "bet-maker", "{alert}");
        assert_eq!(
            alert["summary"], "line message refused; dead-lettered",
            "{alert}"
        );
        assert_eq!(alert["details"]["reason"], "unsigned", "{alert}");
        assert_eq!(alert["details"]["routing_key"], "event.finished", "{alert}");
        assert_eq!(alert["suppressed"], 0, "{alert}");
    }

    // The genuine result, then a conflicting one: the conflict is a kind of
    // its own, not held back by the forgeries' limit.
    app.publish(&finished).await;
    app.until_version(event.id, 2).await;
    let lost = LineEvent {
        status: LineEventStatus::FinishedLose,
        version: 3,
        ..event.clone()
    };
    app.publish(&message_for(LineEventKind::Finished, &lost))
        .await;
    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "final_status_changed", "{dead:?}");
    let conflict = alerts
        .wait_for("conflicting_result", PATIENCE)
        .await
        .unwrap_or_else(|| panic!("no conflicting_result alert"));
    assert_eq!(conflict["service"], "bet-maker");
    assert_eq!(conflict["details"]["reason"], "final_status_changed");
    assert_eq!(conflict["details"]["routing_key"], "event.finished");
    assert_eq!(conflict["suppressed"], 0);

    // What was held back is counted (the log has every one too).
    let metrics = app
        .management(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    for series in [
        "alerts_raised_total{kind=\"forged_message\"} 5",
        "alerts_suppressed_total{kind=\"forged_message\"} 2",
        "alerts_published_total{kind=\"forged_message\"} 3",
        "alerts_published_total{kind=\"conflicting_result\"} 1",
    ] {
        assert!(metrics.contains(series), "no `{series}` in\n{metrics}");
    }
    app.stop().await;
}
