//! `GET /events`: the events open for betting, from bet-maker's own copy.

use axum::Json;
use axum::extract::State;
use shared_kernel::http::PageQuery;
use shared_kernel::http::{ApiQuery, Problem};
use shared_kernel::pagination::into_page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::dto::{OpenEvent, OpenEventPage};
use super::examples;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_open_events))
}

/// List the events open for betting (not finished, deadline in the future).
#[utoipa::path(
    get, path = "/events", tag = "events",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of open events, in id order", body = OpenEventPage),
        (status = 400, description = "A parameter cannot be read", body = Problem, content_type = "application/problem+json",
            example = json!(examples::bad_page())),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json",
            example = json!(examples::unavailable())),
    )
)]
async fn list_open_events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<OpenEventPage>, Problem> {
    let page = query.parse()?;
    let rows = state.line.open_events(page).await?;
    let (events, next_cursor) = into_page(rows, page, |event| event.id);
    Ok(Json(OpenEventPage {
        items: events.into_iter().map(OpenEvent::from).collect(),
        next_cursor,
    }))
}
