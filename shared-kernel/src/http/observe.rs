//! Request metrics, a span per request continuing the caller's trace, and
//! `GET /metrics`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::context::FutureExt as _;
use tracing::Instrument as _;

use crate::telemetry::{SPANS, context_for, context_from_traceparent, traceparent_of};

/// Bucket bounds of the latency histograms, in seconds: fixed buckets keep
/// their memory constant however many requests are recorded.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

/// How often recorded samples are folded into the histograms. Without it
/// they pile up until the next scrape: memory grows with traffic when
/// nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process-wide Prometheus recorder, installed on first use (tests may
/// start several apps in one process; they share it), with its upkeep.
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS_SECONDS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    let _ = std::thread::Builder::new().name("metrics-upkeep".to_owned()).spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_INTERVAL);
                            upkeep.run_upkeep();
                        }
                    });
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

/// `GET /metrics` in the Prometheus text format.
pub fn metrics_router() -> Router {
    // Install now, so that metrics recorded before the first scrape count.
    let _ = prometheus();
    Router::new().route("/metrics", get(render))
}

async fn render() -> impl IntoResponse {
    let text = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], text)
}

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// The method label: one of the standard methods, else `OTHER`, so that
/// made-up method names cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// Middleware: counts and times every request by route, and handles it in
/// a server span (see [`crate::telemetry`]) continuing the trace of an
/// incoming `traceparent` header, or starting one; the response's
/// `traceparent` header names that span, so a caller can find the trace.
pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    // The route template, never the path itself: no request adds a series.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let parent = context_from_traceparent(
        request
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok()),
    );
    // Its fields are only evaluated when traces are exported.
    let span = if is_probe(&route) {
        tracing::Span::none()
    } else {
        tracing::info_span!(
            target: SPANS,
            "HTTP request",
            otel.name = %span_name(method, &route),
            otel.kind = "server",
            http.request.method = method,
            http.route = %route,
            url.path = %request.uri().path(),
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    };
    let context = context_for(&span, parent);
    let header = traceparent_of(&context).and_then(|value| HeaderValue::from_str(&value).ok());

    let mut response = next
        .run(request)
        .instrument(span.clone())
        .with_context(context)
        .await;

    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed());
    if let Some(header) = header {
        response.headers_mut().insert("traceparent", header);
    }
    response
}

/// Whether `route` is asked every few seconds by machines (a load
/// balancer's or an orchestrator's health checks, Prometheus's scrapes):
/// such requests are counted like any other but not traced, or they would
/// bury the traces worth reading.
fn is_probe(route: &str) -> bool {
    route.starts_with("/health/") || route == "/metrics"
}

/// A server span's name: the method and the route template, as OpenTelemetry's
/// conventions for HTTP have it (the method alone when no route matched).
fn span_name(method: &str, route: &str) -> String {
    if route == UNMATCHED {
        method.to_owned()
    } else {
        format!("{method} {route}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_checks_and_scrapes_are_probes_and_the_api_is_not() {
        for probe in ["/health/live", "/health/ready", "/metrics"] {
            assert!(is_probe(probe), "{probe}");
        }
        for route in ["/events", "/events/{id}", "/bets/stream", UNMATCHED] {
            assert!(!is_probe(route), "{route}");
        }
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for made_up in ["BREW", "M1", "get"] {
            let method = Method::from_bytes(made_up.as_bytes()).unwrap_or_default();
            assert_eq!(method_label(&method), "OTHER", "{made_up}");
        }
    }
}
