//! The bettor app as the service serves it at `/`: the page with its
//! Content-Security-Policy, every file it loads with its type, nothing
//! inline for the policy to refuse, `/docs` still there, and the page not
//! part of the API's document. (What it does in a browser is tested by
//! `make test-browser`: tests/browser/bettor.test.mjs.)

mod support;

use bet_maker::presentation::http::openapi_document;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use shared_kernel::testing::web::{
    assert_assets_served, assert_nothing_inline, assert_unknown_assets_are_404, get, served_page,
};
use shared_kernel::testing::{expect_problem, header};
use support::TestApp;

#[tokio::test]
async fn the_app_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn_unfunded().await;

    // With the policy, and no cookie: the token travels only as
    // `Authorization: Bearer`.
    let html = served_page(&app, "/").await;

    for name in [
        "Name",
        "Token",
        "Line",
        "Stake",
        "Place bet",
        "Balance",
        "Amount",
        "Deposit",
        "Withdraw",
        "My bets",
        "Statement",
    ] {
        assert!(html.contains(name), "the page names {name}");
    }
}

#[tokio::test]
async fn every_module_and_style_sheet_the_page_loads_is_served_with_its_type() {
    let app = TestApp::spawn_unfunded().await;
    let html = served_page(&app, "/").await;

    // The entry module imports the others, and they common.js: every one
    // reachable from the page is served.
    let served = assert_assets_served(&app, &html, "/assets/").await;

    for module in ["bettor.js", "sse.js", "decimal.js", "common.js"] {
        assert!(served.contains(module), "{module} is loaded: {served:?}");
    }
}

#[tokio::test]
async fn an_unchanged_file_is_a_304_and_an_unknown_one_a_404_problem() {
    let app = TestApp::spawn_unfunded().await;
    let first = get(&app, "/assets/bettor.js").await;
    let tag = header(&first, ETAG);
    assert!(tag.starts_with('"'), "a strong ETag: {tag:?}");

    let again = app
        .anonymous(Method::GET, "/assets/bettor.js")
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /assets/bettor.js: {e}"));
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    assert_unknown_assets_are_404(
        &app,
        &["/assets/nothing.js", "/assets/..%2Fbettor.html", "/assets/"],
    )
    .await;
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn_unfunded().await;
    let html = served_page(&app, "/").await;

    assert_nothing_inline(&html, 50);
}

#[tokio::test]
async fn the_api_and_its_docs_stay_where_they_were() {
    let app = TestApp::spawn_unfunded().await;

    let docs = get(&app, "/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK, "Swagger UI at /docs");
    let document = get(&app, "/openapi.json").await;
    assert_eq!(document.status(), StatusCode::OK);
    let events = get(&app, "/events").await;
    assert_eq!(events.status(), StatusCode::OK);
    // Anything else is still the API's 404 problem, not the page.
    expect_problem(get(&app, "/no-such-page").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_app_is_not_part_of_the_api_document() {
    let document = serde_json::to_value(openapi_document())
        .unwrap_or_else(|e| panic!("serializing the OpenAPI document: {e}"));
    let paths = document["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths in {document}"));

    let pages: Vec<&String> = paths
        .keys()
        .filter(|path| *path == "/" || path.starts_with("/assets"))
        .collect();

    assert!(pages.is_empty(), "{pages:?}");
}
