//! Load-client connections with nothing between the caller and the socket,
//! for comparing two protocols on one server.
//!
//! The load client shares the two cores with the services, so what it
//! spends per request is taken from the server it measures. tonic's
//! `Channel` puts a buffer task between every caller and its connection
//! (a queue and an extra task hand-off per call) and reqwest a pool; both
//! are right for an application, but make the client's share differ by
//! protocol. Here each client owns one connection: HTTP/2 for gRPC, with
//! tonic's generated client speaking directly to hyper's connection
//! handle, and HTTP/1.1 for REST, one request at a time, with hyper's.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use shared_kernel::proto::line::v1::line_service_client::LineServiceClient;
use tokio::net::TcpStream;

/// A gRPC client on a connection of its own.
pub type GrpcClient = LineServiceClient<Http2Connection>;

/// Opens an HTTP/2 connection to `url` (`http://host:port`) for gRPC.
pub async fn grpc_client(url: &str) -> anyhow::Result<GrpcClient> {
    let origin: http::Uri = url.parse().with_context(|| format!("gRPC URL {url}"))?;
    let stream = connect(&origin).await?;
    let (sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .context("HTTP/2 handshake")?;
    tokio::spawn(connection);
    Ok(LineServiceClient::with_origin(
        Http2Connection(sender),
        origin,
    ))
}

/// hyper's HTTP/2 connection handle as the service tonic's client calls.
#[derive(Debug, Clone)]
pub struct Http2Connection(http2::SendRequest<tonic::body::Body>);

impl tower::Service<http::Request<tonic::body::Body>> for Http2Connection {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// An HTTP/1.1 connection of its own, one request at a time.
#[derive(Debug)]
pub struct Http1Client {
    sender: http1::SendRequest<Empty<Bytes>>,
    authority: String,
}

impl Http1Client {
    /// Opens a connection to `url` (`http://host:port`).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let origin: http::Uri = url.parse().with_context(|| format!("URL {url}"))?;
        let stream = connect(&origin).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(connection);
        let authority = origin
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        Ok(Self { sender, authority })
    }

    /// `GET path`, reading the whole body: whether it answered 2xx.
    pub async fn get(&mut self, path: &str) -> bool {
        let Ok(request) = http::Request::get(path)
            .header(http::header::HOST, &self.authority)
            .body(Empty::<Bytes>::new())
        else {
            return false;
        };
        if self.sender.ready().await.is_err() {
            return false;
        }
        match self.sender.send_request(request).await {
            Ok(response) if response.status().is_success() => {
                response.into_body().collect().await.is_ok()
            }
            _ => false,
        }
    }
}

/// A TCP connection to the URI's host and port, Nagle off (as the
/// services' own sockets).
async fn connect(origin: &http::Uri) -> anyhow::Result<TcpStream> {
    let host = origin.host().context("the URL names no host")?;
    let port = origin.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    Ok(stream)
}
