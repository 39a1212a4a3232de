//! The house's risk through the API: liability per event under
//! concurrency, the traders' limits, the max-stake quote, and a whale whose
//! winnings pass what the old NUMERIC(16, 2) columns held.

mod support;

use bet_maker::domain::{
    BetSum, LineEvent, LineEventStatus, Price, RiskLimits, StakeRoom, max_stake, potential_payout,
};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{expect_json, expect_problem};
use support::{TestApp, assert_books_balance, message_for, staff_token};

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{value}: {e}"))
}

async fn put_as_trader(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.anonymous(Method::PUT, path)
        .bearer_auth(staff_token("tess", "trader"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {path}: {e}"))
}

async fn exposure(app: &TestApp, event: &LineEvent) -> Value {
    let path = format!("/admin/events/{}/exposure", event.id);
    let response = app
        .anonymous(Method::GET, &path)
        .bearer_auth(staff_token("tess", "trader"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    expect_json(response, StatusCode::OK).await
}

/// Publishes the event's next version with `status` and waits until
/// bet-maker applied it.
async fn finish(app: &TestApp, event: &LineEvent, status: LineEventStatus) {
    let finished = LineEvent {
        status,
        version: event.version + 1,
        ..event.clone()
    };
    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;
    app.until_version(event.id, finished.version).await;
}

#[tokio::test]
async fn fifty_concurrent_bets_against_a_limit_of_100_take_exactly_what_fits() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let limits = put_as_trader(
        &app,
        &format!("/admin/events/{}/limits", event.id),
        json!({ "max_liability": "100.00", "reason": "thin market" }),
    )
    .await;
    let limits = expect_json(limits, StatusCode::OK).await;
    assert_eq!(limits["max_liability"], "100.00", "{limits}");
    assert_eq!(limits["max_liability_set"], true, "{limits}");

    let bettors = support::FUNDED;
    let responses = join_all((0..50).map(|n| {
        let app = &app;
        async move {
            app.place_bet_as(bettors[n % bettors.len()], event.id, "10.00")
                .await
        }
    }))
    .await;

    // Each bet of 10.00 at 1.85 would pay 18.50: 8.50 of liability. 11
    // fit in 100.00 (93.50); the 6.50 left takes at most 7.65
    // (round(7.65 × 1.85) − 7.65 = 6.50; 7.66 would add 6.51).
    let amount =
        BetSum::new(Decimal::new(1000, 2), Decimal::new(1000, 2)).unwrap_or_else(|e| panic!("{e}"));
    let price = Price::of([event.coefficient]);
    let net = potential_payout(amount, &price) - amount.value();
    let fits = (Decimal::new(10_000, 2) / net).floor();
    assert_eq!(fits, Decimal::from(11));
    let mut placed = 0;
    let mut refusals = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::CREATED => placed += 1,
            _ => refusals.push(expect_problem(response, StatusCode::CONFLICT).await),
        }
    }
    assert_eq!(Decimal::from(placed), fits);
    let room = StakeRoom {
        balance: Decimal::new(100_000, 2),
        house_max_stake: Decimal::new(100_000_000, 2),
        limits: RiskLimits {
            bettor_max_stake: None,
            max_payout: Decimal::new(1_000_000_000, 2),
            liability: net * fits,
            max_liability: Decimal::new(10_000, 2),
        },
    };
    let quoted = max_stake(&price, &room);
    assert_eq!(quoted.to_string(), "7.65");
    for problem in &refusals {
        assert_eq!(
            problem["type"], "urn:betting:problem:liability-limit",
            "{problem}"
        );
        assert_eq!(problem["max_stake"], quoted.to_string(), "{problem}");
    }
    let found = exposure(&app, &event).await;
    assert_eq!(found["pending_bets"], 11, "{found}");
    assert_eq!(found["stakes"], "110.00", "{found}");
    assert_eq!(found["potential_payout"], "203.50", "{found}");
    assert_eq!(found["liability"], "93.50", "{found}");
    let stored = app
        .count(&format!(
            "SELECT count(*) FROM bets JOIN bet_legs l ON l.bet_id = bets.id \
             WHERE l.event_id = '{}' AND bets.status = 'PENDING'",
            event.id
        ))
        .await;
    assert_eq!(stored, 11);
    let quote = app
        .get_json(&format!("/events/{}/max-stake", event.id))
        .await;
    assert_eq!(quote["max_stake"], "7.65", "{quote}");
    // issue 23: an accumulator will count against each of its legs' rows.

    finish(&app, &event, LineEventStatus::FinishedLose).await;
    let released = exposure(&app, &event).await;
    assert_eq!(released["pending_bets"], 0, "{released}");
    assert_eq!(released["liability"], "0.00", "{released}");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_bettor_cap_and_the_payout_cap_refuse_a_bet_whole_with_the_largest_stake() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1000.00").await;
    let capped = put_as_trader(
        &app,
        "/admin/bettors/alice/limits",
        json!({ "max_stake": "5.00" }),
    )
    .await;
    let capped = expect_json(capped, StatusCode::OK).await;
    assert_eq!(capped["max_stake"], "5.00", "{capped}");

    let over_cap = app.place_bet_as("alice", event.id, "5.01").await;
    let problem = expect_problem(over_cap, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:stake-limit",
        "{problem}"
    );
    assert_eq!(problem["max_stake"], "5.00", "{problem}");
    let quote = app
        .get_json_as("alice", &format!("/events/{}/max-stake", event.id))
        .await;
    assert_eq!(quote["max_stake"], "5.00", "{quote}");
    assert_eq!(quote["bettor_max_stake"], "5.00", "{quote}");

    // 1000.00 at 1000.00 pays 1,000,000.00: within the payout cap of
    // 10,000,000.00 but the liability (999,000.00) fits 1,000,000.00; bob
    // has only 1000.00, so his largest stake is his balance.
    let quote = app
        .get_json_as("bob", &format!("/events/{}/max-stake", event.id))
        .await;
    assert_eq!(quote["max_stake"], "1000.00", "{quote}");
    assert_eq!(quote["bettor_max_stake"], Value::Null, "{quote}");

    let removed = put_as_trader(
        &app,
        "/admin/bettors/alice/limits",
        json!({ "max_stake": null }),
    )
    .await;
    assert_eq!(
        expect_json(removed, StatusCode::OK).await["max_stake"],
        Value::Null
    );
    let placed = app.place_bet_as("alice", event.id, "5.01").await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    let audit = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'bettor.limits' AND subject = 'bettor:alice'")
        .await;
    assert_eq!(audit, 2);
}

#[tokio::test]
async fn the_payout_cap_refuses_a_bet_that_would_pay_more() {
    let app = TestApp::spawn_with(|config| {
        config.max_payout = Decimal::new(100_000, 2);
    })
    .await;
    let event = app.open_event("3.00").await;

    let response = app.place_bet_as("alice", event.id, "333.34").await;

    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:payout-limit",
        "{problem}"
    );
    assert_eq!(problem["max_stake"], "333.33", "{problem}");
    assert_eq!(app.balance_of("alice").await, "1000.00");
    let placed = app.place_bet_as("alice", event.id, "333.33").await;
    assert_eq!(placed.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_risk_calls_are_for_traders_and_know_their_events() {
    let app = TestApp::spawn().await;
    let event = app.open_event("2.00").await;
    let unknown = uuid::Uuid::now_v7();

    let as_bettor = app
        .request(Method::GET, &format!("/admin/events/{}/exposure", event.id))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(as_bettor, StatusCode::FORBIDDEN).await;
    let as_cashier = app
        .anonymous(Method::PUT, "/admin/bettors/alice/limits")
        .bearer_auth(staff_token("cass", "cashier"))
        .json(&json!({ "max_stake": "1.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(as_cashier, StatusCode::FORBIDDEN).await;
    let response = put_as_trader(
        &app,
        &format!("/admin/events/{unknown}/limits"),
        json!({ "max_liability": "1.00" }),
    )
    .await;
    expect_problem(response, StatusCode::NOT_FOUND).await;
    let response = put_as_trader(
        &app,
        &format!("/admin/events/{}/limits", event.id),
        json!({ "max_liability": "-1.00" }),
    )
    .await;
    expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let quote = app
        .request(Method::GET, &format!("/events/{unknown}/max-stake"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(quote, StatusCode::NOT_FOUND).await;
    let found = exposure(&app, &event).await;
    assert_eq!(found["max_liability"], "1000000.00", "the default: {found}");
    assert_eq!(found["max_liability_set"], false, "{found}");

    finish(&app, &event, LineEventStatus::FinishedWin).await;
    let closed = app
        .request(Method::GET, &format!("/events/{}/max-stake", event.id))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let problem = expect_problem(closed, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:event-closed",
        "{problem}"
    );
}

/// 11 maximal bets at 1000.00 win 110,000,000,000,000.00: past the
/// 99,999,999,999,999.99 NUMERIC(16, 2) held. The event settles whole.
#[tokio::test]
async fn a_whale_winning_past_the_old_columns_is_settled_exactly() {
    let stake = Decimal::new(1_000_000_000_000, 2); // 10,000,000,000.00
    let app = TestApp::spawn_unfunded_with(|config| {
        config.max_stake = stake;
        config.max_payout = Decimal::new(1_000_000_000_000_000, 2);
        config.max_liability_per_event = Decimal::new(100_000_000_000_000_000, 2);
    })
    .await;
    let event = app.open_event("1000.00").await;
    // A deposit is at most BET_MAKER_MAX_STAKE: one per bet.
    for _ in 0..11 {
        app.deposit_as("moby", &stake.to_string()).await;
    }

    for _ in 0..11 {
        let response = app.place_bet_as("moby", event.id, &stake.to_string()).await;
        expect_json(response, StatusCode::CREATED).await;
    }
    finish(&app, &event, LineEventStatus::FinishedWin).await;

    let bets = app.get_json_as("moby", "/bets?limit=50").await;
    let items = bets["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 11);
    for bet in &items {
        assert_eq!(bet["status"], "WON", "{bet}");
        assert_eq!(bet["payout"], "10000000000000.00", "{bet}");
    }
    let balance = decimal(&app.balance_of("moby").await);
    assert_eq!(balance, Decimal::new(11_000_000_000_000_000, 2));
    assert!(balance > Decimal::new(9_999_999_999_999_999, 2));
    assert_books_balance(&app.db).await;
    let ledger = app
        .count("SELECT count(*) FROM (SELECT 1 FROM ledger_entries HAVING sum(amount) <> 0) AS t")
        .await;
    assert_eq!(ledger, 0, "the ledger sums to zero");
    let dead = app
        .broker
        .depth(&app.dead_letter_queue)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead, 0, "nothing dead-lettered");
}
