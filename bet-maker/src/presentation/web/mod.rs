//! The bettor app at `/`: one static page, its ES modules and style
//! sheet, compiled in and served with the security headers of
//! [`shared_kernel::web`]. The page drives bet-maker's own REST API with
//! `fetch` and follows its live streams (`GET /events/stream` with an
//! `EventSource`; `GET /bets/stream`, which needs the token, read with
//! `fetch`), so it does exactly what the API allows and shows each
//! refusal as the API's problem document. The token is kept in the tab's
//! session storage and sent as `Authorization: Bearer`: no cookie, so no
//! request a page elsewhere makes carries it. Not in the OpenAPI document.
//!
//! The staff's back office at `/admin` is [`back_office`].

pub mod back_office;

use axum::Router;
use shared_kernel::web::{Asset, CSS, JAVASCRIPT, Page};

use super::http::AppState;

/// Where the bettor app is.
pub const BETTOR_APP_PATH: &str = "/";

/// The page itself.
const BETTOR_HTML: &str = include_str!("bettor.html");

/// An ES module of the page.
const fn module(name: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type: JAVASCRIPT,
        body,
    }
}

/// The app's own files, besides the shared ones: the entry module
/// (`bettor.js`) imports the others (and the shared `common.js` and
/// `decimal.js`).
const BETTOR_ASSETS: [Asset; 9] = [
    module("bettor.js", include_bytes!("bettor.js")),
    module("page.js", include_bytes!("page.js")),
    module("line.js", include_bytes!("line.js")),
    module("slip.js", include_bytes!("slip.js")),
    module("wallet.js", include_bytes!("wallet.js")),
    module("bets.js", include_bytes!("bets.js")),
    module("limits.js", include_bytes!("limits.js")),
    module("sse.js", include_bytes!("sse.js")),
    Asset {
        name: "bettor.css",
        content_type: CSS,
        body: include_bytes!("bettor.css"),
    },
];

/// `GET /` and its assets under `/assets/`.
pub fn router() -> Router<AppState> {
    Page::new(BETTOR_APP_PATH, BETTOR_HTML)
        .with_assets(&BETTOR_ASSETS)
        .router()
}
