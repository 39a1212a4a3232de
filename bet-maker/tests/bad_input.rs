//! Bad input to `POST /bets` gets a clear 4xx problem document, never a
//! 500, and never a partial write.
//!
//! The tests are tables. Every case runs, whatever an earlier one did, and a
//! failure lists each case that went wrong by name.

mod support;

use bet_maker::domain::LineEventStatus;
use chrono::{Duration, Utc};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use shared_kernel::http::NOT_A_UUID;
use shared_kernel::testing::{Case, expect_json, run_cases};
use support::{TestApp, line_event};
use uuid::Uuid;

async fn bets_written(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM bets").await
}

/// Runs every case against `POST /bets`, and fails once, listing each
/// that went wrong.
async fn run(app: &TestApp, cases: Vec<Case>) {
    run_cases(
        "POST /bets",
        cases,
        |_| app.request(Method::POST, "/bets"),
        || bets_written(app),
    )
    .await;
}

/// A bet body on `event_id` with `amount` as raw JSON text.
fn bet_body(event_id: Uuid, amount: &str) -> String {
    format!(r#"{{"event_id": "{event_id}", "amount": {amount}}}"#)
}

/// Amounts that are not a stake: raw JSON text, each 422 naming `amount`.
const BAD_AMOUNTS: &[(&str, &str)] = &[
    ("number 0", "0"),
    ("string 0.00", r#""0.00""#),
    ("number -1", "-1"),
    ("string -1", r#""-1""#),
    ("number -0.01", "-0.01"),
    ("number 0.001 (three decimals)", "0.001"),
    ("string 0.001 (three decimals)", r#""0.001""#),
    ("number 10.505 (three decimals)", "10.505"),
    ("string 1e2 (exponent)", r#""1e2""#),
    ("number 1e2 (exponent)", "1e2"),
    ("number 1E2 (exponent)", "1E2"),
    ("number 1.5e1 (exponent)", "1.5e1"),
    ("string abc", r#""abc""#),
    ("number 1000000.01 (above the house limit)", "1000000.01"),
    (
        "string 1000000.01 (above the house limit)",
        r#""1000000.01""#,
    ),
    ("string 1000001 (above the house limit)", r#""1000001""#),
    ("null", "null"),
    (
        "number 0.30000000000000004 (float noise)",
        "0.30000000000000004",
    ),
    (
        "number 10.499999999999999 (float noise)",
        "10.499999999999999",
    ),
    ("string NaN", r#""NaN""#),
    ("string Infinity", r#""Infinity""#),
    ("boolean true", "true"),
    ("empty string", r#""""#),
    ("string with a leading space", r#"" 10.50""#),
    ("string with a plus sign", r#""+10.50""#),
    ("string with a decimal comma", r#""10,50""#),
    ("string with a currency", r#""10.50 EUR""#),
    ("string .5 (no digit before the point)", r#"".5""#),
    ("a huge string", r#""99999999999999999999999999999999.00""#),
    ("a huge number", "99999999999999999999999999999999.00"),
    ("an array", "[10.50]"),
    ("an object", r#"{"value": "10.50"}"#),
    (
        "the object serde_json carries numbers in",
        r#"{"$serde_json::private::Number": "100"}"#,
    ),
    (
        "that object with an escaped value",
        r#"{"$serde_json::private::Number": "\u0031\u0030\u0030"}"#,
    ),
];

// ---------------------------------------------------------------- amount

#[tokio::test]
async fn a_bet_with_a_bad_amount_is_422_naming_amount_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let cases = BAD_AMOUNTS
        .iter()
        .map(|(name, amount)| Case::invalid(name, bet_body(event.id, amount), "amount"))
        .collect();

    run(&app, cases).await;
}

#[tokio::test]
async fn the_body_the_cases_spoil_is_accepted() {
    // The cases above fail for their own fault, not the event's.
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    app.deposit_as(support::BETTOR, support::MAX_STAKE).await;

    for amount in [r#""10.50""#, "10.50", "0.01", r#""1000000.00""#] {
        let response = app
            .request(Method::POST, "/bets")
            .header(CONTENT_TYPE, "application/json")
            .body(bet_body(event.id, amount))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"));

        expect_json(response, StatusCode::CREATED).await;
    }
}

// ------------------------------------------------------- shape of the body

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let id = event.id;
    let with_event = |event_id: &str| format!(r#"{{"event_id": {event_id}, "amount": "10.50"}}"#);
    let cases = vec![
        Case::invalid(
            "amount missing",
            format!(r#"{{"event_id": "{id}"}}"#),
            "amount",
        ),
        Case::invalid(
            "event_id missing",
            r#"{"amount": "10.50"}"#.to_owned(),
            "event_id",
        ),
        Case::invalid("an empty object", "{}".to_owned(), "body").any_field(),
        Case::invalid(
            "event_id not a UUID",
            with_event(r#""not-a-uuid""#),
            "event_id",
        )
        .saying(NOT_A_UUID),
        Case::invalid(
            "event_id a UUID with a bad digit",
            with_event(r#""0192f0c1-0000-7000-8000-00000000000g""#),
            "event_id",
        )
        .saying(NOT_A_UUID),
        Case::invalid("event_id empty", with_event(r#""""#), "event_id").saying(NOT_A_UUID),
        Case::invalid("event_id null", with_event("null"), "event_id"),
        Case::invalid("event_id a number", with_event("42"), "event_id"),
        Case::invalid(
            "an unknown extra field",
            format!(r#"{{"event_id": "{id}", "amount": "10.50", "extra": 1}}"#),
            "extra",
        ),
        Case::invalid(
            "a status chosen by the client",
            format!(r#"{{"event_id": "{id}", "amount": "10.50", "status": "WON"}}"#),
            "status",
        ),
        // The coefficient the bettor saw may be sent (odds-change
        // protection), but it must be a decimal, and the policy one of three.
        Case::invalid(
            "a coefficient that is not a decimal",
            format!(r#"{{"event_id": "{id}", "amount": "10.50", "coefficient": "lots"}}"#),
            "coefficient",
        ),
        Case::invalid(
            "an odds-change policy that does not exist",
            format!(
                r#"{{"event_id": "{id}", "amount": "10.50", "coefficient": "1.85", "accept_odds_change": "lower"}}"#
            ),
            "accept_odds_change",
        ),
        Case::invalid("a JSON string", r#""10.50""#.to_owned(), "body"),
        Case::invalid("a JSON number", "10.50".to_owned(), "body"),
        Case::invalid("JSON null", "null".to_owned(), "body"),
        Case::invalid("JSON true", "true".to_owned(), "body"),
        Case::invalid(
            "amount given twice",
            format!(r#"{{"event_id": "{id}", "amount": "10.50", "amount": "20.00"}}"#),
            "amount",
        )
        .any_field(),
        Case::invalid(
            "amount nested 1000 arrays deep",
            bet_body(id, &format!("{}10{}", "[".repeat(1000), "]".repeat(1000))),
            "amount",
        ),
    ];

    run(&app, cases).await;
}

#[tokio::test]
async fn a_json_array_body_is_422_naming_body_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let cases = vec![
        Case::invalid("an empty array", "[]".to_owned(), "body"),
        Case::invalid(
            "an array of the field values, in order",
            format!(r#"["{}", "10.50"]"#, event.id),
            "body",
        ),
        Case::invalid(
            "an array holding the object",
            format!("[{}]", bet_body(event.id, r#""10.50""#)),
            "body",
        ),
    ];

    run(&app, cases).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let good = bet_body(event.id, r#""10.50""#);
    let cases = vec![
        Case::malformed("an empty body", ""),
        Case::malformed("a body of spaces", "   \n"),
        Case::malformed(
            "an unclosed object",
            format!(r#"{{"event_id": "{}", "amount": "10.50""#, event.id),
        ),
        Case::malformed("a value missing", r#"{"event_id": , "amount": "10.50"}"#),
        Case::malformed(
            "a trailing comma",
            format!(r#"{{"event_id": "{}", "amount": "10.50",}}"#, event.id),
        ),
        Case::malformed("single quotes", "{'amount': '10.50'}"),
        Case::malformed("an unquoted NaN", bet_body(event.id, "NaN")),
        Case::malformed("plain text", "amount=10.50"),
        Case::malformed("two objects", format!("{good} {good}")),
        Case::malformed("a byte order mark first", format!("\u{feff}{good}")),
    ];

    run(&app, cases).await;
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_400_and_writes_nothing() {
    // JSON text is UTF-8 (RFC 8259, 8.1): these bytes are not JSON, so
    // they are a malformed body, not a JSON value of the wrong shape.
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let latin1 = |prefix: String, suffix: &[u8]| [prefix.as_bytes(), suffix].concat();
    let cases = vec![
        Case::malformed(
            "a Latin-1 byte in the amount",
            latin1(
                format!(r#"{{"event_id": "{}", "amount": "10"#, event.id),
                b"\xa450\"}",
            ),
        ),
        Case::malformed(
            "a Latin-1 byte in a key",
            latin1(
                format!(r#"{{"event_id": "{}", "amount": "10.50", "#, event.id),
                b"\"caf\xe9\": 1}",
            ),
        ),
    ];

    run(&app, cases).await;
}

#[tokio::test]
async fn a_body_not_sent_as_json_is_415_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let good = bet_body(event.id, r#""10.50""#);
    let cases = vec![
        Case::media_type("text/plain", good.clone(), Some("text/plain")),
        Case::media_type("no content type", good, None),
        Case::media_type(
            "a form",
            format!("event_id={}&amount=10.50", event.id),
            Some("application/x-www-form-urlencoded"),
        ),
    ];

    run(&app, cases).await;
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_413_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let padding = "x".repeat(100 * 1024);
    let body = format!(
        r#"{{"event_id": "{}", "amount": "10.50", "note": "{padding}"}}"#,
        event.id
    );

    run(
        &app,
        vec![Case::refused(
            "100 KiB",
            body,
            StatusCode::PAYLOAD_TOO_LARGE,
        )],
    )
    .await;
}

// ------------------------------------------------- the event bet on

#[tokio::test]
async fn a_bet_on_an_event_that_takes_no_bets_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let in_an_hour = Utc::now() + Duration::hours(1);
    let late = line_event(
        "1.85",
        Utc::now() - Duration::hours(1),
        LineEventStatus::New,
        1,
    );
    let won = line_event("1.85", in_an_hour, LineEventStatus::FinishedWin, 2);
    let lost = line_event("1.85", in_an_hour, LineEventStatus::FinishedLose, 2);
    for event in [&late, &won, &lost] {
        app.seed_event(event).await;
    }
    let amount = r#""10.50""#;
    let cases = vec![
        Case::refused(
            "an unknown event",
            bet_body(Uuid::now_v7(), amount),
            StatusCode::NOT_FOUND,
        ),
        Case::refused(
            "the nil UUID",
            bet_body(Uuid::nil(), amount),
            StatusCode::NOT_FOUND,
        ),
        Case::refused(
            "an event past its deadline",
            bet_body(late.id, amount),
            StatusCode::CONFLICT,
        ),
        Case::refused(
            "an event finished as a win",
            bet_body(won.id, amount),
            StatusCode::CONFLICT,
        ),
        Case::refused(
            "an event finished as a loss",
            bet_body(lost.id, amount),
            StatusCode::CONFLICT,
        ),
    ];

    run(&app, cases).await;
}
