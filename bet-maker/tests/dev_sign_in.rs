//! The development sign-in (`BET_MAKER_DEV_SIGN_IN`): on, a name gets the
//! token `bet-maker token <name>` would print, and that token is a
//! bettor's like any other; off (the default), both routes are 404 and no
//! token is made, whatever is sent; a name that is not a bettor's id is a
//! 4xx problem naming `name`, never a token.

mod support;

use std::time::Duration;

use bet_maker::app;
use bet_maker::presentation::http::{BettorTokens, DEV_TOKEN_LIFETIME};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{Case, expect_json, expect_problem, run_cases, test_keys};
use support::{TestApp, config, jwt_settings};

async fn app_with_dev_sign_in(on: bool) -> TestApp {
    TestApp::spawn_unfunded_with(move |config| config.dev_sign_in = on).await
}

async fn sign_in(app: &TestApp, body: &Value) -> reqwest::Response {
    app.anonymous(Method::POST, "/dev/sign-in")
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /dev/sign-in: {e}"))
}

#[tokio::test]
async fn on_a_name_gets_a_bettor_token_for_an_hour() {
    let app = app_with_dev_sign_in(true).await;
    let before = Utc::now();

    let answer = expect_json(
        sign_in(&app, &json!({ "name": "erin" })).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(answer["token_type"], "Bearer", "{answer}");
    assert_eq!(answer["bettor"], "erin", "{answer}");
    let token = answer["token"].as_str().unwrap_or_default();
    // Signed as `bet-maker token erin` signs: the configured secret's
    // keys verify it, and it proves erin.
    let keys = BettorTokens::from_settings(&jwt_settings()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        keys.verify(token).map(|bettor| bettor.to_string()),
        Ok("erin".to_owned())
    );
    let expires_at: DateTime<Utc> = answer["expires_at"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("expires_at is an RFC 3339 instant: {answer}"));
    let lifetime = (expires_at - before).num_seconds();
    let hour = i64::try_from(DEV_TOKEN_LIFETIME.as_secs()).unwrap_or_default();
    assert!(
        (hour - 2..=hour + 2).contains(&lifetime),
        "lives {lifetime} s, not an hour"
    );
}

#[tokio::test]
async fn on_the_token_signed_in_with_is_the_bettors_own() {
    let app = app_with_dev_sign_in(true).await;
    let answer = expect_json(
        sign_in(&app, &json!({ "name": "frank" })).await,
        StatusCode::OK,
    )
    .await;
    let token = answer["token"].as_str().unwrap_or_default();

    let wallet = app
        .anonymous(Method::GET, "/wallet")
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /wallet: {e}"));
    let wallet = expect_json(wallet, StatusCode::OK).await;
    let deposit = app
        .anonymous(Method::POST, "/wallet/deposits")
        .bearer_auth(token)
        .json(&json!({ "amount": "25.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /wallet/deposits: {e}"));
    let deposit = expect_json(deposit, StatusCode::ACCEPTED).await;
    assert_eq!(
        app.notify("deposit.succeeded", &deposit).await.status(),
        StatusCode::OK
    );

    assert_eq!(wallet["balance"], "0.00", "a new bettor's wallet: {wallet}");
    // The same bettor as `bet-maker token frank`: the money is frank's.
    assert_eq!(app.balance_of("frank").await, "25.00");
}

#[tokio::test]
async fn on_the_sign_in_says_it_is_on() {
    let app = app_with_dev_sign_in(true).await;

    let answer = app
        .anonymous(Method::GET, "/dev/sign-in")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /dev/sign-in: {e}"));

    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn on_a_name_that_is_no_bettors_id_is_refused_naming_it() {
    let app = app_with_dev_sign_in(true).await;
    let long = format!(r#"{{"name": "{}"}}"#, "a".repeat(65));
    let cases = vec![
        Case::invalid("an empty name", r#"{"name": ""}"#, "name"),
        Case::invalid("65 characters", long, "name"),
        Case::invalid("a newline", r#"{"name": "alice\nINFO forged"}"#, "name"),
        Case::invalid("a NUL", r#"{"name": "a\u0000b"}"#, "name"),
        Case::invalid("no name", r#"{}"#, "name"),
        Case::invalid("a number", r#"{"name": 7}"#, "name"),
        Case::invalid("null", r#"{"name": null}"#, "name"),
        Case::invalid(
            "a scope smuggled in",
            r#"{"name": "cleo", "scope": "cashier"}"#,
            "scope",
        )
        .any_field(),
        Case::refused("an array", r#"["alice"]"#, StatusCode::UNPROCESSABLE_ENTITY),
        Case::malformed("cut short", r#"{"name": "#),
        Case::malformed("empty", ""),
        Case::media_type(
            "a form",
            "name=alice",
            Some("application/x-www-form-urlencoded"),
        ),
        Case::media_type("no content type", r#"{"name": "alice"}"#, None),
    ];

    run_cases(
        "POST /dev/sign-in",
        cases,
        |_| app.anonymous(Method::POST, "/dev/sign-in"),
        || async { app.count("SELECT count(*) FROM wallets").await },
    )
    .await;
}

#[tokio::test]
async fn off_both_routes_are_404_whatever_is_sent() {
    let app = app_with_dev_sign_in(false).await;

    let status = app
        .anonymous(Method::GET, "/dev/sign-in")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /dev/sign-in: {e}"));
    let status = expect_problem(status, StatusCode::NOT_FOUND).await;
    assert!(
        status["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("BET_MAKER_DEV_SIGN_IN")),
        "says why: {status}"
    );

    for body in [
        r#"{"name": "alice"}"#,
        r#"{"name": ""}"#,
        r#"{"name": "#,
        "",
    ] {
        let answer = app
            .anonymous(Method::POST, "/dev/sign-in")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /dev/sign-in: {e}"));
        let problem = expect_problem(answer, StatusCode::NOT_FOUND).await;
        assert!(problem.get("token").is_none(), "{body}: {problem}");
    }
}

#[tokio::test]
async fn on_without_a_secret_to_sign_with_start_up_stops_naming_the_setting() {
    let mut config = config(
        "postgres://unused",
        "exchange",
        "queue",
        "http://127.0.0.1:9",
    );
    config.dev_sign_in = true;
    config.jwt.key.secret = None;
    // An identity provider's public key (an Ed25519 one serves).
    config.jwt.key.public_key_file = Some(test_keys().verify_key_file.clone());

    let started = tokio::time::timeout(Duration::from_secs(30), app::start(config))
        .await
        .unwrap_or_else(|_| panic!("start-up did not stop"));

    let message = started
        .err()
        .map(|error| format!("{error:#}"))
        .unwrap_or_default();
    assert!(
        message.contains("BET_MAKER_DEV_SIGN_IN") && message.contains("BET_MAKER_JWT_SECRET"),
        "start-up should refuse, naming both settings: {message:?}"
    );
}
