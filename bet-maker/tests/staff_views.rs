//! The staff's read-only views behind the back office, against the real
//! PostgreSQL and RabbitMQ: every open event's exposure
//! (`GET /admin/exposure`) and the dead-letter queue's depth and latest
//! reasons (`GET /admin/dead-letters`), each for traders only.

mod support;

use bet_maker::application::ports::{DeadLetterLog, DeadLetterRecord};
use bet_maker::domain::LineEventStatus;
use bet_maker::infrastructure::persistence::{KEPT_DEAD_LETTERS, SqlDeadLetterLog};
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{PATIENCE, eventually, expect_json, expect_problem};
use support::{TestApp, line_event, staff_token};
use uuid::Uuid;

/// `GET path` with `token`, and the response.
async fn get_with(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let request = app.anonymous(Method::GET, path);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET path` as a trader, expecting 200; its JSON.
async fn as_trader(app: &TestApp, path: &str) -> Value {
    let response = get_with(app, path, Some(&staff_token("tess", "trader"))).await;
    expect_json(response, StatusCode::OK).await
}

/// The row of `event_id` in a page of exposures.
fn row(page: &Value, event_id: Uuid) -> &Value {
    page["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|item| item["event_id"] == event_id.to_string())
        })
        .unwrap_or_else(|| panic!("no row of {event_id} in {page}"))
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["event_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_open_event_is_listed_newest_first_with_its_exposure_and_the_maximum_that_applies() {
    let app = TestApp::spawn().await;
    let older = app.open_event("2.50").await;
    let suspended = line_event(
        "1.40",
        Utc::now() + Duration::hours(2),
        LineEventStatus::Suspended,
        1,
    );
    app.seed_event(&suspended).await;
    let finished = line_event(
        "3.00",
        Utc::now() + Duration::hours(1),
        LineEventStatus::FinishedWin,
        1,
    );
    app.seed_event(&finished).await;
    for (bettor, amount) in [("alice", "10.00"), ("bob", "30.00")] {
        let placed = app.place_bet_as(bettor, older.id, amount).await;
        assert_eq!(placed.status(), StatusCode::CREATED, "{bettor}'s bet");
    }
    let limited = app
        .anonymous(
            Method::PUT,
            &format!("/admin/events/{}/limits", suspended.id),
        )
        .bearer_auth(staff_token("tess", "trader"))
        .json(&json!({ "max_liability": "150.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT limits: {e}"));
    assert_eq!(limited.status(), StatusCode::OK);

    let page = as_trader(&app, "/admin/exposure").await;

    assert_eq!(
        ids(&page),
        [suspended.id.to_string(), older.id.to_string()],
        "open events only (not the finished one), newest first: {page}"
    );
    assert_eq!(page["next_cursor"], Value::Null);
    let betted = row(&page, older.id);
    assert_eq!(betted["status"], "NEW");
    assert_eq!(betted["coefficient"], "2.50");
    assert_eq!(betted["pending_bets"], 2);
    assert_eq!(betted["stakes"], "40.00");
    assert_eq!(betted["potential_payout"], "100.00");
    assert_eq!(betted["liability"], "60.00");
    assert_eq!(betted["max_liability"], support::MAX_LIABILITY_PER_EVENT);
    assert_eq!(betted["max_liability_set"], false);
    let quiet = row(&page, suspended.id);
    assert_eq!(quiet["status"], "SUSPENDED");
    assert_eq!(quiet["pending_bets"], 0);
    assert_eq!(quiet["liability"], "0.00");
    assert_eq!(quiet["max_liability"], "150.00");
    assert_eq!(quiet["max_liability_set"], true);
    // The same figures as the one event's own exposure.
    let own = as_trader(&app, &format!("/admin/events/{}/exposure", older.id)).await;
    for field in [
        "pending_bets",
        "stakes",
        "potential_payout",
        "liability",
        "max_liability",
    ] {
        assert_eq!(betted[field], own[field], "{field}");
    }
}

#[tokio::test]
async fn the_exposure_list_comes_a_page_at_a_time() {
    let app = TestApp::spawn_unfunded().await;
    let mut opened = Vec::new();
    for _ in 0..3 {
        opened.push(app.open_event("1.90").await.id.to_string());
    }
    opened.reverse();

    let first = as_trader(&app, "/admin/exposure?limit=2").await;
    let cursor = first["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a next page after {first}"));
    let second = as_trader(&app, &format!("/admin/exposure?limit=2&cursor={cursor}")).await;

    assert_eq!(ids(&first), opened[..2]);
    assert_eq!(ids(&second), opened[2..]);
    assert_eq!(second["next_cursor"], Value::Null);
    let bad = get_with(
        &app,
        "/admin/exposure?limit=0&cursor=nope",
        Some(&staff_token("tess", "trader")),
    )
    .await;
    let problem = expect_problem(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        problem["errors"].as_array().map(Vec::len),
        Some(2),
        "{problem}"
    );
}

#[tokio::test]
async fn the_staff_views_are_for_traders_only() {
    let app = TestApp::spawn_unfunded().await;

    for path in ["/admin/exposure", "/admin/dead-letters"] {
        let none = get_with(&app, path, None).await;
        let problem = expect_problem(none, StatusCode::UNAUTHORIZED).await;
        assert_eq!(problem["status"], 401, "{path}");

        let bettor = get_with(&app, path, Some(&support::token_for("alice"))).await;
        let problem = expect_problem(bettor, StatusCode::FORBIDDEN).await;
        assert_eq!(
            problem["detail"], "this call is for staff: the token's scope must grant trader",
            "{path}"
        );

        let cashier = get_with(&app, path, Some(&staff_token("cleo", "cashier"))).await;
        expect_problem(cashier, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn the_dead_letter_view_shows_the_depth_read_and_why_bet_maker_dead_lettered_the_latest() {
    let app = TestApp::spawn_unfunded().await;
    // The watch reads the depth every 100 ms in tests.
    let empty = eventually("the first reading of the depth", PATIENCE, || async {
        let view = as_trader(&app, "/admin/dead-letters").await;
        (view["depth"] == 0).then_some(view)
    })
    .await;
    assert_eq!(empty["max_length"], 1_000, "{empty}");
    assert!(empty["read_at"].is_string(), "{empty}");
    assert_eq!(empty["latest"], json!([]), "{empty}");

    app.publish_raw("event.created", b"not json").await;
    app.publish_raw("event.finished", b"{}").await;

    let view = eventually(
        "two dead letters counted and recorded",
        PATIENCE,
        || async {
            let view = as_trader(&app, "/admin/dead-letters").await;
            let recorded = view["latest"].as_array().map_or(0, Vec::len);
            (view["depth"] == 2 && recorded == 2).then_some(view)
        },
    )
    .await;
    let latest = &view["latest"];
    assert_eq!(
        latest[0]["routing_key"], "event.finished",
        "newest first: {view}"
    );
    assert_eq!(latest[1]["routing_key"], "event.created", "{view}");
    for letter in latest.as_array().into_iter().flatten() {
        assert_eq!(letter["label"], "malformed", "{letter}");
        assert!(
            letter["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty()),
            "{letter}"
        );
        assert!(letter["at"].is_string(), "{letter}");
    }
    // What the queue holds says the same.
    let taken = app.take_dead_letters(2).await;
    let reasons: Vec<&str> = taken.iter().map(|(_, reason)| reason.as_str()).collect();
    assert!(
        reasons.contains(&latest[0]["reason"].as_str().unwrap_or_default()),
        "{reasons:?} against {view}"
    );
}

#[tokio::test]
async fn the_log_keeps_only_the_latest_records() {
    let app = TestApp::spawn_unfunded().await;
    let log = SqlDeadLetterLog::new(&app.db.connection);
    let extra = 5;
    let mut last = Uuid::nil();
    for n in 0..KEPT_DEAD_LETTERS + extra {
        last = Uuid::now_v7();
        let record = DeadLetterRecord {
            id: last,
            label: "malformed".to_owned(),
            reason: format!("number {n}"),
            routing_key: "event.created".to_owned(),
            message_id: None,
            dead_lettered_at: Utc::now(),
        };
        log.record(&record)
            .await
            .unwrap_or_else(|e| panic!("recording {n}: {e}"));
    }

    let kept = app.count("SELECT count(*) FROM dead_letter_records").await;
    let latest = log
        .latest(3)
        .await
        .unwrap_or_else(|e| panic!("reading: {e}"));

    assert!(
        (KEPT_DEAD_LETTERS..=KEPT_DEAD_LETTERS + 1).contains(&kept),
        "{kept} kept"
    );
    assert_eq!(latest.len(), 3);
    assert_eq!(latest[0].id, last, "the newest first");
    assert_eq!(
        latest[0].reason,
        format!("number {}", KEPT_DEAD_LETTERS + extra - 1)
    );
}
