//! The HTTP adapter: routes, DTOs, the OpenAPI document, operator
//! authentication, `ETag`/`If-Match`, and the mapping from use-case errors
//! to problem documents.

mod auth;
mod dto;
mod errors;
mod events;
mod examples;
mod openapi;
mod preconditions;

use axum::Router;
use shared_kernel::http::{Readiness, service_router};

pub use auth::OperatorToken;
pub use openapi::openapi_document;

use crate::application::EventService;

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
    service_router(api, document, readiness)
}
