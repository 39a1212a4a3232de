//! What every service's HTTP surface has besides its own API.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use super::{Problem, Readiness, health_router, observe_requests};

/// Largest request body accepted; the APIs' bodies are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Completes a service's API router with Swagger UI at `/docs`, the
/// document at `/openapi.json`, `/health/*` (for load balancers; `/metrics`
/// is on the management listener only), problem documents for unknown
/// routes and methods, a body limit, request metrics, trace
/// propagation and request logging.
pub fn service_router(
    api: Router,
    document: utoipa::openapi::OpenApi,
    readiness: Readiness,
) -> Router {
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .merge(health_router(readiness))
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(observe_requests))
        .layer(TraceLayer::new_for_http())
}
