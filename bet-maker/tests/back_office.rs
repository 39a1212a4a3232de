//! The back office as bet-maker serves it at `/admin`: the page with its
//! Content-Security-Policy, its assets with their types, nothing inline
//! for the policy to refuse, nothing parsed as HTML or evaluated, not in
//! the OpenAPI document, and the API's own `/admin/...` routes still
//! answering beside it. (What it does in a browser is tested by `make
//! test-browser`: tests/browser/back_office.test.mjs.)

mod support;

use bet_maker::presentation::http::openapi_document;
use reqwest::{Method, StatusCode};
use shared_kernel::testing::web::{
    assert_assets_served, assert_nothing_inline, assert_unknown_assets_are_404, get, served_page,
};
use shared_kernel::testing::{expect_json, expect_problem};
use support::{TestApp, staff_token};

const ASSETS: &str = "/admin/assets/";

#[tokio::test]
async fn the_back_office_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn_unfunded().await;

    let html = served_page(&app, "/admin").await;

    for name in [
        "Staff token",
        "Sign in",
        "bet-maker token &lt;name&gt; --scope \"trader cashier\"",
        "Exposure",
        "Bettor limits",
        "Cashier adjustment",
        "Audit log",
        "Dead letters",
    ] {
        assert!(html.contains(name), "{name} is on the page");
    }
}

#[tokio::test]
async fn every_file_the_page_loads_is_served_with_its_type_and_the_policy() {
    let app = TestApp::spawn_unfunded().await;
    let html = served_page(&app, "/admin").await;

    // And every module the script imports, and they import in turn.
    let served = assert_assets_served(&app, &html, ASSETS).await;

    let modules: Vec<&str> = served
        .iter()
        .map(String::as_str)
        .filter(|name| name.ends_with(".js"))
        .collect();
    assert_eq!(
        modules,
        [
            "actions.js",
            "back_office.js",
            "common.js",
            "decimal.js",
            "exposure.js",
            "records.js",
            "session.js"
        ]
    );
}

#[tokio::test]
async fn an_unknown_asset_is_a_404_problem() {
    let app = TestApp::spawn_unfunded().await;

    assert_unknown_assets_are_404(
        &app,
        &[
            "/admin/assets/nothing.js",
            "/admin/assets/..%2Fback_office.html",
            "/admin/assets/",
            "/admin/assets/bettor.js",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn_unfunded().await;
    let html = served_page(&app, "/admin").await;

    assert_nothing_inline(&html, 40);
}

#[test]
fn the_back_office_is_not_part_of_the_api_document() {
    let document = serde_json::to_value(openapi_document())
        .unwrap_or_else(|e| panic!("serializing the OpenAPI document: {e}"));
    let paths = document["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths in {document}"));

    let page: Vec<&String> = paths
        .keys()
        .filter(|path| *path == "/admin" || path.starts_with(ASSETS))
        .collect();

    assert!(page.is_empty(), "{page:?}");
    // The API's own staff calls are still documented.
    assert!(paths.contains_key("/admin/audit"));
    assert!(paths.contains_key("/admin/exposure"));
}

#[tokio::test]
async fn the_apis_admin_routes_answer_beside_the_page() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("2.50").await;

    let audit = app
        .anonymous(Method::GET, "/admin/audit")
        .bearer_auth(staff_token("tess", "trader"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /admin/audit: {e}"));
    let audit = expect_json(audit, StatusCode::OK).await;
    assert_eq!(audit["items"], serde_json::json!([]), "{audit}");
    let path = format!("/admin/events/{}/exposure", event.id);
    let exposure = app
        .anonymous(Method::GET, &path)
        .bearer_auth(staff_token("tess", "trader"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let exposure = expect_json(exposure, StatusCode::OK).await;
    assert_eq!(exposure["pending_bets"], 0, "{exposure}");
    // A staff call without a token is the API's 401, not the page.
    let anonymous = get(&app, "/admin/audit").await;
    expect_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    // The page takes GET only; the rest is the API's own problem.
    let posted = app
        .anonymous(Method::POST, "/admin")
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /admin: {e}"));
    expect_problem(posted, StatusCode::METHOD_NOT_ALLOWED).await;
    let unknown = get(&app, "/admin/nothing").await;
    expect_problem(unknown, StatusCode::NOT_FOUND).await;
}
