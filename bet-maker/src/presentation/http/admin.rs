//! `/admin/...`: the staff's calls (the risk calls are in [`super::risk`]).
//! Each needs a token whose `scope` grants the call's staff role (a
//! bettor's token is 403).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared_kernel::http::{ApiJson, ApiPath, ApiQuery, FieldError, PageQuery, Problem};
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::{Cashier, Staff, Trader};
use super::errors::storage_problem;
use super::examples;
use super::payment_dto::{AdjustmentBody, AdjustmentDto, AuditEntryDto, AuditPage, BettorPath};
use super::payment_examples as pay;
use super::risk_examples as risk;
use super::staff_dto::{self, DeadLettersDto};
use crate::application::AdjustmentOrder;
use crate::domain::BettorId;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(adjust))
        .routes(routes!(audit))
        .routes(routes!(dead_letters))
}

/// How many of the latest dead letters `GET /admin/dead-letters` shows.
pub const LATEST_DEAD_LETTERS: u32 = 20;

/// Move money into or out of a bettor's wallet by hand (a cash desk, a
/// correction), with the reason; kept in the audit log.
#[utoipa::path(
    post, path = "/admin/wallets/{bettor}/adjustments", tag = "admin",
    security(("bettor_token" = [])),
    params(("bettor" = String, Path, description = "The bettor (their token's `sub`)")),
    request_body = AdjustmentBody,
    responses(
        (status = 201, description = "The `ADJUSTMENT` line of the bettor's statement, and its audit entry", body = AdjustmentDto,
            example = json!(pay::adjustment())),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `cashier` (a bettor's token)", body = Problem, content_type = "application/problem+json",
            example = json!(pay::not_cashier())),
        (status = 409, description = "It would take the wallet below 0.00: nothing is written", body = Problem, content_type = "application/problem+json",
            example = json!(examples::insufficient_funds())),
        (status = 422, description = "Invalid amount (zero, finer than a cent, above the limit) or no reason", body = Problem, content_type = "application/problem+json",
            example = json!(pay::invalid_adjustment())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn adjust(
    Cashier(actor): Cashier,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BettorPath>,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> Result<(StatusCode, Json<AdjustmentDto>), Problem> {
    let bettor_id = BettorId::parse(&path.bettor)
        .map_err(|rule| Problem::bad_parameters(vec![FieldError::new("bettor", rule)]))?;
    let (line, entry) = state
        .cashier
        .adjust(AdjustmentOrder {
            actor,
            bettor_id: bettor_id.clone(),
            amount: body.amount.value(),
            reason: body.reason,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AdjustmentDto::new(bettor_id.to_string(), line, &entry)),
    ))
}

/// Every staff action, newest first: who, what, on what, why, before and
/// after.
#[utoipa::path(
    get, path = "/admin/audit", tag = "admin",
    security(("bettor_token" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the audit log", body = AuditPage, example = json!(pay::audit())),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope grants neither `trader` nor `cashier`", body = Problem, content_type = "application/problem+json",
            example = json!(pay::not_staff())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn audit(
    _staff: Staff,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<AuditPage>, Problem> {
    let page = query.parse()?;
    let rows = state.cashier.audit(page).await?;
    let (entries, next_cursor) = into_page(rows, page, |entry| entry.id);
    Ok(Json(AuditPage {
        items: entries.into_iter().map(AuditEntryDto::from).collect(),
        next_cursor,
    }))
}

/// The dead-letter queue: how many messages wait in it, and why bet-maker
/// put the latest 20 there (newest first). The depth is the dead-letter
/// watch's latest reading (every `BET_MAKER_DLQ_CHECK_INTERVAL_MS`); the
/// messages themselves stay in the queue (`bet-maker dead-letters` lists
/// them).
#[utoipa::path(
    get, path = "/admin/dead-letters", tag = "admin",
    security(("bettor_token" = [])),
    responses(
        (status = 200, description = "The queue's depth and the latest reasons", body = DeadLettersDto,
            example = json!(staff_dto::example())),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 403, description = "The token's scope does not grant `trader`", body = Problem, content_type = "application/problem+json",
            example = json!(risk::not_trader())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn dead_letters(
    _trader: Trader,
    State(state): State<AppState>,
) -> Result<Json<DeadLettersDto>, Problem> {
    let overview = state
        .dead_letters
        .overview(LATEST_DEAD_LETTERS)
        .await
        .map_err(|error| storage_problem(&error))?;
    Ok(Json(overview.into()))
}
