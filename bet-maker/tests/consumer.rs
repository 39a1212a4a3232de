//! The consumer against the real RabbitMQ and PostgreSQL: exactly-once
//! effect under redelivery, any order of arrival, dead-lettering that never
//! blocks the queue, and no bet left pending by a race with settlement.

mod support;

use std::time::Duration;

use bet_maker::domain::{LineEvent, LineEventStatus};
use chrono::Utc;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{eventually, expect_json};
use support::{TestApp, line_event, message_for};

const PATIENCE: Duration = Duration::from_secs(20);

async fn bets_of(app: &TestApp, event: &LineEvent) -> Vec<Value> {
    let page = app
        .get_json(&format!("/bets?event_id={}&limit=500", event.id))
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Messages waiting in a queue.
async fn depth(app: &TestApp, queue: &str) -> u32 {
    app.broker
        .depth(queue)
        .await
        .unwrap_or_else(|e| panic!("inspecting {queue}: {e}"))
}

#[tokio::test]
async fn a_created_event_becomes_open_for_betting() {
    let mut app = TestApp::spawn().await;
    let event = line_event(
        "2.25",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );

    app.publish(&message_for(LineEventKind::Created, &event))
        .await;

    app.until_version(event.id, 1).await;
    let open = app.get_json("/events").await;
    assert_eq!(open["items"][0]["id"], event.id.to_string());
    assert_eq!(open["items"][0]["coefficient"], "2.25");
    app.stop().await;
}

#[tokio::test]
async fn a_message_delivered_twice_settles_the_bets_once() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    for amount in ["10.50", "3.00"] {
        expect_json(app.place_bet(event.id, amount).await, StatusCode::CREATED).await;
    }
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };
    let message = message_for(LineEventKind::Finished, &finished);

    app.publish(&message).await;
    app.until_version(event.id, 2).await;
    let first = bets_of(&app, &event).await;
    app.publish(&message).await;
    app.drain().await;

    let second = bets_of(&app, &event).await;
    assert_eq!(
        first, second,
        "the redelivered message changed nothing, settled_at included"
    );
    let payouts: Vec<&Value> = second.iter().map(|bet| &bet["payout"]).collect();
    assert_eq!(
        payouts,
        ["5.55", "19.43"],
        "newest first: 3.00 × 1.85, 10.50 × 1.85"
    );
    let recorded = app
        .count(&format!(
            "SELECT count(*) FROM inbox WHERE message_id = '{}'",
            message.message_id
        ))
        .await;
    assert_eq!(recorded, 1);
    app.stop().await;
}

/// An open event with bets of 10.50 and 3.00 on it, and its cancellation
/// (not yet published).
async fn open_with_bets_and_its_cancellation(app: &TestApp) -> (LineEvent, LineEvent) {
    let event = app.open_event("1.85").await;
    for amount in ["10.50", "3.00"] {
        expect_json(app.place_bet(event.id, amount).await, StatusCode::CREATED).await;
    }
    let cancelled = LineEvent {
        status: LineEventStatus::Cancelled,
        version: 2,
        ..event.clone()
    };
    (event, cancelled)
}

#[tokio::test]
async fn a_cancellation_delivered_twice_voids_every_pending_bet_once() {
    let mut app = TestApp::spawn().await;
    let (event, cancelled) = open_with_bets_and_its_cancellation(&app).await;
    let message = message_for(LineEventKind::Cancelled, &cancelled);

    app.publish(&message).await;
    app.until_version(event.id, 2).await;
    let first = bets_of(&app, &event).await;
    app.publish(&message).await;
    app.drain().await;

    let second = bets_of(&app, &event).await;
    assert_eq!(
        first, second,
        "the redelivered message changed nothing, settled_at included"
    );
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let settled: Vec<(String, String, String)> = second
        .iter()
        .map(|bet| {
            (
                text(&bet["status"]),
                text(&bet["payout"]),
                text(&bet["amount"]),
            )
        })
        .collect();
    let expected = [("VOID", "3.00", "3.00"), ("VOID", "10.50", "10.50")]
        .map(|(status, payout, amount)| (status.into(), payout.into(), amount.into()));
    assert_eq!(
        settled, expected,
        "newest first, each paying its stake back"
    );
    assert!(second.iter().all(|bet| bet["settled_at"].is_string()));
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("CANCELLED".to_owned(), 2, "1.85".to_owned()))
    );
    let recorded = app
        .count(&format!(
            "SELECT count(*) FROM inbox WHERE message_id = '{}'",
            message.message_id
        ))
        .await;
    assert_eq!(recorded, 1);
    let open = app.get_json("/events").await;
    assert!(
        !open.to_string().contains(&event.id.to_string()),
        "a cancelled event is not open: {open}"
    );
    let refused = app.place_bet(event.id, "1.00").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_event_never_reopens_or_gets_a_result() {
    let mut app = TestApp::spawn().await;
    let (event, cancelled) = open_with_bets_and_its_cancellation(&app).await;
    app.publish(&message_for(LineEventKind::Cancelled, &cancelled))
        .await;
    app.until_version(event.id, 2).await;
    let bets = bets_of(&app, &event).await;
    let won = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 3,
        ..event.clone()
    };
    let won_earlier = LineEvent {
        status: LineEventStatus::FinishedWin,
        ..cancelled.clone()
    };
    let reopened = LineEvent {
        coefficient: "2.50".parse().unwrap_or_default(),
        version: 3,
        ..event.clone()
    };

    app.publish(&message_for(LineEventKind::Finished, &won))
        .await;
    app.publish(&message_for(LineEventKind::Finished, &won_earlier))
        .await;
    app.publish(&message_for(LineEventKind::Updated, &reopened))
        .await;

    let dead = app.take_dead_letters(3).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "final_status_changed",
            "same_version_differs",
            "final_status_changed"
        ],
        "{dead:?}"
    );
    app.drain().await;
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("CANCELLED".to_owned(), 2, "1.85".to_owned()))
    );
    assert_eq!(bets_of(&app, &event).await, bets, "the void bets stay void");
    app.stop().await;
}

#[tokio::test]
async fn a_routing_key_that_contradicts_the_cancelled_status_is_dead_lettered() {
    let mut app = TestApp::spawn().await;
    let (event, cancelled) = open_with_bets_and_its_cancellation(&app).await;
    let bets = bets_of(&app, &event).await;
    let won = LineEvent {
        status: LineEventStatus::FinishedWin,
        ..cancelled.clone()
    };

    // event.cancelled carrying a result, and event.finished carrying the
    // cancellation: neither is a message line-provider writes.
    app.publish(&message_for(LineEventKind::Cancelled, &won))
        .await;
    app.publish(&message_for(LineEventKind::Finished, &cancelled))
        .await;

    let dead = app.take_dead_letters(2).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels, ["kind_mismatch", "kind_mismatch"], "{dead:?}");
    assert!(dead[0].1.contains("Cancelled"), "{dead:?}");
    app.drain().await;
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 1, "1.85".to_owned()))
    );
    assert_eq!(bets_of(&app, &event).await, bets, "still pending");
    app.publish(&message_for(LineEventKind::Cancelled, &cancelled))
        .await;
    app.until_version(event.id, 2).await;
    assert!(
        bets_of(&app, &event)
            .await
            .iter()
            .all(|bet| bet["status"] == "VOID")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_result_that_arrives_before_the_event_still_wins() {
    let mut app = TestApp::spawn().await;
    let created = line_event(
        "1.50",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    let updated = LineEvent {
        coefficient: "1.75".parse().unwrap_or_default(),
        version: 2,
        ..created.clone()
    };
    let finished = LineEvent {
        status: LineEventStatus::FinishedLose,
        version: 3,
        ..updated.clone()
    };

    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;
    app.publish(&message_for(LineEventKind::Created, &created))
        .await;
    app.publish(&message_for(LineEventKind::Updated, &updated))
        .await;
    app.drain().await;

    assert_eq!(
        app.copy_of(created.id).await,
        Some(("FINISHED_LOSE".to_owned(), 3, "1.75".to_owned()))
    );
    let open = app.get_json("/events").await;
    let listed = open["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["id"] == created.id.to_string());
    assert!(
        !listed,
        "a finished event is not open, whatever arrived after its result"
    );
    app.stop().await;
}

#[tokio::test]
async fn updates_applied_in_reverse_end_at_the_newest() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.50").await;
    let second = LineEvent {
        coefficient: "2.00".parse().unwrap_or_default(),
        version: 2,
        ..event.clone()
    };
    let third = LineEvent {
        coefficient: "2.50".parse().unwrap_or_default(),
        version: 3,
        ..event.clone()
    };

    app.publish(&message_for(LineEventKind::Updated, &third))
        .await;
    app.publish(&message_for(LineEventKind::Updated, &second))
        .await;
    app.drain().await;

    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 3, "2.50".to_owned()))
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unreadable_message_is_dead_lettered_with_its_reason_and_the_queue_goes_on() {
    let mut app = TestApp::spawn().await;
    let unknown_version = {
        let event = line_event(
            "1.50",
            Utc::now() + chrono::Duration::hours(1),
            LineEventStatus::New,
            1,
        );
        let mut body = message_for(LineEventKind::Created, &event).to_json();
        body["schema_version"] = 99.into();
        serde_json::to_vec(&body).unwrap_or_default()
    };

    app.publish_raw("event.created", b"{ this is not json")
        .await;
    app.publish_raw("event.created", &unknown_version).await;
    let good = line_event(
        "1.50",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    app.publish(&message_for(LineEventKind::Created, &good))
        .await;

    app.until_version(good.id, 1).await;
    eventually(
        "both bad messages in the dead-letter queue",
        PATIENCE,
        || async { (depth(&app, &app.dead_letter_queue).await == 2).then_some(()) },
    )
    .await;
    assert_eq!(
        depth(&app, &app.queue).await,
        0,
        "nothing stuck in the queue"
    );

    let reasons: Vec<String> = app
        .take_dead_letters(2)
        .await
        .into_iter()
        .map(|(_, reason)| reason)
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("malformed message"), "{reasons:?}");
    assert!(
        reasons[1].contains("unsupported schema_version 99"),
        "{reasons:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn no_bet_stays_pending_when_the_result_arrives_during_betting() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };
    const BETS: usize = 400;

    // Bets pour in, 16 at a time; once a quarter of them are in, the result
    // is published, and the consumer settles while bets keep arriving.
    let betting = futures_util::stream::iter(0..BETS)
        .map(|_| async { app.place_bet(event.id, "1.00").await.status() })
        .buffer_unordered(16)
        .collect::<Vec<StatusCode>>();
    let result = async {
        eventually("a quarter of the bets placed", PATIENCE, || async {
            (app.count("SELECT count(*) FROM bets").await >= (BETS / 4) as i64).then_some(())
        })
        .await;
        app.publish(&message_for(LineEventKind::Finished, &finished))
            .await;
    };
    let (statuses, ()) = tokio::join!(betting, result);
    app.until_version(event.id, 2).await;

    let (accepted, refused) = support::created_and_conflicts(&statuses);
    assert_eq!(
        accepted + refused,
        BETS,
        "every bet accepted or refused as closed: {statuses:?}"
    );
    assert!(
        refused > 0,
        "the result arrived while bets were still coming in"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM bets WHERE status = 'PENDING'")
            .await,
        0
    );
    // Each accepted bet won, or, placed after line-provider decided the
    // result (the message was made before bet-maker heard of it), is void
    // as late: none paid for a result already known.
    let decided = "(SELECT decided_at FROM events JOIN bet_legs l ON l.event_id = events.id \
                   WHERE l.bet_id = bets.id)";
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM bets WHERE (status = 'WON' AND placed_at < {decided})
               OR (status = 'VOID' AND void_reason = 'LATE' AND placed_at >= {decided})"
        ))
        .await,
        accepted as i64
    );
    app.stop().await;
}

#[tokio::test]
async fn bet_maker_never_declares_line_providers_exchange_and_is_ready_once_it_exists() {
    use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
    use reqwest::Method;
    use shared_kernel::testing::{SpawnedApp, database_and_broker};

    let (db, mut broker) = database_and_broker::<Migrator>("bet-maker", schema_fingerprint()).await;
    let (queue, _) = broker.own_consumer_queues("bet-maker");
    let config = support::config(&db.url, &broker.exchange, &queue, "http://127.0.0.1:9");
    let mut app = SpawnedApp::new("bet-maker", bet_maker::app::start(config).await);
    let ready = || async {
        app.request(Method::GET, "/health/ready")
            .send()
            .await
            .map(|response| response.status())
            .ok()
    };
    // Not ready while the exchange does not exist, and it did not make it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ready().await, Some(StatusCode::SERVICE_UNAVAILABLE));
    let channel = broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let passive = lapin::options::ExchangeDeclareOptions {
        passive: true,
        ..lapin::options::ExchangeDeclareOptions::default()
    };
    let exists = channel
        .exchange_declare(
            broker.exchange.as_str().into(),
            lapin::ExchangeKind::Topic,
            passive,
            lapin::types::FieldTable::default(),
        )
        .await;
    assert!(exists.is_err(), "bet-maker declared the exchange itself");

    broker
        .declare_exchange()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually(
        "bet-maker ready once the exchange exists",
        PATIENCE,
        || async { (ready().await == Some(StatusCode::OK)).then_some(()) },
    )
    .await;
    app.stop().await;
}
