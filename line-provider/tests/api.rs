//! line-provider's HTTP API, endpoint by endpoint and status by status,
//! against the real app on a database and an exchange of its own.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, ETAG, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use shared_kernel::http::NOT_A_UUID;
use shared_kernel::testing::{
    assert_names_field, eventually, expect_json, expect_problem, header, hours_from_now, send,
};
use support::TestApp;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

fn id_of(event: &Value) -> String {
    event["id"]
        .as_str()
        .unwrap_or_else(|| panic!("event without an id: {event}"))
        .to_owned()
}

/// The outbox's routing keys, oldest first.
async fn outbox_routing_keys(app: &TestApp) -> Vec<String> {
    let connection = &app.db.connection;
    let sql = "SELECT routing_key FROM outbox ORDER BY id";
    connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            row.try_get_by_index::<String>(0)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
        .collect()
}

async fn outbox_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM outbox").await
}

async fn get_event(app: &TestApp, id: &str) -> Value {
    let response = send(app.request(Method::GET, &format!("/events/{id}"))).await;
    expect_json(response, StatusCode::OK).await
}

async fn patch_event(app: &TestApp, id: &str, body: Value) -> Response {
    send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&body),
    )
    .await
}

async fn set_status(app: &TestApp, id: &str, status: &str) -> Response {
    send(
        app.operator(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": status })),
    )
    .await
}

async fn list(app: &TestApp, query: &str) -> Response {
    send(app.request(Method::GET, &format!("/events{query}"))).await
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page without `items`: {page}"))
}

fn ids(page: &Value) -> Vec<String> {
    items(page).iter().map(id_of).collect()
}

// ------------------------------------------------------------ POST /events

#[tokio::test]
async fn creating_an_event_returns_201_with_the_event_its_location_and_etag() {
    let app = TestApp::spawn().await;
    let deadline = hours_from_now(2);

    let response = send(
        app.operator(Method::POST, "/events")
            .json(&json!({ "coefficient": "1.85", "deadline": deadline })),
    )
    .await;

    let location = header(&response, LOCATION);
    let etag = header(&response, ETAG);
    let event = expect_json(response, StatusCode::CREATED).await;
    let id = Uuid::parse_str(&id_of(&event)).unwrap_or_else(|e| panic!("id not a UUID: {e}"));
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7: {event}");
    assert_eq!(event["coefficient"], "1.85", "{event}");
    let returned: DateTime<Utc> = event["deadline"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("deadline not RFC 3339: {event}"));
    assert_eq!(returned, deadline, "{event}");
    assert_eq!(event["status"], "NEW", "{event}");
    assert_eq!(event["version"], 1, "{event}");
    assert_eq!(location, format!("/events/{id}"));
    assert_eq!(etag, "\"1\"");
}

#[tokio::test]
async fn a_created_event_is_stored_as_it_was_returned() {
    let app = TestApp::spawn().await;
    // create_event sends a deadline with nanoseconds and the database keeps
    // microseconds: the 201 must show what was stored, not what was sent.
    let created = app.create_event("1.85").await;

    let stored = get_event(&app, &id_of(&created)).await;

    assert_eq!(
        created, stored,
        "POST /events answered one event, GET /events/{{id}} another"
    );
}

#[tokio::test]
async fn a_coefficient_sent_as_a_json_number_comes_back_as_a_two_decimal_string() {
    let app = TestApp::spawn().await;

    let response = send(
        app.operator(Method::POST, "/events")
            .json(&json!({ "coefficient": 2.5, "deadline": hours_from_now(1) })),
    )
    .await;

    let event = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(event["coefficient"], "2.50", "{event}");
}

#[tokio::test]
async fn creating_an_event_writes_the_event_and_one_outbox_row() {
    let app = TestApp::spawn().await;

    app.create_event("1.85").await;

    assert_eq!(app.rows_written().await, (1, 1));
    assert_eq!(outbox_routing_keys(&app).await, ["event.created"]);
}

async fn assert_create_is_unauthorized(app: &TestApp, request: RequestBuilder) {
    let response = send(request.json(&json!({
        "coefficient": "1.85",
        "deadline": hours_from_now(1),
    })))
    .await;

    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        challenge.starts_with("Bearer"),
        "a 401 should challenge with `WWW-Authenticate: Bearer`, got {challenge:?}: {problem}"
    );
    assert_eq!(app.rows_written().await, (0, 0), "a 401 wrote something");
}

#[tokio::test]
async fn creating_an_event_without_a_token_is_401_and_writes_nothing() {
    let app = TestApp::spawn().await;
    assert_create_is_unauthorized(&app, app.request(Method::POST, "/events")).await;
}

#[tokio::test]
async fn creating_an_event_with_a_wrong_token_is_401_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let request = app
        .request(Method::POST, "/events")
        .bearer_auth("not-the-operator-token");
    assert_create_is_unauthorized(&app, request).await;
}

#[tokio::test]
async fn creating_an_event_with_a_non_bearer_scheme_is_401_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let request = app
        .request(Method::POST, "/events")
        .basic_auth("operator", Some(support::TOKEN));
    assert_create_is_unauthorized(&app, request).await;
}

#[tokio::test]
async fn the_bearer_scheme_name_is_case_insensitive() {
    let app = TestApp::spawn().await;

    let response = send(
        app.request(Method::POST, "/events")
            .header("authorization", format!("bearer {}", support::TOKEN))
            .json(&json!({ "coefficient": "1.85", "deadline": hours_from_now(1) })),
    )
    .await;

    expect_json(response, StatusCode::CREATED).await;
}

// ------------------------------------------------------------- GET /events

#[tokio::test]
async fn following_next_cursor_visits_every_event_once_in_creation_order() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(id_of(&app.create_event("1.85").await));
    }

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 3, "more pages than 5 events at 2 a page need");
        let page = expect_json(list(&app, &query).await, StatusCode::OK).await;
        assert!(items(&page).len() <= 2, "a page longer than limit: {page}");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => {
                assert!(page["next_cursor"].is_null(), "{page}");
                break;
            }
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every event once, in creation order");
}

#[tokio::test]
async fn a_page_shorter_than_the_limit_has_a_null_next_cursor() {
    let app = TestApp::spawn().await;
    app.create_event("1.85").await;

    let page = expect_json(list(&app, "?limit=2").await, StatusCode::OK).await;

    assert_eq!(items(&page).len(), 1, "{page}");
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[tokio::test]
async fn the_first_page_of_five_events_at_limit_two_has_two_items_and_a_cursor() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.create_event("1.85").await;
    }

    let page = expect_json(list(&app, "?limit=2").await, StatusCode::OK).await;

    assert_eq!(items(&page).len(), 2, "{page}");
    assert!(page["next_cursor"].is_string(), "{page}");
}

#[tokio::test]
async fn an_empty_line_lists_no_events() {
    let app = TestApp::spawn().await;

    let page = expect_json(list(&app, "").await, StatusCode::OK).await;

    assert_eq!(page, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn without_a_limit_a_page_holds_fifty_events() {
    let app = TestApp::spawn().await;
    for _ in 0..51 {
        app.create_event("1.85").await;
    }

    let page = expect_json(list(&app, "").await, StatusCode::OK).await;

    assert_eq!(items(&page).len(), 50, "default limit");
    assert!(page["next_cursor"].is_string(), "{page}");
}

#[tokio::test]
async fn filtering_by_status_new_lists_only_open_events() {
    let app = TestApp::spawn().await;
    let open = id_of(&app.create_event("1.85").await);
    let finished = id_of(&app.create_event("2.00").await);
    expect_json(
        set_status(&app, &finished, "FINISHED_WIN").await,
        StatusCode::OK,
    )
    .await;

    let page = expect_json(list(&app, "?status=NEW").await, StatusCode::OK).await;

    assert_eq!(ids(&page), [open], "{page}");
}

#[tokio::test]
async fn filtering_by_status_finished_win_lists_only_won_events() {
    let app = TestApp::spawn().await;
    app.create_event("1.85").await;
    let won = id_of(&app.create_event("2.00").await);
    let lost = id_of(&app.create_event("3.00").await);
    expect_json(set_status(&app, &won, "FINISHED_WIN").await, StatusCode::OK).await;
    expect_json(
        set_status(&app, &lost, "FINISHED_LOSE").await,
        StatusCode::OK,
    )
    .await;

    let page = expect_json(list(&app, "?status=FINISHED_WIN").await, StatusCode::OK).await;

    assert_eq!(ids(&page), [won], "{page}");
    assert_eq!(items(&page)[0]["status"], "FINISHED_WIN", "{page}");
}

async fn assert_bad_list_parameter(query: &str, field: &str) {
    let app = TestApp::spawn().await;

    let response = list(&app, query).await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    assert_names_field(&problem, field);
}

#[tokio::test]
async fn a_limit_of_zero_is_400_naming_limit() {
    assert_bad_list_parameter("?limit=0", "limit").await;
}

#[tokio::test]
async fn a_limit_above_500_is_400_naming_limit() {
    assert_bad_list_parameter("?limit=501", "limit").await;
}

#[tokio::test]
async fn a_limit_of_500_is_accepted() {
    let app = TestApp::spawn().await;

    let response = list(&app, "?limit=500").await;

    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn a_limit_that_is_not_a_number_is_400_naming_limit() {
    assert_bad_list_parameter("?limit=abc", "limit").await;
}

#[tokio::test]
async fn an_unknown_status_filter_is_400_naming_status() {
    assert_bad_list_parameter("?status=BOGUS", "status").await;
}

#[tokio::test]
async fn a_cursor_this_api_never_returned_is_400_naming_cursor() {
    assert_bad_list_parameter("?cursor=garbage", "cursor").await;
}

// -------------------------------------------------------- GET /events/{id}

#[tokio::test]
async fn getting_an_event_returns_it_with_its_etag() {
    let app = TestApp::spawn().await;
    let created = app.create_event("1.85").await;
    let id = id_of(&created);

    let response = send(app.request(Method::GET, &format!("/events/{id}"))).await;

    assert_eq!(header(&response, ETAG), "\"1\"");
    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["coefficient"], "1.85");
    assert_eq!(event["status"], "NEW");
    assert_eq!(event["version"], 1);
}

#[tokio::test]
async fn getting_an_unknown_event_is_404() {
    let app = TestApp::spawn().await;

    let response = send(app.request(Method::GET, &format!("/events/{}", Uuid::now_v7()))).await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn getting_an_event_by_a_malformed_id_is_400_naming_id() {
    let app = TestApp::spawn().await;

    let response = send(app.request(Method::GET, "/events/not-a-uuid")).await;

    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(problem["errors"][0]["field"], "id", "{problem}");
    assert_eq!(problem["errors"][0]["message"], NOT_A_UUID, "{problem}");
}

// ------------------------------------------------------ PATCH /events/{id}

#[tokio::test]
async fn changing_the_coefficient_bumps_the_version_and_the_etag() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = patch_event(&app, &id, json!({ "coefficient": "2.10" })).await;

    assert_eq!(header(&response, ETAG), "\"2\"");
    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["coefficient"], "2.10", "{event}");
    assert_eq!(event["version"], 2, "{event}");
    assert_eq!(get_event(&app, &id).await, event, "stored as returned");
}

#[tokio::test]
async fn moving_the_deadline_into_the_future_is_200() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    let later = hours_from_now(5);

    let response = patch_event(&app, &id, json!({ "deadline": later })).await;

    let event = expect_json(response, StatusCode::OK).await;
    let deadline: DateTime<Utc> = event["deadline"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("deadline not RFC 3339: {event}"));
    assert_eq!(deadline, later, "{event}");
    assert_eq!(event["coefficient"], "1.85", "kept: {event}");
    assert_eq!(event["version"], 2, "{event}");
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(
        patch_event(&app, &id, json!({ "coefficient": "2.10" })).await,
        StatusCode::OK,
    )
    .await;
    let before = (get_event(&app, &id).await, outbox_rows(&app).await);

    let response = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .header("if-match", "\"1\"")
            .json(&json!({ "coefficient": "3.00" })),
    )
    .await;

    expect_problem(response, StatusCode::PRECONDITION_FAILED).await;
    let after = (get_event(&app, &id).await, outbox_rows(&app).await);
    assert_eq!(after, before, "a 412 changed something");
}

#[tokio::test]
async fn a_matching_if_match_applies_the_change() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .header("if-match", "\"1\"")
            .json(&json!({ "coefficient": "3.00" })),
    )
    .await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["coefficient"], "3.00", "{event}");
    assert_eq!(event["version"], 2, "{event}");
}

#[tokio::test]
async fn if_match_star_applies_the_change() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .header("if-match", "*")
            .json(&json!({ "coefficient": "3.00" })),
    )
    .await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["version"], 2, "{event}");
}

#[tokio::test]
async fn changing_a_finished_event_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;
    let before = (get_event(&app, &id).await, outbox_rows(&app).await);

    let response = patch_event(&app, &id, json!({ "coefficient": "2.10" })).await;

    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["detail"], "the event is finished (FINISHED_WIN) and can no longer change",
        "{problem}"
    );
    let after = (get_event(&app, &id).await, outbox_rows(&app).await);
    assert_eq!(after, before, "a 409 changed something");
}

#[tokio::test]
async fn patching_the_values_an_event_already_has_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    let current = get_event(&app, &id).await;
    let rows_before = outbox_rows(&app).await;

    let response = patch_event(
        &app,
        &id,
        json!({ "coefficient": current["coefficient"], "deadline": current["deadline"] }),
    )
    .await;

    assert_eq!(header(&response, ETAG), "\"1\"");
    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["version"], 1, "{event}");
    assert_eq!(outbox_rows(&app).await, rows_before, "nothing to announce");
}

#[tokio::test]
async fn patching_the_values_the_create_response_showed_changes_nothing() {
    let app = TestApp::spawn().await;
    // The operator echoes back what POST /events answered.
    let created = app.create_event("1.85").await;
    let id = id_of(&created);
    let rows_before = outbox_rows(&app).await;

    let response = patch_event(
        &app,
        &id,
        json!({ "coefficient": created["coefficient"], "deadline": created["deadline"] }),
    )
    .await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["version"], 1, "{event}");
    assert_eq!(outbox_rows(&app).await, rows_before, "nothing to announce");
}

#[tokio::test]
async fn the_same_patch_twice_changes_the_event_once() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    // Finer digits than storage keeps, another offset, a number with one
    // decimal: the second request asks for what the first one stored.
    let local =
        (Utc::now() + Duration::from_secs(3 * 3600)).naive_utc() + chrono::Duration::hours(2);
    let local = chrono::Timelike::with_nanosecond(&local, 123_456_789)
        .unwrap_or_else(|| panic!("nanoseconds within a second"));
    let deadline = format!("{}+02:00", local.format("%Y-%m-%dT%H:%M:%S%.9f"));
    let body = json!({ "coefficient": 2.5, "deadline": deadline });
    let rows_before = outbox_rows(&app).await;

    let first = expect_json(patch_event(&app, &id, body.clone()).await, StatusCode::OK).await;
    let rows_after_first = outbox_rows(&app).await;
    let second = patch_event(&app, &id, body).await;

    assert_eq!(first["version"], 2, "{first}");
    assert_eq!(
        rows_after_first,
        rows_before + 1,
        "the first PATCH is announced"
    );
    assert_eq!(header(&second, ETAG), "\"2\"");
    let second = expect_json(second, StatusCode::OK).await;
    assert_eq!(second, first, "the second PATCH changes nothing");
    assert_eq!(
        outbox_rows(&app).await,
        rows_after_first,
        "nothing new to announce"
    );
    assert_eq!(get_event(&app, &id).await, first, "stored as answered");
}

#[tokio::test]
async fn an_empty_patch_is_422() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = patch_event(&app, &id, json!({})).await;

    expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(get_event(&app, &id).await["version"], 1);
}

#[tokio::test]
async fn moving_the_deadline_into_the_past_is_422_naming_deadline() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    let before = (get_event(&app, &id).await, outbox_rows(&app).await);

    let response = patch_event(&app, &id, json!({ "deadline": hours_from_now(-1) })).await;

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names_field(&problem, "deadline");
    let after = (get_event(&app, &id).await, outbox_rows(&app).await);
    assert_eq!(after, before, "a 422 changed something");
}

#[tokio::test]
async fn patching_without_a_token_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = send(
        app.request(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "coefficient": "2.10" })),
    )
    .await;

    expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get_event(&app, &id).await["coefficient"], "1.85");
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn patching_an_unknown_event_is_404() {
    let app = TestApp::spawn().await;

    let response = patch_event(
        &app,
        &Uuid::now_v7().to_string(),
        json!({ "coefficient": "2.10" }),
    )
    .await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(app.rows_written().await, (0, 0));
}

// ------------------------------------------------- PUT /events/{id}/status

#[tokio::test]
async fn setting_a_result_finishes_the_event_at_version_two() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = set_status(&app, &id, "FINISHED_WIN").await;

    assert_eq!(header(&response, ETAG), "\"2\"");
    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["status"], "FINISHED_WIN", "{event}");
    assert_eq!(event["version"], 2, "{event}");
    assert_eq!(get_event(&app, &id).await, event, "stored as returned");
}

#[tokio::test]
async fn setting_the_same_result_again_is_200_and_announces_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;
    let rows_before = outbox_rows(&app).await;

    let response = set_status(&app, &id, "FINISHED_WIN").await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["status"], "FINISHED_WIN", "{event}");
    assert_eq!(event["version"], 2, "{event}");
    assert_eq!(outbox_rows(&app).await, rows_before, "a second outbox row");
}

#[tokio::test]
async fn setting_the_other_result_on_a_finished_event_is_409() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;
    let rows_before = outbox_rows(&app).await;

    let response = set_status(&app, &id, "FINISHED_LOSE").await;

    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["detail"], "the event already finished as FINISHED_WIN",
        "{problem}"
    );
    assert_eq!(get_event(&app, &id).await["status"], "FINISHED_WIN");
    assert_eq!(outbox_rows(&app).await, rows_before);
}

#[tokio::test]
async fn cancelling_an_open_event_is_200_and_announces_event_cancelled() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = set_status(&app, &id, "CANCELLED").await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["status"], "CANCELLED", "{event}");
    assert_eq!(event["version"], 2, "{event}");
    assert_eq!(get_event(&app, &id).await, event, "stored as returned");
    assert_eq!(
        outbox_routing_keys(&app).await,
        ["event.created", "event.cancelled"]
    );
}

#[tokio::test]
async fn cancelling_twice_is_200_and_announces_nothing_new() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "CANCELLED").await, StatusCode::OK).await;
    let rows_before = outbox_rows(&app).await;

    let response = set_status(&app, &id, "CANCELLED").await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(event["status"], "CANCELLED", "{event}");
    assert_eq!(event["version"], 2, "{event}");
    assert_eq!(outbox_rows(&app).await, rows_before, "a second outbox row");
}

#[tokio::test]
async fn cancelling_a_finished_event_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "FINISHED_LOSE").await, StatusCode::OK).await;
    let before = (get_event(&app, &id).await, outbox_rows(&app).await);

    let response = set_status(&app, &id, "CANCELLED").await;

    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:conflicting-result",
        "{problem}"
    );
    assert_eq!(
        problem["detail"], "the event already finished as FINISHED_LOSE",
        "{problem}"
    );
    let after = (get_event(&app, &id).await, outbox_rows(&app).await);
    assert_eq!(after, before, "a 409 changed something");
}

#[tokio::test]
async fn a_result_on_a_cancelled_event_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(set_status(&app, &id, "CANCELLED").await, StatusCode::OK).await;
    let before = (get_event(&app, &id).await, outbox_rows(&app).await);

    for result in ["FINISHED_WIN", "FINISHED_LOSE"] {
        let response = set_status(&app, &id, result).await;

        let problem = expect_problem(response, StatusCode::CONFLICT).await;
        assert_eq!(
            problem["detail"], "the event was already cancelled (CANCELLED)",
            "{problem}"
        );
    }
    let response = patch_event(&app, &id, json!({ "coefficient": "2.10" })).await;
    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["detail"], "the event is cancelled (CANCELLED) and can no longer change",
        "{problem}"
    );
    let after = (get_event(&app, &id).await, outbox_rows(&app).await);
    assert_eq!(after, before, "a 409 changed something");
}

#[tokio::test]
async fn filtering_by_status_cancelled_lists_only_cancelled_events() {
    let app = TestApp::spawn().await;
    app.create_event("1.85").await;
    let cancelled = id_of(&app.create_event("2.00").await);
    expect_json(
        set_status(&app, &cancelled, "CANCELLED").await,
        StatusCode::OK,
    )
    .await;

    let page = expect_json(list(&app, "?status=CANCELLED").await, StatusCode::OK).await;

    assert_eq!(ids(&page), [cancelled], "{page}");
}

#[tokio::test]
async fn setting_new_on_an_open_event_is_200_and_announces_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = set_status(&app, &id, "NEW").await;

    let event = expect_json(response, StatusCode::OK).await;
    assert_eq!(
        (&event["status"], &event["version"]),
        (&json!("NEW"), &json!(1))
    );
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn an_unknown_status_is_422_naming_status() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = set_status(&app, &id, "OPEN").await;

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names_field(&problem, "status");
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn setting_a_result_without_a_token_is_401() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = send(
        app.request(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": "FINISHED_WIN" })),
    )
    .await;

    expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get_event(&app, &id).await["status"], "NEW");
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn setting_a_result_on_an_unknown_event_is_404() {
    let app = TestApp::spawn().await;

    let response = set_status(&app, &Uuid::now_v7().to_string(), "FINISHED_WIN").await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(app.rows_written().await, (0, 0));
}

#[tokio::test]
async fn setting_a_result_with_a_stale_if_match_is_412() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(
        patch_event(&app, &id, json!({ "coefficient": "2.10" })).await,
        StatusCode::OK,
    )
    .await;

    let response = send(
        app.operator(Method::PUT, &format!("/events/{id}/status"))
            .header("if-match", "\"1\"")
            .json(&json!({ "status": "FINISHED_WIN" })),
    )
    .await;

    expect_problem(response, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(get_event(&app, &id).await["status"], "NEW");
}

// ------------------------------------------------------------------ outbox

#[tokio::test]
async fn every_change_writes_exactly_one_outbox_row_in_order() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(
        patch_event(&app, &id, json!({ "coefficient": "2.10" })).await,
        StatusCode::OK,
    )
    .await;
    expect_json(set_status(&app, &id, "FINISHED_LOSE").await, StatusCode::OK).await;

    let rows = outbox_rows(&app).await;
    let keys = outbox_routing_keys(&app).await;

    assert_eq!(rows, 3);
    assert_eq!(keys, ["event.created", "event.updated", "event.finished"]);
}

// ------------------------------------------------- health, metrics, docs

#[tokio::test]
async fn the_service_is_live() {
    let app = TestApp::spawn().await;

    let response = send(app.request(Method::GET, "/health/live")).await;

    expect_json(response, StatusCode::OK).await;
}

#[tokio::test]
async fn the_service_becomes_ready_with_database_and_broker_up() {
    let app = TestApp::spawn().await;

    // The relay connects to the broker in the background: poll.
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
    send(app.request(Method::GET, "/health/live")).await;

    let response = send(app.management(Method::GET, "/metrics")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, CONTENT_TYPE);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap_or_default();
    assert!(
        text.contains("http_requests_total"),
        "no request counter in /metrics:\n{text}"
    );
    let public = send(app.request(Method::GET, "/metrics")).await;
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
    app.wait_until_ready().await;

    for (listener, request) in [
        ("public", app.request(Method::GET, "/health/ready")),
        ("management", app.management(Method::GET, "/health/ready")),
        ("public", app.request(Method::GET, "/health/live")),
        ("management", app.management(Method::GET, "/health/live")),
    ] {
        let response = send(request).await;
        assert_eq!(response.status(), StatusCode::OK, "{listener}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::spawn().await;

    let response = send(app.request(Method::GET, "/docs")).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, CONTENT_TYPE);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap_or_default();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;

    let response = send(app.request(Method::GET, "/no/such/route")).await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_method_the_route_does_not_accept_is_a_405_problem() {
    let app = TestApp::spawn().await;

    let response = send(app.operator(Method::DELETE, "/events")).await;

    expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}
