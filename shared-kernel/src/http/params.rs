//! Path and query parameters whose every rejection is a `400` problem
//! document naming the parameter (axum's own `Path` and `Query` reject
//! with `text/plain`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::routing::get;
use futures_util::FutureExt;
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

impl<T: DeserializeOwned + Send + 'static> ApiPath<T> {
    /// What this extractor answers to `uri` on a route `template`, or
    /// `None` when it reads the path: the examples of the OpenAPI document
    /// use it to show a client what the API really says. It runs axum's
    /// router and this extractor, which wait on nothing, so it needs no
    /// runtime.
    pub fn rejection(template: &str, uri: &str) -> Option<Problem> {
        let seen = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&seen);
        let handler = move |path: Result<ApiPath<T>, Problem>| {
            let slot = Arc::clone(&slot);
            async move {
                if let (Err(problem), Ok(mut slot)) = (path, slot.lock()) {
                    *slot = Some(problem);
                }
            }
        };
        let mut router = Router::new().route(template, get(handler));
        let request = Request::builder().uri(uri).body(Body::empty()).ok()?;
        tower::Service::call(&mut router, request)
            .now_or_never()?
            .ok()?;
        seen.lock().ok()?.take()
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;
    use crate::http::{NOT_A_DATE_TIME, NOT_A_UUID, WireDateTime, WireUuid};

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct ById {
        id: WireUuid,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Since {
        since: Option<WireDateTime>,
    }

    async fn query_problem<T: DeserializeOwned>(uri: &str) -> Option<Problem> {
        let request = Request::builder().uri(uri).body(Body::empty()).ok()?;
        let (mut parts, _) = request.into_parts();
        ApiQuery::<T>::from_request_parts(&mut parts, &())
            .await
            .err()
    }

    #[tokio::test]
    async fn a_bad_uuid_in_the_path_is_named_with_what_is_expected() {
        let app = Router::new().route(
            "/things/{id}",
            get(|ApiPath(_): ApiPath<ById>| async { StatusCode::NO_CONTENT }),
        );
        let request = Request::builder()
            .uri("/things/not-a-uuid")
            .body(Body::empty());
        let response = match request {
            Ok(request) => app.oneshot(request).await.ok(),
            Err(error) => panic!("{error}"),
        };
        let status = response.as_ref().map(axum::response::Response::status);
        assert_eq!(status, Some(StatusCode::BAD_REQUEST));
        let body = match response {
            Some(response) => axum::body::to_bytes(response.into_body(), 4096).await.ok(),
            None => None,
        };
        let problem: serde_json::Value = body
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        assert_eq!(problem["errors"][0]["field"], "id");
        assert_eq!(problem["errors"][0]["message"], NOT_A_UUID);
    }

    #[test]
    fn the_rejection_is_the_one_a_request_gets() {
        let problem = ApiPath::<ById>::rejection("/things/{id}", "/things/not-a-uuid");
        assert_eq!(
            problem.map(|p| (p.status, p.errors)),
            Some((
                StatusCode::BAD_REQUEST,
                vec![FieldError::new("id", NOT_A_UUID)]
            ))
        );
        let id = uuid::Uuid::nil();
        let accepted = ApiPath::<ById>::rejection("/things/{id}", &format!("/things/{id}"));
        assert!(accepted.is_none(), "{accepted:?}");
    }

    #[tokio::test]
    async fn a_date_time_without_a_time_zone_in_the_query_is_named() {
        let problem = query_problem::<Since>("/?since=2030-06-01T18:00:00").await;
        assert_eq!(
            problem.map(|p| (p.status, p.errors)),
            Some((
                StatusCode::BAD_REQUEST,
                vec![FieldError::new("since", NOT_A_DATE_TIME)]
            ))
        );
    }
}
