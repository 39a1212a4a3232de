//! Path and query parameters whose every rejection is a `400` problem
//! document naming the parameter (axum's own `Path` and `Query` reject
//! with `text/plain`).

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::{FieldError, Problem};

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

/// `uuid::Uuid` → `Uuid`.
fn short_type_name(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
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
