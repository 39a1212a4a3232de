//! The accept loop: HTTP/1.1 connections served by hyper, at most
//! `HTTP_MAX_CONNECTIONS` at once, each closed when idle, slow to send its
//! head, or not reading its response for too long; on stop, no new connection is accepted, those
//! open finish their requests within the grace period, and what is left
//! is then closed.
//!
//! `axum::serve` has none of these bounds, so the services serve through
//! this instead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

use super::HttpSettings;
use super::connection::{Activity, Timeouts, TrackedBody, WatchedStream};
use super::head::HYPER_MAX_HEADERS;

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
            stream,
            peer,
            router,
            settings,
            _slot,
        } = self;
        let _counted = OpenConnectionGauge::new();
        let activity = Activity::new();
        let io = TokioIo::new(WatchedStream::new(stream, Arc::clone(&activity)));
        let requests = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let guard = requests.request_started();
            let response = router.clone().oneshot(request);
            async move {
                let response = match response.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(TrackedBody {
                        body,
                        _guard: guard,
                    })
                }))
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .max_headers(HYPER_MAX_HEADERS)
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(connection);
        let expired = activity.expired(Timeouts {
            header_read: settings.header_read_timeout,
            idle: settings.idle_timeout,
            send: settings.send_timeout,
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
    }
}
