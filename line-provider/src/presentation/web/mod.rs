//! The operator console at `/console`: one static page, its ES module and
//! style sheet, compiled in and served with the security headers of
//! [`shared_kernel::web`]. The page drives the service's own REST API with
//! `fetch` (the token typed in goes as `Authorization: Bearer`; no
//! cookie), so it does exactly what the API allows, and shows each
//! refusal as the API's problem document. Not in the OpenAPI document.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use shared_kernel::web::{Asset, CSS, JAVASCRIPT, Page};

use super::http::{AppState, Operator};

/// Where the console is.
pub const CONSOLE_PATH: &str = "/console";

/// The page itself.
const CONSOLE_HTML: &str = include_str!("console.html");

/// The console's own files, besides the shared ones.
const CONSOLE_ASSETS: [Asset; 2] = [
    Asset {
        name: "console.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("console.js"),
    },
    Asset {
        name: "console.css",
        content_type: CSS,
        body: include_bytes!("console.css"),
    },
];

/// `GET /console`, its assets under `/console/assets/`, and
/// `GET /console/operator`, which the sign-in asks whether a token is the
/// operator's.
pub fn router() -> Router<AppState> {
    Page::new(CONSOLE_PATH, CONSOLE_HTML)
        .with_assets(&CONSOLE_ASSETS)
        .router()
        .route("/console/operator", get(check_operator))
}

/// 204 when the bearer token is the operator's; otherwise the operator
/// API's own 401 (or 429 past the failure throttle), from the same check
/// every operator call passes.
async fn check_operator(_operator: Operator) -> StatusCode {
    StatusCode::NO_CONTENT
}
