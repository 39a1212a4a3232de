//! `GET /events`: the events open for betting, from bet-maker's own copy;
//! a page already written is sent again while it is still the answer.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use shared_kernel::http::PageQuery;
use shared_kernel::http::{ApiQuery, Problem};
use shared_kernel::pagination::{PageRequest, into_page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::dto::{OpenEvent, OpenEventPage};
use super::examples;
use crate::application::{Holds, OpenEvents};

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
) -> Result<Response, Problem> {
    let page = query.parse()?;
    if let Some(body) = state
        .open_events_pages
        .held(page, |holds| state.line.still_holds(holds))
    {
        return Ok(json(body));
    }
    let OpenEvents { events, holds } = state.line.open_events(page).await?;
    let (events, next_cursor) = into_page(events, page, |event| event.id);
    let written = serde_json::to_vec(&OpenEventPage {
        items: events.into_iter().map(OpenEvent::from).collect(),
        next_cursor,
    })
    .map_err(|error| {
        tracing::error!(%error, "writing a page of open events");
        Problem::internal()
    })?;
    let body = Bytes::from(written);
    if let Some(holds) = holds {
        state.open_events_pages.keep(page, holds, body.clone());
    }
    Ok(json(body))
}

/// A page of open events as sent.
fn json(body: Bytes) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// The pages of `GET /events` written since the line in memory last
/// changed, by the page asked for (cursor and limit), each sent again for
/// as long as [`crate::application::LineService::still_holds`] says it is
/// the answer: a request then costs a look-up instead of copying and
/// writing fifty events. At most [`RenderedPages::MOST`] pages are kept
/// (a cursor is the client's to choose), and a page of an older line is
/// dropped when a newer one is kept.
#[derive(Debug, Default)]
pub struct RenderedPages {
    pages: Mutex<HashMap<PageAsked, (Holds, Bytes)>>,
}

/// A page asked for: the cursor and the limit.
type PageAsked = (Option<Uuid>, u32);

impl RenderedPages {
    /// The most pages kept.
    pub const MOST: usize = 256;

    /// The page written for `page`, if `holds` says it still is the answer.
    fn held(&self, page: PageRequest, holds: impl Fn(&Holds) -> bool) -> Option<Bytes> {
        let pages = self.pages.lock().ok()?;
        let (written_with, body) = pages.get(&(page.after, page.limit))?;
        holds(written_with).then(|| body.clone())
    }

    /// Keeps `body`, the page written for `page` as `holds` describes.
    fn keep(&self, page: PageRequest, holds: Holds, body: Bytes) {
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        if pages.len() >= Self::MOST {
            pages.retain(|_, (kept, _)| kept.version() == holds.version());
        }
        if pages.len() < Self::MOST {
            pages.insert((page.after, page.limit), (holds, body));
        }
    }
}
