//! The back office as bet-maker serves it at `/admin`: the page with its
//! Content-Security-Policy, its assets with their types, nothing inline
//! for the policy to refuse, nothing parsed as HTML or evaluated, not in
//! the OpenAPI document, and the API's own `/admin/...` routes still
//! answering beside it. (What it does in a browser is tested by `make
//! test-browser`: tests/browser/back_office.test.mjs.)

mod support;

use std::collections::BTreeSet;

use bet_maker::presentation::http::openapi_document;
use reqwest::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Method, StatusCode};
use shared_kernel::testing::{expect_json, expect_problem};
use support::{TestApp, staff_token};

/// The policy every page is served with (SPEC "Web": no inline script or
/// style, nothing from elsewhere).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

const ASSETS: &str = "/admin/assets/";

fn header<'a>(headers: &'a HeaderMap, name: &reqwest::header::HeaderName) -> &'a str {
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

/// `GET /admin`, expecting 200; its headers and the HTML.
async fn back_office(app: &TestApp) -> (HeaderMap, String) {
    let response = get(app, "/admin").await;
    assert_eq!(response.status(), StatusCode::OK, "GET /admin");
    let headers = response.headers().clone();
    let html = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /admin: {e}"));
    (headers, html)
}

/// The modules `script` imports from its own directory (`from './x.js'`),
/// as asset paths.
fn imports(script: &str) -> Vec<String> {
    script
        .split("from './")
        .skip(1)
        .filter_map(|rest| rest.split_once('\''))
        .map(|(name, _)| format!("{ASSETS}{name}"))
        .collect()
}

#[tokio::test]
async fn the_back_office_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn_unfunded().await;

    let (headers, html) = back_office(&app).await;

    assert_eq!(header(&headers, &CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&headers, &CONTENT_SECURITY_POLICY), POLICY);
    assert_eq!(header(&headers, &X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&headers, &REFERRER_POLICY), "no-referrer");
    assert!(html.starts_with("<!doctype html>"), "{html}");
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
    let (_, html) = back_office(&app).await;
    let named: Vec<String> = tags(&html)
        .iter()
        .filter_map(|tag| tag.attribute("src").or_else(|| tag.attribute("href")))
        .filter(|url| url.starts_with(ASSETS))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        named.len(),
        4,
        "the icon, two style sheets, one script: {named:?}"
    );

    // And every module the script imports, and they import in turn.
    let mut pending = named;
    let mut served = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !served.insert(path.clone()) {
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
            // Text goes in as text: nothing the API says is parsed as HTML
            // or run as code.
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ] {
                assert!(!body.contains(banned), "{path} uses {banned}");
            }
            pending.extend(imports(&body));
        }
    }
    let modules: Vec<&str> = served
        .iter()
        .filter_map(|path| path.strip_prefix(ASSETS))
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

    for path in [
        "/admin/assets/nothing.js",
        "/admin/assets/..%2Fback_office.html",
        "/admin/assets/",
        "/admin/assets/bettor.js",
    ] {
        let response = get(&app, path).await;
        let problem = expect_problem(response, StatusCode::NOT_FOUND).await;
        assert_eq!(problem["status"], 404, "{path}");
    }
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn_unfunded().await;
    let (_, html) = back_office(&app).await;
    let tags = tags(&html);
    assert!(
        tags.len() > 40,
        "the page was read as HTML: {} tags",
        tags.len()
    );

    let mut inline = Vec::new();
    for tag in &tags {
        if tag.name == "style" {
            inline.push("a <style> element".to_owned());
        }
        if tag.name == "script" {
            if tag.attribute("src").is_none() {
                inline.push("a <script> without src".to_owned());
            }
            if !tag.content.trim().is_empty() {
                inline.push(format!("a <script> with content: {}", tag.content.trim()));
            }
        }
        for (name, value) in &tag.attributes {
            if name == "style" {
                inline.push(format!("a style attribute on <{}>", tag.name));
            }
            if name.starts_with("on") {
                inline.push(format!("an {name} handler on <{}>", tag.name));
            }
            if value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
            {
                inline.push(format!("a javascript: URL in {name} on <{}>", tag.name));
            }
        }
    }
    assert!(
        inline.is_empty(),
        "inline code the CSP would refuse: {inline:#?}"
    );
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

/// A tag's attributes: names lowercased, values unquoted.
type Attributes = Vec<(String, String)>;

/// A start tag: its name, its attributes (names lowercased, values
/// unquoted), and for a `<script>` what stands before its end tag.
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: Attributes,
    content: String,
}

impl Tag {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The start tags of `html`, comments and end tags skipped: enough of an
/// HTML tokenizer for a page we write ourselves.
fn tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        if rest.starts_with('/') || rest.starts_with('!') {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        let (name, attributes, after) = start_tag(rest);
        rest = after;
        let content = if name == "script" {
            let end = rest.find("</script").unwrap_or(rest.len());
            let content = rest[..end].to_owned();
            rest = &rest[end..];
            content
        } else {
            String::new()
        };
        tags.push(Tag {
            name,
            attributes,
            content,
        });
    }
    tags
}

/// The name and attributes of the start tag `text` begins with (after its
/// `<`), and what follows its `>`.
fn start_tag(text: &str) -> (String, Attributes, &str) {
    let name_end = text
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(text.len());
    let name = text[..name_end].to_ascii_lowercase();
    let mut rest = &text[name_end..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
            .unwrap_or(rest.len())
            .max(1);
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (found, remaining) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(quote).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = found.to_owned();
            rest = remaining;
        }
        attributes.push((key, value));
    }
    (name, attributes, rest)
}
