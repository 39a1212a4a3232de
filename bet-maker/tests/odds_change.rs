//! Odds-change protection on `POST /bets`, against the real PostgreSQL: a
//! bettor who sends the coefficient they saw is held to no other one they
//! did not accept (`accept_odds_change`: `none`, the default; `higher`;
//! `any`); a refused bet is 409 `odds-changed` naming the current
//! coefficient and writes nothing.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{expect_json, expect_problem};
use support::TestApp;
use uuid::Uuid;

async fn bet(app: &TestApp, body: Value) -> reqwest::Response {
    app.request(Method::POST, "/bets")
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /bets: {e}"))
}

fn slip(event: Uuid, coefficient: &str, accept: Option<&str>) -> Value {
    let mut body = json!({ "event_id": event, "amount": "10.00", "coefficient": coefficient });
    if let Some(accept) = accept {
        body["accept_odds_change"] = json!(accept);
    }
    body
}

#[tokio::test]
async fn the_coefficient_seen_or_an_accepted_change_places_the_bet_at_the_current_one() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let accepted = [
        slip(event.id, "1.85", None),
        slip(event.id, "1.85", Some("none")),
        slip(event.id, "1.8", Some("higher")),
        slip(event.id, "2.50", Some("any")),
        // Without a coefficient the bet takes the current one, as always.
        json!({ "event_id": event.id, "amount": "10.00", "accept_odds_change": "none" }),
    ];
    for body in accepted {
        let placed = expect_json(bet(&app, body.clone()).await, StatusCode::CREATED).await;
        assert_eq!(placed["coefficient"], "1.85", "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_change_the_bettor_did_not_accept_is_409_odds_changed_and_writes_nothing() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let refused = [
        slip(event.id, "1.90", None),
        slip(event.id, "1.80", Some("none")),
        slip(event.id, "1.90", Some("higher")),
    ];
    for body in refused {
        let problem = expect_problem(bet(&app, body.clone()).await, StatusCode::CONFLICT).await;
        assert_eq!(
            problem["type"], "urn:betting:problem:odds-changed",
            "{body}: {problem}"
        );
        assert_eq!(problem["current_coefficient"], "1.85", "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("1.85"), "{problem}");
    }
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_coefficient_no_event_can_have_is_422_naming_it() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    for coefficient in ["1.00", "0", "-2", "1000.01", "1.855"] {
        let problem = expect_problem(
            bet(&app, slip(event.id, coefficient, None)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["coefficient"], "{coefficient}: {problem}");
    }
    let unknown = json!({ "event_id": event.id, "amount": "1.00", "accept_odds_change": "lower" });
    let status = bet(&app, unknown).await.status();
    assert!(status.is_client_error(), "{status}");
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_reused_with_other_odds_is_422() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let send = |body: Value| {
        app.request(Method::POST, "/bets")
            .header("Idempotency-Key", "odds-key")
            .json(&body)
            .send()
    };
    let first = expect_json(
        send(slip(event.id, "1.85", None))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CREATED,
    )
    .await;
    let again = expect_json(
        send(slip(event.id, "1.85", None))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["id"], first["id"], "the same body replays");
    expect_problem(
        send(slip(event.id, "1.85", Some("any")))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 1);
    app.stop().await;
}
