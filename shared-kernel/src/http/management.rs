//! The management listener: `/metrics` and `/health/*` on an address of
//! their own, bound to `MANAGEMENT_BIND` (127.0.0.1 by default), so that
//! Prometheus's scrapes and an orchestrator's probes need not be public.
//! The public listener keeps `/health/*` for load balancers, and no
//! longer serves `/metrics`.

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use axum::http::StatusCode;
use tower_http::trace::TraceLayer;

use super::{Problem, Readiness, health_router, metrics_router, observe_requests};

/// Connections the management listener serves at once: scrapers and
/// probes, a handful. Its own cap, so a flood on the public port cannot
/// keep Prometheus or a probe out, nor the other way round.
pub const MANAGEMENT_MAX_CONNECTIONS: u32 = 64;

/// The address both services bind their management listener to; each
/// service names its own port (`LINE_PROVIDER_ADMIN_PORT`,
/// `BET_MAKER_ADMIN_PORT`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ManagementSettings {
    /// The address the management listener (`/metrics`, `/health/*`) binds
    /// to: loopback by default, so only this machine can scrape; 0.0.0.0 in
    /// a container, whose port is reachable on the internal network only.
    #[arg(
        long = "management-bind",
        env = "MANAGEMENT_BIND",
        value_name = "MANAGEMENT_BIND",
        default_value = "127.0.0.1"
    )]
    pub bind: IpAddr,
}

impl Default for ManagementSettings {
    fn default() -> Self {
        Self {
            bind: Ipv4Addr::LOCALHOST.into(),
        }
    }
}

/// What the management listener serves: `/health/live`, `/health/ready`
/// and `/metrics`, with problem documents for anything else; its requests
/// are counted (not traced) like the public ones.
pub fn management_router(readiness: Readiness) -> Router {
    health_router(readiness)
        .merge(metrics_router())
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not accept that method",
            )
        })
        .layer(axum::middleware::from_fn(observe_requests))
        .layer(TraceLayer::new_for_http())
}
