//! The transactional outbox and its relay, against the real PostgreSQL and
//! RabbitMQ: every change is published exactly once, nothing is lost while
//! no queue listens (and a backlog that lasts is alerted), replicas do not
//! duplicate, rollbacks publish nothing.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::Channel;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use shared_kernel::amqp::verify_delivery;
use shared_kernel::contracts::{EventStatusWire, LineEventKind, LineEventMessage};
use shared_kernel::signing::MessageVerifier;
use shared_kernel::testing::{AlertListener, alerts_exchange, eventually, expect_json, test_keys};
use support::TestApp;

const PATIENCE: Duration = Duration::from_secs(20);

/// A message as the broker delivered it.
struct Received {
    routing_key: String,
    properties: lapin::BasicProperties,
    body: Value,
    /// The body's exact bytes, as signed.
    bytes: Vec<u8>,
}

/// Messages waiting in `queue` right now.
async fn depth(channel: &Channel, queue: &str) -> u32 {
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("inspecting {queue}: {e}"));
    declared.message_count()
}

/// Takes every message from `queue`.
async fn drain(channel: &Channel, queue: &str) -> Vec<Received> {
    let mut received = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap_or_else(|e| panic!("reading {queue}: {e}"))
    {
        let delivery = message.delivery;
        received.push(Received {
            routing_key: delivery.routing_key.to_string(),
            properties: delivery.properties,
            body: serde_json::from_slice(&delivery.data)
                .unwrap_or_else(|e| panic!("not JSON: {e}")),
            bytes: delivery.data,
        });
    }
    received
}

/// Waits until the outbox has nothing left to publish.
async fn all_published(app: &TestApp) {
    eventually("every outbox row marked published", PATIENCE, || async {
        (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_change_is_published_once_with_its_routing_key_and_the_whole_event() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("all", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let created = app.create_event("1.85").await;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/events/{id}");
    let updated = app
        .operator(Method::PATCH, &path)
        .json(&json!({ "coefficient": "2.10" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_json(updated, StatusCode::OK).await;
    for _ in 0..2 {
        // The second, identical result changes nothing and announces nothing.
        let finished = app
            .operator(Method::PUT, &format!("{path}/status"))
            .json(&json!({ "status": "FINISHED_WIN" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        expect_json(finished, StatusCode::OK).await;
    }
    all_published(&app).await;

    assert_eq!(
        depth(&channel, &queue).await,
        3,
        "one message per change, no more"
    );
    let messages = drain(&channel, &queue).await;
    let keys: Vec<&str> = messages.iter().map(|m| m.routing_key.as_str()).collect();
    assert_eq!(keys, ["event.created", "event.updated", "event.finished"]);
    let expected = [
        ("1.85", "NEW", 1),
        ("2.10", "NEW", 2),
        ("2.10", "FINISHED_WIN", 3),
    ];
    for (message, (coefficient, status, version)) in messages.iter().zip(expected) {
        let data = &message.body["data"];
        assert_eq!(data["id"], json!(id));
        assert_eq!(data["coefficient"], json!(coefficient));
        assert_eq!(data["status"], json!(status));
        assert_eq!(data["version"], json!(version));
        assert_eq!(data["deadline"], created["deadline"]);
        assert_eq!(message.body["type"], json!(message.routing_key));

        let verifier =
            MessageVerifier::from_pem_files(std::slice::from_ref(&test_keys().verify_key_file))
                .unwrap_or_else(|e| panic!("{e}"));
        // The contract type reads what was published, and the AMQP
        // properties say the same as the body.
        let bytes = serde_json::to_vec(&message.body).unwrap_or_default();
        let parsed =
            LineEventMessage::from_slice(&bytes).unwrap_or_else(|e| panic!("contract: {e}"));
        let properties = &message.properties;
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.to_string()),
            Some(parsed.message_id.to_string())
        );
        assert_eq!(
            properties.kind().as_ref().map(|k| k.to_string()),
            Some(message.routing_key.clone())
        );
        assert_eq!(
            properties.content_type().as_ref().map(|c| c.to_string()),
            Some("application/json".to_owned())
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert!(properties.timestamp().is_some());
        // Signed with the configured key, over exactly these bytes.
        assert_eq!(
            verify_delivery(&verifier, properties, &message.bytes),
            Ok(test_keys().signer.key_id())
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cancellation_is_published_once_as_event_cancelled() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("cancelled", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let created = app.create_event("1.85").await;
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    for _ in 0..2 {
        // Cancelling again changes nothing and announces nothing.
        let cancelled = app
            .operator(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": "CANCELLED" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        expect_json(cancelled, StatusCode::OK).await;
    }
    all_published(&app).await;

    let messages = drain(&channel, &queue).await;
    let keys: Vec<&str> = messages.iter().map(|m| m.routing_key.as_str()).collect();
    assert_eq!(
        keys,
        ["event.created", "event.cancelled"],
        "one message for one cancellation"
    );
    let message = &messages[1];
    assert_eq!(
        message.properties.kind().as_ref().map(|k| k.to_string()),
        Some("event.cancelled".to_owned())
    );
    let bytes = serde_json::to_vec(&message.body).unwrap_or_default();
    let parsed = LineEventMessage::from_slice(&bytes).unwrap_or_else(|e| panic!("contract: {e}"));
    assert_eq!(parsed.kind, LineEventKind::Cancelled);
    assert_eq!(parsed.data.status, EventStatusWire::Cancelled);
    assert_eq!(parsed.data.version, 2);
    assert_eq!(parsed.data.id.to_string(), id);
    app.stop().await;
}

#[tokio::test]
async fn the_trace_of_the_request_travels_with_its_message() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("traced", "event.created")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    let response = app
        .operator(Method::POST, "/events")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "coefficient": "3.00", "deadline": chrono::Utc::now() + chrono::Duration::hours(1) }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_json(response, StatusCode::CREATED).await;
    all_published(&app).await;

    let messages = drain(&channel, &queue).await;
    assert_eq!(messages.len(), 1);
    let headers = messages[0].properties.headers().clone().unwrap_or_default();
    let traceparent = match headers.inner().get("traceparent") {
        Some(AMQPValue::LongString(value)) => value.to_string(),
        other => panic!("no traceparent header: {other:?}"),
    };
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_message_nobody_listens_for_is_kept_alerted_and_delivered_once_a_queue_is_bound() {
    let mut app = TestApp::spawn_with(|config| config.alerts.after_secs = 1).await;
    let mut alerts = AlertListener::bind(
        &app.broker.connection,
        &alerts_exchange(&app.broker.exchange),
    )
    .await
    .unwrap_or_else(|e| panic!("binding to the alerts exchange: {e}"));
    let created = app.create_event("1.50").await;

    // Unroutable: the broker returned it, and the relay kept it.
    eventually(
        "the relay to try and keep the message",
        PATIENCE,
        || async {
            (app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL AND attempts > 0")
                .await
                == 1)
                .then_some(())
        },
    )
    .await;
    let last_error = app
        .db
        .connection
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.connection.get_database_backend(),
            "SELECT last_error FROM outbox",
        ))
        .await
        .ok()
        .flatten()
        .and_then(|row| {
            row.try_get::<Option<String>>("", "last_error")
                .ok()
                .flatten()
        });
    assert!(
        last_error
            .as_deref()
            .is_some_and(|e| e.contains("NO_ROUTE")),
        "recorded why: {last_error:?}"
    );
    // Waiting longer than the threshold (a second here) is an alert.
    let backlog = alerts
        .wait_for("outbox_backlog", PATIENCE)
        .await
        .unwrap_or_else(|| panic!("no outbox_backlog alert"));
    assert_eq!(backlog["service"], "line-provider", "{backlog}");
    assert_eq!(backlog["details"]["waiting"], 1, "{backlog}");
    assert!(
        backlog["details"]["oldest_waiting_secs"].as_u64() >= Some(1),
        "{backlog}"
    );

    let (channel, queue) = app
        .broker
        .bind_queue("late", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    all_published(&app).await;

    let messages = drain(&channel, &queue).await;
    assert_eq!(messages.len(), 1, "delivered exactly once");
    assert_eq!(messages[0].body["data"]["id"], created["id"]);
    app.stop().await;
}

#[tokio::test]
async fn two_relays_at_once_deliver_every_message_exactly_once() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("replicas", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let replica = app.start_replica().await;
    let replica_url = format!("http://{}", replica.address());

    // Changes arrive through both replicas at once, so both relays are
    // woken for overlapping rows.
    const EVENTS: usize = 300;
    let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
    let requests = (0..EVENTS).map(|i| {
        let base = if i % 2 == 0 {
            &app.base_url
        } else {
            &replica_url
        };
        app.client
            .post(format!("{base}/events"))
            .bearer_auth(support::TOKEN)
            .json(&json!({ "coefficient": "1.50", "deadline": deadline }))
            .send()
    });
    // Sixteen in flight: both relays still race for overlapping rows, while
    // the test's pools of three connections per replica are not asked for
    // more than they can give within their two-second timeout on a busy
    // machine (300 at once made this test a load test).
    let responses: Vec<_> = futures_util::stream::iter(requests)
        .buffer_unordered(16)
        .collect()
        .await;
    let mut created = HashSet::new();
    for response in responses {
        let response = response.unwrap_or_else(|e| panic!("{e}"));
        let event = expect_json(response, StatusCode::CREATED).await;
        created.insert(event["id"].as_str().unwrap_or_default().to_owned());
    }
    all_published(&app).await;

    assert_eq!(depth(&channel, &queue).await as usize, EVENTS);
    let messages = drain(&channel, &queue).await;
    let message_ids: HashSet<String> = messages
        .iter()
        .map(|m| m.body["message_id"].to_string())
        .collect();
    let event_ids: HashSet<String> = messages
        .iter()
        .map(|m| m.body["data"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(message_ids.len(), EVENTS, "no message published twice");
    assert_eq!(event_ids, created, "every event announced");

    replica.stop().await.unwrap_or_else(|e| panic!("{e:#}"));
    app.stop().await;
}

#[tokio::test]
async fn a_change_whose_transaction_rolls_back_publishes_nothing() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("rollback", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Make the outbox insert fail for one coefficient, after the event row
    // was written in the same transaction.
    app.db
        .connection
        .execute_unprepared(
            "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.payload->'data'->>'coefficient' = '6.66' THEN
                     RAISE EXCEPTION 'refused by the test';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON outbox
                 FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let refused = app
        .operator(Method::POST, "/events")
        .json(&json!({ "coefficient": "6.66", "deadline": chrono::Utc::now() + chrono::Duration::hours(1) }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    shared_kernel::testing::expect_problem(refused, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(
        app.rows_written().await,
        (0, 0),
        "the event row was rolled back with its message"
    );

    let accepted = app.create_event("1.50").await;
    all_published(&app).await;
    let messages = drain(&channel, &queue).await;
    assert_eq!(messages.len(), 1, "only the committed change was published");
    assert_eq!(messages[0].body["data"]["id"], accepted["id"]);
    app.stop().await;
}

#[tokio::test]
async fn without_a_readable_signing_key_the_service_does_not_start() {
    let keys = test_keys();
    for (file, expected) in [
        ("/nonexistent/line-events.key".into(), "No such file"),
        (
            keys.verify_key_file.clone(),
            "not an Ed25519 PKCS#8 private PEM key",
        ),
    ] {
        let mut config = support::config("postgres://127.0.0.1:9/none", "unused", support::TOKEN);
        config.signing_key_file = file;
        let error = line_provider::app::start(config)
            .await
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            error.starts_with("LINE_EVENTS_SIGNING_KEY_FILE") && error.contains(expected),
            "{error}"
        );
    }
}
