//! Who published a message, against the real RabbitMQ and PostgreSQL: with
//! `LINE_PROVIDER_AMQP_USER` set, only a message whose AMQP `user_id` is
//! that user is read; any other is dead-lettered as `wrong_publisher` and
//! changes nothing. The broker vouches for `user_id` (shared-kernel's
//! publisher tests show it refuses another user's).

mod support;

use bet_maker::domain::LineEventStatus;
use chrono::Utc;
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use shared_kernel::amqp::signature_headers;
use shared_kernel::contracts::{LineEventKind, LineEventMessage};
use shared_kernel::testing::test_keys;
use support::{TestApp, line_event, message_for};

/// Publishes `message` as line-provider would (signed), with `user_id` if given
/// (the test's connection is `guest`'s, so the broker takes only that).
async fn publish_with_user_id(app: &TestApp, message: &LineEventMessage, user_id: Option<&str>) {
    let channel = app
        .broker
        .connection
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = serde_json::to_vec(message).unwrap_or_else(|e| panic!("{e}"));
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(message.message_id.to_string().into())
        .with_type(message.kind.routing_key().into())
        .with_headers(signature_headers(&test_keys().signer, &body));
    if let Some(user_id) = user_id {
        properties = properties.with_user_id(user_id.into());
    }
    let confirmation = channel
        .basic_publish(
            app.broker.exchange.as_str().into(),
            message.kind.routing_key().into(),
            BasicPublishOptions::default(),
            &body,
            properties,
        )
        .await
        .unwrap_or_else(|e| panic!("publishing: {e}"))
        .await
        .unwrap_or_else(|e| panic!("publishing: {e}"));
    assert!(confirmation.is_ack(), "the broker did not take it");
    channel
        .close(200, "published".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn new_event_message() -> (uuid::Uuid, LineEventMessage) {
    let event = line_event(
        "1.85",
        Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    (event.id, message_for(LineEventKind::Created, &event))
}

#[tokio::test]
async fn a_message_from_another_broker_user_is_dead_lettered_unread() {
    let mut app = TestApp::spawn_with(|config| {
        config.line_provider_amqp_user = Some("line-provider".to_owned());
    })
    .await;
    let (without, without_user_id) = new_event_message();
    let (as_guest, with_guest_user_id) = new_event_message();

    publish_with_user_id(&app, &without_user_id, None).await;
    publish_with_user_id(&app, &with_guest_user_id, Some("guest")).await;

    let dead = app.take_dead_letters(2).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels, ["wrong_publisher", "wrong_publisher"], "{dead:?}");
    assert!(
        dead[0].1.contains("without a user_id") && dead[0].1.contains("'line-provider'"),
        "{dead:?}"
    );
    assert!(
        dead[1].1.contains("'guest'") && dead[1].1.contains("'line-provider'"),
        "{dead:?}"
    );
    assert_eq!(app.copy_of(without).await, None);
    assert_eq!(app.copy_of(as_guest).await, None);
    app.stop().await;
}

#[tokio::test]
async fn a_message_from_the_expected_broker_user_applies() {
    let mut app = TestApp::spawn_with(|config| {
        config.line_provider_amqp_user = Some("guest".to_owned());
    })
    .await;
    let (without, without_user_id) = new_event_message();
    let (as_guest, with_guest_user_id) = new_event_message();

    publish_with_user_id(&app, &without_user_id, None).await;
    publish_with_user_id(&app, &with_guest_user_id, Some("guest")).await;

    app.until_version(as_guest, 1).await;
    let dead = app.take_dead_letters(1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "wrong_publisher", "{dead:?}");
    assert_eq!(app.copy_of(without).await, None);
    app.stop().await;
}
