//! Bets move money: placing one takes the stake from the bettor's wallet in
//! the same statement as the bet, settling pays the payout (or the refund)
//! into it, a stake the wallet does not cover writes nothing, and
//! concurrent stakes from one wallet never take it below zero. After each
//! test the books balance. Against the real app on a database of its own,
//! results arriving through the broker.

mod support;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{expect_json, expect_problem};
use support::{TestApp, assert_books_balance, message_for};
use uuid::Uuid;

use bet_maker::domain::{LineEvent, LineEventStatus};

/// `POST /bets` as `bettor`, with a key if given.
async fn bet_as(
    app: &TestApp,
    bettor: &str,
    event: &LineEvent,
    amount: &str,
    key: Option<&str>,
) -> Response {
    let mut request = app
        .request_as(bettor, Method::POST, "/bets")
        .json(&json!({ "event_id": event.id, "amount": amount }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /bets: {e}"))
}

async fn statement_of(app: &TestApp, bettor: &str) -> Vec<Value> {
    let page = app.get_json_as(bettor, "/wallet/transactions").await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of lines: {page}"))
        .clone()
}

/// (kind, amount, balance_after) of each line, newest first.
fn lines(statement: &[Value]) -> Vec<(String, String, String)> {
    statement
        .iter()
        .map(|line| {
            let text = |field: &str| line[field].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("amount"), text("balance_after"))
        })
        .collect()
}

/// Publishes the event's next version with `status`, as line-provider
/// would, and waits until bet-maker applied it.
async fn close(app: &TestApp, event: &LineEvent, status: LineEventStatus) {
    let closed = LineEvent {
        status,
        version: event.version + 1,
        ..event.clone()
    };
    let kind = if status == LineEventStatus::Cancelled {
        LineEventKind::Cancelled
    } else {
        LineEventKind::Finished
    };
    app.publish(&message_for(kind, &closed)).await;
    app.until_version(event.id, closed.version).await;
}

#[tokio::test]
async fn a_won_bet_takes_the_stake_then_pays_the_payout_and_the_statement_shows_both() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("1.85").await;
    app.deposit_as("alice", "100.00").await;

    let bet = expect_json(
        bet_as(&app, "alice", &event, "10.00", None).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.balance_of("alice").await, "90.00");
    close(&app, &event, LineEventStatus::FinishedWin).await;

    assert_eq!(app.balance_of("alice").await, "108.50");
    let statement = statement_of(&app, "alice").await;
    let expected = [
        ("PAYOUT", "18.50", "108.50"),
        ("STAKE", "-10.00", "90.00"),
        ("DEPOSIT", "100.00", "100.00"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, a, b)| ((*k).to_owned(), (*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(lines(&statement), expected, "{statement:?}");
    assert_eq!(statement[0]["bet_id"], bet["id"]);
    assert_eq!(statement[1]["bet_id"], bet["id"]);
    // A second bettor sees none of it.
    assert_eq!(app.balance_of("bob").await, "0.00");
    assert!(statement_of(&app, "bob").await.is_empty());
    let bobs_view = app
        .request_as(
            "bob",
            Method::GET,
            &format!("/bets/{}", bet["id"].as_str().unwrap_or_default()),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(bobs_view, StatusCode::NOT_FOUND).await;
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_lost_bet_keeps_the_stake_and_a_cancelled_one_refunds_it() {
    let app = TestApp::spawn_unfunded().await;
    let lost = app.open_event("1.85").await;
    let cancelled = app.open_event("3.00").await;
    app.deposit_as("alice", "50.00").await;
    for event in [&lost, &cancelled] {
        expect_json(
            bet_as(&app, "alice", event, "20.00", None).await,
            StatusCode::CREATED,
        )
        .await;
    }
    assert_eq!(app.balance_of("alice").await, "10.00");

    close(&app, &lost, LineEventStatus::FinishedLose).await;
    close(&app, &cancelled, LineEventStatus::Cancelled).await;

    assert_eq!(app.balance_of("alice").await, "30.00", "one stake back");
    let statement = statement_of(&app, "alice").await;
    assert_eq!(
        lines(&statement)[0],
        ("REFUND".to_owned(), "20.00".to_owned(), "30.00".to_owned()),
        "a loss adds no line; the void adds its refund: {statement:?}"
    );
    assert_eq!(statement.len(), 4, "deposit, two stakes, one refund");
    let house = app
        .count("SELECT sum(amount)::bigint FROM ledger_entries WHERE account = 'HOUSE_RESULT'")
        .await;
    assert_eq!(house, 20, "the lost stake is the house's");
    assert_books_balance(&app.db).await;
}

/// `line`'s id, if it is a UUIDv7 made within a second of now.
fn made_just_now_as_v7(line: &Value) -> Result<Uuid, String> {
    let id: Uuid = line["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| format!("no id: {line}"))?;
    if id.get_version_num() != 7 {
        return Err(format!("{id} is version {}", id.get_version_num()));
    }
    let (seconds, nanos) = id
        .get_timestamp()
        .map(|at| at.to_unix())
        .ok_or_else(|| format!("{id} has no timestamp"))?;
    let made = chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX), nanos)
        .ok_or_else(|| format!("{id}: no such time"))?;
    let age = chrono::Utc::now() - made;
    if age.num_milliseconds().abs() > 1_000 {
        return Err(format!("{id} was made at {made}, {age} from now"));
    }
    Ok(id)
}

#[tokio::test]
async fn settlement_lines_have_time_ordered_ids_as_every_other_line() {
    let app = TestApp::spawn_unfunded().await;
    let won = app.open_event("1.85").await;
    let cancelled = app.open_event("3.00").await;
    app.deposit_as("alice", "50.00").await;
    for event in [&won, &cancelled] {
        expect_json(
            bet_as(&app, "alice", event, "20.00", None).await,
            StatusCode::CREATED,
        )
        .await;
    }

    close(&app, &won, LineEventStatus::FinishedWin).await;
    close(&app, &cancelled, LineEventStatus::Cancelled).await;

    let statement = statement_of(&app, "alice").await;
    let kinds: Vec<_> = lines(&statement)
        .into_iter()
        .map(|(kind, ..)| kind)
        .collect();
    assert_eq!(kinds, ["REFUND", "PAYOUT", "STAKE", "STAKE", "DEPOSIT"]);
    for line in &statement {
        if let Err(why) = made_just_now_as_v7(line) {
            panic!("the {} line: {why}", line["kind"]);
        }
    }
    // The house's side of each settlement too: no line of the ledger is
    // anything but v7.
    let not_v7 = app
        .count("SELECT count(*) FROM ledger_entries WHERE substr(id::text, 15, 1) <> '7' OR substr(id::text, 20, 1) NOT IN ('8', '9', 'a', 'b')")
        .await;
    assert_eq!(
        not_v7, 0,
        "ledger lines that are not UUIDv7 (RFC 9562 variant)"
    );
    let house_lines = app
        .count("SELECT count(*) FROM ledger_entries WHERE bettor_id IS NULL")
        .await;
    assert!(
        house_lines >= 4,
        "the house's lines are counted: {house_lines}"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_stake_above_the_balance_is_409_saying_the_balance_and_writes_nothing() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("1.85").await;
    app.deposit_as("alice", "25.00").await;
    let written = "SELECT (SELECT count(*) FROM bets) + (SELECT count(*) FROM ledger_entries)";
    let before = app.count(written).await;

    let short = bet_as(&app, "alice", &event, "25.01", Some("k")).await;
    let no_wallet = bet_as(&app, "bob", &event, "0.01", None).await;

    let problem = expect_problem(short, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:betting:problem:insufficient-funds");
    assert_eq!(problem["balance"], "25.00", "{problem}");
    let problem = expect_problem(no_wallet, StatusCode::CONFLICT).await;
    assert_eq!(problem["balance"], "0.00", "{problem}");
    assert_eq!(app.count(written).await, before, "nothing written");
    assert_eq!(app.balance_of("alice").await, "25.00");
    // The key was not taken by the refusal: the same request, once it
    // fits, places the bet.
    app.deposit_as("alice", "0.01").await;
    expect_json(
        bet_as(&app, "alice", &event, "25.01", Some("k")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.balance_of("alice").await, "0.00");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn concurrent_stakes_beyond_the_balance_accept_exactly_those_that_fit() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("1.85").await;
    app.deposit_as("alice", "100.00").await;

    let requests: Vec<_> = (0..20)
        .map(|_| bet_as(&app, "alice", &event, "7.00", None))
        .collect();
    let mut statuses = Vec::new();
    for response in futures_util::future::join_all(requests).await {
        statuses.push(response.status());
    }

    let (accepted, refused) = support::created_and_conflicts(&statuses);
    assert_eq!((accepted, refused), (14, 6), "{statuses:?}");
    assert_eq!(app.balance_of("alice").await, "2.00");
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 14);
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_retried_bet_is_debited_once_even_after_its_event_closed() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("2.00").await;
    app.deposit_as("alice", "10.00").await;
    let first = expect_json(
        bet_as(&app, "alice", &event, "10.00", Some("once")).await,
        StatusCode::CREATED,
    )
    .await;
    close(&app, &event, LineEventStatus::FinishedWin).await;

    let retry = expect_json(
        bet_as(&app, "alice", &event, "10.00", Some("once")).await,
        StatusCode::CREATED,
    )
    .await;

    assert_eq!(retry, first, "the first response, as placed");
    assert_eq!(app.balance_of("alice").await, "20.00", "paid once");
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_transactions WHERE kind = 'STAKE'")
            .await,
        1
    );
    assert_books_balance(&app.db).await;
}
