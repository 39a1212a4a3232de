//! The operator console as the service serves it: the page with its
//! Content-Security-Policy, its assets with their types, nothing inline
//! for the policy to refuse, and the sign-in's token check. (What it does
//! in a browser is tested by `make test-browser`: tests/browser/.)

mod support;

use line_provider::presentation::http::openapi_document;
use reqwest::{Method, StatusCode};
use shared_kernel::testing::expect_problem;
use shared_kernel::testing::web::{
    assert_assets_served, assert_nothing_inline, assert_unknown_assets_are_404, get, served_page,
};
use support::{TOKEN, TestApp};

#[tokio::test]
async fn the_console_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn().await;

    let html = served_page(&app, "/console").await;

    assert!(
        html.contains("Operator token"),
        "the sign-in is on the page"
    );
}

#[tokio::test]
async fn every_file_the_page_loads_is_served_with_its_type() {
    let app = TestApp::spawn().await;
    let html = served_page(&app, "/console").await;

    let served = assert_assets_served(&app, &html, "/console/assets/").await;

    // console.js imports common.js, which the page does not name.
    assert!(served.contains("common.js"), "{served:?}");
}

#[tokio::test]
async fn an_unknown_asset_is_a_404_problem() {
    let app = TestApp::spawn().await;

    assert_unknown_assets_are_404(
        &app,
        &[
            "/console/assets/nothing.js",
            "/console/assets/..%2Fconsole.html",
            "/console/assets/",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn().await;
    let html = served_page(&app, "/console").await;

    assert_nothing_inline(&html, 20);
}

#[tokio::test]
async fn the_console_is_not_part_of_the_api_document() {
    let document = serde_json::to_value(openapi_document())
        .unwrap_or_else(|e| panic!("serializing the OpenAPI document: {e}"));
    let paths = document["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths in {document}"));

    let console: Vec<&String> = paths
        .keys()
        .filter(|path| path.starts_with("/console"))
        .collect();

    assert!(console.is_empty(), "{console:?}");
}

#[tokio::test]
async fn the_sign_in_check_answers_204_to_the_operator_and_the_apis_401_to_anyone_else() {
    let app = TestApp::spawn().await;

    let operator = app
        .operator(Method::GET, "/console/operator")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /console/operator: {e}"));
    assert_eq!(operator.status(), StatusCode::NO_CONTENT);

    let wrong = app
        .request(Method::GET, "/console/operator")
        .bearer_auth(format!("{TOKEN}x"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /console/operator: {e}"));
    let problem = expect_problem(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["detail"], "the operator token is not valid");

    let none = get(&app, "/console/operator").await;
    expect_problem(none, StatusCode::UNAUTHORIZED).await;
}
