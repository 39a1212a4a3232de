//! The edge's per-client bounds against a real server on loopback: who
//! the client is (the peer, or what a trusted proxy says), the
//! per-client connection cap, and the body read timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::*;
use crate::http::client::parse_trusted_proxies;
use crate::lifecycle::{Listener, RunningService, ServiceLabel};

const PATIENCE: Duration = Duration::from_secs(20);

/// A server whose `GET /client` answers the request's [`ClientAddress`]
/// and whose `POST /echo` answers the body it read.
async fn serve(adjust: impl FnOnce(&mut HttpSettings)) -> RunningService {
    let router = Router::new()
        .route(
            "/client",
            get(|ClientAddress(client): ClientAddress| async move { client.to_string() }),
        )
        .route("/echo", post(|body: String| async move { body }));
    let mut http = HttpSettings::default();
    adjust(&mut http);
    let label = ServiceLabel::new("test", "postgres://127.0.0.1/test");
    let listener = |port_variable, router| Listener {
        host: [127, 0, 0, 1].into(),
        port: 0,
        port_variable,
        router,
    };
    let public = listener("PORT", router);
    let management = listener("ADMIN_PORT", Router::new());
    RunningService::serve(label, public, management, &http)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn trusting(cidrs: &str) -> impl FnOnce(&mut HttpSettings) {
    let proxies = parse_trusted_proxies(cidrs).unwrap_or_else(|e| panic!("{e}"));
    move |http| http.trusted_proxies = proxies
}

/// A connection to `server` from `from` (any 127/8 address is loopback).
async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind(SocketAddr::from((from, 0)))
        .unwrap_or_else(|e| panic!("binding {from:?}: {e}"));
    socket
        .connect(server)
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"))
}

/// Sends `bytes` and reads until the server closes: the whole answer.
async fn exchange(stream: &mut TcpStream, bytes: &[u8]) -> String {
    stream
        .write_all(bytes)
        .await
        .unwrap_or_else(|e| panic!("sending: {e}"));
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await;
    match read {
        Err(_) => panic!(
            "not closed within {PATIENCE:?}: {}",
            String::from_utf8_lossy(&answer)
        ),
        // A reset after the answer is as good as the end.
        Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
    }
}

const CLIENT: &[u8] = b"GET /client HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

fn forwarded_for(address: &str) -> Vec<u8> {
    format!(
        "GET /client HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {address}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored_and_a_trusted_ones_is_honoured() {
    let untrusting = serve(trusting("10.0.0.0/8")).await;
    let trusting_loopback = serve(trusting("127.0.0.1/32")).await;
    let forged = forwarded_for("1.1.1.1, 203.0.113.9");

    let mut stream = connect_from([127, 0, 0, 1], untrusting.address()).await;
    let answer = exchange(&mut stream, &forged).await;
    assert!(answer.ends_with("\r\n127.0.0.1"), "{answer}");

    let mut stream = connect_from([127, 0, 0, 1], trusting_loopback.address()).await;
    let answer = exchange(&mut stream, &forged).await;
    assert!(answer.ends_with("\r\n203.0.113.9"), "{answer}");

    // 127.0.0.2 is not the trusted proxy: its word is not taken either.
    let mut stream = connect_from([127, 0, 0, 2], trusting_loopback.address()).await;
    let answer = exchange(&mut stream, &forged).await;
    assert!(answer.ends_with("\r\n127.0.0.2"), "{answer}");
}

#[tokio::test]
async fn a_proxy_header_from_a_trusted_peer_names_the_client_and_from_another_is_refused() {
    let server = serve(trusting("127.0.0.1/32")).await;
    let v1 = [
        b"PROXY TCP4 198.51.100.4 127.0.0.1 40000 8080\r\n".as_slice(),
        CLIENT,
    ]
    .concat();
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(&mut stream, &v1).await;
    assert!(answer.ends_with("\r\n198.51.100.4"), "{answer}");

    let addresses: (SocketAddr, SocketAddr) = (
        "[2001:db8::42]:40000"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        "[2001:db8::1]:8080"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let v2 = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        addresses,
    )
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(&mut stream, &[v2.as_slice(), CLIENT].concat()).await;
    assert!(answer.ends_with("\r\n2001:db8::42"), "{answer}");

    // Behind a PROXY header the named client is no proxy: its
    // X-Forwarded-For is its own word, and is not taken.
    let spoofing = [
        b"PROXY TCP4 198.51.100.4 127.0.0.1 40000 8080\r\n".as_slice(),
        &forwarded_for("203.0.113.9"),
    ]
    .concat();
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(&mut stream, &spoofing).await;
    assert!(answer.ends_with("\r\n198.51.100.4"), "{answer}");

    // Without a header, the trusted peer is served as usual.
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(&mut stream, CLIENT).await;
    assert!(answer.ends_with("\r\n127.0.0.1"), "{answer}");

    // From a peer that is not trusted, a PROXY header is no request.
    let mut stream = connect_from([127, 0, 0, 2], server.address()).await;
    let answer = exchange(&mut stream, &v1).await;
    assert!(!answer.contains("198.51.100.4"), "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
}

/// Opens a connection from `from` and has one request answered on it,
/// keeping it open.
async fn served_connection(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let mut stream = connect_from(from, server).await;
    stream
        .write_all(b"GET /client HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buffer = [0_u8; 1024];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .unwrap_or_else(|_| panic!("no answer"))
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = String::from_utf8_lossy(buffer.get(..read).unwrap_or_default()).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stream
}

#[tokio::test]
async fn a_client_over_its_connection_cap_is_answered_429_and_closed_while_others_are_served() {
    let server = serve(|http| http.max_connections_per_client = 2).await;
    let first = served_connection([127, 0, 0, 1], server.address()).await;
    let _second = served_connection([127, 0, 0, 1], server.address()).await;

    let mut third = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(&mut third, CLIENT).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    let head = answer.to_ascii_lowercase();
    assert!(head.contains("retry-after: 1\r\n"), "{answer}");
    assert!(head.contains("connection: close\r\n"), "{answer}");
    assert!(
        answer.contains("urn:betting:problem:too-many-connections"),
        "{answer}"
    );

    // Another client is served meanwhile.
    let _other = served_connection([127, 0, 0, 2], server.address()).await;
    // A closed connection frees its place.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut again = connect_from([127, 0, 0, 1], server.address()).await;
        if exchange(&mut again, CLIENT)
            .await
            .starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_body_that_does_not_come_in_time_is_answered_408_and_the_connection_closed() {
    let timeout = Duration::from_millis(300);
    let server = serve(|http| {
        http.body_read_timeout = timeout;
        http.header_read_timeout = Duration::from_secs(60);
        http.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let started = Instant::now();
    let answer = exchange(
        &mut stream,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly this",
    )
    .await;

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:betting:problem:request-timeout"),
        "{answer}"
    );
    assert!(started.elapsed() >= timeout);

    // A body that comes in time is read as usual.
    let mut stream = connect_from([127, 0, 0, 1], server.address()).await;
    let answer = exchange(
        &mut stream,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert!(answer.ends_with("\r\nhello"), "{answer}");
}
