//! HTTP plumbing both services share: problem documents, extractors that
//! never answer in plain text, health and metrics routes, trace propagation,
//! and the shutdown signal.

mod extract;
mod health;
mod observe;
mod problem;
mod service;
mod validation;

pub use extract::{ApiJson, ApiPath, ApiQuery, parse_json};
pub use health::{Readiness, health_router};
pub use observe::{metrics_router, observe_requests};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use service::{MAX_BODY_BYTES, service_router};
pub use validation::field_errors;

/// Resolves when the process is asked to stop (SIGTERM or SIGINT/Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
