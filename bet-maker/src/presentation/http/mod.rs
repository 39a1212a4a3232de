//! The REST API (events, bets, the wallet) and its live streams: routes, DTOs, the OpenAPI document and its examples, the
//! bettor (token) and `Idempotency-Key` extractors, and the mapping from
//! use-case errors to problem documents.

mod bets;
mod bettor;
mod dto;
mod errors;
mod events;
mod examples;
mod idempotency_key;
mod openapi;
mod stream_dto;
mod streams;
mod tokens;
mod wallet;
mod wallet_dto;

use axum::Router;
use shared_kernel::http::{Readiness, service_router};
use utoipa_axum::router::OpenApiRouter;

pub use bettor::{Bettor, SECURITY_SCHEME, TokenRefusal};
pub use openapi::openapi_document;
pub use tokens::{BettorTokens, IssueError, LEEWAY, TokenKeyError};

use crate::application::live::LiveFeed;
use crate::application::{BetService, LineService, WalletService};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Bets.
    pub bets: BetService,
    /// The line as bet-maker knows it.
    pub line: LineService,
    /// Bettors' wallets.
    pub wallets: WalletService,
    /// Verifies bettors' tokens ([`Bettor`]).
    pub tokens: BettorTokens,
    /// The live changes behind the streams.
    pub feed: LiveFeed,
}

/// The API's routes, documented.
fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(events::router())
        .merge(streams::router())
        .merge(bets::router())
        .merge(wallet::router())
}

/// The whole HTTP surface: the API, `/docs`, `/openapi.json`, health and
/// metrics.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let (api, document) = api().with_state(state).split_for_parts();
    service_router(api, document, readiness)
}
