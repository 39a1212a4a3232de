//! The wallet on the HTTP API: `GET /wallet`, deposits, withdrawals and
//! the statement, each only for the bettor the token names; insufficient
//! funds write nothing; an `Idempotency-Key` makes a movement happen once.
//! After each test the books balance. Against the real app on a database
//! of its own.

mod support;

use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, Response, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use shared_kernel::testing::{assert_names_field, expect_json, expect_problem};
use support::{TestApp, assert_books_balance};

/// The four wallet operations: (method, path).
const OPERATIONS: [(Method, &str); 4] = [
    (Method::GET, "/wallet"),
    (Method::POST, "/wallet/deposits"),
    (Method::POST, "/wallet/withdrawals"),
    (Method::GET, "/wallet/transactions"),
];

/// `POST path` as `bettor` with this body and, if given, key.
async fn post_as(
    app: &TestApp,
    bettor: &str,
    path: &str,
    body: Value,
    key: Option<&str>,
) -> Response {
    let mut request = app.request_as(bettor, Method::POST, path).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

async fn entries(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM ledger_entries").await
}

#[tokio::test]
async fn a_new_bettors_wallet_is_empty_in_the_configured_currency() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.currency = bet_maker::domain::Currency::parse("CHF").unwrap();
    })
    .await;

    let wallet = app.get_json("/wallet").await;

    assert_eq!(wallet, json!({ "balance": "0.00", "currency": "CHF" }));
    let statement = app.get_json("/wallet/transactions").await;
    assert_eq!(statement, json!({ "items": [], "next_cursor": null }));
    assert_eq!(
        app.count("SELECT count(*) FROM wallets").await,
        0,
        "reading makes no wallet"
    );
}

#[tokio::test]
async fn deposit_withdraw_and_read_the_statement_newest_first() {
    let app = TestApp::spawn_unfunded().await;

    let requested = app.request_payment_as("alice", "deposits", "100.00").await;
    assert_eq!(requested["status"], "PENDING");
    assert_eq!(
        app.balance_of("alice").await,
        "0.00",
        "nothing credited yet"
    );
    let confirmed = app.notify("deposit.succeeded", &requested).await;
    assert_eq!(
        expect_json(confirmed, StatusCode::OK).await,
        json!({"result": "applied"})
    );
    let deposit_id = requested["id"].as_str().unwrap_or_default().to_owned();
    let deposit = app
        .get_json(&format!("/wallet/deposits/{deposit_id}"))
        .await;
    assert_eq!(deposit["status"], "SUCCEEDED");
    assert!(deposit["decided_at"].is_string(), "{deposit}");
    let withdrawal = expect_json(
        post_as(
            &app,
            "alice",
            "/wallet/withdrawals",
            json!({ "amount": 30.5 }),
            None,
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(withdrawal["status"], "PENDING");
    assert_eq!(withdrawal["amount"], "30.50");

    assert_eq!(
        app.get_json("/wallet").await,
        json!({ "balance": "69.50", "currency": "EUR" }),
        "a withdrawal leaves the balance at once"
    );
    let statement = app.get_json("/wallet/transactions").await;
    let items = statement["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{statement}");
    let (withdrawn, deposited) = (&items[0], &items[1]);
    assert_eq!(deposited["kind"], "DEPOSIT");
    assert_eq!(deposited["amount"], "100.00");
    assert_eq!(deposited["balance_after"], "100.00");
    assert_eq!(deposited["payment_id"], deposit_id.as_str());
    assert!(deposited.get("bet_id").is_none(), "{deposited}");
    assert_eq!(withdrawn["kind"], "WITHDRAWAL", "newest first");
    assert_eq!(
        withdrawn["amount"], "-30.50",
        "a withdrawal's amount is negative"
    );
    assert_eq!(withdrawn["balance_after"], "69.50");
    assert_eq!(withdrawn["payment_id"], withdrawal["id"]);
    assert!(statement["next_cursor"].is_null());
    // One line a page: the cursor leads to the next, then the end.
    let first = app.get_json("/wallet/transactions?limit=1").await;
    assert_eq!(first["items"], json!([withdrawn]));
    let cursor = first["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"));
    let second = app
        .get_json(&format!("/wallet/transactions?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["items"], json!([deposited]));
    assert!(second["next_cursor"].is_null(), "{second}");
    // The lists of each kind, newest first.
    assert_eq!(
        app.get_json("/wallet/deposits").await["items"],
        json!([deposit])
    );
    assert_eq!(
        app.get_json("/wallet/withdrawals").await["items"],
        json!([withdrawal])
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn one_bettor_never_sees_another_bettors_wallet() {
    let app = TestApp::spawn_unfunded().await;
    let alices = app.deposit_as("alice", "100.00").await;
    let alices_line = app.get_json("/wallet/transactions").await["items"][0].clone();

    assert_eq!(app.balance_of("bob").await, "0.00");
    // Bob cannot read alice's deposit, nor list it.
    let id = alices["id"].as_str().unwrap_or_default();
    let read = app
        .request_as("bob", Method::GET, &format!("/wallet/deposits/{id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(read, StatusCode::NOT_FOUND).await;
    assert_eq!(
        app.get_json_as("bob", "/wallet/deposits").await["items"],
        json!([])
    );
    assert_eq!(
        app.get_json_as("bob", "/wallet/transactions").await["items"],
        json!([])
    );
    // Alice's line as bob's cursor leads nowhere.
    let id = alices_line["id"].as_str().unwrap_or_default();
    let cursor = shared_kernel::pagination::encode_cursor(id.parse().unwrap());
    let page = app
        .get_json_as("bob", &format!("/wallet/transactions?cursor={cursor}"))
        .await;
    assert_eq!(page["items"], json!([]));
    // Bob cannot withdraw alice's money.
    let refused = post_as(
        &app,
        "bob",
        "/wallet/withdrawals",
        json!({ "amount": "1.00" }),
        None,
    )
    .await;
    expect_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(app.balance_of("alice").await, "100.00");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_withdrawal_above_the_balance_is_409_saying_the_balance_and_writes_nothing() {
    let app = TestApp::spawn_unfunded().await;
    app.deposit_as("alice", "10.00").await;
    let before = entries(&app).await;

    let refused = post_as(
        &app,
        "alice",
        "/wallet/withdrawals",
        json!({ "amount": "10.01" }),
        Some("k1"),
    )
    .await;
    let never_deposited = post_as(
        &app,
        "bob",
        "/wallet/withdrawals",
        json!({ "amount": "0.01" }),
        None,
    )
    .await;

    let problem = expect_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:betting:problem:insufficient-funds");
    assert_eq!(problem["balance"], "10.00", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("10.00"),
        "the detail says the balance: {detail}"
    );
    let problem = expect_problem(never_deposited, StatusCode::CONFLICT).await;
    assert_eq!(problem["balance"], "0.00", "{problem}");
    assert_eq!(entries(&app).await, before, "no ledger line written");
    assert_eq!(
        app.count("SELECT count(*) FROM wallets").await,
        1,
        "no wallet made"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM idempotency_keys").await,
        0,
        "a refused request does not hold its key"
    );
    assert_eq!(app.balance_of("alice").await, "10.00");
    // The balance itself may be withdrawn, to the cent.
    let emptied = post_as(
        &app,
        "alice",
        "/wallet/withdrawals",
        json!({ "amount": "10.00" }),
        Some("k1"),
    )
    .await;
    assert_eq!(
        expect_json(emptied, StatusCode::ACCEPTED).await["status"],
        "PENDING"
    );
    assert_eq!(app.balance_of("alice").await, "0.00");
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_bad_amount_is_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn_unfunded().await;
    app.deposit_as("alice", "5.00").await;
    let before = entries(&app).await;

    for path in ["/wallet/deposits", "/wallet/withdrawals"] {
        for amount in [
            json!("0"),
            json!("-1.00"),
            json!("0.001"),
            json!("1e2"),
            json!("1000000.01"),
            json!(null),
            json!("abc"),
        ] {
            let response = post_as(&app, "alice", path, json!({ "amount": amount }), None).await;
            let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_names_field(&problem, "amount");
        }
        let response = post_as(&app, "alice", path, json!({}), None).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names_field(&problem, "amount");
        let response = app
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body("{\"amount\": ")
            .send()
            .await
            .unwrap();
        expect_problem(response, StatusCode::BAD_REQUEST).await;
        let response = app
            .request(Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("amount=1.00")
            .send()
            .await
            .unwrap();
        expect_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        let response = post_as(
            &app,
            "alice",
            path,
            json!({ "amount": "1.00" }),
            Some("my key"),
        )
        .await;
        let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
        assert_names_field(&problem, "Idempotency-Key");
    }
    let response = app
        .request(Method::GET, "/wallet/transactions?limit=0")
        .send()
        .await
        .unwrap();
    assert_names_field(
        &expect_problem(response, StatusCode::BAD_REQUEST).await,
        "limit",
    );
    let response = app
        .request(Method::GET, "/wallet/transactions?cursor=nope")
        .send()
        .await
        .unwrap();
    assert_names_field(
        &expect_problem(response, StatusCode::BAD_REQUEST).await,
        "cursor",
    );
    assert_eq!(entries(&app).await, before);
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn every_wallet_operation_needs_a_bettor_token() {
    let app = TestApp::spawn_unfunded().await;

    for (method, path) in OPERATIONS {
        let mut request = app.anonymous(method.clone(), path);
        if method == Method::POST {
            request = request.json(&json!({ "amount": "10.00" }));
        }
        let response = request.send().await.unwrap();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        expect_problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(challenge, "Bearer", "{method} {path}");

        let mut request = app.anonymous(method.clone(), path).bearer_auth("not.a.jwt");
        if method == Method::POST {
            request = request.json(&json!({ "amount": "10.00" }));
        }
        let response = request.send().await.unwrap();
        expect_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(entries(&app).await, 0, "nothing written without a token");
}

#[tokio::test]
async fn a_retried_deposit_or_withdrawal_returns_the_first_line_and_moves_money_once() {
    let app = TestApp::spawn_unfunded().await;

    let first = post_as(
        &app,
        "alice",
        "/wallet/deposits",
        json!({ "amount": "100.00" }),
        Some("dep-1"),
    )
    .await;
    let first = expect_json(first, StatusCode::ACCEPTED).await;
    let confirmed = app.notify("deposit.succeeded", &first).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    // The same amount written differently is the same request: the
    // deposit, as it is now.
    let retry = post_as(
        &app,
        "alice",
        "/wallet/deposits",
        json!({ "amount": 100 }),
        Some("dep-1"),
    )
    .await;
    let replayed = expect_json(retry, StatusCode::ACCEPTED).await;
    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(replayed["status"], "SUCCEEDED");

    let taken = post_as(
        &app,
        "alice",
        "/wallet/withdrawals",
        json!({ "amount": "60.00" }),
        Some("wd-1"),
    )
    .await;
    let taken = expect_json(taken, StatusCode::ACCEPTED).await;
    // Replayed even though the balance (40.00) no longer covers it.
    let retry = post_as(
        &app,
        "alice",
        "/wallet/withdrawals",
        json!({ "amount": "60.00" }),
        Some("wd-1"),
    )
    .await;
    assert_eq!(expect_json(retry, StatusCode::ACCEPTED).await, taken);

    assert_eq!(app.balance_of("alice").await, "40.00");
    assert_eq!(
        app.get_json("/wallet/transactions").await["items"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "one deposit, one withdrawal"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_key_used_for_another_request_is_422_and_moves_nothing() {
    let app = TestApp::spawn_unfunded().await;
    let event = app.open_event("1.85").await;
    let deposit = post_as(
        &app,
        "alice",
        "/wallet/deposits",
        json!({ "amount": "100.00" }),
        Some("k"),
    )
    .await;
    let deposit = expect_json(deposit, StatusCode::ACCEPTED).await;
    assert_eq!(
        app.notify("deposit.succeeded", &deposit).await.status(),
        StatusCode::OK
    );
    let placed = app
        .request(Method::POST, "/bets")
        .header("Idempotency-Key", "bet-key")
        .json(&json!({ "event_id": event.id, "amount": "1.00" }))
        .send()
        .await
        .unwrap();
    expect_json(placed, StatusCode::CREATED).await;
    let before = entries(&app).await;

    let reuses = [
        ("/wallet/deposits", "99.00", "k"),
        ("/wallet/withdrawals", "100.00", "k"),
        ("/wallet/deposits", "1.00", "bet-key"),
        ("/wallet/withdrawals", "1.00", "bet-key"),
    ];
    for (path, amount, key) in reuses {
        let response = post_as(&app, "alice", path, json!({ "amount": amount }), Some(key)).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names_field(&problem, "Idempotency-Key");
    }
    // A key of a deposit used for a bet is a reuse too.
    let bet = app
        .request(Method::POST, "/bets")
        .header("Idempotency-Key", "k")
        .json(&json!({ "event_id": event.id, "amount": "1.00" }))
        .send()
        .await
        .unwrap();
    expect_problem(bet, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert_eq!(entries(&app).await, before);
    assert_eq!(
        app.balance_of("alice").await,
        "99.00",
        "100.00 less the stake"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn another_bettors_use_of_the_same_key_is_another_key() {
    let app = TestApp::spawn_unfunded().await;

    let alices = post_as(
        &app,
        "alice",
        "/wallet/deposits",
        json!({ "amount": "10.00" }),
        Some("shared"),
    )
    .await;
    let alices = expect_json(alices, StatusCode::ACCEPTED).await;
    assert_eq!(
        app.notify("deposit.succeeded", &alices).await.status(),
        StatusCode::OK
    );
    let bobs = post_as(
        &app,
        "bob",
        "/wallet/deposits",
        json!({ "amount": "10.00" }),
        Some("shared"),
    )
    .await;
    let bobs = expect_json(bobs, StatusCode::ACCEPTED).await;
    assert_eq!(
        app.notify("deposit.succeeded", &bobs).await.status(),
        StatusCode::OK
    );
    let carols = post_as(
        &app,
        "carol",
        "/wallet/deposits",
        json!({ "amount": "25.00" }),
        Some("shared"),
    )
    .await;
    let carols = expect_json(carols, StatusCode::ACCEPTED).await;
    assert_eq!(
        app.notify("deposit.succeeded", &carols).await.status(),
        StatusCode::OK
    );

    assert_ne!(alices["id"], bobs["id"], "bob's deposit is his own");
    assert_eq!(carols["amount"], "25.00", "no reuse across bettors");
    for (bettor, balance) in [("alice", "10.00"), ("bob", "10.00"), ("carol", "25.00")] {
        assert_eq!(app.balance_of(bettor).await, balance, "{bettor}");
    }
    assert_books_balance(&app.db).await;
}

/// 20 requests with one key at once, to `path`; every answer, and the
/// lines they name.
async fn twenty_at_once(app: &TestApp, path: &'static str, amount: &str) -> Vec<Value> {
    let requests: Vec<_> = (0..20)
        .map(|_| {
            post_as(
                app,
                "alice",
                path,
                json!({ "amount": amount }),
                Some("once"),
            )
        })
        .collect();
    let mut lines = Vec::new();
    for response in futures_util::future::join_all(requests).await {
        lines.push(expect_json(response, StatusCode::ACCEPTED).await);
    }
    lines
}

#[tokio::test]
async fn twenty_concurrent_deposits_with_one_key_deposit_once() {
    let app = TestApp::spawn_unfunded().await;

    let lines = twenty_at_once(&app, "/wallet/deposits", "10.00").await;

    assert!(
        lines.iter().all(|line| line == &lines[0]),
        "one deposit for all: {lines:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM deposits").await, 1);
    assert_eq!(
        app.notify("deposit.succeeded", &lines[0]).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.balance_of("alice").await, "10.00");
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_transactions").await,
        1
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn twenty_concurrent_withdrawals_with_one_key_withdraw_once() {
    let app = TestApp::spawn_unfunded().await;
    app.deposit_as("alice", "100.00").await;

    let lines = twenty_at_once(&app, "/wallet/withdrawals", "7.00").await;

    assert!(
        lines.iter().all(|line| line == &lines[0]),
        "one line for all: {lines:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM withdrawals").await, 1);
    assert_eq!(app.balance_of("alice").await, "93.00");
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_transactions").await,
        2
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_confirmed_deposit_beyond_the_most_a_wallet_holds_is_409_and_writes_nothing() {
    let app = TestApp::spawn_unfunded().await;
    // A wallet a cent short of full, written as the ledger would.
    app.db
        .connection
        .execute_unprepared(
            "INSERT INTO wallets (bettor_id, currency, balance) VALUES ('alice', 'EUR', 99999999999999999999999999.00);
             INSERT INTO ledger_transactions (id, kind) VALUES ('00000000-0000-7000-8000-000000000001', 'DEPOSIT');
             INSERT INTO ledger_entries (id, transaction_id, account, amount, bettor_id, line, balance_after, created_at)
             VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001',
                     'WALLET', 99999999999999999999999999.00, 'alice', 'DEPOSIT', 99999999999999999999999999.00, now()),
                    ('00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000001',
                     'HOUSE_CASH', -99999999999999999999999999.00, NULL, NULL, NULL, now())",
        )
        .await
        .unwrap();
    let before = entries(&app).await;

    let deposit = app.request_payment_as("alice", "deposits", "1.00").await;
    let response = app.notify("deposit.succeeded", &deposit).await;

    let problem = expect_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:betting:problem:balance-limit");
    assert_eq!(entries(&app).await, before, "nothing written");
    assert_eq!(
        app.count("SELECT count(*) FROM payment_inbox").await,
        0,
        "nor the notice recorded"
    );
    app.deposit_as("alice", "0.99").await;
    assert_eq!(
        app.balance_of("alice").await,
        "99999999999999999999999999.99"
    );
    assert_books_balance(&app.db).await;
}
