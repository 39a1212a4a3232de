//! Bad-input tests as tables: each case is one bad request and the problem
//! it must get. Every case runs, whatever an earlier one did; a case fails
//! when its answer is wrong *or* when it wrote anything, and the test fails
//! once, listing each case that went wrong by name.

use std::fmt::Debug;
use std::future::Future;

use reqwest::header::CONTENT_TYPE;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::expect_problem;

/// One bad request and what it must get.
#[derive(Debug, Clone)]
pub struct Case {
    /// Says which case failed.
    pub name: &'static str,
    /// The body, as raw bytes (JSON numbers such as `1e3` cannot be written
    /// with `serde_json::json!`, nor bytes that are not UTF-8).
    pub body: Vec<u8>,
    /// `None` sends no `Content-Type` at all.
    pub content_type: Option<&'static str>,
    /// The `{id}` in the path, when it should not be the target's own.
    pub path_id: Option<&'static str>,
    /// The expected status.
    pub status: StatusCode,
    /// A field `errors[].field` must name, if any.
    pub field: Option<&'static str>,
    /// The exact `errors[].message` given for `field`, if it matters.
    pub message: Option<&'static str>,
}

impl Case {
    /// A JSON body expected to get 422 naming `field`.
    pub fn invalid(name: &'static str, body: impl Into<Vec<u8>>, field: &'static str) -> Self {
        Self {
            name,
            body: body.into(),
            content_type: Some("application/json"),
            path_id: None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field),
            message: None,
        }
    }

    /// A JSON body expected to get `status`, naming no field.
    pub fn refused(name: &'static str, body: impl Into<Vec<u8>>, status: StatusCode) -> Self {
        Self {
            status,
            field: None,
            ..Self::invalid(name, body, "")
        }
    }

    /// A body sent as JSON that is not JSON: 400.
    pub fn malformed(name: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self::refused(name, body, StatusCode::BAD_REQUEST)
    }

    /// A body not sent as JSON: 415.
    pub fn media_type(
        name: &'static str,
        body: impl Into<Vec<u8>>,
        content_type: Option<&'static str>,
    ) -> Self {
        Self {
            content_type,
            ..Self::refused(name, body, StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
    }

    /// A good body on a path whose id is not a UUID: 400 naming `id`.
    pub fn bad_path(name: &'static str, body: impl Into<Vec<u8>>, path_id: &'static str) -> Self {
        Self {
            path_id: Some(path_id),
            field: Some("id"),
            ..Self::refused(name, body, StatusCode::BAD_REQUEST)
        }
    }

    /// Expects the status without insisting on the field it names.
    pub fn any_field(self) -> Self {
        Self {
            field: None,
            message: None,
            ..self
        }
    }

    /// Also expects an entry naming exactly the field to say exactly `message`:
    /// for the cases whose words are part of the contract (what a client
    /// should send instead).
    pub fn saying(self, message: &'static str) -> Self {
        Self {
            message: Some(message),
            ..self
        }
    }
}

/// Runs every case against `what` (named in the failure): `request` builds
/// the request a case is sent with (its body and content type are added
/// here), and `written` reads what a request could have changed, before
/// and after each case.
pub async fn run_cases<S, Probe, Fut>(
    what: &str,
    cases: Vec<Case>,
    request: impl Fn(&Case) -> RequestBuilder,
    written: Probe,
) where
    S: PartialEq + Debug,
    Probe: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let mut failures = Vec::new();
    for case in cases {
        let before = written().await;
        let mut failure = answer_failure(request(&case), &case).await;
        let after = written().await;
        if after != before {
            let wrote = format!("it wrote something: before {before:?}, after {after:?}");
            failure = Some(failure.map_or(wrote.clone(), |f| format!("{f}; {wrote}")));
        }
        if let Some(failure) = failure {
            failures.push(format!("- {}: {failure}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) of {what} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What is wrong with the answer to `case`, if anything.
async fn answer_failure(request: RequestBuilder, case: &Case) -> Option<String> {
    let mut request = request.body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let (status, field, message) = (case.status, case.field, case.message);
    // On a task of its own, so that expect_problem's panic becomes this
    // case's failure and the other cases still run.
    let checked = tokio::spawn(async move {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending: {e}"));
        let problem = expect_problem(response, status).await;
        if let Some(field) = field {
            let named = problem["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|error| names(error, field)));
            assert!(named, "errors[].field should name `{field}`: {problem}");
            if let Some(message) = message {
                let said = problem["errors"].as_array().is_some_and(|errors| {
                    errors
                        .iter()
                        .any(|error| error["field"] == field && error["message"] == message)
                });
                assert!(said, "`{field}` should be said to {message:?}: {problem}");
            }
        }
    })
    .await;
    checked.err().map(|error| match error.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panicked".to_owned()),
        Err(error) => error.to_string(),
    })
}

/// Whether an `errors[]` entry names `field`; `field.value` names a part of
/// `field`, and that is fine.
fn names(error: &Value, field: &str) -> bool {
    error["field"].as_str().is_some_and(|name| {
        name == field || name.strip_prefix(field).is_some_and(|s| s.starts_with('.'))
    })
}
