//! The house's risk: the bettor's max-stake quote, and the traders'
//! exposure view and limits (`trader` scope).

use axum::Json;
use axum::extract::State;
use shared_kernel::http::{ApiJson, ApiPath, ApiQuery, FieldError, PageQuery, Problem};
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::{Bettor, Trader};
use super::examples;
use super::payment_dto::BettorPath;
use super::risk_dto::{
    BettorLimitsBody, BettorLimitsDto, EventLimitsBody, EventPath, ExposureDto, MaxStakeDto,
    OpenExposurePage,
};
use super::risk_examples as risk;
use crate::application::ports::LimitChange;
use crate::domain::BettorId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(max_stake))
        .routes(routes!(exposure))
        .routes(routes!(open_exposures))
        .routes(routes!(set_event_limits))
        .routes(routes!(set_bettor_limits))
}

/// The largest stake the bettor may place on the event now: the smallest
/// of the balance, the house's and the bettor's maximum stake, the payout
/// cap and the event's liability room (a bet above it is refused whole,
/// with this very `max_stake`).
#[utoipa::path(
    get, path = "/events/{id}/max-stake", tag = "bets",
    security(("bettor_token" = [])),
    params(("id" = String, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The largest stake, and what bounds it", body = MaxStakeDto,
            example = json!(risk::max_stake())),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(risk::bad_event_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_event())),
        (status = 409, description = "The event takes no bets now (finished, cancelled, past its deadline): refused as a bet on it is", body = Problem, content_type = "application/problem+json",
            example = json!(examples::event_closed())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn max_stake(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Json<MaxStakeDto>, Problem> {
    let quote = state.risk.max_stake(bettor.id(), path.id.into()).await?;
    Ok(Json(quote.into()))
}

/// What the event would cost the house if every pending bet on it won.
#[utoipa::path(
    get, path = "/admin/events/{id}/exposure", tag = "admin",
    security(("bettor_token" = [])),
    params(("id" = String, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event's exposure and its maximum liability", body = ExposureDto,
            example = json!(risk::exposure())),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(risk::bad_event_id())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `trader`", body = Problem, content_type = "application/problem+json",
            example = json!(risk::not_trader())),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json",
            example = json!(risk::unknown_event())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn exposure(
    _trader: Trader,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Json<ExposureDto>, Problem> {
    Ok(Json(state.risk.exposure(path.id.into()).await?.into()))
}

/// Every event not yet decided (`NEW` or `SUSPENDED`, past its deadline
/// or not), newest first, with what it would cost the house if every
/// pending bet on it won: the back office's exposure table.
#[utoipa::path(
    get, path = "/admin/exposure", tag = "admin",
    security(("bettor_token" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the open events' exposures", body = OpenExposurePage,
            example = json!(risk::open_exposures())),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `trader`", body = Problem, content_type = "application/problem+json",
            example = json!(risk::not_trader())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn open_exposures(
    _trader: Trader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<OpenExposurePage>, Problem> {
    let page = query.parse()?;
    let rows = state.risk.open_exposures(page).await?;
    let (rows, next_cursor) = into_page(rows, page, |row| row.exposure.event_id);
    Ok(Json(OpenExposurePage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// Set the event's maximum liability (`null` removes it: the default
/// applies again); kept in the audit log. Bets already taken stay; a bet
/// that would pass the new maximum is refused (409 `liability-limit`).
#[utoipa::path(
    put, path = "/admin/events/{id}/limits", tag = "admin",
    security(("bettor_token" = [])),
    params(("id" = String, Path, description = "The event's id")),
    request_body = EventLimitsBody,
    responses(
        (status = 200, description = "The event's exposure with the maximum that now applies", body = ExposureDto,
            example = json!(risk::exposure())),
        (status = 400, description = "The body is not JSON, or the id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(risk::bad_event_id())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `trader`", body = Problem, content_type = "application/problem+json",
            example = json!(risk::not_trader())),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json",
            example = json!(risk::unknown_event())),
        (status = 422, description = "The limit is negative, finer than a cent or above 1000000000000000.00, or the reason too long", body = Problem, content_type = "application/problem+json",
            example = json!(risk::invalid_limit())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn set_event_limits(
    Trader(actor): Trader,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
    ApiJson(body): ApiJson<EventLimitsBody>,
) -> Result<Json<ExposureDto>, Problem> {
    let (exposure, _entry) = state
        .risk
        .set_event_limit(LimitChange {
            actor,
            subject: path.id.into(),
            limit: body.max_liability.map(|limit| limit.value()),
            reason: body.reason.unwrap_or_default(),
        })
        .await?;
    Ok(Json(exposure.into()))
}

/// Cap the bettor's stakes (`null` removes the cap); kept in the audit
/// log. A stake above it is refused (409 `stake-limit`).
#[utoipa::path(
    put, path = "/admin/bettors/{bettor}/limits", tag = "admin",
    security(("bettor_token" = [])),
    params(("bettor" = String, Path, description = "The bettor (their token's `sub`)")),
    request_body = BettorLimitsBody,
    responses(
        (status = 200, description = "The bettor's limits now, and the audit entry", body = BettorLimitsDto,
            example = json!(risk::bettor_limits())),
        (status = 400, description = "The body is not JSON, or the bettor is not a bettor id", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `trader`", body = Problem, content_type = "application/problem+json",
            example = json!(risk::not_trader())),
        (status = 422, description = "The cap is negative, finer than a cent or above 1000000000000000.00, or the reason too long", body = Problem, content_type = "application/problem+json",
            example = json!(risk::invalid_limit())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn set_bettor_limits(
    Trader(actor): Trader,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BettorPath>,
    ApiJson(body): ApiJson<BettorLimitsBody>,
) -> Result<Json<BettorLimitsDto>, Problem> {
    let bettor_id = BettorId::parse(&path.bettor)
        .map_err(|rule| Problem::bad_parameters(vec![FieldError::new("bettor", rule)]))?;
    let (limit, entry) = state
        .risk
        .set_bettor_limit(LimitChange {
            actor,
            subject: bettor_id.clone(),
            limit: body.max_stake.map(|limit| limit.value()),
            reason: body.reason.unwrap_or_default(),
        })
        .await?;
    Ok(Json(BettorLimitsDto {
        bettor: bettor_id.to_string(),
        max_stake: limit.map(shared_kernel::money::WireDecimal::from_decimal_exact),
        audit_id: entry.id,
    }))
}
