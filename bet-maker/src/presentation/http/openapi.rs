//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use shared_kernel::http::{FieldError, Problem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::bettor::SECURITY_SCHEME;
use super::stream_dto::ResetDto;

/// The document's fixed parts; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bet-maker",
        description = "Bets on the line of sporting events: the events open for betting, placing \
                       bets at locked odds, and their history. Bets are settled exactly once when \
                       line-provider publishes an event's result, and void (the stake paid back) \
                       when it cancels the event. Bettor calls carry \
                       `Authorization: Bearer <JWT>`; each bettor sees only their own bets \
                       and wallet. `GET /events/stream` and `GET /bets/stream` are live \
                       Server-Sent Events streams (Swagger UI cannot play them: use `curl -N` \
                       or an `EventSource`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "events", description = "Events open for betting"),
        (name = "bets", description = "Placing bets and following them"),
        (name = "wallet", description = "The bettor's money: balance, statement, deposits and withdrawals (completed by the payment provider)"),
        (name = "payments", description = "The payment provider's signed webhook"),
        (name = "account", description = "Responsible gambling: the bettor's own deposit limits, time-outs and self-exclusions"),
        (name = "admin", description = "Staff (tokens whose `scope` grants `cashier` or `trader`): adjustments and the audit log"),
        (name = "development", description = "Development only (`BET_MAKER_DEV_SIGN_IN=true`, which `make run` sets): sign in as any bettor by name; 404 otherwise"),
    ),
    components(schemas(Problem, FieldError, ResetDto)),
    modifiers(&BettorSecurity),
)]
pub struct ApiDoc;

/// Registers the bearer scheme behind Swagger UI's Authorize button.
struct BettorSecurity;

impl Modify for BettorSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A bettor's token (JWT; the bettor is its `sub`), or a staff member's \
                         (its `scope` claim grants `cashier` and/or `trader`). For development: \
                         `target/debug/bet-maker token alice`, \
                         `target/debug/bet-maker token cleo --scope \"trader cashier\"`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "payments_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Payments-Signature",
                "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with a secret of \
                 BET_MAKER_PAYMENTS_WEBHOOK_SECRETS>",
            ))),
        );
    }
}

/// The complete document, as served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    super::api().split_for_parts().1
}
