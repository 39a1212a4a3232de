//! Only line-provider's messages are applied, against the real RabbitMQ
//! and PostgreSQL: a message that is unsigned, signed by a key bet-maker
//! does not trust, or altered after signing is dead-lettered with its
//! reason, counted, and changes nothing; the genuine message still
//! applies afterwards. While keys rotate, bet-maker trusts both.

mod support;

use bet_maker::domain::{LineEvent, LineEventStatus};
use lapin::types::{AMQPValue, FieldTable, LongString};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_kernel::amqp::signature_headers;
use shared_kernel::contracts::LineEventKind;
use shared_kernel::signing::{KEY_ID_HEADER, MessageSigner, SIGNATURE_HEADER};
use shared_kernel::testing::{expect_json, rotated_test_keys, test_keys};
use support::{TestApp, message_for};

fn header(headers: &mut FieldTable, name: &str, value: &str) {
    headers.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
}

async fn metrics(app: &TestApp) -> String {
    app.management(Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"))
}

#[tokio::test]
async fn a_result_line_provider_did_not_sign_is_never_applied() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    let bets: Value = app.get_json(&format!("/bets?event_id={}", event.id)).await;
    let finished = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..event.clone()
    };
    let message = message_for(LineEventKind::Finished, &finished);
    let body = serde_json::to_vec(&message).unwrap_or_else(|e| panic!("{e}"));
    let routing_key = message.kind.routing_key();
    let stranger = MessageSigner::generate().unwrap_or_else(|e| panic!("{e}"));

    // One byte of the signed body changed: the coefficient 1.85 becomes 9.85.
    let at = body
        .windows(4)
        .position(|window| window == b"1.85")
        .unwrap_or_else(|| panic!("no coefficient in the body"));
    let mut altered = body.clone();
    altered[at] = b'9';
    // The trusted key's id, with a stranger's signature.
    let mut impersonating = signature_headers(&stranger, &body);
    header(
        &mut impersonating,
        KEY_ID_HEADER,
        test_keys().signer.key_id().as_str(),
    );
    let mut garbage = signature_headers(&test_keys().signer, &body);
    header(&mut garbage, SIGNATURE_HEADER, "not a signature");
    let forgeries = [
        (body.clone(), FieldTable::default()),
        (body.clone(), signature_headers(&stranger, &body)),
        (altered, signature_headers(&test_keys().signer, &body)),
        (body.clone(), impersonating),
        (body.clone(), garbage),
    ];
    for (bytes, headers) in forgeries {
        app.broker
            .publish_with_headers(routing_key, &bytes, headers)
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
    }

    let dead = app.take_dead_letters(5).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "unsigned",
            "unknown_key",
            "bad_signature",
            "bad_signature",
            "bad_signature"
        ],
        "{dead:?}"
    );
    assert!(dead[1].1.contains(stranger.key_id().as_str()), "{dead:?}");
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 1, "1.85".to_owned()))
    );
    assert_eq!(
        app.get_json(&format!("/bets?event_id={}", event.id)).await,
        bets
    );
    let metrics = metrics(&app).await;
    for (reason, count) in [("unsigned", 1), ("unknown_key", 1), ("bad_signature", 3)] {
        let series = format!("consumer_messages_rejected_total{{reason=\"{reason}\"}} {count}");
        assert!(metrics.contains(&series), "no `{series}` in\n{metrics}");
    }

    // The genuine message, signed by line-provider's key, still applies.
    app.publish(&message).await;
    app.until_version(event.id, 2).await;
    let settled = app.get_json(&format!("/bets?event_id={}", event.id)).await;
    assert_eq!(settled["items"][0]["status"], "WON", "{settled}");
    app.stop().await;
}

#[tokio::test]
async fn while_keys_rotate_messages_signed_by_either_trusted_key_apply() {
    let (old, new) = (test_keys(), rotated_test_keys());
    let mut app = TestApp::spawn_with(|config| {
        config.verify_key_files = vec![old.verify_key_file.clone(), new.verify_key_file.clone()];
    })
    .await;
    let event = support::line_event(
        "1.50",
        chrono::Utc::now() + chrono::Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    let updated = LineEvent {
        coefficient: "1.60".parse().unwrap_or_default(),
        version: 2,
        ..event.clone()
    };
    let created = message_for(LineEventKind::Created, &event);
    let changed = message_for(LineEventKind::Updated, &updated);
    for (message, signer) in [(&created, &old.signer), (&changed, &new.signer)] {
        let body = serde_json::to_vec(message).unwrap_or_else(|e| panic!("{e}"));
        app.broker
            .publish_with_headers(
                message.kind.routing_key(),
                &body,
                signature_headers(signer, &body),
            )
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
    }

    app.until_version(event.id, 2).await;
    assert_eq!(
        app.copy_of(event.id).await,
        Some(("NEW".to_owned(), 2, "1.60".to_owned()))
    );
    let depth = app.broker.depth(&app.dead_letter_queue).await;
    assert_eq!(depth.ok(), Some(0));
    app.stop().await;
}

#[tokio::test]
async fn without_readable_verify_keys_the_service_does_not_start() {
    let keys = test_keys();
    for (files, expected) in [
        (
            vec![keys.verify_key_file.clone(), "/nonexistent.pub".into()],
            "No such file",
        ),
        (
            vec![keys.signing_key_file.clone()],
            "not an Ed25519 SPKI public PEM key",
        ),
    ] {
        let mut config = support::config(
            "postgres://127.0.0.1:9/none",
            "unused",
            "unused",
            "http://127.0.0.1:9",
        );
        config.verify_key_files = files;
        let error = bet_maker::app::start(config)
            .await
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            error.starts_with("LINE_EVENTS_VERIFY_KEY_FILES") && error.contains(expected),
            "{error}"
        );
    }
}
