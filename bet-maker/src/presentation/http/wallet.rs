//! `/wallet`: the bettor's balance and statement (deposits and
//! withdrawals are in `payments`).

use axum::Json;
use axum::extract::State;
use shared_kernel::http::{ApiQuery, PageQuery, Problem};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::examples;
use super::wallet_dto::{WalletDto, WalletLineDto, WalletLinePage};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_wallet))
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
