//! The OpenAPI document: valid 3.1, served as generated, and complete.

mod support;

use bet_maker::domain::{BetSum, LineEventStatus, Price, payout};
use bet_maker::presentation::http::openapi_document;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::Value;
use shared_kernel::testing::{expect_json, openapi_31_violations};
use support::TestApp;

/// The operations of the SPEC's bet-maker table, and the statuses the SPEC
/// gives each.
const OPERATIONS: &[(&str, &str, &[&str])] = &[
    ("/events", "get", &["200"]),
    ("/bets", "post", &["201", "401", "404", "409", "422"]),
    ("/bets", "get", &["200", "401"]),
    ("/bets/{id}", "get", &["200", "401", "404"]),
    ("/wallet", "get", &["200", "401"]),
    (
        "/wallet/deposits",
        "post",
        &["202", "400", "401", "403", "409", "415", "422"],
    ),
    ("/wallet/deposits", "get", &["200", "400", "401"]),
    ("/wallet/deposits/{id}", "get", &["200", "401", "404"]),
    (
        "/wallet/withdrawals",
        "post",
        &["202", "400", "401", "409", "415", "422"],
    ),
    ("/wallet/withdrawals", "get", &["200", "400", "401"]),
    ("/wallet/withdrawals/{id}", "get", &["200", "401", "404"]),
    ("/wallet/transactions", "get", &["200", "400", "401"]),
    (
        "/payments/webhook",
        "post",
        &["200", "400", "401", "404", "409", "413"],
    ),
    (
        "/admin/wallets/{bettor}/adjustments",
        "post",
        &["201", "401", "403", "409", "422"],
    ),
    ("/admin/audit", "get", &["200", "401", "403"]),
    ("/account/limits", "get", &["200", "401"]),
    ("/account/limits", "put", &["200", "401", "422"]),
    ("/account/exclusions", "post", &["201", "401", "422"]),
    ("/account/exclusions", "get", &["200", "401"]),
    ("/account/exclusions", "delete", &["409", "401"]),
    (
        "/events/{id}/max-stake",
        "get",
        &["200", "401", "404", "409"],
    ),
    (
        "/admin/events/{id}/exposure",
        "get",
        &["200", "401", "403", "404"],
    ),
    (
        "/admin/events/{id}/limits",
        "put",
        &["200", "401", "403", "404", "422"],
    ),
    (
        "/admin/bettors/{bettor}/limits",
        "put",
        &["200", "401", "403", "422"],
    ),
    ("/admin/exposure", "get", &["200", "400", "401", "403"]),
    ("/admin/dead-letters", "get", &["200", "401", "403"]),
    ("/dev/sign-in", "get", &["204", "404"]),
    ("/dev/sign-in", "post", &["200", "400", "404", "415", "422"]),
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
fn bettor_operations_take_a_bearer_jwt_and_the_line_takes_none() {
    let document = generated();
    let scheme = &document["components"]["securitySchemes"]["bettor_token"];

    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    assert_eq!(scheme["bearerFormat"], "JWT", "{scheme}");
    for (path, method, _) in OPERATIONS {
        let security = &operation(&document, path, method)["security"];
        if path.starts_with("/payments") {
            assert_eq!(
                security,
                &serde_json::json!([{ "payments_signature": [] }]),
                "{} {path}",
                method.to_uppercase()
            );
        } else if ["/bets", "/wallet", "/account", "/admin"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || path.ends_with("/max-stake")
        {
            assert_eq!(
                security,
                &serde_json::json!([{ "bettor_token": [] }]),
                "{} {path}",
                method.to_uppercase()
            );
        } else {
            assert!(
                security.is_null(),
                "{} {path} is public: {security}",
                method.to_uppercase()
            );
        }
    }
}

#[test]
fn placing_a_bet_and_moving_money_document_the_idempotency_key_header() {
    let document = generated();
    for path in ["/bets", "/wallet/deposits", "/wallet/withdrawals"] {
        idempotency_key_is_documented(operation(&document, path, "post"));
    }
}

#[test]
fn the_bet_slip_says_its_event_ids_come_from_get_events() {
    let document = generated();
    let schemas = &document["components"]["schemas"];
    let body = &operation(&document, "/bets", "post")["requestBody"]["content"]["application/json"];

    // Swagger UI's own example id (3fa85f64-...) and ours exist nowhere:
    // the field and each example say where a real one comes from.
    for (schema, field) in [("BetSlipRequest", "event_id"), ("LegRequest", "event_id")] {
        let description = schemas[schema]["properties"][field]["description"].to_string();
        assert!(
            description.contains("GET /events"),
            "{schema}.{field}: {description}"
        );
    }
    let examples = body["examples"].as_object().cloned().unwrap_or_default();
    assert!(!examples.is_empty(), "{body}");
    for (name, example) in &examples {
        let summary = example["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("GET /events"), "{name}: {summary}");
        assert!(
            !example["value"].to_string().contains("3fa85f64"),
            "{name}: {example}"
        );
    }
}

fn idempotency_key_is_documented(operation: &Value) {
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
fn the_insufficient_funds_example_says_the_balance() {
    let document = generated();
    let conflict = &operation(&document, "/wallet/withdrawals", "post")["responses"]["409"];

    let examples = examples_of(conflict);

    let types: Vec<&str> = examples
        .iter()
        .filter_map(|problem| problem["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "urn:betting:problem:insufficient-funds",
            "urn:betting:problem:negative-balance"
        ],
        "{conflict}"
    );
    for problem in &examples {
        assert!(problem["balance"].is_string(), "{problem}");
    }
}

#[test]
fn every_success_response_of_the_wallet_has_an_example() {
    let document = generated();

    for (path, method, statuses) in OPERATIONS {
        if !["/wallet", "/account", "/admin", "/payments"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            continue;
        }
        let success = &operation(&document, path, method)["responses"][statuses[0]];
        assert_eq!(
            examples_of(success).len(),
            1,
            "{} {path}: {success}",
            method.to_uppercase()
        );
    }
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

/// The examples of one response: its `example`, or each of its `examples`.
fn examples_of(response: &Value) -> Vec<Value> {
    let Some(content) = response["content"].as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for media in content.values() {
        if !media["example"].is_null() {
            found.push(media["example"].clone());
        }
        if let Some(named) = media["examples"].as_object() {
            found.extend(named.values().map(|example| example["value"].clone()));
        }
    }
    found
}

#[test]
fn every_error_response_has_an_example_of_its_own_status() {
    let document = generated();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();

    let mut wrong = Vec::new();
    for (path, operations) in &paths {
        for (method, operation) in operations.as_object().cloned().unwrap_or_default() {
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (status, response) in responses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let name = format!("{} {path} {status}", method.to_uppercase());
                let examples = examples_of(&response);
                if examples.is_empty() {
                    wrong.push(format!("{name}: no example"));
                }
                for example in examples {
                    if example["status"] != status.parse::<u64>().unwrap_or_default()
                        || example["detail"].is_null()
                    {
                        wrong.push(format!("{name}: example of another response: {example}"));
                    }
                }
            }
        }
    }

    assert!(
        wrong.is_empty(),
        "error responses without a true example:\n{}",
        wrong.join("\n")
    );
}

/// An example's decimal field.
fn decimal_of(value: &Value, field: &str) -> Decimal {
    value[field]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("`{field}` of {value}: {e}"))
}

/// The coefficients of an example bet's legs.
fn leg_coefficients(bet: &Value, field: &str) -> Vec<Decimal> {
    bet["legs"]
        .as_array()
        .unwrap_or_else(|| panic!("an example bet without legs: {bet}"))
        .iter()
        .filter(|leg| leg[field].is_string())
        .map(|leg| decimal_of(leg, field))
        .collect()
}

#[test]
fn the_examples_of_a_bet_just_placed_are_pending_without_payout_or_settlement() {
    let document = generated();
    let created = &operation(&document, "/bets", "post")["responses"]["201"];

    let examples = examples_of(created);

    let mut legs: Vec<usize> = examples
        .iter()
        .map(|bet| leg_coefficients(bet, "coefficient").len())
        .collect();
    legs.sort_unstable();
    assert_eq!(legs, [1, 2], "a single and an accumulator: {created}");
    for bet in &examples {
        assert_eq!(bet["status"], "PENDING", "{bet}");
        assert!(
            bet.get("payout").is_none(),
            "a pending bet has no payout: {bet}"
        );
        assert!(
            bet.get("settled_at").is_none(),
            "a pending bet is not settled: {bet}"
        );
        assert_eq!(
            bet["coefficient"],
            Price::of(leg_coefficients(bet, "coefficient")).to_string(),
            "the bet's odds are the exact product of its legs': {bet}"
        );
    }
}

#[test]
fn the_examples_of_a_settled_bet_pay_by_the_rule() {
    let document = generated();
    let found = &operation(&document, "/bets/{id}", "get")["responses"]["200"];

    let examples = examples_of(found);

    let mut statuses: Vec<&str> = examples
        .iter()
        .filter_map(|bet| bet["status"].as_str())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        ["PENDING", "VOID", "VOID", "WON", "WON"],
        "a won single, a void and a late one, an accumulator half and wholly won: {found}"
    );
    for bet in &examples {
        let amount = decimal_of(bet, "amount");
        let stake = BetSum::new(amount, amount).unwrap_or_else(|e| panic!("{bet}: {e}"));
        let expected = match bet["status"].as_str() {
            Some("VOID") => payout(stake, Decimal::TWO, LineEventStatus::Cancelled)
                .map(|(_, paid)| paid.to_string()),
            Some("WON") => Some(
                Price::of(leg_coefficients(bet, "settled_coefficient"))
                    .payout(stake)
                    .to_string(),
            ),
            _ => None,
        };
        assert_eq!(bet["payout"].as_str().map(str::to_owned), expected, "{bet}");
    }
}

#[test]
fn the_risk_refusals_are_documented_with_their_max_stake() {
    let document = generated();
    let conflict = &operation(&document, "/bets", "post")["responses"]["409"];

    let examples = examples_of(conflict);

    for slug in ["liability-limit", "stake-limit", "payout-limit"] {
        let problem = examples
            .iter()
            .find(|example| example["type"] == format!("urn:betting:problem:{slug}"))
            .unwrap_or_else(|| panic!("no {slug} example: {conflict}"));
        let max_stake: Decimal = problem["max_stake"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|e| panic!("{slug} max_stake: {e}"));
        assert!(max_stake > Decimal::ZERO, "{problem}");
    }
}
