use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use super::*;

const PAGE: &str = "<!doctype html><title>t</title>";

fn router() -> Router {
    Page::new("/face", PAGE)
        .with_assets(&[Asset {
            name: "face.js",
            content_type: JAVASCRIPT,
            body: b"export {};",
        }])
        .router()
}

async fn get(path: &str, if_none_match: Option<&str>) -> Response {
    let mut request = Request::get(path);
    if let Some(tag) = if_none_match {
        request = request.header(IF_NONE_MATCH, tag);
    }
    let request = request
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    router()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {})
}

fn header<'a>(response: &'a Response, name: &HeaderName) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_page_is_html_with_the_security_headers() {
    let response = get("/face", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, &CONTENT_TYPE), HTML);
    assert_eq!(header(&response, &CONTENT_SECURITY_POLICY), CSP);
    assert_eq!(header(&response, &X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&response, &REFERRER_POLICY), "no-referrer");
    assert_eq!(header(&response, &CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn assets_are_served_with_their_type_the_common_ones_included() {
    for (path, content_type) in [
        ("/face/assets/face.js", JAVASCRIPT),
        ("/face/assets/common.js", JAVASCRIPT),
        ("/face/assets/decimal.js", JAVASCRIPT),
        ("/face/assets/common.css", CSS),
        ("/face/assets/favicon.svg", SVG),
    ] {
        let response = get(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, &CONTENT_TYPE), content_type, "{path}");
        assert_eq!(
            header(&response, &X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unknown_asset_is_a_404_problem() {
    let response = get("/face/assets/nothing.js", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, &CONTENT_TYPE), crate::http::PROBLEM_JSON);
}

#[tokio::test]
async fn a_known_etag_answers_304_and_another_the_file() {
    let first = get("/face/assets/face.js", None).await;
    let tag = header(&first, &ETAG).to_owned();
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");

    let again = get("/face/assets/face.js", Some(&tag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, &ETAG), tag);

    let other = get("/face/assets/face.js", Some("\"other\"")).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[test]
fn the_page_at_the_root_keeps_its_assets_under_slash_assets() {
    assert_eq!(Page::new("/", PAGE).assets_path(), "/assets");
    assert_eq!(Page::new("/console", PAGE).assets_path(), "/console/assets");
}
