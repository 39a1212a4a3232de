//! The copy defends itself, against the real RabbitMQ and PostgreSQL: a
//! message line-provider could not have written, or one that contradicts
//! the copy, leaves events and bets as they were, lands in the dead-letter
//! queue with its reason, and the next genuine message still applies.

mod support;

use bet_maker::domain::{LineEvent, LineEventStatus};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::expect_json;
use support::{TestApp, line_event, message_for};
use uuid::Uuid;

async fn bets_of(app: &TestApp, id: Uuid) -> Vec<Value> {
    let page = app
        .get_json(&format!("/bets?event_id={id}&limit=500"))
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// A genuine new event, applied: since one consumer applies in order,
/// everything published before it has been handled.
async fn genuine_message_applies(app: &TestApp) {
    let probe = line_event(
        "1.10",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    app.publish(&message_for(LineEventKind::Created, &probe))
        .await;
    app.until_version(probe.id, 1).await;
}

/// An open event with two bets on it, and its result applied.
async fn finished_with_bets(app: &TestApp) -> LineEvent {
    let event = app.open_event("1.85").await;
    for amount in ["10.50", "3.00"] {
        expect_json(app.place_bet(event.id, amount).await, StatusCode::CREATED).await;
    }
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event
    };
    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;
    app.until_version(finished.id, 2).await;
    finished
}

#[tokio::test]
async fn a_validly_formed_reopening_of_a_finished_event_is_refused() {
    let mut app = TestApp::spawn().await;
    let finished = finished_with_bets(&app).await;
    let bets = bets_of(&app, finished.id).await;
    let reopened = LineEvent {
        status: LineEventStatus::New,
        coefficient: "999.00".parse().unwrap_or_default(),
        version: 3,
        ..finished.clone()
    };

    app.publish(&message_for(LineEventKind::Updated, &reopened))
        .await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "final_status_changed", "{dead:?}");
    assert!(dead[0].1.contains("is final (FinishedWin"), "{dead:?}");
    genuine_message_applies(&app).await;
    assert_eq!(
        app.copy_of(finished.id).await,
        Some(("FINISHED_WIN".to_owned(), 2, "1.85".to_owned()))
    );
    assert_eq!(bets_of(&app, finished.id).await, bets);
    app.stop().await;
}

#[tokio::test]
async fn a_conflicting_result_at_the_same_version_is_refused() {
    let mut app = TestApp::spawn().await;
    let finished = finished_with_bets(&app).await;
    let bets = bets_of(&app, finished.id).await;
    let other_result = LineEvent {
        status: LineEventStatus::FinishedLose,
        ..finished.clone()
    };

    app.publish(&message_for(LineEventKind::Finished, &other_result))
        .await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "same_version_differs", "{dead:?}");
    assert!(dead[0].1.contains("version 2"), "{dead:?}");
    genuine_message_applies(&app).await;
    assert_eq!(
        app.copy_of(finished.id).await,
        Some(("FINISHED_WIN".to_owned(), 2, "1.85".to_owned()))
    );
    assert_eq!(bets_of(&app, finished.id).await, bets);
    app.stop().await;
}

#[tokio::test]
async fn an_absurd_version_is_refused_and_later_real_changes_still_apply() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.50").await;
    expect_json(app.place_bet(event.id, "5.00").await, StatusCode::CREATED).await;
    let frozen = LineEvent {
        coefficient: "1.60".parse().unwrap_or_default(),
        version: i64::MAX,
        ..event.clone()
    };

    app.publish(&message_for(LineEventKind::Updated, &frozen))
        .await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "invalid_value", "{dead:?}");
    assert!(dead[0].1.contains(&i64::MAX.to_string()), "{dead:?}");
    let finished = LineEvent {
        status: LineEventStatus::FinishedLose,
        version: 2,
        ..event.clone()
    };
    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;
    app.until_version(event.id, 2).await;
    let bets = bets_of(&app, event.id).await;
    assert_eq!(bets[0]["status"], "LOST", "{bets:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_routing_key_that_contradicts_the_message_is_refused() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.50").await;
    expect_json(app.place_bet(event.id, "5.00").await, StatusCode::CREATED).await;
    let bets = bets_of(&app, event.id).await;
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };
    let message = message_for(LineEventKind::Finished, &finished);
    let body = serde_json::to_vec(&message).unwrap_or_else(|e| panic!("{e}"));
    // And an envelope whose own type contradicts its status.
    let finished_as_update = message_for(LineEventKind::Updated, &finished);

    app.publish_raw("event.updated", &body).await;
    app.publish(&finished_as_update).await;

    let dead = app.take_dead_letters(2).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels, ["kind_mismatch", "kind_mismatch"], "{dead:?}");
    assert!(dead[0].1.contains("routing key"), "{dead:?}");
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 1, "1.50".to_owned()))
    );
    assert_eq!(bets_of(&app, event.id).await, bets);
    app.publish(&message).await;
    app.until_version(event.id, 2).await;
    assert_eq!(bets_of(&app, event.id).await[0]["status"], "WON");
    app.stop().await;
}

#[tokio::test]
async fn a_forged_event_with_coefficient_9999_99_never_takes_a_bet() {
    let mut app = TestApp::spawn().await;
    let forged = line_event(
        "9999.99",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );

    app.publish(&message_for(LineEventKind::Created, &forged))
        .await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "invalid_value", "{dead:?}");
    assert!(dead[0].1.contains("9999.99"), "{dead:?}");
    genuine_message_applies(&app).await;
    assert_eq!(app.copy_of(forged.id).await, None);
    let bet = app.place_bet(forged.id, "1000000.00").await;
    assert_eq!(bet.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_message_id_reused_with_other_content_is_refused() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.50").await;
    let second = LineEvent {
        coefficient: "2.00".parse().unwrap_or_default(),
        version: 2,
        ..event.clone()
    };
    let first_message = message_for(LineEventKind::Updated, &second);
    app.publish(&first_message).await;
    app.until_version(event.id, 2).await;
    let third = LineEvent {
        coefficient: "3.00".parse().unwrap_or_default(),
        version: 3,
        ..event.clone()
    };
    let mut reused = message_for(LineEventKind::Updated, &third);
    reused.message_id = first_message.message_id;

    app.publish(&reused).await;
    // The same message again is a plain redelivery: nothing dead-lettered.
    app.publish(&first_message).await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "message_id_reused", "{dead:?}");
    assert!(
        dead[0].1.contains(&first_message.message_id.to_string()),
        "{dead:?}"
    );
    genuine_message_applies(&app).await;
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 2, "2.00".to_owned()))
    );
    app.publish(&message_for(LineEventKind::Updated, &third))
        .await;
    app.until_version(event.id, 3).await;
    app.stop().await;
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_with_its_error() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.50").await;
    expect_json(app.place_bet(event.id, "5.00").await, StatusCode::CREATED).await;
    // Settlement cannot run while the bets table is away: every delivery
    // of the result fails.
    app.db
        .connection
        .execute_unprepared("ALTER TABLE bets RENAME TO bets_away")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };

    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;

    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead[0].0, "failed_repeatedly", "{dead:?}");
    assert!(dead[0].1.contains("bets"), "{dead:?}");
    app.db
        .connection
        .execute_unprepared("ALTER TABLE bets_away RENAME TO bets")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    genuine_message_applies(&app).await;
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 1, "1.50".to_owned()))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_dead_letter_queue_is_bounded_and_a_changed_bound_is_refused_by_name() {
    use bet_maker::presentation::messaging::{Topology, declare};
    use lapin::BasicProperties;
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use shared_kernel::testing::TestBroker;

    let mut broker = TestBroker::new("bet-maker-dlq")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (queue, dead_letter_queue) = broker.own_consumer_queues("bounded");
    broker
        .declare_exchange()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::new(&broker.exchange, &queue).with_dead_letter_max_length(2);
    let channel = broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    declare(&channel, &topology)
        .await
        .unwrap_or_else(|e| panic!("declaring: {e}"));
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    for n in 0..3u8 {
        channel
            .basic_publish(
                "".into(),
                dead_letter_queue.as_str().into(),
                BasicPublishOptions::default(),
                &[n],
                BasicProperties::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        broker
            .depth(&dead_letter_queue)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        2,
        "the oldest dead letter made room"
    );

    let other_bound = topology.with_dead_letter_max_length(5);
    let again = broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = declare(&again, &other_bound).await;
    let error = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("PRECONDITION") && error.contains(&dead_letter_queue),
        "a changed bound fails the declare, naming the queue: {error}"
    );
}

/// line-provider's events as a resync reads them: one page.
struct OnePage(Vec<LineEvent>);

#[async_trait::async_trait]
impl bet_maker::application::ports::LineProvider for OnePage {
    async fn events_page(
        &self,
        _cursor: Option<String>,
    ) -> Result<
        bet_maker::application::ports::LinePage,
        bet_maker::application::ports::LineProviderError,
    > {
        Ok(bet_maker::application::ports::LinePage {
            events: self.0.clone(),
            next_cursor: None,
        })
    }
}

#[tokio::test]
async fn resync_reports_where_the_copy_disagrees_with_line_provider_and_keeps_it() {
    use std::sync::Arc;

    use bet_maker::application::LineService;
    use bet_maker::application::ports::SystemClock;
    use bet_maker::infrastructure::persistence::SeaOrmLineRepository;

    let mut app = TestApp::spawn().await;
    // A forged result, and a forged version far ahead, took hold before
    // messages were checked.
    let finished = finished_with_bets(&app).await;
    let bets = bets_of(&app, finished.id).await;
    let ahead = LineEvent {
        version: 900,
        ..app.open_event("1.50").await
    };
    app.seed_event(&ahead).await;
    let agreeing = app.open_event("2.00").await;
    let line_provider = OnePage(vec![
        LineEvent {
            status: LineEventStatus::New,
            version: 2,
            coefficient: "1.90".parse().unwrap_or_default(),
            ..finished.clone()
        },
        LineEvent {
            version: 3,
            ..ahead.clone()
        },
        agreeing.clone(),
    ]);
    let line = LineService::new(
        Arc::new(SeaOrmLineRepository::new(app.db.connection.clone())),
        Arc::new(SystemClock),
    );

    let report = line
        .resync(&line_provider)
        .await
        .unwrap_or_else(|e| panic!("resync: {e}"));

    assert_eq!(
        (
            report.events_read,
            report.events_updated,
            report.disagreements
        ),
        (3, 0, 2),
        "{report:?}"
    );
    assert_eq!(
        app.copy_of(finished.id).await,
        Some(("FINISHED_WIN".to_owned(), 2, "1.85".to_owned()))
    );
    assert_eq!(app.copy_of(ahead.id).await.map(|c| c.1), Some(900));
    assert_eq!(bets_of(&app, finished.id).await, bets);
    app.stop().await;
}
