//! The operator console as the service serves it: the page with its
//! Content-Security-Policy, its assets with their types, nothing inline
//! for the policy to refuse, and the sign-in's token check. (What it does
//! in a browser is tested by `make test-browser`: tests/browser/.)

mod support;

use line_provider::presentation::http::openapi_document;
use reqwest::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Method, StatusCode};
use shared_kernel::testing::expect_problem;
use support::{TOKEN, TestApp};

/// The policy every page is served with (SPEC "Web": no inline script or
/// style, nothing from elsewhere).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn header<'a>(headers: &'a HeaderMap, name: &reqwest::header::HeaderName) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::GET, path)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET /console`, expecting 200; its headers and the HTML.
async fn console(app: &TestApp) -> (HeaderMap, String) {
    let response = get(app, "/console").await;
    assert_eq!(response.status(), StatusCode::OK, "GET /console");
    let headers = response.headers().clone();
    let html = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /console: {e}"));
    (headers, html)
}

#[tokio::test]
async fn the_console_is_html_served_with_the_content_security_policy() {
    let app = TestApp::spawn().await;

    let (headers, html) = console(&app).await;

    assert_eq!(header(&headers, &CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&headers, &CONTENT_SECURITY_POLICY), POLICY);
    assert_eq!(header(&headers, &X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&headers, &REFERRER_POLICY), "no-referrer");
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(
        html.contains("Operator token"),
        "the sign-in is on the page"
    );
}

#[tokio::test]
async fn every_file_the_page_loads_is_served_with_its_type() {
    let app = TestApp::spawn().await;
    let (_, html) = console(&app).await;
    let loaded: Vec<String> = tags(&html)
        .iter()
        .filter_map(|tag| tag.attribute("src").or_else(|| tag.attribute("href")))
        .filter(|url| url.starts_with("/console/assets/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        loaded.len(),
        4,
        "the icon, two style sheets, one script: {loaded:?}"
    );

    // console.js imports common.js, which the page does not name.
    for path in loaded
        .iter()
        .map(String::as_str)
        .chain(["/console/assets/common.js"])
    {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let expected = match path.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("an asset of an unexpected kind: {other:?}"),
        };
        assert_eq!(
            header(response.headers(), &CONTENT_TYPE),
            expected,
            "{path}"
        );
        assert_eq!(
            header(response.headers(), &CONTENT_SECURITY_POLICY),
            POLICY,
            "{path}"
        );
        let body = response.text().await.unwrap_or_default();
        assert!(!body.is_empty(), "{path} is empty");
    }
}

#[tokio::test]
async fn an_unknown_asset_is_a_404_problem() {
    let app = TestApp::spawn().await;

    for path in [
        "/console/assets/nothing.js",
        "/console/assets/..%2Fconsole.html",
        "/console/assets/",
    ] {
        let response = get(&app, path).await;
        let problem = expect_problem(response, StatusCode::NOT_FOUND).await;
        assert_eq!(problem["status"], 404, "{path}");
    }
}

#[tokio::test]
async fn the_page_has_no_inline_script_style_or_event_handler() {
    let app = TestApp::spawn().await;
    let (_, html) = console(&app).await;
    let tags = tags(&html);
    assert!(
        tags.len() > 20,
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
