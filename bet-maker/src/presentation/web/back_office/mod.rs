//! The back office at `/admin`, for staff: one static page, its ES
//! modules and style sheet, compiled in and served with the security
//! headers of [`shared_kernel::web`]. The page drives bet-maker's own
//! staff API (`/admin/...`) with `fetch`, the staff token typed in sent as
//! `Authorization: Bearer` (kept in the tab's session storage; no cookie),
//! so it can do exactly what the token's scope allows, and shows each
//! refusal as the API's problem document. Not in the OpenAPI document.
//!
//! The page and its assets (`/admin`, `/admin/assets/{name}`) sit beside
//! the API's `/admin/...` routes without shadowing any: no API route is
//! `/admin` itself or under `/admin/assets/`.

use axum::Router;
use shared_kernel::web::{Asset, CSS, JAVASCRIPT, Page};

/// Where the back office is.
pub const BACK_OFFICE_PATH: &str = "/admin";

/// The page itself.
const BACK_OFFICE_HTML: &str = include_str!("back_office.html");

/// An ES module of the page.
const fn module(name: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type: JAVASCRIPT,
        body,
    }
}

/// The page's own files, besides the shared ones: the entry module
/// (`back_office.js`) imports the others (and the shared `common.js` and
/// `decimal.js`).
const BACK_OFFICE_ASSETS: [Asset; 6] = [
    module("back_office.js", include_bytes!("back_office.js")),
    module("session.js", include_bytes!("session.js")),
    module("exposure.js", include_bytes!("exposure.js")),
    module("actions.js", include_bytes!("actions.js")),
    module("records.js", include_bytes!("records.js")),
    Asset {
        name: "back_office.css",
        content_type: CSS,
        body: include_bytes!("back_office.css"),
    },
];

/// `GET /admin` and its assets under `/admin/assets/`. It needs no state:
/// everything the page shows, it asks the API for.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Page::new(BACK_OFFICE_PATH, BACK_OFFICE_HTML)
        .with_assets(&BACK_OFFICE_ASSETS)
        .router()
}
