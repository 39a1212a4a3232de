//! Guessing the operator token: a flood of wrong tokens is throttled per
//! client address with 429 and `Retry-After` (gRPC: RESOURCE_EXHAUSTED),
//! while the right token gets in at once from that very address, over REST
//! and gRPC; wrong ones are answered 401 again once the window passes; the
//! refusals of both transports are counted and logged at WARN at most once
//! a second, never with the token; and a weak token stops start-up.

mod support;

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{eventually, expect_json, expect_problem, send};
use support::grpc::{create_with, line_client, with_token};
use support::{TOKEN, TestApp};
use tonic::Code;

fn new_event() -> Value {
    json!({ "coefficient": "1.85", "deadline": chrono::Utc::now() + chrono::Duration::hours(1) })
}

/// `POST /events` from `client` with `token`.
async fn create(app: &TestApp, client: &Client, token: &str) -> reqwest::Response {
    send(
        client
            .post(app.url("/events"))
            .bearer_auth(token)
            .json(&new_event()),
    )
    .await
}

/// A client whose connections come from another loopback address, so the
/// server sees another peer.
fn client_from(address: [u8; 4]) -> Client {
    Client::builder()
        .local_address(IpAddr::from(address))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("a client bound to {address:?}: {e}"))
}

/// Retry-After as seconds.
fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a 429 without Retry-After in seconds: {response:?}"))
}

#[tokio::test]
async fn a_flood_of_wrong_tokens_gets_429_with_retry_after_while_the_right_token_still_gets_in_at_once()
 {
    let app = TestApp::spawn_with(|config| {
        config.operator_auth_max_failures = 10;
        config.operator_auth_window = Duration::from_secs(60);
    })
    .await;

    let mut statuses = Vec::new();
    for guess in 0..50 {
        let response = create(&app, &app.client, &format!("guess-{guess}")).await;
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&response);
            assert!((1..=60).contains(&wait), "Retry-After: {wait}");
            let problem = expect_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
            assert_eq!(problem["status"], 429, "{problem}");
        }
    }

    let expected: Vec<u16> = [vec![401; 10], vec![429; 40]].concat();
    assert_eq!(statuses, expected, "ten failures, then refused");
    // Behind a proxy everyone shares this address: the operator must not
    // be locked out by a guesser.
    let response = create(&app, &app.client, TOKEN).await;
    expect_json(response, StatusCode::CREATED).await;
    let response = create(&app, &app.client, "guess-after").await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right token does not lift the throttle on wrong ones"
    );
    let response = create(&app, &client_from([127, 0, 0, 2]), TOKEN).await;
    expect_json(response, StatusCode::CREATED).await;
    let response = send(app.request(Method::GET, "/events")).await;
    expect_json(response, StatusCode::OK).await;
    assert_eq!(
        app.rows_written().await,
        (2, 2),
        "only the operator's events"
    );
}

#[tokio::test]
async fn wrong_tokens_are_answered_401_again_once_the_window_passes() {
    let app = TestApp::spawn_with(|config| {
        config.operator_auth_max_failures = 3;
        config.operator_auth_window = Duration::from_secs(1);
    })
    .await;
    for guess in 0..3 {
        let response = create(&app, &app.client, &format!("guess-{guess}")).await;
        expect_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = create(&app, &app.client, "guess-3").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&response), 1);

    eventually(
        "a wrong token answered 401 again after the window",
        Duration::from_secs(10),
        || async {
            let response = create(&app, &app.client, "guess-late").await;
            (response.status() == StatusCode::UNAUTHORIZED).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn many_successful_calls_are_never_throttled() {
    let app = TestApp::spawn_with(|config| config.operator_auth_max_failures = 1).await;

    for _ in 0..20 {
        let response = create(&app, &app.client, TOKEN).await;
        expect_json(response, StatusCode::CREATED).await;
    }
}

/// Log lines, written by the app into memory.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// The lines about refused operator calls.
    fn refusals(&self) -> Vec<String> {
        let buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer)
            .lines()
            .filter(|line| line.contains("operator call refused"))
            .map(str::to_owned)
            .collect()
    }
}

// One thread: the app's tasks run on the test's thread, under its
// subscriber.
#[tokio::test(flavor = "current_thread")]
async fn refusals_are_logged_at_warn_at_most_once_a_second_without_the_token() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn_with(|config| config.operator_auth_max_failures = 1_000).await;

    let started = Instant::now();
    for guess in 0..200 {
        let response = create(&app, &app.client, &format!("secret-guess-{guess}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let flood = started.elapsed();

    let lines = logs.refusals();
    assert!(!lines.is_empty(), "no refusal logged");
    assert!(
        lines.len() as u64 <= flood.as_secs() + 2,
        "{} lines for a flood of {flood:?}: {lines:#?}",
        lines.len()
    );
    let first = &lines[0];
    for expected in ["WARN", "client=127.0.0.1", "wrong-token", "POST", "/events"] {
        assert!(first.contains(expected), "{expected} missing from {first}");
    }
    // The next line, a second later, says how many it held back.
    let next = eventually(
        "a later refusal logged",
        Duration::from_secs(10),
        || async {
            let response = create(&app, &app.client, "secret-guess-late").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let lines = logs.refusals();
            (lines.len() > 1).then(|| lines[lines.len() - 1].clone())
        },
    )
    .await;
    assert!(
        !next.contains("suppressed=0"),
        "the held-back refusals are counted: {next}"
    );
    let all = logs.refusals().join("\n");
    assert!(!all.contains("secret-guess"), "a token was logged: {all}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("operator_auth_refusals_total"),
        "no refusal metric"
    );
}

/// The sum of `operator_auth_refusals_total` over the series whose labels
/// hold `label` (metrics are per process: other tests count too).
fn refusals(metrics: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("operator_auth_refusals_total{") && line.contains(label))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

// One thread, as above, to capture the app's log lines.
#[tokio::test(flavor = "current_thread")]
async fn grpc_guesses_meet_the_same_throttle_log_limit_and_metric_and_the_right_token_gets_in() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn_with(|config| config.operator_auth_max_failures = 10).await;
    let mut client = line_client(&app.grpc_url()).await;
    let before = refusals(&app.metrics().await, "transport=\"grpc\"");

    let started = Instant::now();
    let mut codes = Vec::new();
    for guess in 0..200 {
        let request = with_token(
            support::grpc::create("1.85"),
            &format!("secret-guess-{guess}"),
        );
        let code = match client.create_event(request).await {
            Ok(_) => panic!("guess {guess} was accepted"),
            Err(status) => status.code(),
        };
        codes.push(code);
    }
    let flood = started.elapsed();

    let expected: Vec<Code> = [
        vec![Code::Unauthenticated; 10],
        vec![Code::ResourceExhausted; 190],
    ]
    .concat();
    assert_eq!(codes, expected, "ten failures, then throttled");
    let event = create_with(&mut client, TOKEN, "1.85").await;
    assert!(!event.id.is_empty(), "the right token gets in at once");
    // The same throttle as REST: this address is past its failures there too.
    let response = create(&app, &app.client, "secret-guess-rest").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    let after = refusals(&app.metrics().await, "transport=\"grpc\"");
    assert!(
        after - before >= 200.0,
        "{before} then {after} gRPC refusals counted"
    );
    let lines: Vec<String> = logs
        .refusals()
        .into_iter()
        .filter(|line| line.contains("grpc"))
        .collect();
    assert!(!lines.is_empty(), "no gRPC refusal logged");
    assert!(
        lines.len() as u64 <= flood.as_secs() + 2,
        "{} lines for a flood of {flood:?}: {lines:#?}",
        lines.len()
    );
    let all = logs.refusals().join("\n");
    assert!(!all.contains("secret-guess"), "a token was logged: {all}");
}

#[tokio::test]
async fn a_token_with_fewer_than_128_bits_of_entropy_stops_start_up_naming_the_variable() {
    for weak in [
        "dev-operator-token",
        "test-operator-token",
        "0123456789abcdef",
    ] {
        let config = support::config("postgres://127.0.0.1:1/unused", "unused", weak);
        let error = match line_provider::app::start(config).await {
            Ok(_) => panic!("started with the token {weak:?}"),
            Err(error) => format!("{error:#}"),
        };
        for expected in ["LINE_PROVIDER_ADMIN_TOKEN", "128", "openssl rand -hex 32"] {
            assert!(error.contains(expected), "{expected} missing from: {error}");
        }
        assert!(!error.contains(weak), "the token was shown: {error}");
    }
}
