//! JSON request bodies whose every rejection is a problem document.
//!
//! axum's own `Json` rejects with `text/plain`; this wraps it so a client
//! always gets `application/problem+json` naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::problem::{FieldError, Problem};

/// A JSON body: `415` without a JSON content type, `400` when the body is
/// empty or not JSON, `422` naming the field when it has the wrong shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !has_json_content_type(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON, sent with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            Problem::new(
                rejection.status(),
                "unreadable-body",
                "Unreadable request body",
                rejection.body_text(),
            )
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON object body, turning serde's errors into problem
/// documents: `400` when the bytes are not JSON, `422` naming the field when
/// the JSON does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(Problem::malformed_body(
            "the request body is empty; a JSON object is expected",
        ));
    };
    // serde reads a struct from an array too, by position; a client that
    // sent one has made a mistake we should name, not guess around.
    if *first != b'{' {
        if is_json(bytes) {
            return Err(Problem::validation(vec![FieldError::new(
                "body",
                "must be a JSON object",
            )]));
        }
        return Err(Problem::malformed_body("the body is not valid JSON"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        json_problem(bytes, &path, error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| json_problem(bytes, ".", error))?;
    Ok(value)
}

fn json_problem(bytes: &[u8], path: &str, error: serde_json::Error) -> Problem {
    let message = without_position(&error);
    // serde_json calls some type mismatches (a null or a number where an
    // enum belongs) syntax errors; only bytes that are not JSON at all are.
    if !error.is_data() && !is_json(bytes) {
        return Problem::malformed_body(format!("the body is not valid JSON (UTF-8): {message}"));
    }
    Problem::validation(vec![field_error(path, &message)])
}

/// Whether the bytes are JSON: UTF-8 (which serde does not check inside
/// strings it skips) and well-formed. Looked at only on error paths.
fn is_json(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// serde reports a missing field at the enclosing object ("missing field
/// `x`"); the client is better served by the field's own path.
///
/// This reads serde's words because nothing else carries them: serde_json
/// builds `missing_field` and `unknown_field` errors as text, with no kind
/// a caller can match on (its `Category` is only `Data`). Values that do
/// not parse are best described by their own types, which is why ids,
/// instants and money are read as `WireUuid`, `WireDateTime` and
/// `WireDecimal`: their messages say what is expected, and are passed on
/// as they are.
fn field_error(path: &str, message: &str) -> FieldError {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = missing {
        return FieldError::new(join_path(path, name), "is required");
    }
    let field = if path == "." { "body" } else { path };
    if message.starts_with("unknown field `") {
        return FieldError::new(field, "is not a known field");
    }
    FieldError::new(field, message)
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The message without the " at line L column C" serde_json appends (the
/// field's path says where, and better).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
