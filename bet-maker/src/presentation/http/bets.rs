//! `/bets`: placing bets and following them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use shared_kernel::http::{ApiJson, ApiPath, ApiQuery, Problem};
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::dto::{BetDto, BetPage, BetPath, BetSlipRequest, ListBetsQuery};
use super::examples;
use super::idempotency_key::IdempotencyKey;
use super::risk_examples;
use crate::application::BetSlip;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place_bet, list_bets))
        .routes(routes!(get_bet))
}

/// Place a bet, as the bettor the token names, taking the stake from their
/// wallet: a single (`event_id`) at the event's current coefficient, or an
/// accumulator (`legs`, 2 to 20 distinct events) at the exact product of
/// theirs. Paste event ids from `GET /events`: the examples' ids exist
/// nowhere.
#[utoipa::path(
    post, path = "/bets", tag = "bets",
    security(("bettor_token" = [])),
    request_body(content = BetSlipRequest, examples(
        ("Single" = (summary = "One event at its current coefficient (paste an event id from GET /events)", value = json!(examples::single_slip()))),
        ("Accumulator" = (summary = "Two events, each at the coefficient seen (or a higher one; paste event ids from GET /events)", value = json!(examples::accumulator_slip()))),
    )),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: a retry with the same key and body returns the first bet. Keys are the bettor's own: another bettor's use of the same key is another key")),
    responses(
        (status = 201, description = "The bet (or, for a retried key, the bet the first request placed)",
            body = BetDto, headers(("Location" = String, description = "The bet's URL")),
            examples(
                ("Single" = (summary = "A single, PENDING", value = json!(examples::placed_bet()))),
                ("Accumulator" = (summary = "Two legs: 1.85 × 2.10 = 3.885, PENDING", value = json!(examples::placed_accumulator()))),
            )),
        (status = 400, description = "The body is not JSON, or the key is malformed", body = Problem, content_type = "application/problem+json",
            examples(
                ("Malformed body" = (summary = "The body is not JSON", value = json!(examples::malformed_body()))),
                ("Malformed key" = (summary = "The Idempotency-Key breaks a rule", value = json!(examples::malformed_key()))),
            )),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_event())),
        (status = 409, description = "The event is closed for betting; or the wallet does not cover the stake (`balance` says the balance); or its coefficient moved from the one sent and `accept_odds_change` does not accept the move (`current_coefficient` says the one offered now); or a risk limit refuses it whole (`stake-limit`, `payout-limit`, `liability-limit`, with `max_stake`, the largest stake taken now, as `GET /events/{id}/max-stake` says). Nothing is written.", body = Problem, content_type = "application/problem+json",
            examples(
                ("Event closed" = (summary = "Finished, cancelled, or past its deadline", value = json!(examples::event_closed()))),
                ("Event suspended" = (summary = "line-provider paused betting on the event", value = json!(examples::event_suspended()))),
                ("Accumulator leg suspended" = (summary = "One leg's event is suspended: the problem names it", value = json!(examples::leg_suspended()))),
                ("Insufficient funds" = (summary = "The stake is more than the balance", value = json!(examples::insufficient_funds()))),
                ("Negative balance" = (summary = "A corrected result left the wallet below zero", value = json!(examples::negative_balance()))),
                ("Odds changed" = (summary = "The coefficient moved from the one sent", value = json!(examples::odds_changed()))),
                ("Liability limit" = (summary = "The bet would take the event past its maximum liability (`max_stake`: the largest stake taken now)", value = json!(risk_examples::liability_limit()))),
                ("Stake limit" = (summary = "The stake is above the bettor's cap (`max_stake`)", value = json!(risk_examples::stake_limit()))),
                ("Payout limit" = (summary = "The bet would pay more than BET_MAKER_MAX_PAYOUT (`max_stake`)", value = json!(risk_examples::payout_limit()))),
            )),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::not_json())),
        (status = 422, description = "Invalid amount, coefficient or event id; legs that cannot make a bet (none, more than 20, an event twice, or both `event_id` and `legs`); or the key was used for another request", body = Problem, content_type = "application/problem+json",
            examples(
                ("Invalid amount" = (summary = "The amount breaks a rule", value = json!(examples::invalid_amount()))),
                ("Repeated leg" = (summary = "An accumulator names one event twice (or has no leg, or more than 20)", value = json!(examples::repeated_leg()))),
                ("Key reused" = (summary = "The Idempotency-Key placed another bet", value = json!(examples::key_reused()))),
            )),
        (status = 503, description = "The database is unavailable, or the event kept changing under the bet; try again", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn place_bet(
    bettor: Bettor,
    State(state): State<AppState>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<BetSlipRequest>,
) -> Result<Response, Problem> {
    let (legs, single_form) = request.legs()?;
    let bet = state
        .bets
        .place(BetSlip {
            bettor_id: bettor.into_id(),
            legs,
            amount: request.amount.value(),
            idempotency_key,
            single_form,
        })
        .await?
        .into_bet();
    let location = format!("/bets/{}", bet.id());
    let mut response = (StatusCode::CREATED, Json(BetDto::from(bet))).into_response();
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// List the bettor's own bets, newest first.
#[utoipa::path(
    get, path = "/bets", tag = "bets",
    security(("bettor_token" = [])),
    params(ListBetsQuery),
    responses(
        (status = 200, description = "A page of the bettor's bets", body = BetPage),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bets_query())),
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
async fn list_bets(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListBetsQuery>,
) -> Result<Json<BetPage>, Problem> {
    let (filter, page) = query.parse()?;
    let rows = state.bets.list(bettor.id(), filter, page).await?;
    let (bets, next_cursor) = into_page(rows, page, |bet| bet.id());
    Ok(Json(BetPage {
        items: bets.into_iter().map(BetDto::from).collect(),
        next_cursor,
    }))
}

/// Get one of the bettor's bets.
#[utoipa::path(
    get, path = "/bets/{id}", tag = "bets",
    security(("bettor_token" = [])),
    params(("id" = uuid::Uuid, Path, description = "The bet's id")),
    responses(
        (status = 200, description = "The bet", body = BetDto,
            examples(
                ("Won" = (summary = "Settled: the event finished as bet on", value = json!(examples::settled_bet()))),
                ("Void" = (summary = "Settled: the event was cancelled, the stake is paid back", value = json!(examples::void_bet()))),
                ("Late" = (summary = "Void: placed after the result was decided, the stake is paid back", value = json!(examples::late_bet()))),
                ("Accumulator, one leg won" = (summary = "Still PENDING: its other leg is open", value = json!(examples::half_settled_accumulator()))),
                ("Accumulator won" = (summary = "Every leg won: 10.50 × 3.885 = 40.7925, paid 40.79", value = json!(examples::won_accumulator()))),
            )),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_bet_id())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent")),
            examples(
                ("No token" = (summary = "No Authorization header", value = json!(examples::no_token()))),
                ("Expired token" = (summary = "The token's exp has passed", value = json!(examples::expired_token()))),
            )),
        (status = 404, description = "No such bet, or another bettor's", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unknown_bet())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn get_bet(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<BetPath>,
) -> Result<Json<BetDto>, Problem> {
    Ok(Json(BetDto::from(
        state.bets.get(bettor.id(), path.id()).await?,
    )))
}
