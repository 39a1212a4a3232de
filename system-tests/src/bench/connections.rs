//! Load-client connections with nothing between the caller and the socket,
//! for comparing two protocols on one server.
//!
//! The load client shares the two cores with the services, so what it
//! spends per request is taken from the server it measures. A client
//! library's conveniences are right for an application but make the
//! client's share differ by protocol: tonic's `Channel` puts a buffer task
//! between every caller and its connection, and its codec decodes every
//! reply (50 events a page) where the REST client reads bytes. So each
//! client here owns one connection and does the protocol's minimum, the
//! same for both: HTTP/1.1 with hyper, one request at a time, reading the
//! whole body; gRPC with `h2`, one call at a time, writing the request's
//! length-prefixed message and reading the whole reply and its trailers,
//! checking `grpc-status` and the reply's framing. Neither parses the
//! payload in the timed loop.

use anyhow::Context as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderValue;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A gRPC client on an HTTP/2 connection of its own.
#[derive(Debug, Clone)]
pub struct GrpcConnection {
    sender: h2::client::SendRequest<Bytes>,
}

impl GrpcConnection {
    /// Opens an HTTP/2 connection to `url` (`http://host:port`).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let origin: http::Uri = url.parse().with_context(|| format!("gRPC URL {url}"))?;
        let stream = connect(&origin).await?;
        // hyper's client windows (tonic's, then), where h2's own 64 KiB would
        // have the client send a WINDOW_UPDATE every few pages of events.
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(2 * 1024 * 1024)
            .initial_connection_window_size(5 * 1024 * 1024)
            .handshake(stream)
            .await
            .context("HTTP/2 handshake")?;
        tokio::spawn(connection);
        Ok(Self { sender })
    }

    /// One unary call of `method` (the server's URL and the method's path,
    /// `/line.v1.LineService/GetEvent`) with `message` (already encoded): the
    /// reply's message, when the server answered OK with one well-framed,
    /// uncompressed message.
    pub async fn unary(&self, method: &http::Uri, message: &[u8]) -> Option<Bytes> {
        let request = http::Request::post(method.clone())
            .header(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            )
            .header(http::header::TE, HeaderValue::from_static("trailers"))
            .body(())
            .ok()?;
        let mut sender = self.sender.clone().ready().await.ok()?;
        let (response, mut send) = sender.send_request(request, false).ok()?;
        send.send_data(frame(message)?, true).ok()?;
        let response = response.await.ok()?;
        if response.status() != http::StatusCode::OK
            || response.headers().contains_key("grpc-status")
        {
            // A trailers-only reply is an error (an OK reply carries a message).
            return None;
        }
        let mut body = response.into_body();
        // One chunk as it came (the usual case), more joined.
        let mut reply = Bytes::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.ok()?;
            let _ = body.flow_control().release_capacity(chunk.len());
            reply = if reply.is_empty() {
                chunk
            } else {
                [reply, chunk].concat().into()
            };
        }
        let trailers = body.trailers().await.ok()??;
        (trailers.get("grpc-status")? == "0").then_some(())?;
        unframe(reply)
    }
}

/// A message as gRPC frames it: uncompressed, its length, itself (none
/// beyond gRPC's 4 GiB).
fn frame(message: &[u8]) -> Option<Bytes> {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).ok()?);
    framed.put_slice(message);
    Some(framed.freeze())
}

/// The one message of a reply body, if it is framed as gRPC frames one.
fn unframe(mut body: Bytes) -> Option<Bytes> {
    if body.len() < 5 || body.get_u8() != 0 {
        return None;
    }
    let length = usize::try_from(body.get_u32()).ok()?;
    (body.len() == length).then_some(body)
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
