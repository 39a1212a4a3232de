//! `GET /health/live` and `GET /health/ready`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::amqp::BrokerStatus;

/// How long a readiness probe waits for the database before calling it down.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/health/ready` checks: the database answers and the broker
/// connection is up.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The service's database.
    pub database: DatabaseConnection,
    /// Kept up to date by the AMQP connection supervisor.
    pub broker: BrokerStatus,
}

impl Readiness {
    /// Whether the service can do its job: what `/health/ready` answers 200
    /// to, for other probes (the gRPC health service) to report alike.
    pub async fn is_ready(&self) -> bool {
        self.broker.down_reason().is_none() && self.database_down_reason().await.is_none()
    }

    /// Why the database is down; `None` when it answers.
    pub async fn database_down_reason(&self) -> Option<String> {
        match tokio::time::timeout(DATABASE_PROBE_TIMEOUT, self.database.ping()).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some(format!("no answer within {DATABASE_PROBE_TIMEOUT:?}")),
        }
    }
}

/// `/health/live` (the process runs) and `/health/ready` (it can do its job).
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(readiness)
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "live" }))
}

async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    let database = readiness.database_down_reason().await;
    let broker = readiness.broker.down_reason();
    let describe = |down_reason: &Option<String>| match down_reason {
        None => "up".to_owned(),
        Some(reason) => format!("down: {reason}"),
    };
    let ready = database.is_none() && broker.is_none();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": { "database": describe(&database), "broker": describe(&broker) },
    });
    (status, Json(body))
}
