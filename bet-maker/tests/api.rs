//! bet-maker's HTTP API, endpoint by endpoint and status by status, against
//! the real app on a database and an exchange of its own.
//!
//! Events reach bet-maker's copy of the line through `seed_event`, the same
//! store (and settlement code) the consumer uses, so these tests need no
//! broker traffic; consumer.rs covers the messages themselves.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bet_maker::domain::{LineEvent, LineEventStatus};
use chrono::{DateTime, SubsecRound, Utc};
use futures_util::future::join_all;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};
use shared_kernel::http::NOT_A_UUID;
use shared_kernel::testing::{
    assert_names_field, eventually, expect_json, expect_problem, field_names, header,
    hours_from_now, send,
};
use support::{TestApp, line_event};
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

fn timestamp(value: &Value, field: &str) -> DateTime<Utc> {
    value[field]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("`{field}` is not an RFC 3339 timestamp: {value}"))
}

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no `id`: {value}"))
        .to_owned()
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page without `items`: {page}"))
}

fn ids(page: &Value) -> Vec<String> {
    items(page).iter().map(id_of).collect()
}

async fn bets_written(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM bets").await
}

/// `POST /bets` with any JSON body.
fn bet_request(app: &TestApp, body: &Value) -> RequestBuilder {
    app.request(Method::POST, "/bets").json(body)
}

/// Places a bet that must be accepted, and returns it.
async fn place(app: &TestApp, event_id: Uuid, amount: &str) -> Value {
    expect_json(app.place_bet(event_id, amount).await, StatusCode::CREATED).await
}

/// `POST /bets` with an `Idempotency-Key`.
async fn place_with_key(app: &TestApp, key: &str, event_id: Uuid, amount: &str) -> Response {
    send(
        bet_request(app, &json!({ "event_id": event_id, "amount": amount }))
            .header("idempotency-key", key),
    )
    .await
}

/// Announces the event's result the way a newer message would: the same
/// event at the next version, finished. Returns the event as it now is.
async fn finish(app: &TestApp, event: &LineEvent, result: LineEventStatus) -> LineEvent {
    let finished = LineEvent {
        status: result,
        version: event.version + 1,
        ..event.clone()
    };
    app.seed_event(&finished).await;
    finished
}

async fn get_bet(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/bets/{id}")).await
}

async fn get(app: &TestApp, path: &str) -> Response {
    send(app.request(Method::GET, path)).await
}

/// Follows `next_cursor` from `first` (a path with a query that sets
/// `limit`) to the last page; the ids seen, in order, and the page count.
async fn walk(app: &TestApp, first: &str, limit: usize, max_pages: usize) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut path = first.to_owned();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(
            pages <= max_pages,
            "more than {max_pages} pages from {first}"
        );
        let page = app.get_json(&path).await;
        assert!(
            items(&page).len() <= limit,
            "a page longer than limit: {page}"
        );
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                return (seen, pages);
            }
        }
    }
}

// ------------------------------------------------------------- GET /events

#[tokio::test]
async fn only_events_that_are_new_and_before_their_deadline_are_listed() {
    let app = TestApp::spawn().await;
    let open = app.open_event("1.85").await;
    let past_deadline = line_event("2.00", hours_from_now(-1), LineEventStatus::New, 1);
    let won = line_event("2.50", hours_from_now(1), LineEventStatus::FinishedWin, 2);
    let lost = line_event("3.00", hours_from_now(1), LineEventStatus::FinishedLose, 2);
    let cancelled = line_event("3.50", hours_from_now(1), LineEventStatus::Cancelled, 2);
    for event in [&past_deadline, &won, &lost, &cancelled] {
        app.seed_event(event).await;
    }

    let page = app.get_json("/events").await;

    assert_eq!(ids(&page), [open.id.to_string()], "{page}");
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[tokio::test]
async fn an_open_event_is_listed_with_its_coefficient_as_a_two_decimal_string() {
    let app = TestApp::spawn().await;
    let deadline = hours_from_now(3);
    let event = line_event("1.5", deadline, LineEventStatus::New, 1);
    app.seed_event(&event).await;

    let page = app.get_json("/events").await;

    let listed = &items(&page)[0];
    assert_eq!(listed["id"], event.id.to_string(), "{page}");
    assert_eq!(listed["coefficient"], "1.50", "{page}");
    assert_eq!(timestamp(listed, "deadline"), deadline, "{page}");
}

// A page of open events is written once and sent again while it holds:
// these are the ways it stops holding.

#[tokio::test]
async fn an_event_whose_deadline_passes_leaves_a_page_sent_again_at_once() {
    let app = TestApp::spawn().await;
    let closing = line_event(
        "1.85",
        Utc::now() + chrono::Duration::milliseconds(1500),
        LineEventStatus::New,
        1,
    );
    let staying = line_event("2.00", hours_from_now(3), LineEventStatus::New, 1);
    app.seed_event(&closing).await;
    app.seed_event(&staying).await;
    let mut both = [closing.id.to_string(), staying.id.to_string()];
    both.sort();
    // Written, then sent again: the same page.
    for _ in 0..3 {
        assert_eq!(ids(&app.get_json("/events").await), both);
    }

    let passed = (closing.deadline - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(passed + Duration::from_millis(20)).await;

    // No notification says so: the page's own earliest deadline does.
    let page = app.get_json("/events").await;
    assert_eq!(ids(&page), [staying.id.to_string()], "{page}");
}

#[tokio::test]
async fn a_change_to_the_line_reaches_a_page_sent_again_as_soon_as_it_is_heard() {
    let app = TestApp::spawn().await;
    let event = line_event("1.85", hours_from_now(3), LineEventStatus::New, 1);
    app.seed_event(&event).await;
    for _ in 0..3 {
        assert_eq!(
            items(&app.get_json("/events").await)[0]["coefficient"],
            "1.85"
        );
    }

    // Written to the database as another replica's consumer would: this
    // replica hears of it by the trigger's notification, well within the
    // time it trusts a list it has heard nothing about (5 s).
    let moved = LineEvent {
        coefficient: "2.40".parse().unwrap_or_else(|e| panic!("{e}")),
        version: 2,
        ..event.clone()
    };
    app.seed_event(&moved).await;

    eventually(
        "the new coefficient on GET /events",
        Duration::from_secs(2),
        || async {
            let page = app.get_json("/events").await;
            (items(&page)[0]["coefficient"] == "2.40").then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn an_empty_line_lists_no_events() {
    let app = TestApp::spawn().await;

    let page = app.get_json("/events").await;

    assert_eq!(page, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn following_next_cursor_visits_every_open_event_once_in_id_order() {
    let app = TestApp::spawn().await;
    let mut open = Vec::new();
    for round in 0..5 {
        open.push(app.open_event("1.85").await.id.to_string());
        // Closed events in between, which no page may show.
        let status = if round % 2 == 0 {
            LineEventStatus::FinishedWin
        } else {
            LineEventStatus::New
        };
        let deadline = if status == LineEventStatus::New {
            hours_from_now(-1)
        } else {
            hours_from_now(1)
        };
        app.seed_event(&line_event("2.00", deadline, status, 2))
            .await;
    }
    open.sort();

    let (seen, pages) = walk(&app, "/events?limit=2", 2, 3).await;

    assert_eq!(pages, 3, "5 open events at 2 a page");
    assert_eq!(seen, open, "every open event once, in id order");
}

async fn assert_bad_parameter(path: &str, field: &str) {
    let app = TestApp::spawn().await;

    let response = get(&app, path).await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    assert_names_field(&problem, field);
}

/// The parameter named, with exactly what a client should send instead.
fn assert_says(problem: &Value, field: &str, message: &str) {
    let said = problem["errors"].as_array().is_some_and(|errors| {
        errors
            .iter()
            .any(|error| error["field"] == field && error["message"] == message)
    });
    assert!(said, "`{field}` should be said to {message:?}: {problem}");
}

#[tokio::test]
async fn listing_events_with_a_limit_of_zero_is_400_naming_limit() {
    assert_bad_parameter("/events?limit=0", "limit").await;
}

#[tokio::test]
async fn listing_events_with_a_limit_above_500_is_400_naming_limit() {
    assert_bad_parameter("/events?limit=501", "limit").await;
}

#[tokio::test]
async fn listing_events_with_a_limit_that_is_not_a_number_is_400_naming_limit() {
    assert_bad_parameter("/events?limit=ten", "limit").await;
}

#[tokio::test]
async fn listing_events_with_a_cursor_this_api_never_returned_is_400_naming_cursor() {
    assert_bad_parameter("/events?cursor=garbage", "cursor").await;
}

// -------------------------------------------------------------- POST /bets

#[tokio::test]
async fn placing_a_bet_returns_201_with_the_pending_bet_and_its_location() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let before = Utc::now().trunc_subsecs(6);

    let response = app.place_bet(event.id, "10.50").await;

    let location = header(&response, LOCATION);
    let bet = expect_json(response, StatusCode::CREATED).await;
    let after = Utc::now();
    let id = Uuid::parse_str(&id_of(&bet)).unwrap_or_else(|e| panic!("id not a UUID: {e}"));
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7: {bet}");
    assert_eq!(location, format!("/bets/{id}"));
    assert_eq!(bet["event_id"], event.id.to_string(), "{bet}");
    assert_eq!(bet["amount"], "10.50", "{bet}");
    assert_eq!(bet["coefficient"], "1.85", "the event's coefficient: {bet}");
    assert_eq!(bet["status"], "PENDING", "{bet}");
    assert!(
        bet.get("payout").is_none(),
        "no payout while pending: {bet}"
    );
    assert!(bet.get("settled_at").is_none(), "not settled yet: {bet}");
    let placed_at = timestamp(&bet, "placed_at");
    assert!(
        before <= placed_at && placed_at <= after,
        "placed_at {placed_at} is not between {before} and {after}"
    );
    assert_eq!(bets_written(&app).await, 1);
}

#[tokio::test]
async fn a_placed_bet_is_stored_as_it_was_returned() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let placed = place(&app, event.id, "10.50").await;

    let stored = get_bet(&app, &id_of(&placed)).await;
    assert_eq!(
        placed, stored,
        "POST /bets answered one bet, GET /bets/{{id}} another"
    );
}

#[tokio::test]
async fn an_amount_sent_as_a_json_number_comes_back_as_a_two_decimal_string() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let response = send(bet_request(
        &app,
        &json!({ "event_id": event.id, "amount": 10.5 }),
    ))
    .await;

    let bet = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(bet["amount"], "10.50", "{bet}");
}

#[tokio::test]
async fn a_whole_amount_comes_back_with_two_decimals() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let response = send(bet_request(
        &app,
        &json!({ "event_id": event.id, "amount": 7 }),
    ))
    .await;

    let bet = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(bet["amount"], "7.00", "{bet}");
}

#[tokio::test]
async fn the_coefficient_is_locked_when_the_bet_is_placed() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let early = place(&app, event.id, "10.00").await;

    let changed = LineEvent {
        coefficient: "2.10".parse::<Decimal>().unwrap_or_else(|e| panic!("{e}")),
        version: 2,
        ..event.clone()
    };
    app.seed_event(&changed).await;
    let late = place(&app, event.id, "10.00").await;

    assert_eq!(
        late["coefficient"], "2.10",
        "a new bet takes the new odds: {late}"
    );
    let early_now = get_bet(&app, &id_of(&early)).await;
    assert_eq!(
        early_now["coefficient"], "1.85",
        "the earlier bet kept its odds: {early_now}"
    );
    let listed = app.get_json("/events").await;
    assert_eq!(items(&listed)[0]["coefficient"], "2.10", "{listed}");
}

#[tokio::test]
async fn betting_the_house_limit_is_accepted() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    app.deposit_as(support::BETTOR, support::MAX_STAKE).await;

    let bet = place(&app, event.id, support::MAX_STAKE).await;

    assert_eq!(bet["amount"], "1000000.00", "{bet}");
}

#[tokio::test]
async fn betting_a_cent_above_the_house_limit_is_422_naming_amount_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let response = app.place_bet(event.id, "1000000.01").await;

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names_field(&problem, "amount");
    assert_eq!(bets_written(&app).await, 0);
}

#[tokio::test]
async fn betting_on_an_unknown_event_is_404_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.open_event("1.85").await;

    let response = app.place_bet(Uuid::now_v7(), "10.50").await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(bets_written(&app).await, 0);
}

#[tokio::test]
async fn betting_on_an_event_past_its_deadline_is_409_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let late = line_event("1.85", hours_from_now(-1), LineEventStatus::New, 1);
    app.seed_event(&late).await;

    let response = app.place_bet(late.id, "10.50").await;

    expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(bets_written(&app).await, 0);
}

#[tokio::test]
async fn betting_on_a_finished_or_cancelled_event_is_409_and_writes_nothing() {
    let app = TestApp::spawn().await;
    for result in [
        LineEventStatus::FinishedWin,
        LineEventStatus::FinishedLose,
        LineEventStatus::Cancelled,
    ] {
        let event = app.open_event("1.85").await;
        finish(&app, &event, result).await;

        let response = app.place_bet(event.id, "10.50").await;

        expect_problem(response, StatusCode::CONFLICT).await;
        assert_eq!(bets_written(&app).await, 0, "a bet on a {result:?} event");
    }
}

// --------------------------------------------------------- Idempotency-Key

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_first_bet_and_places_no_other() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let first = place_with_key(&app, "retry-1", event.id, "10.50").await;
    let first_location = header(&first, LOCATION);
    let first = expect_json(first, StatusCode::CREATED).await;

    let retry = place_with_key(&app, "retry-1", event.id, "10.50").await;

    assert_eq!(header(&retry, LOCATION), first_location);
    let retry = expect_json(retry, StatusCode::CREATED).await;
    assert_eq!(retry, first, "the retry should answer the first bet");
    assert_eq!(bets_written(&app).await, 1);
}

#[tokio::test]
async fn a_retry_that_writes_the_same_amount_differently_is_the_same_request() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let first = expect_json(
        place_with_key(&app, "retry-2", event.id, "10.50").await,
        StatusCode::CREATED,
    )
    .await;

    let retry = send(
        bet_request(&app, &json!({ "event_id": event.id, "amount": 10.5 }))
            .header("idempotency-key", "retry-2"),
    )
    .await;

    let retry = expect_json(retry, StatusCode::CREATED).await;
    assert_eq!(retry["id"], first["id"], "{retry}");
    assert_eq!(bets_written(&app).await, 1);
}

#[tokio::test]
async fn reusing_a_key_for_another_amount_is_422_naming_the_key() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    expect_json(
        place_with_key(&app, "reused", event.id, "10.50").await,
        StatusCode::CREATED,
    )
    .await;

    let response = place_with_key(&app, "reused", event.id, "20.00").await;

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names_field(&problem, "Idempotency-Key");
    assert_eq!(bets_written(&app).await, 1);
}

#[tokio::test]
async fn reusing_a_key_for_another_event_is_422_naming_the_key() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let other = app.open_event("2.00").await;
    expect_json(
        place_with_key(&app, "reused", event.id, "10.50").await,
        StatusCode::CREATED,
    )
    .await;

    let response = place_with_key(&app, "reused", other.id, "10.50").await;

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names_field(&problem, "Idempotency-Key");
    assert_eq!(bets_written(&app).await, 1);
}

#[tokio::test]
async fn different_keys_place_different_bets() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let first = place_with_key(&app, "key-a", event.id, "10.50").await;
    let second = place_with_key(&app, "key-b", event.id, "10.50").await;

    let first = expect_json(first, StatusCode::CREATED).await;
    let second = expect_json(second, StatusCode::CREATED).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(bets_written(&app).await, 2);
}

#[tokio::test]
async fn requests_without_a_key_are_never_deduplicated() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let first = place(&app, event.id, "10.50").await;
    let second = place(&app, event.id, "10.50").await;

    assert_ne!(first["id"], second["id"]);
    assert_eq!(bets_written(&app).await, 2);
}

#[tokio::test]
async fn a_key_of_255_visible_characters_is_accepted() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let key = "k".repeat(255);

    let response = place_with_key(&app, &key, event.id, "10.50").await;

    expect_json(response, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_malformed_key_is_400_naming_it_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let too_long = "k".repeat(256);
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("256 characters", too_long.as_bytes()),
        ("with a space", b"my key"),
        ("with a tab", b"my\tkey"),
        ("not ASCII", "cl\u{e9}".as_bytes()),
    ];

    let mut failures = Vec::new();
    for (name, key) in cases {
        let value = reqwest::header::HeaderValue::from_bytes(key)
            .unwrap_or_else(|e| panic!("{name}: not a header value: {e}"));
        let response = send(
            bet_request(&app, &json!({ "event_id": event.id, "amount": "10.50" }))
                .header("idempotency-key", value),
        )
        .await;
        let status = response.status();
        let problem_json = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| value == "application/problem+json");
        let body: Value = response.json().await.unwrap_or_default();
        let named = field_names(&body).iter().any(|f| f == "Idempotency-Key");
        if status != StatusCode::BAD_REQUEST || !problem_json || !named {
            failures.push(format!("- {name}: {status} {body}"));
        }
    }

    assert!(
        failures.is_empty(),
        "a malformed Idempotency-Key should be 400 naming it:\n{}",
        failures.join("\n")
    );
    assert_eq!(bets_written(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_place_exactly_one_bet() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let responses =
        join_all((0..20).map(|_| place_with_key(&app, "at-once", event.id, "10.50"))).await;

    let mut bet_ids = Vec::new();
    for response in responses {
        bet_ids.push(id_of(&expect_json(response, StatusCode::CREATED).await));
    }
    bet_ids.sort();
    bet_ids.dedup();
    assert_eq!(
        bet_ids.len(),
        1,
        "one key, one bet id for all 20: {bet_ids:?}"
    );
    assert_eq!(bets_written(&app).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 1);
}

#[tokio::test]
async fn a_retry_after_the_event_closed_still_returns_the_first_response() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let first = expect_json(
        place_with_key(&app, "before-the-result", event.id, "10.50").await,
        StatusCode::CREATED,
    )
    .await;
    finish(&app, &event, LineEventStatus::FinishedWin).await;

    let retry = place_with_key(&app, "before-the-result", event.id, "10.50").await;

    let retry = expect_json(retry, StatusCode::CREATED).await;
    assert_eq!(
        retry, first,
        "the first response, though the bet has since been settled"
    );
    let now = app
        .get_json(&format!(
            "/bets/{}",
            first["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(now["status"], "WON", "{now}");
    assert_eq!(bets_written(&app).await, 1);
}

// --------------------------------------------------------------- GET /bets

#[tokio::test]
async fn bets_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let mut placed = Vec::new();
    for amount in ["1.00", "2.00", "3.00"] {
        placed.push(id_of(&place(&app, event.id, amount).await));
    }
    placed.reverse();

    let page = app.get_json("/bets").await;

    assert_eq!(ids(&page), placed, "newest first: {page}");
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[tokio::test]
async fn no_bets_lists_an_empty_page() {
    let app = TestApp::spawn().await;

    let page = app.get_json("/bets").await;

    assert_eq!(page, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn following_next_cursor_visits_every_bet_once_newest_first() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(id_of(&place(&app, event.id, "1.00").await));
    }
    placed.reverse();

    let (seen, pages) = walk(&app, "/bets?limit=2", 2, 3).await;

    assert_eq!(pages, 3, "5 bets at 2 a page");
    assert_eq!(seen, placed, "every bet once, newest first");
}

#[tokio::test]
async fn filtering_by_event_lists_only_that_events_bets_across_pages() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let other = app.open_event("2.00").await;
    let mut wanted = Vec::new();
    for _ in 0..3 {
        wanted.push(id_of(&place(&app, event.id, "1.00").await));
        place(&app, other.id, "1.00").await;
    }
    wanted.reverse();

    let first = format!("/bets?event_id={}&limit=2", event.id);
    let (seen, pages) = walk(&app, &first, 2, 2).await;

    assert_eq!(pages, 2, "3 bets at 2 a page");
    assert_eq!(seen, wanted, "only the event's bets, newest first");
}

#[tokio::test]
async fn filtering_by_status_lists_only_bets_with_that_status() {
    let app = TestApp::spawn().await;
    let winning = app.open_event("1.85").await;
    let losing = app.open_event("2.00").await;
    let pending = app.open_event("3.00").await;
    let cancelled = app.open_event("4.00").await;
    let won = id_of(&place(&app, winning.id, "10.50").await);
    let lost = id_of(&place(&app, losing.id, "10.50").await);
    let open = id_of(&place(&app, pending.id, "10.50").await);
    let void = id_of(&place(&app, cancelled.id, "10.50").await);
    finish(&app, &winning, LineEventStatus::FinishedWin).await;
    finish(&app, &losing, LineEventStatus::FinishedLose).await;
    finish(&app, &cancelled, LineEventStatus::Cancelled).await;

    for (status, expected) in [
        ("PENDING", open),
        ("WON", won),
        ("LOST", lost),
        ("VOID", void),
    ] {
        let page = app.get_json(&format!("/bets?status={status}")).await;

        assert_eq!(ids(&page), [expected], "status={status}: {page}");
        assert_eq!(items(&page)[0]["status"], status, "{page}");
    }
}

#[tokio::test]
async fn filtering_by_status_and_event_together_applies_both() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let other = app.open_event("2.00").await;
    let wanted = id_of(&place(&app, event.id, "1.00").await);
    place(&app, other.id, "1.00").await;
    finish(&app, &other, LineEventStatus::FinishedWin).await;

    let pending_here = app
        .get_json(&format!("/bets?status=PENDING&event_id={}", event.id))
        .await;
    let won_here = app
        .get_json(&format!("/bets?status=WON&event_id={}", event.id))
        .await;

    assert_eq!(ids(&pending_here), [wanted], "{pending_here}");
    assert!(items(&won_here).is_empty(), "{won_here}");
}

#[tokio::test]
async fn listing_bets_with_an_unknown_status_is_400_naming_status() {
    assert_bad_parameter("/bets?status=BOGUS", "status").await;
}

#[tokio::test]
async fn listing_bets_with_a_lower_case_status_is_400_naming_status() {
    assert_bad_parameter("/bets?status=pending", "status").await;
}

#[tokio::test]
async fn listing_bets_with_an_event_id_that_is_not_a_uuid_is_400_naming_event_id() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/bets?event_id=not-a-uuid").await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    assert_names_field(&problem, "event_id");
    assert_says(&problem, "event_id", NOT_A_UUID);
}

#[tokio::test]
async fn listing_bets_with_a_limit_of_zero_is_400_naming_limit() {
    assert_bad_parameter("/bets?limit=0", "limit").await;
}

#[tokio::test]
async fn listing_bets_with_a_limit_above_500_is_400_naming_limit() {
    assert_bad_parameter("/bets?limit=501", "limit").await;
}

#[tokio::test]
async fn listing_bets_with_a_limit_of_500_is_accepted() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/bets?limit=500").await;

    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn listing_bets_with_a_bad_limit_and_a_bad_cursor_names_each_once() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/bets?limit=0&cursor=garbage").await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    let mut fields = field_names(&problem);
    fields.sort();
    assert_eq!(fields, ["cursor", "limit"], "{problem}");
}

#[tokio::test]
async fn listing_bets_with_a_cursor_this_api_never_returned_is_400_naming_cursor() {
    assert_bad_parameter("/bets?cursor=garbage", "cursor").await;
}

// -------------------------------------------------------------- settlement

#[tokio::test]
async fn a_won_event_pays_amount_times_coefficient_rounded_half_up_to_the_cent() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let cheap = line_event("1.50", hours_from_now(1), LineEventStatus::New, 1);
    app.seed_event(&cheap).await;
    let bet = place(&app, event.id, "10.50").await;
    let cent = place(&app, cheap.id, "0.01").await;

    finish(&app, &event, LineEventStatus::FinishedWin).await;
    finish(&app, &cheap, LineEventStatus::FinishedWin).await;

    let settled = get_bet(&app, &id_of(&bet)).await;
    assert_eq!(settled["status"], "WON", "{settled}");
    assert_eq!(
        settled["payout"], "19.43",
        "10.50 × 1.85 = 19.425: {settled}"
    );
    assert!(
        timestamp(&settled, "settled_at") >= timestamp(&settled, "placed_at"),
        "{settled}"
    );
    let settled = get_bet(&app, &id_of(&cent)).await;
    assert_eq!(settled["payout"], "0.02", "0.01 × 1.50 = 0.015: {settled}");
}

#[tokio::test]
async fn a_lost_event_settles_its_bets_as_lost_paying_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let bet = place(&app, event.id, "10.50").await;

    finish(&app, &event, LineEventStatus::FinishedLose).await;

    let settled = get_bet(&app, &id_of(&bet)).await;
    assert_eq!(settled["status"], "LOST", "{settled}");
    assert_eq!(settled["payout"], "0.00", "{settled}");
    assert!(settled["settled_at"].is_string(), "{settled}");
    assert_eq!(settled["amount"], "10.50", "{settled}");
    assert_eq!(settled["coefficient"], "1.85", "{settled}");
}

#[tokio::test]
async fn a_cancelled_event_voids_its_bets_paying_back_each_stake() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let other = app.open_event("2.00").await;
    app.deposit_as(support::BETTOR, "1000000.00").await;
    let small = place(&app, event.id, "10.5").await;
    let large = place(&app, event.id, "1000000").await;
    let untouched = place(&app, other.id, "10.50").await;

    finish(&app, &event, LineEventStatus::Cancelled).await;

    for (bet, stake) in [(small, "10.50"), (large, "1000000.00")] {
        let settled = get_bet(&app, &id_of(&bet)).await;
        assert_eq!(settled["status"], "VOID", "{settled}");
        assert_eq!(settled["payout"], stake, "the stake back: {settled}");
        assert_eq!(settled["amount"], stake, "{settled}");
        assert_eq!(settled["coefficient"], "1.85", "{settled}");
        assert!(
            timestamp(&settled, "settled_at") >= timestamp(&settled, "placed_at"),
            "{settled}"
        );
    }
    assert_eq!(get_bet(&app, &id_of(&untouched)).await, untouched);
    let listed = app.get_json("/events").await;
    assert_eq!(ids(&listed), [other.id.to_string()], "{listed}");
    let wallet = app.get_json("/wallet").await;
    assert_eq!(
        wallet["balance"], "1000989.50",
        "1,001,000.00 paid in, both voided stakes back, 10.50 still staked: {wallet}"
    );
    support::assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_result_settles_only_the_bets_on_its_event() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let other = app.open_event("2.00").await;
    place(&app, event.id, "10.50").await;
    let untouched = place(&app, other.id, "10.50").await;

    finish(&app, &event, LineEventStatus::FinishedWin).await;

    assert_eq!(get_bet(&app, &id_of(&untouched)).await, untouched);
}

/// Places bets of 1.00 on `event` one after another until one is refused;
/// the ids of those accepted, or what went wrong.
async fn place_until_refused(
    app: &TestApp,
    event_id: Uuid,
    placed: &AtomicUsize,
) -> Result<Vec<String>, String> {
    let mut accepted = Vec::new();
    for _ in 0..10_000 {
        let response = app.place_bet(event_id, "1.00").await;
        match response.status() {
            StatusCode::CREATED => {
                let bet: Value = response.json().await.map_err(|e| e.to_string())?;
                accepted.push(id_of(&bet));
                placed.fetch_add(1, Ordering::SeqCst);
            }
            StatusCode::CONFLICT => return Ok(accepted),
            other => {
                let body = response.text().await.unwrap_or_default();
                return Err(format!("{other}: {body}"));
            }
        }
    }
    Err("never refused: the result did not close the event".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bets_placed_while_the_result_arrives_are_refused_or_settled_never_left_pending() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let placed = AtomicUsize::new(0);

    let bettors = join_all((0..4).map(|_| place_until_refused(&app, event.id, &placed)));
    let result = async {
        eventually("a few bets placed", Duration::from_secs(15), || async {
            (placed.load(Ordering::SeqCst) >= 8).then_some(())
        })
        .await;
        finish(&app, &event, LineEventStatus::FinishedWin).await;
    };
    let (outcomes, ()) = tokio::join!(bettors, result);

    let mut accepted = Vec::new();
    for outcome in outcomes {
        accepted.extend(outcome.unwrap_or_else(|e| panic!("a bettor got {e}")));
    }
    // A bet placed before the result won; one placed at or after the moment
    // the copy was decided (the finishing transaction's start, when the
    // result comes as a snapshot) is void as late. Nothing is left pending.
    let unsettled = app
        .count(&format!(
            "SELECT count(*) FROM bets b JOIN bet_legs l ON l.bet_id = b.id \
             JOIN events e ON e.id = l.event_id \
             WHERE l.event_id = '{}' AND NOT ( \
               (b.status = 'WON' AND b.placed_at < e.decided_at) \
               OR (b.status = 'VOID' AND b.void_reason = 'LATE' AND b.placed_at >= e.decided_at))",
            event.id
        ))
        .await;
    assert_eq!(
        unsettled, 0,
        "bets on the finished event left unsettled or settled by the wrong rule"
    );
    let written = usize::try_from(bets_written(&app).await).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        written,
        accepted.len(),
        "every bet written was answered 201"
    );
}

#[tokio::test]
async fn a_bet_placed_while_its_event_is_being_settled_is_settled_after_it_was_placed() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    // Another bet's transaction holds the event row, as a placement does
    // (FOR SHARE): the settlement begins, then waits for it.
    let backend = app.db.connection.get_database_backend();
    let other_placement = app
        .db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("BEGIN: {e}"));
    other_placement
        .execute_raw(Statement::from_string(
            backend,
            format!("SELECT 1 FROM events WHERE id = '{}' FOR SHARE", event.id),
        ))
        .await
        .unwrap_or_else(|e| panic!("locking the event row: {e}"));

    let settled = AtomicBool::new(false);
    let settlement = async {
        finish(&app, &event, LineEventStatus::FinishedWin).await;
        settled.store(true, Ordering::SeqCst);
    };
    let bettor = async {
        eventually(
            "the settlement waiting for the event row (or done)",
            Duration::from_secs(15),
            || async {
                let done = settled.load(Ordering::SeqCst);
                (done || lock_waiters(&app).await > 0).then_some(())
            },
        )
        .await;
        let bet = app.place_bet(event.id, "10.50");
        let release = async {
            eventually(
                "the bet placed, or waiting behind the settlement",
                Duration::from_secs(15),
                || async {
                    let placed = bets_written(&app).await > 0;
                    (placed || lock_waiters(&app).await > 1).then_some(())
                },
            )
            .await;
            other_placement
                .commit()
                .await
                .unwrap_or_else(|e| panic!("COMMIT: {e}"));
        };
        tokio::join!(bet, release).0
    };
    let ((), response) = tokio::join!(settlement, bettor);

    // Refused is fine (the settlement went first); placed, it must have
    // been settled, and not before it was placed: void as late, since it
    // was placed after line-provider decided the result (the message was
    // made before the bet).
    if response.status() == StatusCode::CONFLICT {
        return;
    }
    let placed = expect_json(response, StatusCode::CREATED).await;
    let settled = get_bet(&app, &id_of(&placed)).await;
    assert_eq!(
        (&settled["status"], &settled["void_reason"]),
        (&serde_json::json!("VOID"), &serde_json::json!("late")),
        "{settled}"
    );
    assert!(
        timestamp(&settled, "settled_at") >= timestamp(&settled, "placed_at"),
        "a bet settled before it was placed: {settled}"
    );
}

/// Sessions of the test database waiting for a lock.
async fn lock_waiters(app: &TestApp) -> i64 {
    app.count(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .await
}

// ---------------------------------------------------------- GET /bets/{id}

#[tokio::test]
async fn getting_a_bet_returns_it() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let id = id_of(&place(&app, event.id, "10.50").await);

    let response = get(&app, &format!("/bets/{id}")).await;

    let bet = expect_json(response, StatusCode::OK).await;
    assert_eq!(bet["id"], id.as_str(), "{bet}");
    assert_eq!(bet["event_id"], event.id.to_string(), "{bet}");
    assert_eq!(bet["amount"], "10.50", "{bet}");
    assert_eq!(bet["status"], "PENDING", "{bet}");
}

#[tokio::test]
async fn getting_an_unknown_bet_is_404() {
    let app = TestApp::spawn().await;

    let response = get(&app, &format!("/bets/{}", Uuid::now_v7())).await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn getting_a_bet_by_a_malformed_id_is_400_naming_id() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/bets/not-a-uuid").await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    assert_names_field(&problem, "id");
    assert_says(&problem, "id", NOT_A_UUID);
}

// ------------------------------------------------- health, metrics, docs

#[tokio::test]
async fn the_service_is_live() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/health/live").await;

    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn the_service_becomes_ready_with_database_and_broker_up() {
    let app = TestApp::spawn().await;

    // The consumer connects to the broker in the background: poll.
    let body = eventually(
        "GET /health/ready answering 200",
        Duration::from_secs(15),
        || async {
            let response = app
                .request(Method::GET, "/health/ready")
                .send()
                .await
                .ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            response.json::<Value>().await.ok()
        },
    )
    .await;

    assert_eq!(body["checks"]["database"], "up", "{body}");
    assert_eq!(body["checks"]["broker"], "up", "{body}");
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text_on_the_management_listener_only() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    place(&app, event.id, "10.50").await;

    let response = send(app.management(Method::GET, "/metrics")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, CONTENT_TYPE);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap_or_default();
    for metric in ["http_requests_total", "bets_placed_total"] {
        assert!(text.contains(metric), "no `{metric}` in /metrics:\n{text}");
    }
    let public = send(app.anonymous(Method::GET, "/metrics")).await;
    let problem = expect_problem(public, StatusCode::NOT_FOUND).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:not-found",
        "{problem}"
    );
    // The management listener serves nothing of the API.
    let api = send(app.management(Method::GET, "/events")).await;
    expect_problem(api, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn both_listeners_answer_health_checks() {
    let app = TestApp::spawn().await;

    for (listener, request) in [
        ("public", app.anonymous(Method::GET, "/health/ready")),
        ("management", app.management(Method::GET, "/health/ready")),
        ("public", app.anonymous(Method::GET, "/health/live")),
        ("management", app.management(Method::GET, "/health/live")),
    ] {
        let response = send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "{listener}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/docs").await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, CONTENT_TYPE);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap_or_default();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;

    let response = get(&app, "/no/such/route").await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_method_the_route_does_not_accept_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let id = id_of(&place(&app, event.id, "10.50").await);

    for (method, path) in [
        (Method::DELETE, "/bets".to_owned()),
        (Method::POST, "/events".to_owned()),
        (Method::DELETE, format!("/bets/{id}")),
    ] {
        let response = send(app.request(method.clone(), &path)).await;

        expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    }
    assert_eq!(bets_written(&app).await, 1);
}
