//! `/events`: the line, read by anyone, changed by operators.

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
use super::auth::Operator;
use super::dto::{
    CorrectionRequest, CreateEventRequest, EventDto, EventPage, EventPath, ListEventsQuery,
    SetStatusRequest, UpdateEventRequest,
};
use super::examples;
use super::openapi::ApiDoc;
use super::preconditions::{IfMatch, etag};
use crate::application::EventFilter;
use crate::domain::Event;

/// The routes, each documented in the OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_event, list_events))
        .routes(routes!(get_event, update_event))
        .routes(routes!(set_status))
        .routes(routes!(correct_event))
}

/// An event with its `ETag`.
fn event_response(status: StatusCode, event: Event) -> Response {
    (status, [etag(event.version())], Json(EventDto::from(event))).into_response()
}

/// Create an event.
#[utoipa::path(
    post, path = "/events", tag = "events",
    request_body = CreateEventRequest,
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "Created", body = EventDto, headers(
            ("Location" = String, description = "The new event's URL"),
            ("ETag" = String, description = "The event's version, quoted"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json", example = examples::malformed_body),
        (status = 401, description = "No valid operator token", body = Problem, content_type = "application/problem+json", example = examples::unauthorized),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json", example = examples::unsupported_media_type),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json", example = examples::invalid_event),
        (status = 429, description = "Too many failed operator calls from this address; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until calls from this address are accepted again")), example = examples::too_many_failed_calls),
    )
)]
async fn create_event(
    _operator: Operator,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateEventRequest>,
) -> Result<Response, Problem> {
    let event = state
        .events
        .create(request.coefficient.value(), request.deadline())
        .await?;
    let location = format!("/events/{}", event.id());
    let mut response = event_response(StatusCode::CREATED, event);
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// List events, oldest first.
#[utoipa::path(
    get, path = "/events", tag = "events",
    params(ListEventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json", example = examples::bad_page),
    )
)]
async fn list_events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListEventsQuery>,
) -> Result<Json<EventPage>, Problem> {
    let page = query.page().parse()?;
    let filter = EventFilter {
        status: query.status.map(Into::into),
    };
    let rows = state.events.list(filter, page).await?;
    let (events, next_cursor) = into_page(rows, page, Event::id);
    Ok(Json(EventPage {
        items: events.into_iter().map(EventDto::from).collect(),
        next_cursor,
    }))
}

/// Get an event.
#[utoipa::path(
    get, path = "/events/{id}", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event", body = EventDto, headers(
            ("ETag" = String, description = "The event's version, quoted"))),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json", example = examples::malformed_id),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json", example = examples::not_found),
    )
)]
async fn get_event(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
) -> Result<Response, Problem> {
    let event = state.events.get(path.id()).await?;
    Ok(event_response(StatusCode::OK, event))
}

/// Change the coefficient and/or deadline of an event that is `NEW` or
/// `SUSPENDED` (the status stays). A deadline that has passed can no
/// longer be moved (that would re-open a closed event); the coefficient
/// still can.
#[utoipa::path(
    patch, path = "/events/{id}", tag = "events",
    request_body = UpdateEventRequest,
    security(("operator_token" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The event's id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the event is at this version (its ETag)"),
    ),
    responses(
        (status = 200, description = "The event after the change", body = EventDto, headers(
            ("ETag" = String, description = "The event's version, quoted"))),
        (status = 400, description = "The id or the body cannot be read", body = Problem, content_type = "application/problem+json", example = examples::malformed_body),
        (status = 401, description = "No valid operator token", body = Problem, content_type = "application/problem+json", example = examples::unauthorized),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json", example = examples::not_found),
        (status = 409, description = "The event is finished or cancelled, or its deadline has passed and cannot be moved", body = Problem, content_type = "application/problem+json",
            examples(
                ("1. Finished" = (summary = "The event is finished or cancelled", value = json!(examples::event_finished()))),
                ("2. Deadline passed" = (summary = "The deadline has passed: it can no longer be moved", value = json!(examples::deadline_passed()))),
            )),
        (status = 412, description = "`If-Match` does not match the current version", body = Problem, content_type = "application/problem+json", example = examples::version_mismatch),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json", example = examples::unsupported_media_type),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json", example = examples::invalid_change),
        (status = 429, description = "Too many failed operator calls from this address; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until calls from this address are accepted again")), example = examples::too_many_failed_calls),
    )
)]
async fn update_event(
    _operator: Operator,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
    IfMatch(precondition): IfMatch,
    ApiJson(request): ApiJson<UpdateEventRequest>,
) -> Result<Response, Problem> {
    let changes = request.into_changes()?;
    let event = state
        .events
        .update(path.id(), changes, precondition)
        .await?;
    Ok(event_response(StatusCode::OK, event))
}

/// Set an event's status: its result (`FINISHED_WIN`, `FINISHED_LOSE`),
/// `CANCELLED` to call it off (bets on it become void, their stakes
/// returned), `SUSPENDED` to pause betting on a `NEW` event, or `NEW` to
/// resume a `SUSPENDED` one. A final status may follow `SUSPENDED`.
/// Setting the status the event has changes nothing (200, nothing
/// published). A final status changes only by a correction
/// (`POST /events/{id}/corrections`).
#[utoipa::path(
    put, path = "/events/{id}/status", tag = "events",
    request_body(content = SetStatusRequest,
        // Keyed so that the result comes first: Swagger UI fills the
        // request with the first example, and it sorts them by key.
        examples(
            ("1. Result" = (summary = "The event ended as bet on", value = json!({"status": "FINISHED_WIN"}))),
            ("2. Cancel" = (summary = "Call the event off: its bets are void", value = json!({"status": "CANCELLED"}))),
            ("3. Suspend" = (summary = "Pause betting on the event", value = json!({"status": "SUSPENDED"}))),
            ("4. Resume" = (summary = "Open betting on a suspended event again", value = json!({"status": "NEW"}))),
        )),
    security(("operator_token" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The event's id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the event is at this version (its ETag)"),
    ),
    responses(
        (status = 200, description = "The event with its status", body = EventDto, headers(
            ("ETag" = String, description = "The event's version, quoted"))),
        (status = 400, description = "The id or the body cannot be read", body = Problem, content_type = "application/problem+json", example = examples::malformed_body),
        (status = 401, description = "No valid operator token", body = Problem, content_type = "application/problem+json", example = examples::unauthorized),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json", example = examples::not_found),
        (status = 409, description = "The event already has another final status (the other result, or it was cancelled; a correction changes it), or it is final and can no longer be suspended or resumed", body = Problem, content_type = "application/problem+json",
            examples(
                ("Another result" = (summary = "The event already has the other result", value = json!(examples::conflicting_result()))),
                ("Cancelled" = (summary = "The event was cancelled", value = json!(examples::already_cancelled()))),
                ("Final" = (summary = "A final event is neither suspended nor resumed", value = json!(examples::event_finished()))),
            )),
        (status = 412, description = "`If-Match` does not match the current version", body = Problem, content_type = "application/problem+json", example = examples::version_mismatch),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json", example = examples::unsupported_media_type),
        (status = 422, description = "The status is not one the line knows", body = Problem, content_type = "application/problem+json", example = examples::unknown_status),
        (status = 429, description = "Too many failed operator calls from this address; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until calls from this address are accepted again")), example = examples::too_many_failed_calls),
    )
)]
async fn set_status(
    _operator: Operator,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
    IfMatch(precondition): IfMatch,
    ApiJson(request): ApiJson<SetStatusRequest>,
) -> Result<Response, Problem> {
    let event = state
        .events
        .set_status(path.id(), request.status(), precondition)
        .await?;
    Ok(event_response(StatusCode::OK, event))
}

/// Correct a final status: replace `FINISHED_WIN`, `FINISHED_LOSE` or
/// `CANCELLED` by another of them, saying why. A new version, published
/// as `event.corrected` with the reason; bet-maker re-settles the bets.
/// The only way a final status changes.
#[utoipa::path(
    post, path = "/events/{id}/corrections", tag = "events",
    request_body(content = CorrectionRequest,
        examples(
            ("1. Result overturned" = (summary = "The result was the other one", value = json!({"status": "FINISHED_LOSE", "reason": "The referee's report: the goal was offside"}))),
            ("2. Void" = (summary = "The event should not have counted: void its bets", value = json!({"status": "CANCELLED", "reason": "The match was abandoned after 20 minutes"}))),
        )),
    security(("operator_token" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The event's id"),
        ("If-Match" = Option<String>, Header, description = "Apply only if the event is at this version (its ETag)"),
    ),
    responses(
        (status = 200, description = "The event with its corrected status, one version on", body = EventDto, headers(
            ("ETag" = String, description = "The event's version, quoted"))),
        (status = 400, description = "The id or the body cannot be read", body = Problem, content_type = "application/problem+json", example = examples::malformed_body),
        (status = 401, description = "No valid operator token", body = Problem, content_type = "application/problem+json", example = examples::unauthorized),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json", example = examples::not_found),
        (status = 409, description = "The event has no final status to correct, or already has the one asked for", body = Problem, content_type = "application/problem+json",
            examples(
                ("1. Not final" = (summary = "The event is NEW or SUSPENDED: set its result instead", value = json!(examples::not_final()))),
                ("2. Nothing to correct" = (summary = "The event already has this status", value = json!(examples::nothing_to_correct()))),
            )),
        (status = 412, description = "`If-Match` does not match the current version", body = Problem, content_type = "application/problem+json", example = examples::version_mismatch),
        (status = 415, description = "The body is not sent as JSON", body = Problem, content_type = "application/problem+json", example = examples::unsupported_media_type),
        (status = 422, description = "The status is not a final one, or the reason is missing, empty or longer than 500 characters", body = Problem, content_type = "application/problem+json", example = examples::invalid_correction),
        (status = 429, description = "Too many failed operator calls from this address; try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until calls from this address are accepted again")), example = examples::too_many_failed_calls),
    )
)]
async fn correct_event(
    _operator: Operator,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<EventPath>,
    IfMatch(precondition): IfMatch,
    ApiJson(request): ApiJson<CorrectionRequest>,
) -> Result<Response, Problem> {
    let (result, reason) = request.into_correction()?;
    let event = state
        .events
        .correct(path.id(), result, reason, precondition)
        .await?;
    Ok(event_response(StatusCode::OK, event))
}
