//! The plumbing of the services' web pages: a page and the files it loads,
//! compiled into the binary and served by the service itself, with the
//! security headers every page needs, and the browser code both services'
//! pages share ([`COMMON_ASSETS`]: `common.js`, `decimal.js`, `common.css`,
//! the icon).
//!
//! A page is static HTML; its one ES module calls the service's own public
//! REST API with `fetch`. No templating, no inline script or style (the
//! Content-Security-Policy forbids both), nothing from another origin.

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::http::Problem;

/// What a page may load and talk to: its own origin only, no inline
/// script or style, no framing, forms posting nowhere else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// `Content-Type` of an HTML page.
pub const HTML: &str = "text/html; charset=utf-8";
/// `Content-Type` of an ES module.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// `Content-Type` of a style sheet.
pub const CSS: &str = "text/css; charset=utf-8";
/// `Content-Type` of an SVG image.
pub const SVG: &str = "image/svg+xml";

/// One file a page loads, served at `<page>/assets/<name>`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file name in the URL (`console.js`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes, compiled in (`include_bytes!`).
    pub body: &'static [u8],
}

/// The browser code every page shares: `common.js` (the API client that
/// turns every refusal into the API's problem document, and DOM helpers),
/// `decimal.js` (exact decimal and money arithmetic with `BigInt`, for what
/// a page works out itself), `common.css` (the controls and the frame of a
/// page), and `favicon.svg`.
pub const COMMON_ASSETS: [Asset; 4] = [
    Asset {
        name: "common.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("common.js"),
    },
    Asset {
        name: "decimal.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("decimal.js"),
    },
    Asset {
        name: "common.css",
        content_type: CSS,
        body: include_bytes!("common.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: SVG,
        body: include_bytes!("favicon.svg"),
    },
];

/// A page: its HTML at `path`, and its assets under `path/assets/`.
#[derive(Debug, Clone)]
pub struct Page {
    path: &'static str,
    html: &'static str,
    assets: Vec<Asset>,
}

impl Page {
    /// The page `html` at `path` (`/console`, or `/`), with the
    /// [`COMMON_ASSETS`].
    pub fn new(path: &'static str, html: &'static str) -> Self {
        Self {
            path,
            html,
            assets: COMMON_ASSETS.to_vec(),
        }
    }

    /// Adds the page's own assets.
    pub fn with_assets(mut self, assets: &[Asset]) -> Self {
        self.assets.extend_from_slice(assets);
        self
    }

    /// Where the page's assets are: `/console/assets`, or `/assets` for
    /// the page at `/`.
    pub fn assets_path(&self) -> String {
        format!("{}/assets", self.path.trim_end_matches('/'))
    }

    /// The routes: `GET path` (the page) and `GET path/assets/{name}` (an
    /// asset, or a 404 problem). Not in any OpenAPI document: a page is not
    /// part of the API.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let page = Arc::new(Served::new(HTML, self.html.as_bytes()));
        let assets: Arc<[(&'static str, Served)]> = self
            .assets
            .iter()
            .map(|asset| (asset.name, Served::new(asset.content_type, asset.body)))
            .collect();
        let assets_route = format!("{}/{{name}}", self.assets_path());
        Router::new()
            .route(
                self.path,
                get(move |headers: HeaderMap| async move { page.respond(&headers) }),
            )
            .route(
                &assets_route,
                get(
                    move |Path(name): Path<String>, headers: HeaderMap| async move {
                        match assets.iter().find(|(known, _)| *known == name) {
                            Some((_, asset)) => asset.respond(&headers),
                            None => Problem::not_found("no such asset").into_response(),
                        }
                    },
                ),
            )
    }
}

/// A static file ready to serve: its type, its bytes, and its `ETag`.
#[derive(Debug)]
struct Served {
    content_type: &'static str,
    body: &'static [u8],
    etag: HeaderValue,
}

impl Served {
    fn new(content_type: &'static str, body: &'static [u8]) -> Self {
        // A strong tag from the content: a new build with a changed file
        // gets a new tag, an unchanged file answers 304.
        let digest = hex::encode(&Sha256::digest(body)[..12]);
        let etag = HeaderValue::from_str(&format!("\"{digest}\""))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        Self {
            content_type,
            body,
            etag,
        }
    }

    /// 200 with the file, or 304 when `If-None-Match` names its tag;
    /// either way with the security headers.
    fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag.as_bytes() == self.etag.as_bytes());
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(CONTENT_TYPE, HeaderValue::from_static(self.content_type))],
                self.body,
            )
                .into_response()
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, self.etag.clone());
        for (name, value) in security_headers() {
            headers.insert(name, value);
        }
        response
    }
}

/// The headers every page and asset is served with: the
/// [`CSP`], no MIME sniffing, no `Referer` sent on, and revalidation
/// on every use (the `ETag` makes that a 304), so a new build is picked
/// up at once.
pub fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}
