//! `/bets/{id}/cash-out`: a quote for a pending bet, and taking it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::http::{ApiJson, ApiPath, FieldError, Problem, WireUuid};
use shared_kernel::money::WireDecimal;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::bettor::Bettor;
use super::dto::{BetDto, BetPath};
use super::errors::storage_problem;
use super::examples;
use crate::application::CashOutError;
use crate::application::ports::CashOutQuote;
use crate::domain::CashOutRefused;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote_cash_out))
        .routes(routes!(cash_out))
}

/// A cash-out quote: what the house pays for the bet now, instead of
/// waiting for its open legs.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashOutQuoteDto {
    /// Send it to `POST /bets/{id}/cash-out` to take the quote.
    pub quote_id: Uuid,
    /// The bet.
    pub bet_id: Uuid,
    /// What the bet is paid if the quote is taken: stake × Π the legs'
    /// coefficients (a won leg at its settled one, a void one 1.00) / Π the
    /// open legs' coefficients now × (1 − `BET_MAKER_CASH_OUT_MARGIN`),
    /// floored to the cent.
    #[schema(value_type = String, example = "25.83")]
    pub amount: WireDecimal,
    /// Taken after this, the quote is 409 `quote-expired`.
    pub expires_at: DateTime<Utc>,
}

impl From<CashOutQuote> for CashOutQuoteDto {
    fn from(quote: CashOutQuote) -> Self {
        Self {
            quote_id: quote.id,
            bet_id: quote.bet_id,
            amount: WireDecimal::from_decimal_exact(quote.offer.amount),
            expires_at: quote.expires_at,
        }
    }
}

/// `POST /bets/{id}/cash-out`: which quote to take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashOutRequest {
    /// A quote of this bet (`POST /bets/{id}/cash-out/quote`).
    #[schema(value_type = uuid::Uuid)]
    pub quote_id: WireUuid,
}

impl From<CashOutError> for Problem {
    fn from(error: CashOutError) -> Self {
        match error {
            CashOutError::NotFound(_) => Problem::not_found(error.to_string()),
            CashOutError::UnknownQuote(_) => {
                Problem::validation(vec![FieldError::new("quote_id", error.to_string())])
            }
            CashOutError::Refused(refused) => {
                let slug = match refused {
                    CashOutRefused::Settled => "bet-settled",
                    CashOutRefused::EventSuspended(_) => "event-suspended",
                    CashOutRefused::EventClosed(_) => "event-closed",
                    CashOutRefused::OddsChanged(_) => "odds-changed",
                    CashOutRefused::QuoteExpired(_) => "quote-expired",
                };
                let problem = Problem::conflict(slug, refused.to_string());
                match refused {
                    CashOutRefused::EventSuspended(event_id)
                    | CashOutRefused::EventClosed(event_id)
                    | CashOutRefused::OddsChanged(event_id) => {
                        problem.with_extension("event_id", event_id.to_string())
                    }
                    CashOutRefused::Settled | CashOutRefused::QuoteExpired(_) => problem,
                }
            }
            CashOutError::Storage(storage) => storage_problem(&storage),
        }
    }
}

/// Ask what the bettor's pending bet would be paid now, instead of waiting
/// for its open legs. The quote holds `BET_MAKER_CASH_OUT_QUOTE_SECS` (10 s),
/// while every open leg's event stays as it was.
#[utoipa::path(
    post, path = "/bets/{id}/cash-out/quote", tag = "bets",
    security(("bettor_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The bet's id")),
    responses(
        (status = 200, description = "The quote", body = CashOutQuoteDto,
            example = json!(examples::cash_out_quote())),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bet_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            example = json!(examples::no_token())),
        (status = 404, description = "No such bet, or another bettor's", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_bet())),
        (status = 409, description = "Nothing to cash out: the bet is settled (or cashed out), or an open leg's event is suspended or under way (no in-play cash-out)", body = Problem, content_type = "application/problem+json",
            examples(
                ("Settled" = (summary = "The bet is settled or cashed out", value = json!(examples::cash_out_refused(CashOutRefused::Settled)))),
                ("Event suspended" = (summary = "An open leg's event is suspended", value = json!(examples::cash_out_refused(CashOutRefused::EventSuspended(examples::second_event()))))),
                ("Event closed" = (summary = "An open leg's event is past its deadline", value = json!(examples::cash_out_refused(CashOutRefused::EventClosed(examples::second_event()))))),
            )),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn quote_cash_out(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BetPath>,
) -> Result<Json<CashOutQuoteDto>, Problem> {
    let quote = state.cash_out.quote(bettor.id(), path.id()).await?;
    Ok(Json(quote.into()))
}

/// Take a cash-out quote: the bet is `CASHED_OUT` with the quote as its
/// payout, credited to the wallet (a `CASH_OUT` statement line), exactly
/// once however often this is sent; its events never settle it again.
#[utoipa::path(
    post, path = "/bets/{id}/cash-out", tag = "bets",
    security(("bettor_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The bet's id")),
    request_body(content = CashOutRequest, example = json!(examples::cash_out_request())),
    responses(
        (status = 200, description = "The bet, cashed out (also for the same quote sent again)", body = BetDto,
            example = json!(examples::cashed_out_bet())),
        (status = 400, description = "The id is not a UUID, or the body is not JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bet_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            example = json!(examples::no_token())),
        (status = 404, description = "No such bet, or another bettor's", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_bet())),
        (status = 409, description = "The quote no longer holds: it expired, an open leg's coefficient or status moved since (ask for a new quote), the bet is settled, or an event is suspended or under way. Nothing is written.", body = Problem, content_type = "application/problem+json",
            examples(
                ("Odds changed" = (summary = "An open leg's event moved since the quote", value = json!(examples::cash_out_refused(CashOutRefused::OddsChanged(examples::second_event()))))),
                ("Quote expired" = (summary = "The quote's time ran out", value = json!(examples::cash_out_refused(CashOutRefused::QuoteExpired(examples::quote_expiry()))))),
                ("Settled" = (summary = "The bet is settled, or cashed out at another quote", value = json!(examples::cash_out_refused(CashOutRefused::Settled)))),
                ("Event suspended" = (summary = "An open leg's event is suspended", value = json!(examples::cash_out_refused(CashOutRefused::EventSuspended(examples::second_event()))))),
            )),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::not_json())),
        (status = 422, description = "No such quote for this bet", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_quote())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn cash_out(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BetPath>,
    ApiJson(request): ApiJson<CashOutRequest>,
) -> Result<Json<BetDto>, Problem> {
    let bet = state
        .cash_out
        .accept(bettor.id(), path.id(), request.quote_id.into())
        .await?;
    Ok(Json(BetDto::from(bet)))
}
