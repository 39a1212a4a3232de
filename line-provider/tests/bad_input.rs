//! Bad input gets a clear 4xx problem document, never a 500, and never a
//! partial write: for `POST /events`, `PATCH /events/{id}`,
//! `PUT /events/{id}/status` and `POST /events/{id}/corrections`.
//!
//! The tests are tables. Every case runs, whatever an earlier one did, and a
//! failure lists each case that went wrong by name.

mod support;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use shared_kernel::http::{A_LEAP_SECOND, NOT_A_DATE_TIME, NOT_A_UUID, YEAR_OUT_OF_RANGE};
use shared_kernel::testing::{Case, expect_json, expect_problem, run_cases};
use support::TestApp;

/// What the requests go to.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Create,
    Update(&'a str),
    SetStatus(&'a str),
    Correct(&'a str),
}

impl Target<'_> {
    fn request(self, app: &TestApp, path_id: Option<&str>) -> RequestBuilder {
        match self {
            Self::Create => app.operator(Method::POST, "/events"),
            Self::Update(id) => {
                app.operator(Method::PATCH, &format!("/events/{}", path_id.unwrap_or(id)))
            }
            Self::SetStatus(id) => app.operator(
                Method::PUT,
                &format!("/events/{}/status", path_id.unwrap_or(id)),
            ),
            Self::Correct(id) => app.operator(
                Method::POST,
                &format!("/events/{}/corrections", path_id.unwrap_or(id)),
            ),
        }
    }

    fn event_id(self) -> Option<String> {
        match self {
            Self::Create => None,
            Self::Update(id) | Self::SetStatus(id) | Self::Correct(id) => Some(id.to_owned()),
        }
    }
}

/// What a bad request must leave as it was: the row counts, and the event
/// it aimed at.
async fn state(app: &TestApp, target: Target<'_>) -> ((i64, i64), Option<Value>) {
    let event = match target.event_id() {
        Some(id) => {
            let response = app
                .request(Method::GET, &format!("/events/{id}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET /events/{id}: {e}"));
            Some(expect_json(response, StatusCode::OK).await)
        }
        None => None,
    };
    (app.rows_written().await, event)
}

/// Runs every case against `target`, and fails once, listing each that
/// went wrong.
async fn run(app: &TestApp, target: Target<'_>, cases: Vec<Case>) {
    run_cases(
        &format!("{target:?}"),
        cases,
        |case| target.request(app, case.path_id),
        || state(app, target),
    )
    .await;
}

fn in_an_hour() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
}

fn an_hour_ago() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()
}

/// A create body with `coefficient` as raw JSON text.
fn create_body(coefficient: &str) -> String {
    format!(
        r#"{{"coefficient": {coefficient}, "deadline": "{}"}}"#,
        in_an_hour()
    )
}

/// A create body with `deadline` as raw JSON text.
fn create_body_with_deadline(deadline: &str) -> String {
    format!(r#"{{"coefficient": "1.85", "deadline": {deadline}}}"#)
}

/// Coefficients that are not one: raw JSON text, each 422 naming
/// `coefficient`.
const BAD_COEFFICIENTS: &[(&str, &str)] = &[
    ("string 1.00 (not above one)", r#""1.00""#),
    ("number 1 (not above one)", "1"),
    ("number 0.5", "0.5"),
    ("negative number -2.50", "-2.50"),
    ("string 1.001 (three decimals)", r#""1.001""#),
    ("number 1.001 (three decimals)", "1.001"),
    ("string abc", r#""abc""#),
    ("number 1e3 (exponent)", "1e3"),
    ("number 1E3 (exponent)", "1E3"),
    ("number 1.5e0 (exponent)", "1.5e0"),
    ("string 1e3 (exponent)", r#""1e3""#),
    ("string 1000.01 (above 1000.00)", r#""1000.01""#),
    ("number 1000.01 (above 1000.00)", "1000.01"),
    (
        "number 0.30000000000000004 (float noise)",
        "0.30000000000000004",
    ),
    (
        "number 1.8500000000000001 (float noise)",
        "1.8500000000000001",
    ),
    ("null", "null"),
    ("string NaN", r#""NaN""#),
    ("string Infinity", r#""Infinity""#),
    ("boolean true", "true"),
    ("empty string", r#""""#),
    ("string with a leading space", r#"" 1.85""#),
    ("string with a plus sign", r#""+1.85""#),
    ("string with a decimal comma", r#""1,85""#),
    ("string 1. (no decimals after the point)", r#""1.""#),
    ("a huge string", r#""99999999999999999999999999999999.00""#),
    ("a huge number", "99999999999999999999999999999999.00"),
    ("an array", "[1.85]"),
    ("an object", r#"{"value": "1.85"}"#),
    (
        "the object serde_json carries numbers in",
        r#"{"$serde_json::private::Number": "1.85"}"#,
    ),
    (
        "that object with an escaped value",
        r#"{"$serde_json::private::Number": "\u0031.85"}"#,
    ),
];

fn coefficient_cases(body: impl Fn(&str) -> String) -> Vec<Case> {
    BAD_COEFFICIENTS
        .iter()
        .map(|(name, coefficient)| Case::invalid(name, body(coefficient), "coefficient"))
        .collect()
}

/// Deadlines that cannot be stored and announced as written: a leap second
/// (at any minute, in the future) and years outside 0001-9999 in UTC.
fn unstorable_deadlines(body: impl Fn(&str) -> String) -> Vec<Case> {
    vec![
        Case::invalid(
            "a leap second",
            body(r#""2099-06-01T12:00:60Z""#),
            "deadline",
        )
        .saying(A_LEAP_SECOND),
        Case::invalid(
            "a leap second at the end of June",
            body(r#""2099-06-30T23:59:60.5Z""#),
            "deadline",
        )
        .saying(A_LEAP_SECOND),
        Case::invalid(
            "year 10000 once in UTC",
            body(r#""9999-12-31T23:00:00-02:00""#),
            "deadline",
        )
        .saying(YEAR_OUT_OF_RANGE),
        Case::invalid(
            "a five-digit year",
            body(r#""10000-01-01T00:00:00Z""#),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
    ]
}

// ------------------------------------------------------------ POST /events

#[tokio::test]
async fn creating_an_event_with_a_bad_coefficient_is_422_naming_it_and_writes_nothing() {
    let app = TestApp::spawn().await;

    run(&app, Target::Create, coefficient_cases(create_body)).await;
}

#[tokio::test]
async fn creating_an_event_with_a_bad_deadline_is_422_naming_it_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let past = format!(r#""{}""#, an_hour_ago());
    let cases = vec![
        Case::invalid("in the past", create_body_with_deadline(&past), "deadline"),
        Case::invalid(
            "not a timestamp",
            create_body_with_deadline(r#""tomorrow""#),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid(
            "a date without a time",
            create_body_with_deadline(r#""2099-01-01""#),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid(
            "a time without an offset",
            create_body_with_deadline(r#""2099-01-01T12:00:00""#),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid(
            "an impossible date",
            create_body_with_deadline(r#""2099-02-30T12:00:00Z""#),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid(
            "a Unix timestamp number",
            create_body_with_deadline("4102444800"),
            "deadline",
        ),
        Case::invalid("null", create_body_with_deadline("null"), "deadline"),
    ];
    let cases = cases
        .into_iter()
        .chain(unstorable_deadlines(create_body_with_deadline));

    run(&app, Target::Create, cases.collect()).await;
}

#[tokio::test]
async fn creating_an_event_from_a_body_of_the_wrong_shape_is_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let deadline = in_an_hour();
    let cases = vec![
        Case::invalid(
            "coefficient missing",
            format!(r#"{{"deadline": "{deadline}"}}"#),
            "coefficient",
        ),
        Case::invalid(
            "deadline missing",
            r#"{"coefficient": "1.85"}"#.to_owned(),
            "deadline",
        ),
        Case::invalid("an empty object", "{}".to_owned(), "coefficient").any_field(),
        Case::invalid(
            "an unknown extra field",
            format!(r#"{{"coefficient": "1.85", "deadline": "{deadline}", "extra": 1}}"#),
            "extra",
        ),
        Case::invalid(
            "a status chosen by the client",
            format!(r#"{{"coefficient": "1.85", "deadline": "{deadline}", "status": "NEW"}}"#),
            "status",
        ),
        Case::invalid("a JSON string", r#""1.85""#.to_owned(), "body").any_field(),
        Case::invalid("JSON null", "null".to_owned(), "body").any_field(),
    ];

    run(&app, Target::Create, cases).await;
}

#[tokio::test]
async fn creating_an_event_from_a_body_that_is_not_json_is_400_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cases = vec![
        Case::malformed("an empty body", ""),
        Case::malformed("a body of spaces", "   \n"),
        Case::malformed("an unclosed object", r#"{"coefficient": "1.85""#),
        Case::malformed("a trailing comma", r#"{"coefficient": "1.85",}"#),
        Case::malformed("single quotes", "{'coefficient': '1.85'}"),
        Case::malformed("plain text", "coefficient=1.85"),
        Case::malformed(
            "two objects",
            format!("{} {}", create_body(r#""1.85""#), create_body(r#""1.85""#)),
        ),
    ];

    run(&app, Target::Create, cases).await;
}

#[tokio::test]
async fn creating_an_event_from_a_body_not_sent_as_json_is_415_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cases = vec![
        Case::media_type("text/plain", create_body(r#""1.85""#), Some("text/plain")),
        Case::media_type("no content type", create_body(r#""1.85""#), None),
        Case::media_type(
            "a form",
            "coefficient=1.85".to_owned(),
            Some("application/x-www-form-urlencoded"),
        ),
    ];

    run(&app, Target::Create, cases).await;
}

// ------------------------------------------------------ PATCH /events/{id}

#[tokio::test]
async fn changing_an_event_to_a_bad_coefficient_is_422_naming_it_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let cases = coefficient_cases(|coefficient| format!(r#"{{"coefficient": {coefficient}}}"#))
        .into_iter()
        // In a PATCH, `null` may fairly mean "not given": then the body
        // names no field, which is 422 too, but not about `coefficient`.
        .map(|case| {
            if case.name == "null" {
                case.any_field()
            } else {
                case
            }
        })
        .collect();

    run(&app, Target::Update(&id), cases).await;
}

#[tokio::test]
async fn changing_the_coefficient_to_below_one_is_422_and_the_event_is_unchanged() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();

    let response = app
        .operator(Method::PATCH, &format!("/events/{id}"))
        .json(&serde_json::json!({ "coefficient": "0.99" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PATCH /events/{id}: {e}"));

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "coefficient", "{problem}");
    let stored = app
        .request(Method::GET, &format!("/events/{id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /events/{id}: {e}"));
    assert_eq!(expect_json(stored, StatusCode::OK).await, event);
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn changing_an_event_with_bad_input_is_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let past = an_hour_ago();
    let good = r#"{"coefficient": "2.10"}"#.to_owned();
    let cases = vec![
        Case::invalid(
            "deadline in the past",
            format!(r#"{{"deadline": "{past}"}}"#),
            "deadline",
        ),
        Case::invalid(
            "deadline not a timestamp",
            r#"{"deadline": "next week"}"#.to_owned(),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid(
            "deadline without a time zone",
            r#"{"deadline": "2030-06-01T18:00:00"}"#.to_owned(),
            "deadline",
        )
        .saying(NOT_A_DATE_TIME),
        Case::invalid("an empty object", "{}".to_owned(), "body").any_field(),
        Case::invalid(
            "an unknown extra field",
            r#"{"coefficient": "2.10", "extra": true}"#.to_owned(),
            "extra",
        ),
        Case::invalid(
            "a status (set through PUT /events/{id}/status)",
            r#"{"status": "FINISHED_WIN"}"#.to_owned(),
            "status",
        ),
        Case::invalid(
            "a version",
            r#"{"coefficient": "2.10", "version": 7}"#.to_owned(),
            "version",
        ),
        Case::malformed("an empty body", ""),
        Case::malformed("invalid JSON", r#"{"coefficient": }"#),
        Case::media_type("text/plain", good.clone(), Some("text/plain")),
        Case::media_type("no content type", good, None),
    ];
    let cases = cases.into_iter().chain(unstorable_deadlines(|deadline| {
        format!(r#"{{"deadline": {deadline}}}"#)
    }));

    run(&app, Target::Update(&id), cases.collect()).await;
}

// ------------------------------------------------- PUT /events/{id}/status

#[tokio::test]
async fn setting_the_status_with_bad_input_is_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let good = r#"{"status": "FINISHED_WIN"}"#.to_owned();
    let status = |value: &str| format!(r#"{{"status": {value}}}"#);
    let cases = vec![
        Case::invalid("an unknown status", status(r#""BOGUS""#), "status"),
        Case::invalid(
            "a lower-case suspension",
            status(r#""suspended""#),
            "status",
        ),
        Case::invalid("a lower-case status", status(r#""finished_win""#), "status"),
        Case::invalid("status missing", "{}".to_owned(), "status"),
        Case::invalid(
            "an unknown extra field",
            r#"{"status": "FINISHED_WIN", "extra": 1}"#.to_owned(),
            "extra",
        ),
        Case::malformed("an empty body", ""),
        Case::malformed("invalid JSON", r#"{"status": FINISHED_WIN}"#),
        Case::media_type("text/plain", good.clone(), Some("text/plain")),
        Case::media_type("no content type", good, None),
    ];

    run(&app, Target::SetStatus(&id), cases).await;
}

#[tokio::test]
async fn setting_the_status_to_a_value_of_the_wrong_json_type_is_422_naming_status() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let status = |value: &str| format!(r#"{{"status": {value}}}"#);
    let cases = vec![
        Case::invalid("status null", status("null"), "status"),
        Case::invalid("status a number", status("1"), "status"),
        Case::invalid("status a boolean", status("true"), "status"),
        Case::invalid("status an array", status(r#"["FINISHED_WIN"]"#), "status"),
    ];

    run(&app, Target::SetStatus(&id), cases).await;
}

// ------------------------------------------ POST /events/{id}/corrections

#[tokio::test]
async fn correcting_with_bad_input_is_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let response = app
        .operator(Method::PUT, &format!("/events/{id}/status"))
        .json(&serde_json::json!({ "status": "FINISHED_WIN" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT /events/{id}/status: {e}"));
    expect_json(response, StatusCode::OK).await;
    let body =
        |status: &str, reason: &str| format!(r#"{{"status": {status}, "reason": {reason}}}"#);
    let long = format!(r#""{}""#, "x".repeat(501));
    let good = body(r#""FINISHED_LOSE""#, r#""the goal was offside""#);
    let cases = vec![
        Case::invalid(
            "an empty reason",
            body(r#""FINISHED_LOSE""#, r#""""#),
            "reason",
        ),
        Case::invalid(
            "a reason of only whitespace",
            body(r#""FINISHED_LOSE""#, r#""  \t\n ""#),
            "reason",
        ),
        Case::invalid(
            "a reason of 501 characters",
            body(r#""FINISHED_LOSE""#, &long),
            "reason",
        ),
        Case::invalid(
            "a reason that is a number",
            body(r#""FINISHED_LOSE""#, "42"),
            "reason",
        ),
        Case::invalid(
            "a null reason",
            body(r#""FINISHED_LOSE""#, "null"),
            "reason",
        ),
        Case::invalid(
            "no reason",
            r#"{"status": "FINISHED_LOSE"}"#.to_owned(),
            "reason",
        ),
        Case::invalid("status NEW", body(r#""NEW""#, r#""why""#), "status"),
        Case::invalid(
            "status SUSPENDED",
            body(r#""SUSPENDED""#, r#""why""#),
            "status",
        ),
        Case::invalid("an unknown status", body(r#""LOST""#, r#""why""#), "status"),
        Case::invalid(
            "an unknown extra field",
            r#"{"status": "FINISHED_LOSE", "reason": "why", "by": "me"}"#.to_owned(),
            "by",
        ),
        Case::malformed("an empty body", ""),
        Case::malformed("invalid JSON", r#"{"status": "FINISHED_LOSE","#),
        Case::media_type("text/plain", good.clone(), Some("text/plain")),
        Case::media_type("no content type", good, None),
    ];

    run(&app, Target::Correct(&id), cases).await;
}

#[tokio::test]
async fn a_correction_with_no_final_status_and_no_reason_names_both() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();

    let response = app
        .operator(Method::POST, &format!("/events/{id}/corrections"))
        .json(&serde_json::json!({ "status": "NEW", "reason": " " }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /events/{id}/corrections: {e}"));

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["status", "reason"], "{problem}");
    assert_eq!(app.rows_written().await, (1, 1));
}

// ------------------------------------------------------ the id in the path

#[tokio::test]
async fn changing_an_event_with_a_malformed_uuid_in_the_path_is_400_naming_id() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let good = r#"{"coefficient": "2.10"}"#.to_owned();
    let cases = vec![
        Case::bad_path("not a UUID at all", good.clone(), "not-a-uuid").saying(NOT_A_UUID),
        Case::bad_path(
            "a UUID with a bad digit",
            good,
            "0192f0c1-0000-7000-8000-00000000000g",
        )
        .saying(NOT_A_UUID),
    ];

    run(&app, Target::Update(&id), cases).await;
}

#[tokio::test]
async fn setting_the_status_with_a_malformed_uuid_in_the_path_is_400_naming_id() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let cases = vec![
        Case::bad_path(
            "not a UUID at all",
            r#"{"status": "FINISHED_WIN"}"#.to_owned(),
            "not-a-uuid",
        )
        .saying(NOT_A_UUID),
    ];

    run(&app, Target::SetStatus(&id), cases).await;
}

// ------------------------------------------- a JSON array for an object

#[tokio::test]
async fn creating_an_event_from_a_json_array_is_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let cases = vec![
        Case::invalid("an empty array", "[]".to_owned(), "body").any_field(),
        Case::invalid(
            "an array of the field values, in order",
            format!(r#"["1.85", "{}"]"#, in_an_hour()),
            "body",
        )
        .any_field(),
    ];

    run(&app, Target::Create, cases).await;
}

#[tokio::test]
async fn changing_an_event_from_a_json_array_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let cases = vec![
        Case::invalid("an empty array", "[]".to_owned(), "body").any_field(),
        Case::invalid(
            "an array with a coefficient",
            r#"["2.10"]"#.to_owned(),
            "body",
        )
        .any_field(),
    ];

    run(&app, Target::Update(&id), cases).await;
}

#[tokio::test]
async fn setting_the_status_from_a_json_array_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let cases = vec![
        Case::invalid("an empty array", "[]".to_owned(), "body").any_field(),
        Case::invalid(
            "an array with a result",
            r#"["FINISHED_WIN"]"#.to_owned(),
            "body",
        )
        .any_field(),
    ];

    run(&app, Target::SetStatus(&id), cases).await;
}

// ------------------------------------------- several fields wrong at once

/// The `errors[]` of a problem as (field, message) pairs, in order.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
                    (text("field"), text("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn both_fields_refused() -> Vec<(String, String)> {
    vec![
        (
            "coefficient".to_owned(),
            "must be greater than 1.00".to_owned(),
        ),
        ("deadline".to_owned(), "must be in the future".to_owned()),
    ]
}

#[tokio::test]
async fn creating_an_event_with_a_bad_coefficient_and_a_past_deadline_names_both() {
    let app = TestApp::spawn().await;
    let body = format!(
        r#"{{"coefficient": "1.00", "deadline": "{}"}}"#,
        an_hour_ago()
    );

    let response = app
        .operator(Method::POST, "/events")
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /events: {e}"));

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(field_errors(&problem), both_fields_refused(), "{problem}");
    assert_eq!(problem["detail"], "2 fields are invalid", "{problem}");
    assert_eq!(app.rows_written().await, (0, 0));
}

#[tokio::test]
async fn changing_an_event_to_a_bad_coefficient_and_a_past_deadline_names_both() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let body = format!(
        r#"{{"coefficient": "0.99", "deadline": "{}"}}"#,
        an_hour_ago()
    );

    let response = app
        .operator(Method::PATCH, &format!("/events/{id}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PATCH /events/{id}: {e}"));

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(field_errors(&problem), both_fields_refused(), "{problem}");
    let stored = app
        .request(Method::GET, &format!("/events/{id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /events/{id}: {e}"));
    assert_eq!(expect_json(stored, StatusCode::OK).await, event);
    assert_eq!(app.rows_written().await, (1, 1));
}

#[tokio::test]
async fn a_bad_coefficient_with_the_deadline_the_event_already_has_names_only_the_coefficient() {
    let app = TestApp::spawn().await;
    let event = app.create_event("1.85").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let body = format!(
        r#"{{"coefficient": "1.001", "deadline": {}}}"#,
        event["deadline"]
    );

    let response = app
        .operator(Method::PATCH, &format!("/events/{id}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PATCH /events/{id}: {e}"));

    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        field_errors(&problem),
        [(
            "coefficient".to_owned(),
            "must have at most 2 decimal places".to_owned()
        )],
        "{problem}"
    );
}
