//! `/account/...`: the limits bettors set on themselves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared_kernel::http::{ApiJson, FieldError, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::bettor::Bettor;
use super::examples;
use super::payment_dto::{ExclusionBody, ExclusionDto, ExclusionList, LimitsBody, LimitsDto};
use super::payment_examples as pay;
use crate::domain::{ExclusionKind, ExclusionRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_limits, put_limits))
        .routes(routes!(exclude, list_exclusions, end_exclusion))
}

/// The bettor's deposit limits: in force, and any raise waiting.
#[utoipa::path(
    get, path = "/account/limits", tag = "account",
    security(("bettor_token" = [])),
    responses(
        (status = 200, description = "The three windows' limits", body = LimitsDto, example = json!(pay::limits())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn get_limits(
    bettor: Bettor,
    State(state): State<AppState>,
) -> Result<Json<LimitsDto>, Problem> {
    let limits = state.accounts.limits(bettor.id()).await?;
    Ok(Json(LimitsDto::new(&limits)))
}

/// Set, lower, raise or remove deposit limits. A lower limit (or a first
/// one) takes effect at once; a higher one, or a removal, after 24 hours
/// (`pending` until then).
#[utoipa::path(
    put, path = "/account/limits", tag = "account",
    security(("bettor_token" = [])),
    request_body = LimitsBody,
    responses(
        (status = 200, description = "The limits after the change", body = LimitsDto, example = json!(pay::limits())),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 422, description = "An amount below 0 or finer than a cent", body = Problem, content_type = "application/problem+json",
            example = json!(pay::invalid_limit())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn put_limits(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LimitsBody>,
) -> Result<Json<LimitsDto>, Problem> {
    let limits = state
        .accounts
        .change_limits(bettor.id(), &body.changes())
        .await?;
    Ok(Json(LimitsDto::new(&limits)))
}

/// The exclusion a body asks for, or every rule it breaks.
pub fn exclusion_request(body: &ExclusionBody) -> Result<ExclusionRequest, Problem> {
    let invalid =
        |field: &str, message: String| Problem::validation(vec![FieldError::new(field, message)]);
    match (
        ExclusionKind::parse(&body.kind),
        body.hours,
        body.months,
        body.permanent,
    ) {
        (Some(ExclusionKind::TimeOut), Some(hours), None, None) => {
            ExclusionRequest::time_out(hours).map_err(|rule| invalid("hours", rule.to_string()))
        }
        (Some(ExclusionKind::SelfExclusion), None, Some(months), None | Some(false)) => {
            ExclusionRequest::self_exclusion(months)
                .map_err(|rule| invalid("months", rule.to_string()))
        }
        (Some(ExclusionKind::SelfExclusion), None, None, Some(true)) => {
            Ok(ExclusionRequest::Permanent)
        }
        (None, ..) => Err(invalid(
            "kind",
            "must be time-out or self-exclusion".to_owned(),
        )),
        (Some(ExclusionKind::TimeOut), ..) => Err(invalid(
            "hours",
            "a time-out takes `hours` (24 to 1008) and nothing else".to_owned(),
        )),
        (Some(ExclusionKind::SelfExclusion), ..) => Err(invalid(
            "months",
            "a self-exclusion takes `months` (6, 12 or 60) or `permanent: true`".to_owned(),
        )),
    }
}

/// Exclude yourself from bets and deposits: a time-out (24 hours to 6
/// weeks) or a self-exclusion (6, 12 or 60 months, or for ever). It cannot
/// be ended early; withdrawals stay open.
#[utoipa::path(
    post, path = "/account/exclusions", tag = "account",
    security(("bettor_token" = [])),
    request_body(content = ExclusionBody, examples(
        ("Time-out" = (summary = "A day's break", value = json!({"kind": "time-out", "hours": 24}))),
        ("Self-exclusion" = (summary = "Six months", value = json!({"kind": "self-exclusion", "months": 6}))),
        ("Permanent" = (summary = "For ever", value = json!({"kind": "self-exclusion", "permanent": true}))),
    )),
    responses(
        (status = 201, description = "The exclusion, in force from now", body = ExclusionDto, example = json!(pay::exclusion())),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json",
            example = json!(examples::malformed_movement())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
        (status = 422, description = "A length an exclusion cannot have", body = Problem, content_type = "application/problem+json",
            example = json!(pay::invalid_exclusion())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn exclude(
    bettor: Bettor,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ExclusionBody>,
) -> Result<(StatusCode, Json<ExclusionDto>), Problem> {
    let request = exclusion_request(&body)?;
    let exclusion = state.accounts.exclude(bettor.id(), request).await?;
    Ok((StatusCode::CREATED, Json(exclusion.into())))
}

/// The bettor's exclusions in force.
#[utoipa::path(
    get, path = "/account/exclusions", tag = "account",
    security(("bettor_token" = [])),
    responses(
        (status = 200, description = "Each exclusion that still lasts", body = ExclusionList,
            example = json!(ExclusionList { items: vec![pay::exclusion()] })),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
    )
)]
async fn list_exclusions(
    bettor: Bettor,
    State(state): State<AppState>,
) -> Result<Json<ExclusionList>, Problem> {
    let exclusions = state.accounts.exclusions(bettor.id()).await?;
    Ok(Json(ExclusionList {
        items: exclusions.into_iter().map(ExclusionDto::from).collect(),
    }))
}

/// Exclusions cannot be ended early: always 409.
#[utoipa::path(
    delete, path = "/account/exclusions", tag = "account",
    security(("bettor_token" = [])),
    responses(
        (status = 409, description = "An exclusion runs its course", body = Problem, content_type = "application/problem+json",
            example = json!(pay::exclusion_locked())),
        (status = 401, description = "No valid bettor token", body = Problem, content_type = "application/problem+json",
            example = json!(examples::no_token())),
    )
)]
async fn end_exclusion(_bettor: Bettor) -> Problem {
    exclusion_locked()
}

/// 409: an exclusion cannot be ended early.
pub fn exclusion_locked() -> Problem {
    Problem::conflict(
        "exclusion-locked",
        "an exclusion cannot be ended early: it ends when its time is up",
    )
}
