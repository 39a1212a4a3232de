//! The REST API (events, bets, the wallet, payments, the bettor's limits, the staff's calls) and its live streams: routes, DTOs, the OpenAPI document and its examples, the
//! bettor (token) and `Idempotency-Key` extractors, and the mapping from
//! use-case errors to problem documents.

mod account;
mod admin;
mod bets;
mod bettor;
mod cash_out;
mod dev_sign_in;
mod dto;
mod errors;
mod events;
mod examples;
mod idempotency_key;
mod openapi;
mod payment_dto;
mod payment_examples;
mod payments;
mod risk;
mod risk_dto;
mod risk_examples;
mod staff_dto;
mod stream_dto;
mod streams;
mod tokens;
mod wallet;
mod wallet_dto;

use std::sync::Arc;

use axum::Router;
use shared_kernel::http::{Readiness, StreamSlots, service_router};
use utoipa_axum::router::OpenApiRouter;

pub use bettor::{Bettor, Cashier, SECURITY_SCHEME, Staff, TokenRefusal, Trader};
pub use dev_sign_in::DEV_TOKEN_LIFETIME;
pub use events::RenderedPages;
pub use openapi::openapi_document;
pub use payments::{MAX_WEBHOOK_BYTES, WebhookRefusal};
pub use tokens::{BettorTokens, IssueError, LEEWAY, TokenKeyError};

use crate::application::live::LiveFeed;
use shared_kernel::webhook_signature::WebhookVerifier;

use crate::application::{
    AccountService, BetService, CashOutService, CashierService, DeadLetterService, LineService,
    PaymentService, RiskService, WalletService,
};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Bets.
    pub bets: BetService,
    /// Cash-out quotes, and taking them.
    pub cash_out: CashOutService,
    /// The line as bet-maker knows it.
    pub line: LineService,
    /// Bettors' wallets.
    pub wallets: WalletService,
    /// Deposits and withdrawals.
    pub payments: PaymentService,
    /// The staff's actions.
    pub cashier: CashierService,
    /// Bettors' own limits and exclusions.
    pub accounts: AccountService,
    /// The house's risk: quotes, exposures, the traders' limits.
    pub risk: RiskService,
    /// The dead-letter queue's depth and latest reasons, for staff.
    pub dead_letters: DeadLetterService,
    /// Verifies the payment provider's webhooks.
    pub webhooks: WebhookVerifier,
    /// Verifies bettors' tokens ([`Bettor`]).
    pub tokens: BettorTokens,
    /// The live changes behind the streams.
    pub feed: LiveFeed,
    /// The live streams each client has open, at most
    /// `HTTP_MAX_CONNECTIONS_PER_CLIENT` each.
    pub stream_slots: StreamSlots,
    /// Whether `/dev/sign-in` signs anyone in by name
    /// (`BET_MAKER_DEV_SIGN_IN`); 404 when not.
    pub dev_sign_in: bool,
    /// The pages of `GET /events` already written, while they hold.
    pub open_events_pages: Arc<RenderedPages>,
}

/// The API's routes, documented.
fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(events::router())
        .merge(streams::router())
        .merge(bets::router())
        .merge(cash_out::router())
        .merge(wallet::router())
        .merge(payments::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(risk::router())
        .merge(dev_sign_in::router())
}

/// The whole public HTTP surface: the API, `/docs`, `/openapi.json`,
/// health (`/metrics` is on the management listener), and the web pages:
/// the bettor app (`/`) and the back office (`/admin`), neither part of
/// the OpenAPI document.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let (api, document) = api().with_state(state.clone()).split_for_parts();
    let pages = crate::presentation::web::router()
        .merge(crate::presentation::web::back_office::router())
        .with_state(state);
    service_router(api.merge(pages), document, readiness)
}
