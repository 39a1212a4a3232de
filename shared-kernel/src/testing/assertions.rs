//! Assertions every service's tests make: on responses, and on rows.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderName;
use reqwest::{RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;

/// Asserts the status and returns the JSON body (the body is shown when
/// either is not what was expected).
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let url = response.url().clone();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "unexpected status from {url}; body: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON from {url} ({e}): {body}"))
}

/// Asserts an RFC 9457 problem document with this status, and returns it.
pub async fn expect_problem(response: Response, status: StatusCode) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let problem = expect_json(response, status).await;
    assert_eq!(
        content_type,
        crate::http::PROBLEM_JSON,
        "problem: {problem}"
    );
    assert_eq!(problem["status"], status.as_u16(), "problem: {problem}");
    for field in ["type", "title", "detail"] {
        assert!(
            problem[field].is_string(),
            "problem without `{field}`: {problem}"
        );
    }
    problem
}

/// The first number of a query's first row (`SELECT count(*) ...`).
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Sends a request, failing the test if it could not be sent at all.
pub async fn send(request: RequestBuilder) -> Response {
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("sending the request: {e}"))
}

/// A header of the response, as text; fails the test if it is missing.
pub fn header(response: &Response, name: HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no readable `{name}` header: {:?}", response.headers()))
        .to_owned()
}

/// The fields a problem document's `errors[]` names.
pub fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that a problem document names `field` in `errors[].field`.
pub fn assert_names_field(problem: &Value, field: &str) {
    assert!(
        field_names(problem).iter().any(|name| name == field),
        "the problem should name `{field}` in errors[].field: {problem}"
    );
}

/// An instant `hours` from now (negative: ago), in whole seconds, so that
/// it reads back as written whatever precision the database keeps.
pub fn hours_from_now(hours: i64) -> DateTime<Utc> {
    let at = Utc::now() + chrono::Duration::hours(hours);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or_else(|| panic!("{at} out of range"))
}
