//! RFC 9457 problem documents: the one shape every error response takes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name as the client wrote it (`coefficient`, `limit`, `id`).
    #[schema(example = "coefficient")]
    pub field: String,
    /// What is wrong, in words.
    #[schema(example = "must be greater than 1.00")]
    pub message: String,
}

impl FieldError {
    /// A field and what is wrong with it.
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// An error response (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:betting:problem:<slug>`);
    /// stable, for machines to match on.
    #[serde(rename = "type", serialize_with = "serialize_kind")]
    #[schema(value_type = String, example = "urn:betting:problem:validation")]
    pub slug: &'static str,
    /// A short summary of the kind of problem.
    #[schema(value_type = String, example = "Invalid request")]
    pub title: &'static str,
    /// The HTTP status code.
    #[serde(serialize_with = "serialize_status")]
    #[schema(value_type = u16, example = 422)]
    pub status: StatusCode,
    /// What went wrong this time, for a human.
    #[schema(example = "1 field is invalid")]
    pub detail: String,
    /// For validation problems: each invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members (RFC 9457, 3.2): more about this kind of problem,
    /// for machines (`balance` on `insufficient-funds`). Boxed: most
    /// problems have none, and a `Problem` travels in every `Result`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    /// Extra headers, such as `WWW-Authenticate` on a 401.
    #[serde(skip)]
    #[schema(ignore)]
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

fn serialize_kind<S: serde::Serializer>(slug: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("urn:betting:problem:{slug}"))
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    /// A problem of kind `urn:betting:problem:<slug>`.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            slug,
            title,
            status,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        }
    }

    /// 422: the request is well-formed but these fields break the rules.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::invalid(StatusCode::UNPROCESSABLE_ENTITY, errors)
    }

    /// 400: these parameters (path, query, headers) cannot be read.
    pub fn bad_parameters(errors: Vec<FieldError>) -> Self {
        Self::invalid(StatusCode::BAD_REQUEST, errors)
    }

    fn invalid(status: StatusCode, errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self {
            errors,
            ..Self::new(status, "validation", "Invalid request", detail)
        }
    }

    /// 400: the body is not JSON, or is empty.
    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-body",
            "Malformed request body",
            detail,
        )
    }

    /// 404: nothing with this id.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 409: the resource's state forbids this change.
    pub fn conflict(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, "Conflict", detail)
    }

    /// 412: `If-Match` names another version than the current one.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            detail,
        )
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 503: a dependency is down; try again shortly.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    }

    /// 500: a bug or an unexpected failure. The cause is logged by the
    /// caller, never sent to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server failed to handle the request; it has been logged",
        )
    }

    /// Adds an extension member: a top-level field of the document beside
    /// the standard ones (not one of their names).
    pub fn with_extension(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions
            .get_or_insert_default()
            .insert(name.to_owned(), value.into());
        self
    }

    /// The extension member `name`, if set.
    pub fn extension(&self, name: &str) -> Option<&serde_json::Value> {
        self.extensions.as_ref()?.get(name)
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_problem_lists_its_fields() {
        let problem = Problem::validation(vec![FieldError::new("amount", "must be positive")]);
        let value = serde_json::to_value(&problem).unwrap_or_default();
        assert_eq!(value["status"], 422);
        assert_eq!(value["type"], "urn:betting:problem:validation");
        assert_eq!(value["detail"], "amount: must be positive");
        assert_eq!(value["errors"][0]["field"], "amount");
    }

    #[test]
    fn the_response_is_problem_json() {
        let response = Problem::unauthorized("no token").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn extension_members_sit_beside_the_standard_ones() {
        let problem = Problem::conflict("insufficient-funds", "the balance is 5.00")
            .with_extension("balance", "5.00");
        let value = serde_json::to_value(&problem).unwrap_or_default();
        assert_eq!(value["balance"], "5.00");
        assert_eq!(value["status"], 409);
        let plain = serde_json::to_value(Problem::not_found("none")).unwrap_or_default();
        assert_eq!(plain.as_object().map(|o| o.len()), Some(4), "{plain}");
    }
}
