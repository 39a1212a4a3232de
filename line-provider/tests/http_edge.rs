//! The bounded HTTP edge, against the real service: timeouts, the
//! connection cap, a shutdown that no client can hold up, CORS, and 413
//! and 431 as problem documents.

mod support;

use std::time::{Duration, Instant};

use line_provider::app;
use line_provider::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use shared_kernel::http::{AllowedOrigins, HttpSettings, MAX_HEAD_BYTES, MAX_HEADERS};
use shared_kernel::lifecycle::RunningService;
use shared_kernel::testing::{
    PATIENCE, TestBroker, TestDatabase, database_and_broker, eventually, expect_problem,
};
use support::{TOKEN, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// line-provider with these edge settings, and what it runs on.
struct Edge {
    service: RunningService,
    _db: TestDatabase,
    _broker: TestBroker,
}

impl Edge {
    async fn start(http: HttpSettings) -> Self {
        let (db, broker) =
            database_and_broker::<Migrator>("line-provider", schema_fingerprint()).await;
        let mut config = config(&db.url, &broker.exchange, TOKEN);
        config.http = http;
        let service = app::start(config)
            .await
            .unwrap_or_else(|e| panic!("starting line-provider: {e:#}"));
        Self {
            service,
            _db: db,
            _broker: broker,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.service.address())
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.service.address())
            .await
            .unwrap_or_else(|e| panic!("connecting: {e}"))
    }

    async fn connections_open_become(&self, open: usize) {
        eventually(&format!("{open} connections open"), PATIENCE, || async {
            (self.service.connections().open() == open).then_some(())
        })
        .await;
    }
}

const LIVE: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n";
/// A request whose head never ends.
const HALF_SENT: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: test\r\n";

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream
        .write_all(bytes)
        .await
        .unwrap_or_else(|e| panic!("sending: {e}"));
}

/// Reads one response to `GET /health/live` (its body ends the response).
async fn read_live_response(stream: &mut TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !String::from_utf8_lossy(&received).contains(r#""live"}"#) {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no response within {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("reading the response: {e}"));
        assert!(read > 0, "closed before answering: {received:?}");
        received.extend_from_slice(buffer.get(..read).unwrap_or_default());
    }
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

/// Waits until the server closes the connection (end of file or reset).
async fn closed_by_the_server(stream: &mut TcpStream, what: &str) {
    let mut buffer = [0_u8; 1024];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .unwrap_or_else(|_| panic!("{what}: still open after {PATIENCE:?}"));
    if let Ok(read) = read {
        assert_eq!(read, 0, "{what}: got bytes instead of the end");
    }
}

fn settings(adjust: impl FnOnce(&mut HttpSettings)) -> HttpSettings {
    let mut http = HttpSettings::default();
    adjust(&mut http);
    http
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let edge = Edge::start(settings(|http| {
        http.idle_timeout = Duration::from_millis(300);
        http.header_read_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut stream = edge.connect().await;
    // The server's idle time starts after it got the request, so after it
    // was sent: a lower bound this side can take (the moment the response
    // was read is not: under load it is read well after it was written).
    let sent_at = Instant::now();
    send(&mut stream, LIVE).await;
    read_live_response(&mut stream).await;

    closed_by_the_server(&mut stream, "an idle keep-alive connection").await;

    assert!(sent_at.elapsed() >= Duration::from_millis(300));
    edge.connections_open_become(0).await;
}

#[tokio::test]
async fn a_client_that_reads_nothing_of_a_response_is_disconnected_after_the_send_timeout() {
    let edge = Edge::start(settings(|http| {
        http.send_timeout = Duration::from_millis(300);
    }))
    .await;
    // A receive buffer as small as the system allows, never read, and
    // Swagger UI's script (1.5 MB) asked for eight times in a row: more
    // than the server's send buffer can take (4 MiB at most here).
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .set_recv_buffer_size(1)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stream = socket
        .connect(edge.service.address())
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    let request = b"GET /docs/swagger-ui-bundle.js HTTP/1.1\r\nHost: test\r\n\r\n";
    send(&mut stream, &request.repeat(8)).await;
    edge.connections_open_become(1).await;

    edge.connections_open_become(0).await;
}

#[tokio::test]
async fn a_client_slow_to_send_its_head_is_disconnected_after_the_header_read_timeout() {
    let edge = Edge::start(settings(|http| {
        http.header_read_timeout = Duration::from_millis(300);
        http.idle_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut stream = edge.connect().await;
    send(&mut stream, HALF_SENT).await;

    closed_by_the_server(&mut stream, "a half-sent request").await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let edge = Edge::start(settings(|http| {
        http.header_read_timeout = Duration::from_millis(300);
        http.idle_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut stream = edge.connect().await;

    closed_by_the_server(&mut stream, "a silent connection").await;
}

#[tokio::test]
async fn a_half_sent_request_does_not_keep_the_service_from_stopping() {
    let grace = Duration::from_millis(500);
    let edge = Edge::start(settings(|http| {
        http.shutdown_grace = grace;
        http.header_read_timeout = Duration::from_secs(60);
        http.idle_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut stream = edge.connect().await;
    send(&mut stream, HALF_SENT).await;
    edge.connections_open_become(1).await;

    let started = Instant::now();
    let stopped = tokio::time::timeout(grace + PATIENCE, edge.service.stop()).await;

    let took = started.elapsed();
    stopped
        .unwrap_or_else(|_| panic!("still running {:?} after stop", grace + PATIENCE))
        .unwrap_or_else(|e| panic!("stopping: {e:#}"));
    assert!(
        took < grace + Duration::from_secs(2),
        "stopping took {took:?}, the grace is {grace:?}"
    );
    closed_by_the_server(&mut stream, "a half-sent request after the grace").await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let edge = Edge::start(settings(|http| http.max_connections = 2)).await;
    let mut first = edge.connect().await;
    let mut second = edge.connect().await;
    for stream in [&mut first, &mut second] {
        send(stream, LIVE).await;
        read_live_response(stream).await;
    }
    edge.connections_open_become(2).await;

    let mut third = edge.connect().await;
    send(&mut third, LIVE).await;
    eventually("the third connection waiting", PATIENCE, || async {
        (edge.service.connections().waiting() == 1).then_some(())
    })
    .await;
    let mut nothing = [0_u8; 16];
    assert!(
        matches!(third.try_read(&mut nothing), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection beyond the cap was answered"
    );
    // More clients wait in the listen backlog, not in the service's memory.
    let mut more = Vec::new();
    for _ in 0..20 {
        more.push(edge.connect().await);
    }
    assert_eq!(edge.service.connections().open(), 2);
    assert!(edge.service.connections().waiting() <= 1);

    drop(first);
    read_live_response(&mut third).await;
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_allowed_and_from_another_is_not() {
    let allowed = "https://operator.example.com";
    let edge = Edge::start(settings(|http| {
        http.cors_allowed_origins = AllowedOrigins(vec![HeaderValue::from_static(allowed)]);
    }))
    .await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(Method::OPTIONS, edge.url("/events"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };

    let from_allowed = preflight(allowed).await.unwrap_or_else(|e| panic!("{e}"));
    let from_other = preflight("https://evil.example.com")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert!(from_allowed.status().is_success(), "{from_allowed:?}");
    assert_eq!(
        from_allowed.headers().get("access-control-allow-origin"),
        Some(&HeaderValue::from_static(allowed))
    );
    let methods = from_allowed
        .headers()
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(
        from_other.headers().get("access-control-allow-origin"),
        None
    );
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let edge = Edge::start(HttpSettings::default()).await;
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, edge.url("/events"))
        .header("origin", "https://operator.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(response.headers().get("access-control-allow-origin"), None);
    expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn a_header_too_large_is_431_as_a_problem_document() {
    let edge = Edge::start(HttpSettings::default()).await;
    let client = reqwest::Client::new();

    let large = client
        .get(edge.url("/events"))
        .header("x-padding", "x".repeat(MAX_HEAD_BYTES + 1024))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let problem = expect_problem(large, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    assert_eq!(problem["type"], "urn:betting:problem:header-too-large");

    let mut many = client.get(edge.url("/events"));
    for n in 0..=MAX_HEADERS {
        many = many.header(format!("x-header-{n}"), "y");
    }
    let many = many.send().await.unwrap_or_else(|e| panic!("{e}"));
    expect_problem(many, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;

    // Far beyond hyper's own limits too, the answer is still ours.
    let huge = client
        .get(edge.url("/events"))
        .header("x-padding", "x".repeat(512 * 1024))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_problem(huge, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;

    // Within the limits, the service answers as usual.
    let fine = client
        .get(edge.url("/events"))
        .header("x-padding", "x".repeat(8 * 1024))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fine.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_body_too_large_is_413_as_a_problem_document() {
    let edge = Edge::start(HttpSettings::default()).await;
    let body = format!(
        r#"{{"coefficient": "1.50", "deadline": "2030-01-01T00:00:00Z", "note": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let response = reqwest::Client::new()
        .post(edge.url("/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_body_that_never_comes_is_answered_408_after_the_body_read_timeout() {
    let timeout = Duration::from_millis(300);
    let edge = Edge::start(settings(|http| {
        http.body_read_timeout = timeout;
        http.header_read_timeout = Duration::from_secs(60);
        http.idle_timeout = Duration::from_secs(60);
        http.send_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut stream = edge.connect().await;
    let started = Instant::now();
    let head = format!(
        "POST /events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    send(&mut stream, head.as_bytes()).await;

    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "still open after {PATIENCE:?}: {answer}");
    assert!(
        started.elapsed() >= timeout,
        "answered before the timeout: {answer}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:betting:problem:request-timeout"),
        "{answer}"
    );
    edge.connections_open_become(0).await;
}
