//! The gRPC adapter: `line.v1.LineService` on the same use cases as the
//! REST API, with the standard health service and server reflection.

mod errors;
mod listener;
mod messages;
mod service;
mod settings;
mod watch;

use std::time::Duration;

use shared_kernel::http::Readiness;
use shared_kernel::proto::line::v1::line_service_server::LineServiceServer;
use shared_kernel::telemetry::{SPANS, context_for, context_from_traceparent};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use listener::GrpcConnectInfo;
pub use service::LineGrpc;
pub use settings::GrpcSettings;

/// How often the health service re-checks readiness.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Why the gRPC server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GrpcServeError {
    /// The reflection service could not read the descriptor sets.
    #[error("building the reflection service")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// The server failed while serving.
    #[error("serving gRPC")]
    Transport(#[source] tonic::transport::Error),
}

/// Serves `LineService`, `grpc.health.v1` and reflection on `listener`,
/// bounded as `settings` say, until `stop` is cancelled; then ends the
/// watch streams, lets calls in flight finish and returns.
/// Health says SERVING (for the whole server and for `line.v1.LineService`)
/// only while `readiness` holds, as `/health/ready` does.
pub async fn serve(
    listener: TcpListener,
    settings: GrpcSettings,
    line: LineGrpc,
    readiness: Readiness,
    stop: CancellationToken,
) -> Result<(), GrpcServeError> {
    // v1, and v1alpha for the grpcurl and clients that know only that one.
    let reflection_v1 = reflection_over_line()
        .build_v1()
        .map_err(GrpcServeError::Reflection)?;
    let reflection_alpha = reflection_over_line()
        .build_v1alpha()
        .map_err(GrpcServeError::Reflection)?;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    reporter
        .set_not_serving::<LineServiceServer<LineGrpc>>()
        .await;
    let server = Server::builder()
        .max_concurrent_streams(settings.max_concurrent_streams)
        .http2_keepalive_interval(Some(settings.keepalive_interval))
        .http2_keepalive_timeout(Some(settings.keepalive_timeout))
        .layer(listener::StreamCountLayer)
        .trace_fn(call_span)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_alpha)
        .add_service(LineServiceServer::new(line.stopping_with(stop.clone())))
        .serve_with_incoming_shutdown(
            listener::incoming(listener, settings),
            stop.clone().cancelled_owned(),
        );
    let (served, ()) = tokio::join!(server, report_readiness(reporter, readiness, stop));
    served.map_err(GrpcServeError::Transport)
}

/// A server span per call (see `shared_kernel::telemetry`), continuing
/// the caller's `traceparent` metadata: an operator's change made over
/// gRPC is traced into bet-maker as one made over REST. Disabled, and
/// free, when traces are not exported; none for `grpc.health.v1` checks,
/// which load balancers make every few seconds (as REST's health routes).
fn call_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    if request.uri().path().starts_with("/grpc.health.v1.") {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        target: SPANS,
        "gRPC call",
        otel.name = %request.uri().path().trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        url.path = %request.uri().path(),
    );
    if !span.is_disabled() {
        let caller = request
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok());
        // Entering the span makes its context current for the call.
        let _ = context_for(&span, context_from_traceparent(caller));
    }
    span
}

/// The address a gRPC call came from: the TCP peer. (The REST side's
/// twin, `presentation::http::auth::client_address`, is where a proxy's
/// forwarded address would come in.)
fn client_address<T>(request: &tonic::Request<T>) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<GrpcConnectInfo>()
        .and_then(|info| info.peer)
        .or_else(|| request.remote_addr());
    peer.map(|peer| peer.ip())
}

/// Reflection over `line.v1` and `grpc.health.v1`.
fn reflection_over_line() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shared_kernel::proto::line::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Keeps the health service's answer in step with readiness until `stop`.
async fn report_readiness(reporter: HealthReporter, readiness: Readiness, stop: CancellationToken) {
    let mut last = None;
    loop {
        let ready = readiness.is_ready().await;
        if last != Some(ready) {
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status("", status).await;
            reporter
                .set_service_status("line.v1.LineService", status)
                .await;
            last = Some(ready);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_of(path: &str) -> tracing::Span {
        let request = tonic::codegen::http::Request::builder()
            .uri(path)
            .body(())
            .unwrap_or_else(|e| panic!("a request to {path}: {e}"));
        call_span(&request)
    }

    #[test]
    fn calls_are_traced_and_health_checks_are_not() {
        // A subscriber that records every span, as when traces are exported.
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            assert!(!span_of("/line.v1.LineService/GetEvent").is_none());
            assert!(span_of("/grpc.health.v1.Health/Check").is_none());
            assert!(span_of("/grpc.health.v1.Health/Watch").is_none());
        });
    }
}
