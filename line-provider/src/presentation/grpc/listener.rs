//! The gRPC listener's own bounds, where tonic has no setting: a cap on
//! connections, a handshake timeout (the HTTP/2 preface and first
//! SETTINGS frame must arrive in time) and an idle timeout (no call or
//! stream open for too long). tonic's settings do the rest (streams per
//! connection, keepalive pings): see [`super::serve`].
//!
//! Each accepted socket is wrapped in a [`GuardedStream`] that fails its
//! read once the deadline of its phase passes, which makes hyper close the
//! connection; a layer ([`StreamCountLayer`]) counts the calls in flight on
//! each connection, through the connection info tonic hands every request.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::codegen::http;
use tonic::transport::server::Connected;

use super::settings::GrpcSettings;

/// The client's HTTP/2 connection preface (24 bytes) and the header of its
/// first SETTINGS frame (9 bytes): what the handshake timeout waits for.
const HANDSHAKE_BYTES: usize = 24 + 9;

/// How long to wait after a failed `accept` (out of file descriptors, say)
/// before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// What one connection's socket and its calls share.
#[derive(Debug)]
struct Activity {
    /// Calls and streams in flight.
    calls: AtomicUsize,
    /// Since when none has been: `None` while one is.
    idle_since: Mutex<Option<Instant>>,
    /// The socket's reader, woken when the last call ends so that it
    /// starts the idle clock.
    reader: AtomicWaker,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            idle_since: Mutex::new(Some(now)),
            reader: AtomicWaker::new(),
        }
    }

    fn call_started(&self) {
        if self.calls.fetch_add(1, Ordering::AcqRel) == 0 {
            *self.idle() = None;
        }
    }

    fn call_ended(&self) {
        if self.calls.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.idle() = Some(Instant::now());
            self.reader.wake();
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What tonic puts in every request's extensions for a connection of this
/// listener: the peer, and the connection's activity for the stream count.
#[derive(Debug, Clone)]
pub struct GrpcConnectInfo {
    /// The client's address.
    pub peer: Option<SocketAddr>,
    activity: Arc<Activity>,
}

/// An accepted socket that closes itself (by failing a read) when its
/// handshake or idle deadline passes.
pub struct GuardedStream {
    inner: TcpStream,
    info: GrpcConnectInfo,
    accepted: Instant,
    /// Handshake bytes still to come; 0 once the handshake is in.
    handshake_left: usize,
    settings: GrpcSettings,
    timer: Pin<Box<Sleep>>,
    timer_at: Instant,
    _slot: OwnedSemaphorePermit,
}

impl GuardedStream {
    /// When the connection must be closed if nothing changes: the end of
    /// the handshake's time, or of the idle time when no call is open.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        if self.handshake_left > 0 {
            return Some((self.accepted + self.settings.handshake_timeout, "handshake"));
        }
        let idle_since = *self.info.activity.idle();
        idle_since.map(|since| (since + self.settings.idle_timeout, "idle"))
    }

    /// `Ready` with the reason when the deadline has passed; otherwise
    /// the timer is armed to wake the reader at it.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.info.activity.reader.register(cx.waker());
        let Some((deadline, phase)) = self.deadline() else {
            return Poll::Pending;
        };
        if deadline != self.timer_at {
            self.timer.as_mut().reset(deadline);
            self.timer_at = deadline;
        }
        self.timer.as_mut().poll(cx).map(|()| phase)
    }
}

impl Connected for GuardedStream {
    type ConnectInfo = GrpcConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Poll::Ready(phase) = this.expired(cx) {
            metrics::counter!("grpc_connections_closed_total", "reason" => phase).increment(1);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the gRPC connection's {phase} timeout passed"),
            )));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            let got = buf.filled().len() - before;
            this.handshake_left = this.handshake_left.saturating_sub(got);
        }
        read
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The connections `listener` accepts, at most `settings.max_connections`
/// at once: one past the cap is closed at once (and counted), so that a
/// flood holds no descriptor and no slot. Nagle's algorithm is off: a
/// response larger than a segment would otherwise wait for the client's
/// delayed ACK, about 40 ms, on every call.
pub fn incoming(
    listener: TcpListener,
    settings: GrpcSettings,
) -> impl Stream<Item = Result<GuardedStream, io::Error>> {
    let slots = Arc::new(Semaphore::new(
        usize::try_from(settings.max_connections)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS),
    ));
    futures_util::stream::unfold((listener, slots), move |(listener, slots)| async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a gRPC connection failed; retrying");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                metrics::counter!("grpc_connections_refused_total").increment(1);
                drop(stream);
                continue;
            };
            // Only an optimisation: a socket without it still works.
            let _ = stream.set_nodelay(true);
            let now = Instant::now();
            let guarded = GuardedStream {
                inner: stream,
                info: GrpcConnectInfo {
                    peer: Some(peer),
                    activity: Arc::new(Activity::new(now)),
                },
                accepted: now,
                handshake_left: HANDSHAKE_BYTES,
                settings,
                timer: Box::pin(tokio::time::sleep_until(now + settings.handshake_timeout)),
                timer_at: now + settings.handshake_timeout,
                _slot: slot,
            };
            return Some((Ok(guarded), (listener, slots)));
        }
    })
}

/// Counts each call on its connection from the request until its response
/// body ends (a stream's whole life), for the idle timeout.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamCountLayer;

impl<S> tower::Layer<S> for StreamCountLayer {
    type Service = StreamCount<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamCount { inner }
    }
}

/// See [`StreamCountLayer`].
#[derive(Debug, Clone)]
pub struct StreamCount<S> {
    inner: S,
}

/// One call in flight on a connection, until dropped.
struct CallGuard(Option<Arc<Activity>>);

impl CallGuard {
    fn start(activity: Option<Arc<Activity>>) -> Self {
        if let Some(activity) = &activity {
            activity.call_started();
        }
        Self(activity)
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Some(activity) = &self.0 {
            activity.call_ended();
        }
    }
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for StreamCount<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<CountedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let activity = request
            .extensions()
            .get::<GrpcConnectInfo>()
            .map(|info| info.activity.clone());
        let guard = CallGuard::start(activity);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| CountedBody {
                inner: body,
                _guard: guard,
            }))
        })
    }
}

/// A response body that keeps its call counted until it ends or is
/// dropped.
pub struct CountedBody<B> {
    inner: B,
    _guard: CallGuard,
}

impl<B: Body + Unpin> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
