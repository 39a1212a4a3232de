//! The OpenAPI document: valid 3.1, served as generated, and complete.

mod support;

use line_provider::presentation::http::openapi_document;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_kernel::testing::openapi_31_violations;
use support::{TestApp, expect_json};

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

/// The problem example of a response, whether given as `example` or as
/// the first of `examples`.
fn problem_example(response: &Value) -> Option<&Value> {
    let content = &response["content"]["application/problem+json"];
    content.get("example").or_else(|| {
        content["examples"]
            .as_object()
            .and_then(|examples| examples.values().next())
            .map(|example| &example["value"])
    })
}

#[test]
fn every_error_response_shows_its_own_realistic_example() {
    let document = generated();
    let mut failures = Vec::new();

    for (path, method, _) in OPERATIONS {
        let operation = format!("{} {path}", method.to_uppercase());
        let responses = document["paths"][path][method]["responses"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut seen: Vec<(String, Value)> = Vec::new();
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
            let Some(example) = problem_example(response) else {
                failures.push(format!("{operation} {status}: no example"));
                continue;
            };
            if example["status"]
                .as_u64()
                .map(|code| code.to_string())
                .as_ref()
                != Some(status)
            {
                failures.push(format!("{operation} {status}: the example says {example}"));
            }
            if let Some((other, _)) = seen.iter().find(|(_, seen)| seen == example) {
                failures.push(format!(
                    "{operation}: {status} shows the example of {other}"
                ));
            }
            seen.push((status.clone(), example.clone()));
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_status_request_example_is_a_result_the_api_accepts() {
    let document = generated();

    let example = &document["components"]["schemas"]["SetStatusRequest"]["example"];

    assert_eq!(example["status"], "FINISHED_WIN", "{example}");
}

#[test]
fn the_create_example_names_both_fields_a_client_can_get_wrong() {
    let document = generated();
    let response = &document["paths"]["/events"]["post"]["responses"]["422"];

    let fields: Vec<&str> = problem_example(response)
        .and_then(|example| example["errors"].as_array())
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();

    assert_eq!(fields, ["coefficient", "deadline"]);
}
