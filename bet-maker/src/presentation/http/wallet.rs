//! `/wallet`: the bettor's balance, deposits, withdrawals and statement.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared_kernel::http::{ApiJson, ApiQuery, PageQuery, Problem};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::examples;
use super::idempotency_key::IdempotencyKey;
use super::wallet_dto::{MovementRequest, WalletDto, WalletLineDto, WalletLinePage};
use crate::application::Movement;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_wallet))
        .routes(routes!(deposit))
        .routes(routes!(withdraw))
        .routes(routes!(statement))
}

/// The bettor's balance and currency.
#[utoipa::path(
    get, path = "/wallet", tag = "wallet",
    security(("bettor_token" = [])),
    responses(
        (status = 200, description = "The wallet (balance 0.00 before the first deposit)", body = WalletDto,
            example = json!(examples::wallet())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn get_wallet(
    bettor: Bettor,
    State(state): State<AppState>,
) -> Result<Json<WalletDto>, Problem> {
    let balance = state.wallets.balance(bettor.id()).await?;
    Ok(Json(WalletDto {
        balance: WireDecimal::from_decimal_exact(balance),
        currency: state.wallets.currency().to_string(),
    }))
}

/// Pay money into the bettor's wallet.
#[utoipa::path(
    post, path = "/wallet/deposits", tag = "wallet",
    security(("bettor_token" = [])),
    request_body = MovementRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first line and moves no money. Keys are the bettor's own, shared with their bets")),
    responses(
        (status = 201, description = "The deposit's line of the statement (or, for a retried key, the line the first request posted)",
            body = WalletLineDto, example = json!(examples::deposit_line())),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json",
            examples(
                ("Malformed body" = (summary = "The body is not JSON", value = json!(examples::malformed_movement()))),
                ("Malformed key" = (summary = "The Idempotency-Key breaks a rule", value = json!(examples::malformed_key()))),
            )),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 409, description = "The balance would exceed 99,999,999,999,999.99, the most a wallet holds: nothing is written", body = Problem, content_type = "application/problem+json",
            example = json!(examples::balance_limit())),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::movement_not_json())),
        (status = 422, description = "Invalid amount, or the key was used for another request", body = Problem, content_type = "application/problem+json",
            examples(
                ("Invalid amount" = (summary = "The amount breaks a rule", value = json!(examples::invalid_movement_amount()))),
                ("Key reused" = (summary = "The Idempotency-Key was used for another request", value = json!(examples::movement_key_reused()))),
            )),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn deposit(
    bettor: Bettor,
    State(state): State<AppState>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<MovementRequest>,
) -> Result<(StatusCode, Json<WalletLineDto>), Problem> {
    let line = state
        .wallets
        .deposit(Movement {
            bettor_id: bettor.into_id(),
            amount: request.amount.value(),
            idempotency_key,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(line.into())))
}

/// Pay money out of the bettor's wallet, if the balance covers it.
#[utoipa::path(
    post, path = "/wallet/withdrawals", tag = "wallet",
    security(("bettor_token" = [])),
    request_body = MovementRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first line and moves no money. Keys are the bettor's own, shared with their bets")),
    responses(
        (status = 201, description = "The withdrawal's line of the statement, its amount negative (or, for a retried key, the line the first request posted)",
            body = WalletLineDto, example = json!(examples::withdrawal_line())),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json",
            examples(
                ("Malformed body" = (summary = "The body is not JSON", value = json!(examples::malformed_movement()))),
                ("Malformed key" = (summary = "The Idempotency-Key breaks a rule", value = json!(examples::malformed_key()))),
            )),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 409, description = "More than the balance: nothing is written; the problem's `balance` member says the balance",
            body = Problem, content_type = "application/problem+json",
            example = json!(examples::insufficient_funds())),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::movement_not_json())),
        (status = 422, description = "Invalid amount, or the key was used for another request", body = Problem, content_type = "application/problem+json",
            examples(
                ("Invalid amount" = (summary = "The amount breaks a rule", value = json!(examples::invalid_movement_amount()))),
                ("Key reused" = (summary = "The Idempotency-Key was used for another request", value = json!(examples::movement_key_reused()))),
            )),
        (status = 503, description = "The database is unavailable, or the wallet kept changing: try again", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn withdraw(
    bettor: Bettor,
    State(state): State<AppState>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<MovementRequest>,
) -> Result<(StatusCode, Json<WalletLineDto>), Problem> {
    let line = state
        .wallets
        .withdraw(Movement {
            bettor_id: bettor.into_id(),
            amount: request.amount.value(),
            idempotency_key,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(line.into())))
}

/// The bettor's statement: every movement of their money, newest first.
#[utoipa::path(
    get, path = "/wallet/transactions", tag = "wallet",
    security(("bettor_token" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the bettor's statement lines, newest first", body = WalletLinePage,
            example = json!(examples::statement())),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn statement(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<WalletLinePage>, Problem> {
    let page = query.parse()?;
    let rows = state.wallets.statement(bettor.id(), page).await?;
    let (lines, next_cursor) = into_page(rows, page, |line| line.id);
    Ok(Json(WalletLinePage {
        items: lines.into_iter().map(WalletLineDto::from).collect(),
        next_cursor,
    }))
}
