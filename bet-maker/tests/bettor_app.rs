//! The bettor app as the service serves it at `/`: the page with its
//! Content-Security-Policy, every file it loads with its type, nothing
//! inline for the policy to refuse, `/docs` still there, and the page not
//! part of the API's document. (What it does in a browser is tested by
//! `make test-browser`: tests/browser/bettor.test.mjs.)

mod support;

use bet_maker::presentation::http::openapi_document;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap, HeaderName,
    IF_NONE_MATCH, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Method, StatusCode};
use shared_kernel::testing::expect_problem;
use shared_kernel::testing::html::{inline_code, start_tags};
use support::TestApp;

/// The policy every page is served with (SPEC "Web": no inline script or
/// style, nothing from elsewhere).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.anonymous(Method::GET, path)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET /`, expecting 200; its headers and the HTML.
async fn page(app: &TestApp) -> (HeaderMap, String) {
    let response = get(app, "/").await;
    assert_eq!(response.status(), StatusCode::OK, "GET /");
    let headers = response.headers().clone();
    let html = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /: {e}"));
    (headers, html)
}

/// The `import ... from './x.js'` of a module: the modules it loads.
fn imports(module: &str) -> Vec<String> {
    module
        .lines()
        .filter(|line| line.starts_with("import "))
        .filter_map(|line| line.split("from '").nth(1))
        .filter_map(|rest| rest.split('\'').next())
        .map(|relative| format!("/assets/{}", relative.trim_start_matches("./")))
        .collect()
}

#[tokio::test]
async fn the_app_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn_unfunded().await;

    let (headers, html) = page(&app).await;

    assert_eq!(header(&headers, &CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&headers, &CONTENT_SECURITY_POLICY), POLICY);
    assert_eq!(header(&headers, &X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&headers, &REFERRER_POLICY), "no-referrer");
    assert_eq!(header(&headers, &CACHE_CONTROL), "no-cache");
    assert!(html.starts_with("<!doctype html>"), "{html}");
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
    // No cookie: the token travels only as `Authorization: Bearer`.
    assert!(headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn every_module_and_style_sheet_the_page_loads_is_served_with_its_type() {
    let app = TestApp::spawn_unfunded().await;
    let (_, html) = page(&app).await;
    let mut pending: Vec<String> = start_tags(&html)
        .iter()
        .filter_map(|tag| tag.attribute("src").or_else(|| tag.attribute("href")))
        .filter(|url| url.starts_with("/assets/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        pending.len(),
        4,
        "the icon, two style sheets, one script: {pending:?}"
    );

    // The entry module imports the others, and they common.js: every one
    // reachable from the page is served.
    let mut served = Vec::new();
    while let Some(path) = pending.pop() {
        if served.contains(&path) {
            continue;
        }
        let response = get(&app, &path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let expected = match path.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("an asset of an unexpected kind: {other:?}"),
        };
        let headers = response.headers().clone();
        assert_eq!(header(&headers, &CONTENT_TYPE), expected, "{path}");
        assert_eq!(header(&headers, &CONTENT_SECURITY_POLICY), POLICY, "{path}");
        assert_eq!(
            header(&headers, &X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
        let body = response.text().await.unwrap_or_default();
        assert!(!body.is_empty(), "{path} is empty");
        if path.ends_with(".js") {
            pending.extend(imports(&body));
        }
        served.push(path);
    }
    for module in ["bettor.js", "sse.js", "decimal.js", "common.js"] {
        assert!(
            served.contains(&format!("/assets/{module}")),
            "{module} is loaded: {served:?}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_file_is_a_304_and_an_unknown_one_a_404_problem() {
    let app = TestApp::spawn_unfunded().await;
    let first = get(&app, "/assets/bettor.js").await;
    let tag = header(first.headers(), &ETAG).to_owned();
    assert!(tag.starts_with('"'), "a strong ETag: {tag:?}");

    let again = app
        .anonymous(Method::GET, "/assets/bettor.js")
        .header(IF_NONE_MATCH, &tag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /assets/bettor.js: {e}"));
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    for path in ["/assets/nothing.js", "/assets/..%2Fbettor.html", "/assets/"] {
        expect_problem(get(&app, path).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn_unfunded().await;
    let (_, html) = page(&app).await;
    let tags = start_tags(&html);
    assert!(
        tags.len() > 50,
        "the page was read as HTML: {} tags",
        tags.len()
    );

    let inline = inline_code(&tags);

    assert!(
        inline.is_empty(),
        "inline code the CSP would refuse: {inline:#?}"
    );
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
