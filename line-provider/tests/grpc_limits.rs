//! The gRPC listener's bounds against the running service: a flood of
//! silent TCP connections (more than the cap) is closed within the
//! handshake timeout while REST still answers and gRPC still serves; a
//! connection that completes the handshake but opens no call is closed
//! after the idle timeout, not the handshake one.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use line_provider::app;
use reqwest::Method;
use shared_kernel::proto::line::v1::ListEventsRequest;
use support::TestApp;
use support::grpc::line_client;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Silent connections opened: more than the cap, as an attacker would.
const FLOOD: usize = 2_000;
const CAP: u32 = 100;
const HANDSHAKE: Duration = Duration::from_secs(1);
/// What scheduling on a busy machine may add to a timeout.
const SLACK: Duration = Duration::from_secs(4);

/// Waits until the server closes `stream` (end of file or reset), reading
/// and discarding what it sends; `None` if it is still open at `until`.
async fn closed_by(stream: &mut TcpStream, until: Instant) -> Option<Instant> {
    let mut buffer = [0u8; 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(Instant::now()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_past_the_cap_are_closed_within_the_handshake_timeout() {
    let app = TestApp::spawn_with(|config| {
        config.grpc.max_connections = CAP;
        config.grpc.handshake_timeout = HANDSHAKE;
    })
    .await;
    let grpc: SocketAddr = app.address_of(app::GRPC);

    let opened: Vec<TcpStream> = futures_util::stream::iter(0..FLOOD)
        .map(|_| async move {
            TcpStream::connect(grpc)
                .await
                .unwrap_or_else(|e| panic!("connecting to {grpc}: {e}"))
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let flooded = Instant::now();

    // REST answers meanwhile (whatever readiness says: an answer).
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(2),
        app.request(Method::GET, "/health/ready").send(),
    )
    .await;
    assert!(
        matches!(response, Ok(Ok(_))),
        "/health/ready during the flood: {response:?} after {:?}",
        started.elapsed()
    );

    let until = flooded + HANDSHAKE + SLACK;
    let closes = futures_util::stream::iter(opened)
        .map(|mut stream| async move { closed_by(&mut stream, until).await })
        .buffer_unordered(FLOOD)
        .collect::<Vec<_>>()
        .await;
    let open = closes.iter().filter(|closed| closed.is_none()).count();
    assert_eq!(
        open,
        0,
        "{open} of {FLOOD} silent connections still open {:?} after the flood",
        HANDSHAKE + SLACK
    );

    // And the listener still serves a real client afterwards.
    let mut client = line_client(&app.grpc_url()).await;
    client
        .list_events(ListEventsRequest::default())
        .await
        .unwrap_or_else(|e| panic!("ListEvents after the flood: {e}"));
}

/// The client's HTTP/2 preface and an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[tokio::test]
async fn a_connection_without_calls_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_secs(3);
    let app = TestApp::spawn_with(|config| {
        config.grpc.handshake_timeout = HANDSHAKE;
        config.grpc.idle_timeout = idle;
    })
    .await;
    let grpc: SocketAddr = app.address_of(app::GRPC);
    let mut stream = TcpStream::connect(grpc)
        .await
        .unwrap_or_else(|e| panic!("connecting to {grpc}: {e}"));
    let connected = Instant::now();
    stream
        .write_all(PREFACE_AND_SETTINGS)
        .await
        .unwrap_or_else(|e| panic!("sending the preface: {e}"));

    let closed = closed_by(&mut stream, connected + idle + SLACK).await;

    let closed = closed.unwrap_or_else(|| panic!("still open {:?} after connecting", idle + SLACK));
    let after = closed.duration_since(connected);
    assert!(
        after >= idle - Duration::from_millis(100),
        "closed after {after:?}: the handshake was complete, so only the idle timeout applies"
    );
}

#[tokio::test]
async fn an_open_watch_stream_keeps_its_connection_past_the_idle_timeout() {
    let idle = Duration::from_secs(1);
    let app = TestApp::spawn_with(|config| config.grpc.idle_timeout = idle).await;
    let mut watcher = line_client(&app.grpc_url()).await;
    let mut stream = watcher
        .watch_events(shared_kernel::proto::line::v1::WatchEventsRequest::default())
        .await
        .unwrap_or_else(|e| panic!("WatchEvents: {e}"))
        .into_inner();

    tokio::time::sleep(idle * 3).await;
    app.create_event("1.85").await;

    let change = tokio::time::timeout(Duration::from_secs(20), stream.message()).await;
    assert!(
        matches!(change, Ok(Ok(Some(_)))),
        "the stream outlived the idle timeout: {change:?}"
    );
}
