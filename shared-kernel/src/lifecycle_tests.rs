use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

use super::*;

const PATIENCE: Duration = Duration::from_secs(20);

/// `router` on 127.0.0.1, a free port.
fn on_loopback(router: Router) -> Listener {
    Listener {
        host: [127, 0, 0, 1].into(),
        port: 0,
        port_variable: "PORT",
        router,
    }
}

/// A management listener answering `GET /metrics` with `metrics`.
fn management() -> Listener {
    Listener {
        port_variable: "ADMIN_PORT",
        ..on_loopback(Router::new().route("/metrics", get(|| async { "metrics" })))
    }
}

/// The response to `GET path` on `address`, read to its end.
async fn get_text(address: SocketAddr, path: &str) -> String {
    let mut client = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    client
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, client.read_to_string(&mut response))
        .await
        .unwrap_or_else(|_| panic!("no response to GET {path}"))
        .unwrap_or_else(|e| panic!("{e}"));
    response
}

/// Polls until connecting fails: the service no longer accepts.
async fn refusing_connections(address: SocketAddr) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(address).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting {PATIENCE:?} after stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stop_refuses_new_connections_and_lets_a_request_in_flight_finish() {
    let (entered, mut handler_entered) = mpsc::channel(1);
    let release = Arc::new(Notify::new());
    let released = Arc::clone(&release);
    let router = Router::new().route(
        "/slow",
        get(move || async move {
            let _ = entered.send(()).await;
            released.notified().await;
            "done"
        }),
    );
    let http = HttpSettings {
        shutdown_grace: Duration::from_secs(10),
        ..HttpSettings::default()
    };
    let label = ServiceLabel::new("test", "postgres://127.0.0.1/test");
    let service = RunningService::serve(label, on_loopback(router), management(), &http)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let address = service.address();
    let mut client = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    handler_entered.recv().await;

    let stopping = tokio::spawn(service.stop());
    refusing_connections(address).await;
    assert!(!stopping.is_finished(), "stopped with a request in flight");
    release.notify_one();

    let mut response = String::new();
    tokio::time::timeout(PATIENCE, client.read_to_string(&mut response))
        .await
        .unwrap_or_else(|_| panic!("the connection stayed open after its last response"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("done"), "{response}");
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .unwrap_or_else(|_| panic!("stop did not return"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn handlers_see_the_client_address() {
    let router = Router::new().route(
        "/peer",
        get(
            |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                peer.to_string()
            },
        ),
    );
    let label = ServiceLabel::new("test", "postgres://127.0.0.1/test");
    let service = RunningService::serve(
        label,
        on_loopback(router),
        management(),
        &HttpSettings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let mut client = TcpStream::connect(service.address())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let local = client.local_addr().unwrap_or_else(|e| panic!("{e}"));
    client
        .write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut response = String::new();
    tokio::time::timeout(PATIENCE, client.read_to_string(&mut response))
        .await
        .unwrap_or_else(|_| panic!("no response"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.ends_with(&local.to_string()), "{response}");
    service.stop().await.unwrap_or_else(|e| panic!("{e:#}"));
}

#[tokio::test]
async fn the_management_listener_serves_its_own_router_and_stops_with_the_service() {
    let public = Router::new().route("/api", get(|| async { "api" }));
    let label = ServiceLabel::new("test", "postgres://127.0.0.1/test");
    let service = RunningService::serve(
        label,
        on_loopback(public),
        management(),
        &HttpSettings::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let (public, management) = (service.address(), service.management_address());
    assert_ne!(public, management);
    assert!(get_text(management, "/metrics").await.ends_with("metrics"));
    assert!(
        get_text(public, "/metrics")
            .await
            .starts_with("HTTP/1.1 404")
    );
    assert!(
        get_text(management, "/api")
            .await
            .starts_with("HTTP/1.1 404")
    );

    service.stop().await.unwrap_or_else(|e| panic!("{e:#}"));
    refusing_connections(management).await;
}

#[tokio::test]
async fn a_taken_management_port_stops_start_up_naming_its_variable() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    let label = ServiceLabel::new("test", "postgres://127.0.0.1/test");
    let management = Listener {
        port,
        ..management()
    };
    let started = RunningService::serve(
        label,
        on_loopback(Router::new()),
        management,
        &HttpSettings::default(),
    )
    .await;
    let error = format!("{:#}", started.err().unwrap_or_else(|| panic!("started")));
    assert!(error.contains("ADMIN_PORT"), "{error}");
}
