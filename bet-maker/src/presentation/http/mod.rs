//! The REST API: routes, DTOs, the OpenAPI document and its examples, the
//! `Idempotency-Key` extractor, and the mapping from use-case errors to
//! problem documents.

mod bets;
mod dto;
mod errors;
mod events;
mod examples;
mod idempotency_key;
mod openapi;

use axum::Router;
use shared_kernel::http::{Readiness, service_router};
use utoipa_axum::router::OpenApiRouter;

pub use openapi::openapi_document;

use crate::application::{BetService, LineService};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Bets.
    pub bets: BetService,
    /// The line as bet-maker knows it.
    pub line: LineService,
}

/// The API's routes, documented.
fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(events::router())
        .merge(bets::router())
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, health and
/// metrics.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let (api, document) = api().with_state(state).split_for_parts();
    service_router(api, document, readiness)
}
