//! `/dev/sign-in`: the development sign-in. With `BET_MAKER_DEV_SIGN_IN=true`
//! (`make run` sets it) anyone may sign in as any bettor by name and gets
//! the token `bet-maker token <name>` would print; otherwise both routes
//! are 404, as if they did not exist. In production a bettor's token
//! comes from their identity provider.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use shared_kernel::http::{ApiJson, FieldError, Problem, parse_json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::domain::BettorId;

/// How long a development token lives, as `bet-maker token` makes them
/// (at most `BET_MAKER_JWT_MAX_LIFETIME_SECS`).
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(3_600);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dev_sign_in_status, dev_sign_in))
}

/// `POST /dev/sign-in`: who to sign in as.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevSignInRequest {
    /// The bettor: the token's `sub`, 1 to 64 characters, no control
    /// character (as every bettor's id).
    #[schema(example = "alice")]
    pub name: String,
}

/// A bettor's token, for `Authorization: Bearer`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevTokenDto {
    /// The JWT (HS256, signed with `BET_MAKER_JWT_SECRET`).
    #[schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl")]
    pub token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// The bettor it proves.
    #[schema(example = "alice")]
    pub bettor: String,
    /// When it stops being accepted (its `exp`).
    pub expires_at: DateTime<Utc>,
}

/// The development sign-in is on; else the request is 404 before anything
/// else about it is looked at.
#[derive(Debug)]
pub struct DevSignInOn;

impl FromRequestParts<AppState> for DevSignInOn {
    type Rejection = Problem;

    async fn from_request_parts(_parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if state.dev_sign_in {
            Ok(Self)
        } else {
            Err(dev_sign_in_off())
        }
    }
}

/// 404: `BET_MAKER_DEV_SIGN_IN` is not `true`.
pub fn dev_sign_in_off() -> Problem {
    Problem::not_found(
        "the development sign-in is off (BET_MAKER_DEV_SIGN_IN): sign in with a token from your identity provider",
    )
}

/// The bettor `name` names, or 422 saying why it names none.
fn bettor_named(name: &str) -> Result<BettorId, Problem> {
    BettorId::parse(name).map_err(|rule| Problem::validation(vec![FieldError::new("name", rule)]))
}

/// Whether the development sign-in is on.
///
/// 204 when `BET_MAKER_DEV_SIGN_IN=true` (development: `make run`), 404
/// otherwise. The bettor app asks this to offer a name or a token field.
#[utoipa::path(
    get, path = "/dev/sign-in", tag = "development",
    responses(
        (status = 204, description = "The development sign-in is on"),
        (status = 404, description = "It is off: tokens come from the identity provider", body = Problem, content_type = "application/problem+json",
            example = json!(dev_sign_in_off())),
    )
)]
async fn dev_sign_in_status(_on: DevSignInOn) -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Sign in as any bettor, by name (development only).
///
/// With `BET_MAKER_DEV_SIGN_IN=true` (`make run` sets it), a bettor's
/// token for `name`, valid for an hour, signed as `bet-maker token <name>`
/// signs it. Off (the default, and everywhere real money is), 404: a
/// bettor's token comes from their identity provider.
#[utoipa::path(
    post, path = "/dev/sign-in", tag = "development",
    request_body(content = DevSignInRequest, example = json!({"name": "alice"})),
    responses(
        (status = 200, description = "The bettor's token", body = DevTokenDto,
            example = json!(example_token())),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json",
            example = json!(malformed_example())),
        (status = 404, description = "The development sign-in is off", body = Problem, content_type = "application/problem+json",
            example = json!(dev_sign_in_off())),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json",
            example = json!(not_json_example())),
        (status = 422, description = "The name is not a bettor's id (empty, longer than 64 characters, a control character)", body = Problem, content_type = "application/problem+json",
            example = json!(invalid_name_example())),
    )
)]
async fn dev_sign_in(
    _on: DevSignInOn,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DevSignInRequest>,
) -> Result<Json<DevTokenDto>, Problem> {
    let bettor = bettor_named(&body.name)?;
    let lifetime = DEV_TOKEN_LIFETIME.min(state.tokens.max_lifetime());
    let now = SystemTime::now();
    let token = state
        .tokens
        .issue(&bettor, lifetime, now)
        .map_err(|error| {
            // Start-up refuses the sign-in without a secret; signing itself
            // does not fail on a valid key.
            tracing::error!(error = %error, "signing a development token failed");
            Problem::internal()
        })?;
    tracing::info!(bettor = %bettor, "development sign-in");
    Ok(Json(DevTokenDto {
        token,
        token_type: "Bearer",
        bettor: bettor.to_string(),
        expires_at: expiry(now, lifetime),
    }))
}

/// The `exp` [`BettorTokens::issue`](super::BettorTokens::issue) writes:
/// whole seconds since the epoch, plus the lifetime.
fn expiry(now: SystemTime, lifetime: Duration) -> DateTime<Utc> {
    let issued = now
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default();
    let exp = issued.saturating_add(lifetime.as_secs());
    i64::try_from(exp)
        .ok()
        .and_then(|exp| DateTime::from_timestamp(exp, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

// --- the examples Swagger UI shows, made by the code of the real answers ---

/// 200 on `POST /dev/sign-in`.
fn example_token() -> DevTokenDto {
    DevTokenDto {
        token: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl".to_owned(),
        token_type: "Bearer",
        bettor: "alice".to_owned(),
        expires_at: Utc
            .with_ymd_and_hms(2030, 6, 1, 18, 0, 0)
            .single()
            .unwrap_or_default(),
    }
}

/// 422 on `POST /dev/sign-in`: an empty name.
fn invalid_name_example() -> Problem {
    bettor_named("").err().unwrap_or_else(Problem::internal)
}

/// 400 on `POST /dev/sign-in`: a body cut short.
fn malformed_example() -> Problem {
    parse_json::<DevSignInRequest>(br#"{"name": "#)
        .err()
        .unwrap_or_else(Problem::internal)
}

/// 415 on `POST /dev/sign-in`: a form sent where JSON belongs (refused on
/// the header alone, so the extractor's future is ready at once).
fn not_json_example() -> Problem {
    let request = Request::builder()
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=alice"))
        .unwrap_or_default();
    ApiJson::<DevSignInRequest>::from_request(request, &())
        .now_or_never()
        .and_then(Result::err)
        .unwrap_or_else(Problem::internal)
}
