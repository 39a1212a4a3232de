//! No one client can take bet-maker's edge for itself: its connections
//! and its live streams are capped (`HTTP_MAX_CONNECTIONS_PER_CLIENT`),
//! behind a trusted proxy per real client, and another client is answered
//! meanwhile. Loopback accepts every 127/8 address, so a test's clients
//! are told apart by the address their sockets are bound to.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use shared_kernel::http::TrustedProxies;
use shared_kernel::testing::{EventStream, PATIENCE, expect_problem};
use support::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How quickly another client must be answered.
const PROMPTLY: Duration = Duration::from_secs(1);

fn address_of(app: &TestApp) -> SocketAddr {
    app.base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A connection from `from` asking for the line's stream.
async fn stream_request_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind(SocketAddr::from((from, 0)))
        .unwrap_or_else(|e| panic!("binding {from:?}: {e}"));
    let mut stream = tokio::time::timeout(PATIENCE, socket.connect(server))
        .await
        .unwrap_or_else(|_| panic!("not even accepted into the backlog within {PATIENCE:?}"))
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    stream
        .write_all(b"GET /events/stream HTTP/1.1\r\nHost: bet-maker\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("asking for a stream: {e}"));
    stream
}

/// The head of the response on `stream`, lowercased ("" when closed
/// without one).
async fn response_head(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 2048];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no response within {PATIENCE:?}"));
        match read {
            Ok(0) | Err(_) => break,
            Ok(read) => received.extend_from_slice(buffer.get(..read).unwrap_or_default()),
        }
    }
    String::from_utf8_lossy(&received).to_ascii_lowercase()
}

/// A client whose connections come from `from`, with a short timeout.
fn client_from(from: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(from))
        .timeout(PROMPTLY)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn one_client_opening_1500_streams_leaves_another_answered_within_a_second() {
    // Room for both sides of 1,500 connections in this one process.
    rlimit::increase_nofile_limit(8_192).unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn_unfunded_with(|config| {
        // Below what the attacker tries, as the default is below what an
        // attacker with more machines tries.
        config.http.max_connections = 1_000;
    })
    .await;
    let server = address_of(&app);
    let mut attacker = Vec::new();
    for _ in 0..1_500 {
        attacker.push(stream_request_from([127, 0, 0, 3], server).await);
    }

    let other = client_from([127, 0, 0, 2]);
    for path in ["/health/ready", "/events"] {
        let started = Instant::now();
        let response = other
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} from another client: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        assert!(
            started.elapsed() < PROMPTLY,
            "GET {path} took {:?}",
            started.elapsed()
        );
    }

    let mut streaming = 0;
    let mut refused = 0;
    for stream in &mut attacker {
        let head = response_head(stream).await;
        if head.starts_with("http/1.1 200") {
            streaming += 1;
        } else {
            assert!(head.starts_with("http/1.1 429"), "{head}");
            assert!(head.contains("\r\nretry-after: "), "{head}");
            refused += 1;
        }
    }
    let cap = shared_kernel::http::HttpSettings::default().max_connections_per_client;
    assert_eq!(streaming, cap, "streams the one client got");
    assert_eq!(refused, 1_500 - cap);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_stream_cap() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.http.max_connections_per_client = 3;
        config.http.trusted_proxies = TrustedProxies(vec![
            "127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}")),
        ]);
    })
    .await;
    let stream_of = |client: &'static str| {
        reqwest::Client::new()
            .get(app.url("/events/stream"))
            .header("x-forwarded-for", client)
    };
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(EventStream::expect(stream_of("203.0.113.1")).await);
    }

    let refused = stream_of("203.0.113.1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(refused.headers().contains_key("retry-after"), "{refused:?}");
    let problem = expect_problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(problem["type"], "urn:betting:problem:too-many-streams");
    // Another client behind the same proxy is not held back.
    let _second = EventStream::expect(stream_of("203.0.113.2")).await;

    // A stream that ends frees its place.
    first.pop();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if EventStream::open(stream_of("203.0.113.1")).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_body_that_never_comes_is_answered_408_after_the_body_read_timeout() {
    let timeout = Duration::from_millis(300);
    let app = TestApp::spawn_unfunded_with(|config| {
        config.http.body_read_timeout = timeout;
        config.http.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stream = TcpStream::connect(address_of(&app))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let head = format!(
        "POST /wallet/deposits HTTP/1.1\r\nHost: bet-maker\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"amount\"",
        support::token_for("alice")
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "still open after {PATIENCE:?}: {answer}");
    assert!(started.elapsed() >= timeout, "{answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:betting:problem:request-timeout"),
        "{answer}"
    );
}
