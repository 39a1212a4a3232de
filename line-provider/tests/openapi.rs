//! The OpenAPI document: valid 3.1, served as generated, and complete.

mod support;

use line_provider::presentation::openapi_document;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_kernel::testing::{expect_json, openapi_31_violations};
use support::TestApp;

/// The operations of the SPEC's line-provider table, and whether each is
/// for operators only.
const OPERATIONS: &[(&str, &str, bool)] = &[
    ("/events", "post", true),
    ("/events", "get", false),
    ("/events/{id}", "get", false),
    ("/events/{id}", "patch", true),
    ("/events/{id}/status", "put", true),
];

fn generated() -> Value {
    serde_json::to_value(openapi_document())
        .unwrap_or_else(|e| panic!("serializing the OpenAPI document: {e}"))
}

async fn served(app: &TestApp) -> Value {
    let response = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /openapi.json: {e}"));
    expect_json(response, StatusCode::OK).await
}

fn assert_valid(document: &Value) {
    let violations = openapi_31_violations(document);
    assert!(
        violations.is_empty(),
        "{} violation(s) of the OpenAPI 3.1 schema:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn().await;

    let document = served(&app).await;

    assert_valid(&document);
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::spawn().await;

    let document = served(&app).await;

    assert!(
        document == generated(),
        "GET /openapi.json differs from openapi_document()"
    );
}

#[test]
fn the_generated_document_is_valid_openapi_3_1() {
    assert_valid(&generated());
}

#[test]
fn the_document_offers_the_operator_token_as_a_bearer_scheme() {
    let document = generated();

    let scheme = &document["components"]["securitySchemes"]["operator_token"];

    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(
        scheme["scheme"].as_str().map(str::to_lowercase),
        Some("bearer".to_owned()),
        "{scheme}"
    );
}

#[test]
fn the_document_has_every_operation_of_the_line() {
    let document = generated();

    let missing: Vec<String> = OPERATIONS
        .iter()
        .filter(|(path, method, _)| !document["paths"][path][method].is_object())
        .map(|(path, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect();

    assert!(missing.is_empty(), "operations missing: {missing:?}");
}

#[test]
fn operator_operations_require_the_token_and_reads_do_not() {
    let document = generated();

    for (path, method, operator_only) in OPERATIONS {
        let operation = &document["paths"][path][method];
        let security = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let requires_token = security
            .iter()
            .any(|requirement| requirement.get("operator_token").is_some());
        assert_eq!(
            requires_token,
            *operator_only,
            "{} {path}: security is {}",
            method.to_uppercase(),
            operation["security"]
        );
    }
}
