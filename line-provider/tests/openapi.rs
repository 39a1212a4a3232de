//! The OpenAPI document: valid 3.1, served as generated, and complete.

mod support;

use line_provider::presentation::http::openapi_document;
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
    ("/events/{id}/corrections", "post", true),
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

#[test]
fn operator_operations_document_the_throttle_429_with_retry_after() {
    let document = generated();

    for (path, method, operator_only) in OPERATIONS {
        let response = &document["paths"][path][method]["responses"]["429"];
        let documented = response["headers"]["Retry-After"].is_object();
        assert_eq!(
            documented,
            *operator_only,
            "{} {path}: 429 is {response}",
            method.to_uppercase()
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
fn the_status_request_shows_a_result_first_then_the_cancellation_suspension_and_resumption() {
    let document = generated();
    let body = &document["paths"]["/events/{id}/status"]["put"]["requestBody"]["content"]["application/json"];

    // Swagger UI fills the request with the first example: a result, never
    // the cancellation.
    let statuses: Vec<&str> = body["examples"]
        .as_object()
        .map(|examples| {
            examples
                .values()
                .filter_map(|example| example["value"]["status"].as_str())
                .collect()
        })
        .unwrap_or_default();

    assert_eq!(
        statuses,
        ["FINISHED_WIN", "CANCELLED", "SUSPENDED", "NEW"],
        "{body}"
    );
    let schema = document["components"]["schemas"]["EventStatusDto"].to_string();
    for status in ["CANCELLED", "SUSPENDED"] {
        assert!(
            schema.contains(status),
            "EventStatusDto lists {status}: {schema}"
        );
    }
}

/// The first value of `examples` under `"requestBody"` of `path` in the
/// document as served, in the order of its bytes: the example Swagger UI
/// puts in the form, whatever order a parsed `Value` would give its keys.
fn first_request_example_as_served(text: &str, path: &str) -> Option<Value> {
    let operation = text.find(&format!("\"{path}\":"))?;
    let body = operation + text[operation..].find("\"requestBody\"")?;
    let examples = body + text[body..].find("\"examples\"")?;
    let value = examples + text[examples..].find("\"value\"")? + "\"value\"".len();
    let rest = text[value..].trim_start().strip_prefix(':')?;
    serde_json::Deserializer::from_str(rest)
        .into_iter::<Value>()
        .next()?
        .ok()
}

#[tokio::test]
async fn swagger_ui_fills_the_status_form_with_a_result_never_the_cancellation() {
    let app = TestApp::spawn().await;

    let text = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /openapi.json: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading /openapi.json: {e}"));

    // Try it out → Execute on an untouched form sends the first example:
    // finishing the event, as a newcomer means to; never calling it off.
    let first = first_request_example_as_served(&text, "/events/{id}/status");
    assert_eq!(
        first,
        Some(serde_json::json!({"status": "FINISHED_WIN"})),
        "the first example of PUT /events/{{id}}/status as served"
    );
}

#[test]
fn the_correction_request_shows_a_final_status_and_a_reason() {
    let document = generated();
    let schema = &document["components"]["schemas"]["CorrectionRequest"];
    let body = &document["paths"]["/events/{id}/corrections"]["post"]["requestBody"]["content"]["application/json"];

    let first = body["examples"]
        .as_object()
        .and_then(|examples| examples.values().next())
        .map(|example| example["value"].clone())
        .unwrap_or_default();

    assert_eq!(schema["example"]["status"], "FINISHED_LOSE", "{schema}");
    assert_eq!(first["status"], "FINISHED_LOSE", "{body}");
    assert!(
        first["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    assert_eq!(schema["properties"]["reason"]["maxLength"], 500, "{schema}");
    let required = schema["required"].to_string();
    assert!(
        required.contains("status") && required.contains("reason"),
        "{schema}"
    );
}

#[test]
fn the_new_conflicts_are_documented_with_their_own_problem_types() {
    let document = generated();
    let types = |path: &str, method: &str| -> Vec<String> {
        document["paths"][path][method]["responses"]["409"]["content"]["application/problem+json"]["examples"]
            .as_object()
            .map(|examples| {
                examples
                    .values()
                    .filter_map(|example| example["value"]["type"].as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };

    assert_eq!(
        types("/events/{id}", "patch"),
        [
            "urn:betting:problem:event-finished",
            "urn:betting:problem:deadline-passed"
        ]
    );
    assert_eq!(
        types("/events/{id}/corrections", "post"),
        [
            "urn:betting:problem:event-not-final",
            "urn:betting:problem:nothing-to-correct"
        ]
    );
    assert!(
        types("/events/{id}/status", "put")
            .contains(&"urn:betting:problem:event-finished".to_owned()),
        "suspending a final event is documented"
    );
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

/// What must match between an example and a real answer: the kind of
/// problem and the fields it names (details carry ids and versions).
fn shape(problem: &Value) -> (Value, Value, Value, Vec<Value>) {
    let fields = problem["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["field"].clone()).collect())
        .unwrap_or_default();
    (
        problem["type"].clone(),
        problem["title"].clone(),
        problem["status"].clone(),
        fields,
    )
}

/// A request that must get one documented error response.
struct Probe {
    /// The operation, as in the document.
    method: &'static str,
    path: &'static str,
    /// The documented status it must get.
    status: u16,
    /// What to call.
    url: String,
    body: String,
    with_token: bool,
    as_json: bool,
    if_match: Option<&'static str>,
}

impl Probe {
    /// An operator's JSON request.
    fn new(method: &'static str, path: &'static str, status: u16, url: &str, body: &str) -> Self {
        Self {
            method,
            path,
            status,
            url: url.to_owned(),
            body: body.to_owned(),
            with_token: true,
            as_json: true,
            if_match: None,
        }
    }

    fn anonymous(self) -> Self {
        Self {
            with_token: false,
            ..self
        }
    }

    fn not_json(self) -> Self {
        Self {
            as_json: false,
            ..self
        }
    }

    fn if_match(self, tag: &'static str) -> Self {
        Self {
            if_match: Some(tag),
            ..self
        }
    }

    async fn answer(&self, app: &TestApp) -> Value {
        let method = Method::from_bytes(self.method.to_uppercase().as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", self.method));
        let mut request = if self.with_token {
            app.operator(method, &self.url)
        } else {
            app.request(method, &self.url)
        };
        if self.as_json {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        if let Some(tag) = self.if_match {
            request = request.header(reqwest::header::IF_MATCH, tag);
        }
        if !self.body.is_empty() {
            request = request.body(self.body.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.method, self.url));
        response.json().await.unwrap_or_default()
    }
}

/// An open event and one finished as `FINISHED_LOSE`: their ids.
async fn open_and_finished(app: &TestApp) -> (String, String) {
    let id = |event: Value| event["id"].as_str().unwrap_or_default().to_owned();
    let open = id(app.create_event("1.85").await);
    let finished = id(app.create_event("1.85").await);
    let response = app
        .operator(Method::PUT, &format!("/events/{finished}/status"))
        .json(&serde_json::json!({ "status": "FINISHED_LOSE" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("finishing {finished}: {e}"));
    expect_json(response, StatusCode::OK).await;
    (open, finished)
}

#[tokio::test]
async fn every_error_example_is_what_the_api_answers() {
    let app = TestApp::spawn().await;
    let document = generated();
    let (open, finished) = open_and_finished(&app).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let refused = format!(r#"{{"coefficient": "1.00", "deadline": "{past}"}}"#);
    let (event, result, fix) = (
        "/events/{id}",
        "/events/{id}/status",
        "/events/{id}/corrections",
    );
    let (item, status, corrections) = (
        |id: &str| format!("/events/{id}"),
        |id: &str| format!("/events/{id}/status"),
        |id: &str| format!("/events/{id}/corrections"),
    );
    let overturn = r#"{"status": "FINISHED_WIN", "reason": "the goal stood"}"#;
    let (move_odds, win) = (
        r#"{"coefficient": "2.10"}"#,
        r#"{"status": "FINISHED_WIN"}"#,
    );
    let probes = [
        Probe::new(
            "post",
            "/events",
            400,
            "/events",
            r#"{"coefficient": "1.85","#,
        ),
        Probe::new("post", "/events", 401, "/events", &refused).anonymous(),
        Probe::new("post", "/events", 415, "/events", &refused).not_json(),
        Probe::new("post", "/events", 422, "/events", &refused),
        Probe::new("get", "/events", 400, "/events?limit=0", "").not_json(),
        Probe::new("get", event, 400, &item("not-a-uuid"), "").not_json(),
        Probe::new("get", event, 404, &item(&unknown), "").not_json(),
        Probe::new(
            "patch",
            event,
            400,
            &item(&open),
            r#"{"coefficient": "2.10","#,
        ),
        Probe::new("patch", event, 401, &item(&open), move_odds).anonymous(),
        Probe::new("patch", event, 404, &item(&unknown), move_odds),
        Probe::new("patch", event, 409, &item(&finished), move_odds),
        Probe::new("patch", event, 412, &item(&open), move_odds).if_match("\"7\""),
        Probe::new("patch", event, 415, &item(&open), move_odds).not_json(),
        Probe::new(
            "patch",
            event,
            422,
            &item(&open),
            r#"{"coefficient": "1.001"}"#,
        ),
        Probe::new(
            "put",
            result,
            400,
            &status(&open),
            r#"{"status": "FINISHED_WIN","#,
        ),
        Probe::new("put", result, 401, &status(&open), win).anonymous(),
        Probe::new("put", result, 404, &status(&unknown), win),
        Probe::new("put", result, 409, &status(&finished), win),
        Probe::new("put", result, 412, &status(&open), win).if_match("\"7\""),
        Probe::new("put", result, 415, &status(&open), win).not_json(),
        Probe::new("put", result, 422, &status(&open), r#"{"status": "OPEN"}"#),
        Probe::new(
            "post",
            fix,
            400,
            &corrections(&finished),
            r#"{"status": "FINISHED_WIN","#,
        ),
        Probe::new("post", fix, 401, &corrections(&finished), overturn).anonymous(),
        Probe::new("post", fix, 404, &corrections(&unknown), overturn),
        Probe::new("post", fix, 409, &corrections(&open), overturn),
        Probe::new("post", fix, 412, &corrections(&finished), overturn).if_match("\"7\""),
        Probe::new("post", fix, 415, &corrections(&finished), overturn).not_json(),
        Probe::new(
            "post",
            fix,
            422,
            &corrections(&finished),
            r#"{"status": "FINISHED_WIN", "reason": " "}"#,
        ),
    ];
    let mut failures = Vec::new();

    for probe in probes {
        let responses = &document["paths"][probe.path][probe.method]["responses"];
        let example = problem_example(&responses[probe.status.to_string()])
            .cloned()
            .unwrap_or_default();
        let answer = probe.answer(&app).await;
        if shape(&answer) != shape(&example) {
            failures.push(format!(
                "{} {} {}:\n  documented {example}\n  answered   {answer}",
                probe.method.to_uppercase(),
                probe.path,
                probe.status
            ));
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
