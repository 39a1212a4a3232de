//! The payment provider's webhook, the staff's calls and the bettor's own
//! limits on the HTTP API, as a provider, a cashier, a bettor and an
//! attacker would call them. Against the real app on a database of its own.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{
    PATIENCE, assert_names_field, eventually, expect_json, expect_problem,
};
use shared_kernel::webhook_signature::{HEADER, WebhookSecret, header_value};
use support::{
    TestApp, assert_books_balance, notice_about, signed, staff_token, token_for, webhook_secret,
};

/// `body` posted to the webhook with exactly this signature header (or none).
async fn post_webhook(app: &TestApp, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .anonymous(Method::POST, "/payments/webhook")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header(HEADER, signature);
    }
    request.send().await.unwrap_or_else(|e| panic!("{e}"))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn only_a_fresh_signature_by_an_accepted_secret_moves_money() {
    let other = WebhookSecret::parse("a-secret-the-provider-does-not-hold-at-all")
        .unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn_unfunded().await;
    let deposit = app.request_payment_as("alice", "deposits", "100.00").await;
    let body = notice_about("deposit.succeeded", &deposit);
    let altered = body.replace("100.00", "100.0");
    let cases = [
        ("missing", None, body.clone(), "missing"),
        (
            "wrong secret",
            Some(header_value(
                std::slice::from_ref(&other),
                now(),
                body.as_bytes(),
            )),
            body.clone(),
            "no signature verifies",
        ),
        (
            "stale",
            Some(header_value(
                &[webhook_secret()],
                now() - 301,
                body.as_bytes(),
            )),
            body.clone(),
            "tolerance",
        ),
        (
            "from the future",
            Some(header_value(
                &[webhook_secret()],
                now() + 301,
                body.as_bytes(),
            )),
            body.clone(),
            "tolerance",
        ),
        (
            "altered body",
            Some(header_value(&[webhook_secret()], now(), body.as_bytes())),
            altered,
            "no signature verifies",
        ),
        (
            "garbage",
            Some("v1=zz,t=x".to_owned()),
            body.clone(),
            "header is not",
        ),
    ];
    for (case, signature, sent, says) in cases {
        let problem = expect_problem(
            post_webhook(&app, &sent, signature).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(
            problem["type"], "urn:betting:problem:bad-signature",
            "{case}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{case}: {problem}"
        );
    }
    assert_eq!(app.balance_of("alice").await, "0.00");
    assert_eq!(app.count("SELECT count(*) FROM payment_inbox").await, 0);
    let metrics = app
        .management(Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let metrics = metrics.text().await.unwrap_or_default();
    for reason in [
        "missing_signature",
        "bad_signature",
        "stale_signature",
        "malformed_signature",
    ] {
        assert!(
            metrics.lines().any(|line| line.starts_with(&format!(
                "payment_webhook_refusals_total{{reason=\"{reason}\"}}"
            ))),
            "refusals are counted by reason ({reason}):\n{metrics}"
        );
    }

    // During a rotation the provider signs with both: the old secret (no
    // longer held here) and the new one.
    let both = header_value(&[other, webhook_secret()], now(), body.as_bytes());
    let applied = expect_json(post_webhook(&app, &body, Some(both)).await, StatusCode::OK).await;
    assert_eq!(applied, json!({"result": "applied"}));
    assert_eq!(app.balance_of("alice").await, "100.00");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn forty_identical_webhooks_at_once_credit_once() {
    let app = TestApp::spawn_unfunded().await;
    let deposit = app.request_payment_as("alice", "deposits", "25.00").await;
    let body = notice_about("deposit.succeeded", &deposit);
    let sends: Vec<_> = (0..40).map(|_| app.post_notice(&body)).collect();
    let mut results = Vec::new();
    for response in futures_util::future::join_all(sends).await {
        results.push(expect_json(response, StatusCode::OK).await["result"].clone());
    }
    assert_eq!(
        results.iter().filter(|r| **r == "applied").count(),
        1,
        "{results:?}"
    );
    assert_eq!(results.iter().filter(|r| **r == "duplicate").count(), 39);
    assert_eq!(app.balance_of("alice").await, "25.00");
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries WHERE line = 'DEPOSIT'")
            .await,
        1
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_notice_that_cannot_be_applied_is_a_problem_and_moves_nothing() {
    let app = TestApp::spawn_unfunded().await;
    let deposit = app.request_payment_as("alice", "deposits", "50.00").await;
    let mut wrong = deposit.clone();
    wrong["amount"] = json!("500.00");
    let problem = expect_problem(
        app.notify("deposit.succeeded", &wrong).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem["type"], "urn:betting:problem:payment-mismatch");
    let mut unknown = deposit.clone();
    unknown["id"] = json!(uuid::Uuid::now_v7());
    expect_problem(
        app.notify("deposit.succeeded", &unknown).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A deposit's id is not a withdrawal's.
    expect_problem(
        app.notify("withdrawal.paid", &deposit).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for malformed in [
        "not json",
        r#"{"id":"e","type":"deposit.pending","created":1,"data":{}}"#,
    ] {
        expect_problem(app.post_notice(malformed).await, StatusCode::BAD_REQUEST).await;
    }
    let huge = format!(r#"{{"id":"{}"}}"#, "x".repeat(20_000));
    let problem = expect_problem(app.post_notice(&huge).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(problem["type"], "urn:betting:problem:unreadable-body");
    // Failed, then a success: 409.
    assert_eq!(
        app.notify("deposit.failed", &deposit).await.status(),
        StatusCode::OK
    );
    let problem = expect_problem(
        app.notify("deposit.succeeded", &deposit).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem["type"], "urn:betting:problem:payment-final");
    // The same event id with other content: 409.
    let first = notice_about("deposit.failed", &deposit);
    assert_eq!(
        app.post_notice(&first).await.status(),
        StatusCode::OK,
        "the same again is fine"
    );
    let reused = first.replace("deposit.failed", "deposit.succeeded");
    let problem = expect_problem(app.post_notice(&reused).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:betting:problem:event-id-reused");
    let id = deposit["id"].as_str().unwrap_or_default();
    assert_eq!(
        app.get_json(&format!("/wallet/deposits/{id}")).await["status"],
        "FAILED"
    );
    assert_eq!(app.balance_of("alice").await, "0.00");
    assert_eq!(app.count("SELECT count(*) FROM ledger_entries").await, 0);
}

#[tokio::test]
async fn a_withdrawal_comes_back_when_the_provider_fails_it_and_stays_out_when_paid() {
    let app = TestApp::spawn_unfunded().await;
    app.deposit_as("alice", "100.00").await;
    let paid = app
        .request_payment_as("alice", "withdrawals", "40.00")
        .await;
    let failed = app
        .request_payment_as("alice", "withdrawals", "10.00")
        .await;
    assert_eq!(app.balance_of("alice").await, "50.00");
    assert_eq!(
        app.notify("withdrawal.paid", &paid).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.notify("withdrawal.failed", &failed).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.balance_of("alice").await, "60.00");
    let lines = app.get_json("/wallet/transactions").await;
    assert_eq!(lines["items"][0]["kind"], "WITHDRAWAL_RETURNED", "{lines}");
    assert_eq!(lines["items"][0]["amount"], "10.00");
    let id = paid["id"].as_str().unwrap_or_default();
    assert_eq!(
        app.get_json(&format!("/wallet/withdrawals/{id}")).await["status"],
        "PAID"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn only_a_cashier_adjusts_with_a_reason_and_every_adjustment_is_audited() {
    let app = TestApp::spawn_unfunded().await;
    let adjust = |token: String, body: Value| {
        app.anonymous(Method::POST, "/admin/wallets/alice/adjustments")
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let body = json!({"amount": "25.00", "reason": "cash at the desk, receipt 7"});
    // A bettor's token, a trader's, no token.
    for token in [token_for("alice"), staff_token("tom", "trader")] {
        let problem = expect_problem(
            adjust(token, body.clone())
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(problem["type"], "urn:betting:problem:forbidden");
    }
    let anonymous = app
        .anonymous(Method::POST, "/admin/wallets/alice/adjustments")
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let audit = app
        .anonymous(Method::GET, "/admin/audit")
        .bearer_auth(token_for("alice"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(audit, StatusCode::FORBIDDEN).await;

    let cashier = staff_token("cleo", "openid cashier");
    let problem = expect_problem(
        adjust(cashier.clone(), json!({"amount": "0", "reason": " "}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_names_field(&problem, "amount");
    assert_names_field(&problem, "reason");
    let missing = expect_problem(
        adjust(cashier.clone(), json!({"amount": "1.00"}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_names_field(&missing, "reason");
    let below = expect_problem(
        adjust(
            cashier.clone(),
            json!({"amount": "-0.01", "reason": "oops"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(below["type"], "urn:betting:problem:insufficient-funds");
    let made = expect_json(
        adjust(cashier.clone(), body)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            made["kind"].as_str(),
            made["amount"].as_str(),
            made["balance_after"].as_str()
        ),
        (Some("ADJUSTMENT"), Some("25.00"), Some("25.00"))
    );
    assert_eq!(app.balance_of("alice").await, "25.00");

    let trader = staff_token("tom", "trader");
    let audit = app
        .anonymous(Method::GET, "/admin/audit")
        .bearer_auth(trader)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let audit = expect_json(audit, StatusCode::OK).await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "refusals are not actions: {audit}");
    assert_eq!(entries[0]["actor"], "cleo");
    assert_eq!(entries[0]["action"], "wallet.adjust");
    assert_eq!(entries[0]["subject"], "wallet:alice");
    assert_eq!(entries[0]["reason"], "cash at the desk, receipt 7");
    assert_eq!(entries[0]["before"]["balance"], "0.00");
    assert_eq!(entries[0]["after"]["balance"], "25.00");
    assert_eq!(entries[0]["id"], made["audit_id"]);
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn an_excluded_bettor_can_neither_bet_nor_deposit_but_can_withdraw_and_cannot_undo_it() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let exclude = |body: Value| {
        app.request(Method::POST, "/account/exclusions")
            .json(&body)
            .send()
    };
    for bad in [
        json!({"kind": "time-out", "hours": 23}),
        json!({"kind": "time-out", "hours": 1009}),
        json!({"kind": "self-exclusion", "months": 3}),
        json!({"kind": "self-exclusion"}),
        json!({"kind": "nap", "hours": 24}),
    ] {
        expect_problem(
            exclude(bad).await.unwrap_or_else(|e| panic!("{e}")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let exclusion = expect_json(
        exclude(json!({"kind": "time-out", "hours": 48}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CREATED,
    )
    .await;
    let until = exclusion["until"].as_str().unwrap_or_default().to_owned();

    let bet = expect_problem(app.place_bet(event.id, "1.00").await, StatusCode::FORBIDDEN).await;
    assert_eq!(bet["type"], "urn:betting:problem:excluded");
    let seconds = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    };
    assert_eq!(
        seconds(bet["until"].as_str().unwrap_or_default()),
        seconds(&until),
        "{bet}"
    );
    let deposit = app
        .request(Method::POST, "/wallet/deposits")
        .json(&json!({"amount": "1.00"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        expect_problem(deposit, StatusCode::FORBIDDEN).await["type"],
        "urn:betting:problem:excluded"
    );
    app.request_payment_as("alice", "withdrawals", "5.00").await;
    let undo = app
        .request(Method::DELETE, "/account/exclusions")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        expect_problem(undo, StatusCode::CONFLICT).await["type"],
        "urn:betting:problem:exclusion-locked"
    );
    assert_eq!(
        app.get_json("/account/exclusions").await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // For ever: `until` is null.
    expect_json(
        exclude(json!({"kind": "self-exclusion", "permanent": true}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::CREATED,
    )
    .await;
    let bet = expect_problem(app.place_bet(event.id, "1.00").await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        (bet["until"].clone(), bet["permanent"].clone()),
        (Value::Null, json!(true))
    );
    // Another bettor bets as before.
    assert_eq!(
        app.place_bet_as("bob", event.id, "1.00").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.balance_of("alice").await,
        "995.00",
        "only the withdrawal moved"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn deposit_limits_on_the_api_lower_at_once_and_say_what_remains() {
    let app = TestApp::spawn_unfunded().await;
    let put = |body: Value| {
        app.request(Method::PUT, "/account/limits")
            .json(&body)
            .send()
    };
    let invalid = expect_problem(
        put(json!({"deposit_daily": "-1", "deposit_weekly": "-0.01"}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_names_field(&invalid, "deposit_daily");
    assert_names_field(&invalid, "deposit_weekly");
    let set = expect_json(
        put(json!({"deposit_daily": "100.00"}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        set["deposit_daily"],
        json!({"amount": "100.00", "pending": null})
    );
    assert_eq!(
        set["deposit_weekly"],
        json!({"amount": null, "pending": null})
    );
    let raised = expect_json(
        put(json!({"deposit_daily": "500.00", "deposit_monthly": "900.00"}))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        StatusCode::OK,
    )
    .await;
    assert_eq!(raised["deposit_daily"]["amount"], "100.00", "a raise waits");
    assert_eq!(raised["deposit_daily"]["pending"]["amount"], "500.00");
    assert!(raised["deposit_daily"]["pending"]["effective_at"].is_string());
    assert_eq!(
        raised["deposit_monthly"]["amount"], "900.00",
        "a first limit is at once"
    );
    assert_eq!(app.get_json("/account/limits").await, raised);

    app.deposit_as("alice", "70.00").await;
    let over = app
        .request(Method::POST, "/wallet/deposits")
        .json(&json!({"amount": "30.01"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let problem = expect_problem(over, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:betting:problem:deposit-limit");
    assert_eq!(
        (
            problem["period"].as_str(),
            problem["limit"].as_str(),
            problem["remaining"].as_str()
        ),
        (Some("daily"), Some("100.00"), Some("30.00"))
    );
    app.request_payment_as("alice", "deposits", "30.00").await;
}

#[tokio::test]
async fn the_sandbox_confirms_payments_through_the_real_webhook_and_nobody_else_can() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.payments.provider = bet_maker::config::ProviderKind::Sandbox;
        config.payments.webhook_secrets = Vec::new();
        config.payments.sandbox_delay_ms = 50;
    })
    .await;
    let deposit = app.request_payment_as("alice", "deposits", "100.00").await;
    assert_eq!(deposit["status"], "PENDING");
    let id = deposit["id"].as_str().unwrap_or_default().to_owned();
    eventually("the sandbox confirming the deposit", PATIENCE, || async {
        (app.get_json(&format!("/wallet/deposits/{id}")).await["status"] == "SUCCEEDED")
            .then_some(())
    })
    .await;
    let withdrawal = app
        .request_payment_as("alice", "withdrawals", "30.00")
        .await;
    let id = withdrawal["id"].as_str().unwrap_or_default().to_owned();
    eventually("the sandbox paying the withdrawal", PATIENCE, || async {
        (app.get_json(&format!("/wallet/withdrawals/{id}")).await["status"] == "PAID").then_some(())
    })
    .await;
    assert_eq!(app.balance_of("alice").await, "70.00");
    // Its secret is its own: a notice signed with any other is refused.
    let forged = app.request_payment_as("alice", "deposits", "1000.00").await;
    let body = notice_about("deposit.succeeded", &forged);
    let refused = signed(app.anonymous(Method::POST, "/payments/webhook"), &body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(refused, StatusCode::UNAUTHORIZED).await;
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn production_refuses_to_start_without_the_providers_secrets() {
    let (db, broker) = shared_kernel::testing::database_and_broker::<
        bet_maker::infrastructure::persistence::migrations::Migrator,
    >(
        "bet-maker",
        bet_maker::infrastructure::persistence::migrations::schema_fingerprint(),
    )
    .await;
    let mut config = support::config(&db.url, &broker.exchange, "unused", "http://127.0.0.1:9");
    config.payments.webhook_secrets = Vec::new();
    let refused = bet_maker::app::start(config).await;
    let message = refused.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(
        message.contains("BET_MAKER_PAYMENTS_WEBHOOK_SECRETS"),
        "{message}"
    );
}
