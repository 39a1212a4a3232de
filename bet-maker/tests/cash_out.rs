//! Cash-out through the API: a quote by the formula, taken exactly once
//! however often (and however concurrently) it is sent, refused once any
//! open leg's event moved, is suspended or under way, or the quote expired;
//! a cashed-out bet is never settled again, and its events' exposure lets
//! go of it.

mod support;

use std::time::Duration;

use bet_maker::domain::{LineEvent, LineEventStatus};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{expect_json, expect_problem};
use support::{TestApp, assert_books_balance, message_for, staff_token};
use uuid::Uuid;

/// Publishes `event` changed by `change` as its next version, of `kind`,
/// and waits until bet-maker applied it; the new version.
async fn announce(
    app: &TestApp,
    kind: LineEventKind,
    event: &LineEvent,
    change: impl FnOnce(&mut LineEvent),
) -> LineEvent {
    let mut next = LineEvent {
        version: event.version + 1,
        ..event.clone()
    };
    change(&mut next);
    app.publish(&message_for(kind, &next)).await;
    app.until_version(event.id, next.version).await;
    next
}

async fn place(app: &TestApp, bettor: &str, body: Value) -> Value {
    let response = app
        .request_as(bettor, Method::POST, "/bets")
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /bets: {e}"));
    expect_json(response, StatusCode::CREATED).await
}

fn id_of(value: &Value, field: &str) -> Uuid {
    value[field]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{field} of {value}: {e}"))
}

async fn quote(app: &TestApp, bettor: &str, bet: Uuid) -> reqwest::Response {
    app.request_as(bettor, Method::POST, &format!("/bets/{bet}/cash-out/quote"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("quoting: {e}"))
}

async fn accept(app: &TestApp, bettor: &str, bet: Uuid, quote: Value) -> reqwest::Response {
    app.request_as(bettor, Method::POST, &format!("/bets/{bet}/cash-out"))
        .json(&json!({ "quote_id": quote }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("cashing out: {e}"))
}

async fn cash_out_lines(app: &TestApp, bet: Uuid) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM ledger_entries WHERE line = 'CASH_OUT' AND bet_id = '{bet}'"
    ))
    .await
}

async fn pending_on(app: &TestApp, event: &LineEvent) -> Value {
    let path = format!("/admin/events/{}/exposure", event.id);
    let response = app
        .anonymous(Method::GET, &path)
        .bearer_auth(staff_token("tess", "trader"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    expect_json(response, StatusCode::OK).await["pending_bets"].clone()
}

#[tokio::test]
async fn an_accumulator_with_a_leg_won_cashes_out_by_the_formula_once_and_never_settles_again() {
    let app = TestApp::spawn().await;
    let (first, second) = (app.open_event("1.85").await, app.open_event("2.10").await);
    let bet = place(
        &app,
        "alice",
        json!({"legs": [{"event_id": first.id}, {"event_id": second.id}], "amount": "10.00"}),
    )
    .await;
    let bet_id = id_of(&bet, "id");
    announce(&app, LineEventKind::Finished, &first, |e| {
        e.status = LineEventStatus::FinishedWin;
    })
    .await;
    let second = announce(&app, LineEventKind::Updated, &second, |e| {
        e.coefficient = "1.50".parse().unwrap_or_default();
    })
    .await;
    assert_eq!(pending_on(&app, &second).await, 1);

    // 10.00 × 1.85 × 2.10 / 1.50 × 0.95 = 24.605 → 24.60 (floored).
    let quoted = expect_json(quote(&app, "alice", bet_id).await, StatusCode::OK).await;
    assert_eq!(quoted["amount"], "24.60", "{quoted}");
    assert_eq!(quoted["bet_id"], bet_id.to_string(), "{quoted}");
    let taken = expect_json(
        accept(&app, "alice", bet_id, quoted["quote_id"].clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(taken["status"], "CASHED_OUT", "{taken}");
    assert_eq!(taken["payout"], "24.60", "{taken}");
    assert_eq!(app.balance_of("alice").await, "1014.60");
    assert_eq!(cash_out_lines(&app, bet_id).await, 1);
    assert_eq!(
        pending_on(&app, &second).await,
        0,
        "the bet no longer weighs on its open leg"
    );

    // Sent again: the same answer, paid once.
    let again = expect_json(
        accept(&app, "alice", bet_id, quoted["quote_id"].clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again, taken);
    let statement = app.get_json_as("alice", "/wallet/transactions").await;
    assert_eq!(statement["items"][0]["kind"], "CASH_OUT", "{statement}");
    assert_eq!(statement["items"][0]["amount"], "24.60", "{statement}");
    assert_eq!(
        statement["items"][0]["bet_id"],
        bet_id.to_string(),
        "{statement}"
    );

    // Its last leg loses: the leg shows it, the bet stays paid as it was.
    announce(&app, LineEventKind::Finished, &second, |e| {
        e.status = LineEventStatus::FinishedLose;
    })
    .await;
    let after = app.get_json_as("alice", &format!("/bets/{bet_id}")).await;
    assert_eq!(after["status"], "CASHED_OUT", "{after}");
    assert_eq!(after["payout"], "24.60", "{after}");
    assert_eq!(after["legs"][1]["status"], "LOST", "{after}");
    assert_eq!(app.balance_of("alice").await, "1014.60");
    assert_eq!(cash_out_lines(&app, bet_id).await, 1);
    assert_eq!(
        expect_problem(quote(&app, "alice", bet_id).await, StatusCode::CONFLICT).await["type"],
        "urn:betting:problem:bet-settled"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn twenty_concurrent_accepts_of_one_quote_pay_once() {
    let app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let bet = id_of(
        &place(
            &app,
            "bob",
            json!({"event_id": event.id, "amount": "10.00"}),
        )
        .await,
        "id",
    );
    // 10.00 × 2.00 / 2.00 × 0.95 = 9.50.
    let quoted = expect_json(quote(&app, "bob", bet).await, StatusCode::OK).await;
    assert_eq!(quoted["amount"], "9.50", "{quoted}");

    let answers =
        join_all((0..20).map(|_| accept(&app, "bob", bet, quoted["quote_id"].clone()))).await;
    for answer in answers {
        let taken = expect_json(answer, StatusCode::OK).await;
        assert_eq!(taken["status"], "CASHED_OUT", "{taken}");
        assert_eq!(taken["payout"], "9.50", "{taken}");
    }
    assert_eq!(cash_out_lines(&app, bet).await, 1, "one payment");
    assert_eq!(app.balance_of("bob").await, "999.50");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_quote_is_refused_once_its_leg_moved_or_is_suspended_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let bet = id_of(
        &place(
            &app,
            "carol",
            json!({"event_id": event.id, "amount": "10.00"}),
        )
        .await,
        "id",
    );
    let stale = expect_json(quote(&app, "carol", bet).await, StatusCode::OK).await;
    let event = announce(&app, LineEventKind::Updated, &event, |e| {
        e.coefficient = "2.20".parse().unwrap_or_default();
    })
    .await;
    let refused = expect_problem(
        accept(&app, "carol", bet, stale["quote_id"].clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        refused["type"], "urn:betting:problem:odds-changed",
        "{refused}"
    );
    assert_eq!(refused["event_id"], event.id.to_string(), "{refused}");
    assert_eq!(cash_out_lines(&app, bet).await, 0);
    assert_eq!(app.balance_of("carol").await, "990.00");

    // A new quote at the new odds: 10.00 × 2.00 / 2.20 × 0.95 = 8.636 → 8.63.
    let fresh = expect_json(quote(&app, "carol", bet).await, StatusCode::OK).await;
    assert_eq!(fresh["amount"], "8.63", "{fresh}");
    let event = announce(&app, LineEventKind::Suspended, &event, |e| {
        e.status = LineEventStatus::Suspended;
    })
    .await;
    let refused = expect_problem(
        accept(&app, "carol", bet, fresh["quote_id"].clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        refused["type"], "urn:betting:problem:event-suspended",
        "{refused}"
    );
    let refused = expect_problem(quote(&app, "carol", bet).await, StatusCode::CONFLICT).await;
    assert_eq!(
        refused["type"], "urn:betting:problem:event-suspended",
        "{refused}"
    );

    // Resumed, then decided before bet-maker settles anything else: no
    // cash-out at the pre-result price.
    let event = announce(&app, LineEventKind::Resumed, &event, |e| {
        e.status = LineEventStatus::New;
    })
    .await;
    let last = expect_json(quote(&app, "carol", bet).await, StatusCode::OK).await;
    announce(&app, LineEventKind::Finished, &event, |e| {
        e.status = LineEventStatus::FinishedLose;
    })
    .await;
    let refused = expect_problem(
        accept(&app, "carol", bet, last["quote_id"].clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        refused["type"], "urn:betting:problem:bet-settled",
        "{refused}"
    );
    let settled = app.get_json_as("carol", &format!("/bets/{bet}")).await;
    assert_eq!(settled["status"], "LOST", "{settled}");
    assert_eq!(cash_out_lines(&app, bet).await, 0);
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_quote_expires_and_belongs_to_its_bet_and_bettor() {
    let app = TestApp::spawn_with(|config| config.cash_out_quote_secs = 1).await;
    let event = app.open_event("3.00").await;
    let bet = id_of(
        &place(
            &app,
            "dave",
            json!({"event_id": event.id, "amount": "5.00"}),
        )
        .await,
        "id",
    );
    let other = id_of(
        &place(
            &app,
            "dave",
            json!({"event_id": event.id, "amount": "6.00"}),
        )
        .await,
        "id",
    );
    let quoted = expect_json(quote(&app, "dave", bet).await, StatusCode::OK).await;

    // Another bettor cannot even tell the bet exists.
    assert_eq!(
        quote(&app, "alice", bet).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        accept(&app, "alice", bet, quoted["quote_id"].clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // A quote of another bet, or none, is not this bet's.
    let wrong = expect_problem(
        accept(&app, "dave", other, quoted["quote_id"].clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "quote_id", "{wrong}");
    assert_eq!(
        accept(&app, "dave", bet, json!(Uuid::now_v7()))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = expect_problem(
        accept(&app, "dave", bet, quoted["quote_id"].clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        expired["type"], "urn:betting:problem:quote-expired",
        "{expired}"
    );
    assert_eq!(cash_out_lines(&app, bet).await, 0);
    assert_books_balance(&app.db).await;
}
