//! The accept loop: HTTP/1.1 connections served by hyper, at most
//! `HTTP_MAX_CONNECTIONS` at once and `HTTP_MAX_CONNECTIONS_PER_CLIENT`
//! per client, each closed when idle, slow to send its head or its body,
//! or not reading its response for too long (a live stream: letting too
//! much go unsent); every request told its [`ClientAddress`]; on stop, no
//! new connection is accepted, those open finish their requests within
//! the grace period, and what is left is then closed.
//!
//! `axum::serve` has none of these bounds, so the services serve through
//! this instead.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use super::admission::{
    Place, admit, closing, is_live_stream, request_timeout, too_many_connections,
};
use super::body::{TimedBody, TrackedBody};
use super::connection::{Activity, Timeouts};
use super::head::HYPER_MAX_HEADERS;
use super::slots::ClientSlots;
use super::socket::WatchedStream;
use super::{ClientAddress, HttpSettings, TrustedProxies};

/// How long the loop waits after a failed `accept` (out of file
/// descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// How many connections are open, and whether one waits for a free slot.
#[derive(Debug, Clone)]
pub struct Connections {
    slots: Arc<Semaphore>,
    max: usize,
    waiting: Arc<AtomicUsize>,
}

impl Connections {
    /// Room for `max` connections at once.
    pub fn new(max: u32) -> Self {
        let max = usize::try_from(max)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Connections being served now.
    pub fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// Accepted connections waiting for a slot (at most one: the others
    /// wait, unaccepted, in the listen backlog).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Serves `router` on `listener` until `stop`, then drains as described
/// in the module documentation.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: HttpSettings,
    connections: Connections,
    stop: CancellationToken,
) {
    let router = with_cors(router, &settings.cors_allowed_origins.0);
    let per_client = ClientSlots::new(settings.max_connections_per_client);
    let mut open = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(joined) = open.join_next() => {
                if let Err(error) = joined {
                    tracing::error!(%error, "a connection's task failed");
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed; retrying");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let Some(slot) = wait_for_slot(&connections, &stop).await else {
            break;
        };
        let connection = Connection {
            stream,
            peer,
            router: router.clone(),
            settings: settings.clone(),
            per_client: per_client.clone(),
            _slot: slot,
        };
        open.spawn(connection.run(stop.clone()).in_current_span());
    }
    drop(listener);
    let grace = settings.shutdown_grace;
    let drained =
        tokio::time::timeout(grace, async { while open.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            connections = open.len(),
            ?grace,
            "closing the connections still open after the grace period"
        );
        open.shutdown().await;
    }
}

/// A free slot, waiting for one if all are taken; `None` when stopped
/// meanwhile.
async fn wait_for_slot(
    connections: &Connections,
    stop: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(slot) = Arc::clone(&connections.slots).try_acquire_owned() {
        return Some(slot);
    }
    connections.waiting.fetch_add(1, Ordering::Relaxed);
    let slot = tokio::select! {
        slot = Arc::clone(&connections.slots).acquire_owned() => slot.ok(),
        () = stop.cancelled() => None,
    };
    connections.waiting.fetch_sub(1, Ordering::Relaxed);
    slot
}

/// The router behind a CORS layer allowing `origins`; no layer at all
/// when there are none, so that a preflight is refused as any unknown
/// method is.
fn with_cors(router: Router, origins: &[axum::http::HeaderValue]) -> Router {
    if origins.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::HeaderName::from_static("idempotency-key"),
                header::HeaderName::from_static("traceparent"),
            ])
            .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// One accepted connection and what it needs.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    settings: HttpSettings,
    per_client: ClientSlots,
    _slot: OwnedSemaphorePermit,
}

/// Counts a connection in `http_connections_open` while it lives, even
/// when its task is aborted at the end of the grace period.
struct OpenConnectionGauge;

impl OpenConnectionGauge {
    fn new() -> Self {
        metrics::gauge!("http_connections_open").increment(1);
        Self
    }
}

impl Drop for OpenConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("http_connections_open").decrement(1);
    }
}

impl Connection {
    /// Serves requests until the client leaves, the connection idles or
    /// stalls past its timeout, or (after `stop`) its last request is done.
    async fn run(self, stop: CancellationToken) {
        let Self {
            mut stream,
            peer,
            router,
            settings,
            per_client,
            _slot,
        } = self;
        let _counted = OpenConnectionGauge::new();
        let Some((client, prefix, place)) = admit(&mut stream, peer, &settings, &per_client).await
        else {
            return;
        };
        let refused = matches!(place, Place::Refused);
        let activity = Activity::new();
        let io = TokioIo::new(WatchedStream::new(
            stream,
            Arc::clone(&activity),
            prefix,
            usize::try_from(settings.stream_max_unsent_bytes).unwrap_or(usize::MAX),
        ));
        let requests = Arc::new(Requests {
            router,
            activity: Arc::clone(&activity),
            peer,
            client,
            refused,
            trusted: settings.trusted_proxies.clone(),
            body_timeout: settings.body_read_timeout,
            limit: settings.max_connections_per_client,
        });
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            Arc::clone(&requests).answer(request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .max_headers(HYPER_MAX_HEADERS)
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(connection);
        let timeouts = Timeouts {
            header_read: settings.header_read_timeout,
            idle: settings.idle_timeout,
            send: settings.send_timeout,
        };
        let expired = activity.expired(if refused {
            timeouts.refusing()
        } else {
            timeouts
        });
        tokio::pin!(expired);
        let mut draining = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                    break;
                }
                () = expired.as_mut() => {
                    metrics::counter!("http_connections_timed_out_total").increment(1);
                    tracing::debug!(%peer, "closing a connection idle or stalled too long");
                    break;
                }
                () = stop.cancelled(), if !draining => {
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
            }
        }
        drop(place);
    }
}

/// What every request of one connection is answered with.
struct Requests {
    router: Router,
    activity: Arc<Activity>,
    peer: SocketAddr,
    /// The connection's client (its peer, or its PROXY header's source).
    client: IpAddr,
    /// Over its client's cap: every request is answered 429.
    refused: bool,
    trusted: TrustedProxies,
    body_timeout: Duration,
    limit: u32,
}

impl Requests {
    /// Tells the request who its client is, holds its body to the body
    /// read timeout, and answers it (429 when the connection is refused,
    /// 408 when its body did not come in time).
    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<axum::response::Response, Infallible> {
        let guard = self.activity.request_started();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let address = ClientAddress(self.trusted.client_of(self.client, &parts.headers));
        parts.extensions.insert(address);
        // Only a request with a body has one to time (and a flag to tell).
        let (body, timed_out) = if http_body::Body::is_end_stream(&body) {
            (Body::empty(), None)
        } else {
            let due = tokio::time::Instant::now() + self.body_timeout;
            let timed_out = Arc::new(AtomicBool::new(false));
            let body = TimedBody::new(
                body,
                due,
                Arc::clone(&self.activity),
                Arc::clone(&timed_out),
            );
            (Body::new(body), Some(timed_out))
        };
        let response = if self.refused {
            too_many_connections(self.limit)
        } else {
            let request = Request::from_parts(parts, body);
            match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        };
        let response = if timed_out.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            closing(request_timeout())
        } else {
            response
        };
        if is_live_stream(&response) {
            self.activity.stream_started();
        }
        Ok(response.map(|body| {
            Body::new(TrackedBody {
                body,
                _guard: guard,
            })
        }))
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
