//! HTTP: routes, DTOs, the OpenAPI document, operator authentication, and
//! the mapping from use-case errors to problem documents.

mod auth;
mod dto;
mod errors;
mod events;
mod openapi;
mod preconditions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use shared_kernel::http::{Problem, Readiness, health_router, metrics_router, observe_requests};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use auth::OperatorToken;
pub use openapi::openapi_document;

use crate::application::EventService;

/// Largest request body accepted; an event is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub events: EventService,
    /// The token operator calls must present.
    pub operator_token: OperatorToken,
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, health and
/// metrics.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let (api, document) = events::router().with_state(state).split_for_parts();
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .merge(health_router(readiness))
        .merge(metrics_router())
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(observe_requests))
        .layer(TraceLayer::new_for_http())
}
