//! The HTTP adapter: routes, DTOs, the OpenAPI document, operator
//! authentication and its throttle, `ETag`/`If-Match`, and the mapping
//! from use-case errors to problem documents.

mod auth;
mod dto;
mod errors;
mod events;
mod examples;
mod openapi;
mod preconditions;
mod throttle;

use axum::Router;
use shared_kernel::http::{Readiness, service_router};

pub use auth::{
    MIN_TOKEN_BITS, Operator, OperatorAuth, OperatorCall, OperatorToken, Refused, WeakToken,
    retry_after_seconds,
};
pub use openapi::openapi_document;
pub use throttle::ThrottleSettings;

use crate::application::EventService;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub events: EventService,
    /// Checks operator calls: the token, and the throttle on failures.
    pub operator_auth: OperatorAuth,
}

/// The whole public HTTP surface: the API, `/docs`, `/openapi.json`,
/// health (`/metrics` is on the management listener), and the operator
/// console (`/console`, not part of the OpenAPI document).
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let (api, document) = events::router().with_state(state.clone()).split_for_parts();
    let console = crate::presentation::web::router().with_state(state);
    service_router(api.merge(console), document, readiness)
}
