//! The OpenAPI document: valid 3.1, served as generated, and complete.

mod support;

use bet_maker::presentation::openapi_document;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_kernel::testing::{expect_json, openapi_31_violations};
use support::TestApp;

/// The operations of the SPEC's bet-maker table, and the statuses the SPEC
/// gives each.
const OPERATIONS: &[(&str, &str, &[&str])] = &[
    ("/events", "get", &["200"]),
    ("/bets", "post", &["201", "404", "409", "422"]),
    ("/bets", "get", &["200"]),
    ("/bets/{id}", "get", &["200", "404"]),
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

fn operation<'a>(document: &'a Value, path: &str, method: &str) -> &'a Value {
    let operation = &document["paths"][path][method];
    assert!(
        operation.is_object(),
        "no {} {path} in the document",
        method.to_uppercase()
    );
    operation
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
fn the_document_has_every_operation_of_bet_maker() {
    let document = generated();

    let missing: Vec<String> = OPERATIONS
        .iter()
        .filter(|(path, method, _)| !document["paths"][path][method].is_object())
        .map(|(path, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect();

    assert!(missing.is_empty(), "operations missing: {missing:?}");
}

#[test]
fn every_operation_documents_the_statuses_of_the_spec() {
    let document = generated();

    let mut missing = Vec::new();
    for (path, method, statuses) in OPERATIONS {
        let responses = &document["paths"][path][method]["responses"];
        for status in *statuses {
            if !responses[status].is_object() {
                missing.push(format!("{} {path} {status}", method.to_uppercase()));
            }
        }
    }

    assert!(missing.is_empty(), "responses not documented: {missing:?}");
}

#[test]
fn placing_a_bet_documents_the_idempotency_key_header() {
    let document = generated();
    let operation = operation(&document, "/bets", "post");

    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let key = parameters
        .iter()
        .find(|parameter| parameter["name"] == "Idempotency-Key")
        .unwrap_or_else(|| panic!("no Idempotency-Key parameter: {}", operation["parameters"]));

    assert_eq!(key["in"], "header", "{key}");
    assert_ne!(key["required"], true, "the key is optional: {key}");
}

#[test]
fn placing_a_bet_documents_the_location_of_the_new_bet() {
    let document = generated();
    let operation = operation(&document, "/bets", "post");

    let created = &operation["responses"]["201"];

    assert!(
        created["headers"]["Location"].is_object(),
        "201 without a Location header: {created}"
    );
}
