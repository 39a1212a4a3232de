//! Extractors whose every rejection is a problem document.
//!
//! axum's own `Json`, `Path` and `Query` reject with `text/plain`; these wrap
//! them so a client always gets `application/problem+json` naming the field.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
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

fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// `uuid::Uuid` → `Uuid`.
fn short_type_name(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
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

/// Path parameters: `400` naming the parameter when one cannot be read.
#[derive(Debug, Clone, Copy)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                use axum::extract::path::ErrorKind;
                let (field, message) = match error.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => (
                        key.clone(),
                        format!("must be a valid {}", short_type_name(expected_type)),
                    ),
                    ErrorKind::DeserializeError { key, message, .. } => {
                        (key.clone(), message.clone())
                    }
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        (key.clone(), "is not valid UTF-8".to_owned())
                    }
                    _ => ("path".to_owned(), error.body_text()),
                };
                Err(Problem::bad_parameters(vec![FieldError::new(
                    field, message,
                )]))
            }
            Err(other) => Err(Problem::new(
                other.status(),
                "bad-path",
                "Bad path",
                other.body_text(),
            )),
        }
    }
}

/// Query parameters: `400` naming the parameter when one cannot be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| {
                let field = match error.path().to_string() {
                    root if root == "." => "query".to_owned(),
                    field => field,
                };
                let message = error.into_inner().to_string();
                let message = match message.strip_prefix("unknown variant ") {
                    Some(rest) => format!("unknown value {rest}"),
                    None => message,
                };
                Problem::bad_parameters(vec![FieldError::new(field, message)])
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    fn problem_of(body: &str) -> (StatusCode, Vec<FieldError>) {
        match parse_json::<Body>(body.as_bytes()) {
            Ok(body) => panic!("{body:?} should have been rejected"),
            Err(problem) => (problem.status, problem.errors),
        }
    }

    #[test]
    fn names_the_missing_field() {
        let (status, errors) = problem_of(r#"{"name": "x"}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors, vec![FieldError::new("count", "is required")]);
    }

    #[test]
    fn names_the_unknown_field() {
        let (status, errors) = problem_of(r#"{"name": "x", "count": 1, "extra": true}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors[0].field, "extra");
    }

    #[test]
    fn names_the_field_of_the_wrong_type() {
        let (status, errors) = problem_of(r#"{"name": "x", "count": "many"}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors[0].field, "count");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Colour {
        Red,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Paint {
        colour: Colour,
    }

    #[test]
    fn bytes_that_are_not_utf8_are_not_json() {
        let (status, _) = problem_of("{\"name\": \"x\", \"count\": 1, \"caf\u{e9}\": 1}");
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "valid UTF-8: an unknown field"
        );
        let latin1 = b"{\"name\": \"x\", \"count\": 1, \"caf\xe9\": 1}";
        let problem = parse_json::<Body>(latin1).err().map(|p| p.status);
        assert_eq!(problem, Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn an_array_is_not_an_object() {
        let (status, errors) = problem_of(r#"["x", 1]"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            errors,
            vec![FieldError::new("body", "must be a JSON object")]
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_for_an_enum_names_the_field() {
        for body in [
            r#"{"colour": null}"#,
            r#"{"colour": 1}"#,
            r#"{"colour": ["Red"]}"#,
        ] {
            let problem = parse_json::<Paint>(body.as_bytes()).err();
            let problem = problem.unwrap_or_else(|| panic!("{body} should be rejected"));
            assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(problem.errors[0].field, "colour", "{body}");
        }
    }

    #[test]
    fn syntax_errors_and_empty_bodies_are_bad_requests() {
        for body in [
            "",
            "  ",
            "{",
            "not json",
            r#"{"name": "x", "count": 1} trailing"#,
        ] {
            let (status, _) = problem_of(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                CONTENT_TYPE,
                value.parse().unwrap_or_else(|_| panic!("{value}")),
            );
            has_json_content_type(&headers)
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
    }
}
