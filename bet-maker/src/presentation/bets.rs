//! `/bets`: placing bets and following them.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use shared_kernel::http::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::dto::{BetDto, BetPage, BetPath, ListBetsQuery, PlaceBetRequest};
use crate::application::PlaceBet;
use crate::application::ports::BetFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place_bet, list_bets))
        .routes(routes!(get_bet))
}

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LENGTH: usize = 255;

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value.to_str().unwrap_or_default();
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_LENGTH
            && key.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(Some(key.to_owned())))
        } else {
            Err(Problem::bad_parameters(vec![FieldError::new(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"),
            )]))
        }
    }
}

/// Place a bet at the event's current coefficient.
#[utoipa::path(
    post, path = "/bets", tag = "bets",
    request_body = PlaceBetRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first bet")),
    responses(
        (status = 201, description = "The bet (or, for a retried key, the bet the first request placed)",
            body = BetDto, headers(("Location" = String, description = "The bet's URL"))),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event is closed for betting", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount or event id, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn place_bet(
    State(state): State<AppState>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<PlaceBetRequest>,
) -> Result<Response, Problem> {
    let (bet, _new) = state
        .bets
        .place(PlaceBet {
            event_id: request.event_id,
            amount: request.amount.value(),
            idempotency_key,
        })
        .await?;
    let location = format!("/bets/{}", bet.id);
    let mut response = (StatusCode::CREATED, Json(BetDto::from(bet))).into_response();
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// List bets, newest first.
#[utoipa::path(
    get, path = "/bets", tag = "bets",
    params(ListBetsQuery),
    responses(
        (status = 200, description = "A page of bets", body = BetPage),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_bets(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListBetsQuery>,
) -> Result<Json<BetPage>, Problem> {
    let page = query.page().parse()?;
    let filter = BetFilter {
        status: query.status.map(Into::into),
        event_id: query.event_id,
    };
    let rows = state.bets.list(filter, page).await?;
    let (bets, next_cursor) = into_page(rows, page, |bet| bet.id);
    Ok(Json(BetPage {
        items: bets.into_iter().map(BetDto::from).collect(),
        next_cursor,
    }))
}

/// Get a bet.
#[utoipa::path(
    get, path = "/bets/{id}", tag = "bets",
    params(("id" = uuid::Uuid, Path, description = "The bet's id")),
    responses(
        (status = 200, description = "The bet", body = BetDto),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_bet(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BetPath>,
) -> Result<Json<BetDto>, Problem> {
    Ok(Json(BetDto::from(state.bets.get(path.id).await?)))
}
