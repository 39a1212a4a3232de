//! The dead-letter queue, against the real RabbitMQ and PostgreSQL: its
//! fill is watched (gauges on `/metrics`, an alert at 80 % of its bound,
//! once per crossing), and why each message is there can be read, whether
//! bet-maker or the broker put it there, without taking it out.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};

use bet_maker::presentation::messaging::{DELIVERY_LIMIT, Topology, declare, list_dead_letters};
use lapin::BasicProperties;
use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use reqwest::Method;
use rust_decimal::Decimal;
use shared_kernel::testing::{PATIENCE, TestBroker, eventually};
use support::TestApp;

/// The value of the series `name{queue="<queue>"}` on `/metrics`.
async fn metric(app: &TestApp, name: &str, queue: &str) -> Option<Decimal> {
    let text = app
        .management(Method::GET, "/metrics")
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

/// Publishes `body` to the exchange with `routing_key` and this
/// `message_id`, confirmed.
async fn publish_with_id(
    app_broker: &TestBroker,
    routing_key: &str,
    message_id: &str,
    body: &[u8],
) {
    let channel = app_broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let confirmation = channel
        .basic_publish(
            app_broker.exchange.as_str().into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(message_id.into()),
        )
        .await
        .unwrap_or_else(|e| panic!("publishing: {e}"))
        .await
        .unwrap_or_else(|e| panic!("publishing: {e}"));
    assert!(
        confirmation.is_ack(),
        "the broker did not take {message_id}"
    );
    channel
        .close(200, "published".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn depth(broker: &TestBroker, queue: &str) -> u32 {
    broker
        .depth(queue)
        .await
        .unwrap_or_else(|e| panic!("depth of {queue}: {e}"))
}

#[tokio::test]
async fn a_message_the_broker_dead_letters_after_its_delivery_limit_reads_as_broker_delivery_limit()
{
    let mut broker = TestBroker::new("bet-maker-delivery-limit")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (queue, dead_letter_queue) = broker.own_consumer_queues("delivery-limit");
    broker
        .declare_exchange()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let topology = Topology::new(&broker.exchange, &queue);
    let channel = broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    declare(&channel, &topology)
        .await
        .unwrap_or_else(|e| panic!("declaring: {e}"));
    publish_with_id(&broker, "event.finished", "held-and-dropped", b"{}").await;

    // A consumer that gives the message back every time, as one dying
    // while holding it would, until the broker gives up on it.
    let deliveries = AtomicU32::new(0);
    eventually(
        "the broker dead-lettering the message",
        PATIENCE,
        || async {
            let got = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if let Some(message) = got {
                deliveries.fetch_add(1, Ordering::Relaxed);
                message
                    .delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            (depth(&broker, &dead_letter_queue).await == 1).then_some(())
        },
    )
    .await;

    // RabbitMQ 3.x delivers it once more than the limit (it counts
    // redeliveries); the consumer dead-letters on the limit-th itself.
    let limit = u32::try_from(DELIVERY_LIMIT).unwrap_or_default();
    let delivered = deliveries.load(Ordering::Relaxed);
    assert!(
        (limit..=limit + 1).contains(&delivered),
        "delivered {delivered} times"
    );
    let listing = list_dead_letters(&broker.connection, &dead_letter_queue, 10)
        .await
        .unwrap_or_else(|e| panic!("listing: {e}"));
    assert_eq!(listing.depth, 1);
    let letter = &listing.letters[0];
    assert_eq!(letter.label, "broker_delivery_limit", "{letter:?}");
    assert_eq!(letter.message_id.as_deref(), Some("held-and-dropped"));
    assert_eq!(letter.routing_key, "event.finished");
    assert!(letter.reason.contains(&queue), "{letter:?}");
    assert!(letter.dead_lettered_at.is_some(), "{letter:?}");
    assert_eq!(
        depth(&broker, &dead_letter_queue).await,
        1,
        "listing took it"
    );
    channel
        .close(200, "done".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn dead_letters_lists_refused_messages_with_their_label_and_leaves_the_queue_as_it_was() {
    let mut app = TestApp::spawn().await;
    // More than fit in a small map of the broker's: the order must still hold.
    let ids: Vec<String> = (0..40).map(|n| format!("refused-{n:02}")).collect();
    for id in &ids {
        publish_with_id(&app.broker, "event.created", id, b"not json").await;
    }
    eventually("40 dead letters", PATIENCE, || async {
        (depth(&app.broker, &app.dead_letter_queue).await == 40).then_some(())
    })
    .await;
    let config = support::config(
        &app.db.url,
        &app.broker.exchange,
        &app.queue,
        "http://127.0.0.1:9",
    );

    let first_ten = bet_maker::app::dead_letters(&config, 10)
        .await
        .unwrap_or_else(|e| panic!("bet-maker dead-letters: {e:#}"));
    let all = bet_maker::app::dead_letters(&config, 100)
        .await
        .unwrap_or_else(|e| panic!("bet-maker dead-letters: {e:#}"));
    let again = bet_maker::app::dead_letters(&config, 100)
        .await
        .unwrap_or_else(|e| panic!("bet-maker dead-letters: {e:#}"));

    assert_eq!((first_ten.depth, first_ten.letters.len()), (40, 10));
    assert_eq!(all.depth, 40);
    let listed: Vec<&str> = all
        .letters
        .iter()
        .map(|letter| letter.message_id.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(listed, ids, "every message, in the order they came");
    assert_eq!(first_ten.letters, all.letters[..10]);
    assert_eq!(again, all, "listing changed nothing");
    let letter = &all.letters[0];
    assert_eq!(
        (letter.label.as_str(), letter.routing_key.as_str()),
        // Published without a signature, so refused before being read.
        ("unsigned", "event.created"),
        "{letter:?}"
    );
    assert!(letter.dead_lettered_at.is_some(), "{letter:?}");
    assert_eq!(depth(&app.broker, &app.dead_letter_queue).await, 40);
    app.stop().await;
}
