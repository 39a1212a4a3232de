//! line-provider corrects a result, against the real RabbitMQ and
//! PostgreSQL: every bet of the event is re-settled by compensating
//! `CORRECTION` lines, exactly once per bet and result version whatever
//! the broker redelivers, with the books balanced after each; a wallet a
//! correction took below zero takes no bet and no withdrawal until a
//! deposit covers it; and a correction line-provider did not sign, or
//! one that is not a correction, is dead-lettered like any forgery.

mod support;

use bet_maker::domain::{LineEvent, LineEventStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::contracts::{LineEventKind, LineEventMessage};
use shared_kernel::testing::expect_json;
use support::{TestApp, assert_books_balance, message_for};

fn next(event: &LineEvent, status: LineEventStatus) -> LineEvent {
    LineEvent {
        status,
        version: event.version + 1,
        ..event.clone()
    }
}

fn correction(event: &LineEvent) -> LineEventMessage {
    message_for(LineEventKind::Corrected, event).with_reason("the goal was offside")
}

/// The bet as its bettor sees it: (status, payout).
async fn outcome(app: &TestApp, bettor: &str, id: &str) -> (String, String) {
    let bet = app.get_json_as(bettor, &format!("/bets/{id}")).await;
    (
        bet["status"].as_str().unwrap_or_default().to_owned(),
        bet["payout"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn balance(app: &TestApp, bettor: &str) -> String {
    app.balance_of(bettor)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn each_correction_resettles_every_bet_once_and_the_books_balance_after_each() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let alice = expect_json(app.place_bet(event.id, "100.00").await, StatusCode::CREATED).await;
    let bob = expect_json(
        app.place_bet_as("bob", event.id, "50.00").await,
        StatusCode::CREATED,
    )
    .await;
    let (alice, bob) = (
        alice["id"].as_str().unwrap_or_default().to_owned(),
        bob["id"].as_str().unwrap_or_default().to_owned(),
    );
    let mut current = next(&event, LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &current))
        .await;
    app.until_version(event.id, current.version).await;
    assert_eq!(balance(&app, "alice").await, "1100.00");

    // (corrected to, alice's bet, alice's balance, bob's bet, bob's balance)
    let steps = [
        (
            LineEventStatus::FinishedLose,
            ("LOST", "0.00"),
            "900.00",
            ("LOST", "0.00"),
            "950.00",
        ),
        (
            LineEventStatus::FinishedWin,
            ("WON", "200.00"),
            "1100.00",
            ("WON", "100.00"),
            "1050.00",
        ),
        (
            LineEventStatus::Cancelled,
            ("VOID", "100.00"),
            "1000.00",
            ("VOID", "50.00"),
            "1000.00",
        ),
        (
            LineEventStatus::FinishedLose,
            ("LOST", "0.00"),
            "900.00",
            ("LOST", "0.00"),
            "950.00",
        ),
        (
            LineEventStatus::Cancelled,
            ("VOID", "100.00"),
            "1000.00",
            ("VOID", "50.00"),
            "1000.00",
        ),
        (
            LineEventStatus::FinishedWin,
            ("WON", "200.00"),
            "1100.00",
            ("WON", "100.00"),
            "1050.00",
        ),
    ];
    for (status, alice_bet, alice_balance, bob_bet, bob_balance) in steps {
        current = next(&current, status);
        let message = correction(&current);
        app.publish(&message).await;
        // The broker delivers it again, and line-provider's relay
        // publishes it again under another id: nothing more moves.
        app.publish(&message).await;
        app.publish(&correction(&current)).await;
        app.until_version(event.id, current.version).await;
        app.drain().await;

        assert_eq!(
            outcome(&app, "alice", &alice).await,
            (alice_bet.0.into(), alice_bet.1.into()),
            "{status:?}"
        );
        assert_eq!(
            outcome(&app, "bob", &bob).await,
            (bob_bet.0.into(), bob_bet.1.into()),
            "{status:?}"
        );
        assert_eq!(balance(&app, "alice").await, alice_balance, "{status:?}");
        assert_eq!(balance(&app, "bob").await, bob_balance, "{status:?}");
        assert_books_balance(&app.db).await;
    }
    // Six corrections, each moving both bets: one CORRECTION line each.
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries WHERE line = 'CORRECTION'")
            .await,
        12
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'CORRECTION'")
            .await,
        6
    );
    let statement = app.get_json("/wallet/transactions").await;
    assert_eq!(statement["items"][0]["kind"], "CORRECTION", "{statement}");
    assert_eq!(statement["items"][0]["amount"], "100.00", "{statement}");
    assert_eq!(app.dead_letter_depth().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_wallet_a_correction_took_below_zero_takes_no_bet_or_withdrawal_until_covered() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("3.00").await;
    expect_json(app.place_bet(event.id, "500.00").await, StatusCode::CREATED).await;
    let won = next(&event, LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &won))
        .await;
    app.until_version(event.id, won.version).await;
    assert_eq!(balance(&app, "alice").await, "2000.00");
    // alice takes her winnings out at once.
    let out = app
        .request(Method::POST, "/wallet/withdrawals")
        .json(&json!({ "amount": "2000.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_json(out, StatusCode::ACCEPTED).await;

    let lost = next(&won, LineEventStatus::FinishedLose);
    app.publish(&correction(&lost)).await;
    app.until_version(event.id, lost.version).await;
    app.drain().await;
    assert_eq!(balance(&app, "alice").await, "-1500.00");
    assert_books_balance(&app.db).await;

    let other = app.open_event("1.50").await;
    let refused = expect_json(app.place_bet(other.id, "1.00").await, StatusCode::CONFLICT).await;
    assert_eq!(
        refused["type"], "urn:betting:problem:negative-balance",
        "{refused}"
    );
    assert_eq!(refused["balance"], "-1500.00", "{refused}");
    let refused = app
        .request(Method::POST, "/wallet/withdrawals")
        .json(&json!({ "amount": "1.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refused: Value = expect_json(refused, StatusCode::CONFLICT).await;
    assert_eq!(
        refused["type"], "urn:betting:problem:negative-balance",
        "{refused}"
    );

    app.deposit_as("alice", "1510.00").await;
    assert_eq!(balance(&app, "alice").await, "10.00");
    expect_json(app.place_bet(other.id, "10.00").await, StatusCode::CREATED).await;
    assert_books_balance(&app.db).await;
    app.stop().await;
}

#[tokio::test]
async fn a_correction_line_provider_did_not_sign_or_that_corrects_nothing_is_dead_lettered() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let bet = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    let won = next(&event, LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &won))
        .await;
    app.until_version(event.id, won.version).await;

    let lost = next(&won, LineEventStatus::FinishedLose);
    let unsigned = serde_json::to_vec(&correction(&lost)).unwrap_or_default();
    app.broker
        .publish_with_headers(
            "event.corrected",
            &unsigned,
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Signed, but a "correction" back to an open event is none.
    app.publish(&correction(&next(&won, LineEventStatus::New)))
        .await;
    // Signed, but a result changed without a correction.
    app.publish(&message_for(LineEventKind::Finished, &lost))
        .await;

    let dead = app.take_dead_letters(3).await;
    let labels: Vec<&str> = dead.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        labels,
        ["unsigned", "kind_mismatch", "final_status_changed"],
        "{dead:?}"
    );
    assert_eq!(
        app.copy_of(event.id).await.map(|(s, v, _)| (s, v)),
        Some(("FINISHED_WIN".into(), 2))
    );
    let id = bet["id"].as_str().unwrap_or_default();
    assert_eq!(
        outcome(&app, "alice", id).await,
        ("WON".into(), "20.00".into())
    );
    assert_books_balance(&app.db).await;
    app.stop().await;
}
