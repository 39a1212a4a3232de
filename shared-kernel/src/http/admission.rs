//! What a new connection is let in as (its client, and its place under
//! the client's cap), and the answers the server gives by itself: 429 to
//! a client over its cap, 408 to a body that did not come in time.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use tokio::net::TcpStream;

use super::client::canonical;
use super::proxy_protocol::read_preamble;
use super::slots::{ClientSlot, ClientSlots, too_many};
use super::{HttpSettings, Problem};

/// A connection's place under its client's cap.
#[derive(Debug)]
pub(super) enum Place {
    /// Counted against its client, until it closes.
    Held(#[allow(dead_code)] ClientSlot),
    /// A trusted proxy's own connection (no PROXY header): it speaks for
    /// many clients, and is not counted.
    Proxy,
    /// Over its client's cap: every request is answered 429.
    Refused,
}

/// Who a new connection's client is, what was read of it already, and
/// its place under the client's cap; `None` when the connection is to be
/// closed at once (a malformed or late PROXY header).
pub(super) async fn admit(
    stream: &mut TcpStream,
    peer: SocketAddr,
    settings: &HttpSettings,
    per_client: &ClientSlots,
) -> Option<(IpAddr, Vec<u8>, Place)> {
    let peer_ip = canonical(peer.ip());
    let trusted = settings.trusted_proxies.trust(peer_ip);
    let (source, prefix) = if trusted {
        match tokio::time::timeout(settings.header_read_timeout, read_preamble(stream)).await {
            Ok(Ok(preamble)) => (preamble.source.map(canonical), preamble.rest),
            Ok(Err(error)) => {
                tracing::debug!(%error, %peer, "closing a connection: its PROXY header");
                return None;
            }
            Err(_) => return None,
        }
    } else {
        (None, Vec::new())
    };
    let client = source.unwrap_or(peer_ip);
    // A trusted proxy's own connections speak for many clients.
    let place = if trusted && source.is_none() {
        Place::Proxy
    } else if let Some(slot) = per_client.try_acquire(client) {
        Place::Held(slot)
    } else {
        metrics::counter!("http_clients_refused_total", "reason" => "connections").increment(1);
        Place::Refused
    };
    Some((client, prefix, place))
}

/// 429 `too-many-connections`: the client has `limit` open already.
pub(super) fn too_many_connections(limit: u32) -> Response<Body> {
    closing(too_many(
        "too-many-connections",
        "Too many connections",
        format!("this client has {limit} connections open, the most it may; use those"),
    ))
}

/// 408 `request-timeout`: the body did not come in time.
pub(super) fn request_timeout() -> Problem {
    Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "Request timeout",
        "the request body did not arrive in time",
    )
}

/// `problem`, and the connection closed after it.
pub(super) fn closing(problem: Problem) -> Response<Body> {
    let mut response = problem.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Whether a response is a live stream (`text/event-stream`).
pub(super) fn is_live_stream(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/event-stream"))
}
