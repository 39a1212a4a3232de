//! The checks every service's web page passes, as its tests make them over
//! HTTP: the page served as HTML with the security headers, every file it
//! loads (and every module those import) served with its type, an unknown
//! asset a 404 problem, and nothing inline for the policy to refuse. What
//! is a page's own (the names on it, the modules it must load) its test
//! checks beside these.

use std::collections::BTreeSet;

use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, HeaderName, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Method, Response, StatusCode};

use super::html::{inline_code, start_tags};
use super::{SpawnedApp, expect_problem};

/// The policy every page and asset is served with (SPEC "Web": no inline
/// script or style, nothing from elsewhere), written out here rather than
/// taken from [`crate::web::CSP`], so that the test is of the spec.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// What in a module would parse text as HTML or run it as code: nothing
/// the API says may be either.
const BANNED_IN_MODULES: [&str; 6] = [
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "new Function",
];

/// `GET path` on `app` without a token.
pub async fn get(app: &SpawnedApp, path: &str) -> Response {
    app.request(Method::GET, path)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET path`, expecting the page: 200, HTML, with the
/// Content-Security-Policy, `nosniff`, no `Referer` sent on, revalidated on
/// every use, and no cookie (a token travels only as `Authorization:
/// Bearer`). Returns the HTML, which starts with `<!doctype html>`.
pub async fn served_page(app: &SpawnedApp, path: &str) -> String {
    let response = get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let headers = response.headers().clone();
    assert_eq!(
        header(&headers, &CONTENT_TYPE),
        "text/html; charset=utf-8",
        "{path}"
    );
    assert_eq!(header(&headers, &CONTENT_SECURITY_POLICY), POLICY, "{path}");
    assert_eq!(
        header(&headers, &X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{path}"
    );
    assert_eq!(header(&headers, &REFERRER_POLICY), "no-referrer", "{path}");
    assert_eq!(header(&headers, &CACHE_CONTROL), "no-cache", "{path}");
    assert!(headers.get(SET_COOKIE).is_none(), "{path} sets a cookie");
    let html = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert!(html.starts_with("<!doctype html>"), "{html}");
    html
}

/// Every file under `assets` (`/console/assets/`) that `html` names (the
/// icon, two style sheets, one script), and every module those import
/// from `./`, and they in turn: each served with 200, its type, the
/// policy and `nosniff`, not empty; no module parsing text as HTML or
/// running it as code. Returns the names served (`common.js`).
pub async fn assert_assets_served(app: &SpawnedApp, html: &str, assets: &str) -> BTreeSet<String> {
    let named: Vec<String> = start_tags(html)
        .iter()
        .filter_map(|tag| tag.attribute("src").or_else(|| tag.attribute("href")))
        .filter(|url| url.starts_with(assets))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        named.len(),
        4,
        "the icon, two style sheets, one script: {named:?}"
    );

    let mut pending = named;
    let mut served = BTreeSet::new();
    while let Some(path) = pending.pop() {
        let name = path.strip_prefix(assets).unwrap_or(&path).to_owned();
        if !served.insert(name) {
            continue;
        }
        let response = get(app, &path).await;
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
            for banned in BANNED_IN_MODULES {
                assert!(!body.contains(banned), "{path} uses {banned}");
            }
            pending.extend(imports(&body).map(|module| format!("{assets}{module}")));
        }
    }
    served
}

/// Each of `paths` (an asset no page has, or a path out of the assets) is
/// a 404 problem.
pub async fn assert_unknown_assets_are_404(app: &SpawnedApp, paths: &[&str]) {
    for path in paths {
        expect_problem(get(app, path).await, StatusCode::NOT_FOUND).await;
    }
}

/// `html` has more than `tags` start tags (it was read as HTML), and
/// nothing inline the Content-Security-Policy would refuse
/// ([`inline_code`]).
pub fn assert_nothing_inline(html: &str, tags: usize) {
    let read = start_tags(html);
    assert!(
        read.len() > tags,
        "the page was read as HTML: {} tags",
        read.len()
    );
    let inline = inline_code(&read);
    assert!(
        inline.is_empty(),
        "inline code the CSP would refuse: {inline:#?}"
    );
}

/// The modules `module` imports from its own directory (`from './x.js'`),
/// by name.
fn imports(module: &str) -> impl Iterator<Item = &str> {
    module
        .split("from './")
        .skip(1)
        .filter_map(|rest| rest.split_once('\''))
        .map(|(name, _)| name)
}

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modules_imports_are_read_by_name() {
        let module = "import { a } from './common.js';\nimport {\n  b,\n} from './page.js';\n\
            // from elsewhere: import x from 'https://x/y.js'\nconst c = 'from';";
        assert_eq!(
            imports(module).collect::<Vec<_>>(),
            ["common.js", "page.js"]
        );
    }
}
