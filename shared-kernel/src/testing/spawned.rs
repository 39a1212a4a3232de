//! A service started inside the test process on port 0, and an HTTP client
//! that speaks to it: what every service's test support builds on, and
//! what the system tests run both services as.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::{eventually, expect_json};
use crate::lifecycle::RunningService;

/// How long any one thing may take to happen before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running service, where it listens, and a client for it.
///
/// Dropped without [`stop`](Self::stop), the service still stops (in the
/// background); `stop` is there so a test can fail when stopping does.
#[derive(Debug)]
pub struct SpawnedApp {
    /// Which service this is, for failure messages.
    pub name: String,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// `http://127.0.0.1:<port>` of the management listener (`/metrics`,
    /// `/health/*`).
    pub management_url: String,
    /// The client every request goes through.
    pub client: reqwest::Client,
    service: Option<RunningService>,
}

impl SpawnedApp {
    /// Wraps what `app::start(config)` returned, failing the test (naming
    /// `name`) if the service did not start. It does not wait for
    /// readiness: see [`wait_until_ready`](Self::wait_until_ready).
    pub fn new<E: std::fmt::Debug>(name: &str, started: Result<RunningService, E>) -> Self {
        let service = started.unwrap_or_else(|e| panic!("starting {name}: {e:?}"));
        let client = reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .unwrap_or_else(|e| panic!("an HTTP client for {name}: {e}"));
        Self {
            name: name.to_owned(),
            base_url: format!("http://{}", service.address()),
            management_url: format!("http://{}", service.management_address()),
            client,
            service: Some(service),
        }
    }

    /// Waits until `GET /health/ready` answers 200: the database reachable
    /// and the relay or consumer running, so nothing a test publishes from
    /// now on is lost for want of a queue.
    pub async fn wait_until_ready(&self) {
        let what = format!("{} reporting ready", self.name);
        eventually(&what, PATIENCE, || async {
            let response = self
                .request(Method::GET, "/health/ready")
                .send()
                .await
                .ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// Stops the service gracefully; fails the test if it does not stop
    /// cleanly. Stopping twice is a no-op.
    pub async fn stop(&mut self) {
        if let Some(service) = self.service.take() {
            service
                .stop()
                .await
                .unwrap_or_else(|e| panic!("stopping {}: {e:#}", self.name));
        }
    }

    /// Where the service's server recorded as `name` listens (its gRPC
    /// server, say); fails the test if there is none or it stopped.
    pub fn address_of(&self, name: &str) -> std::net::SocketAddr {
        self.service
            .as_ref()
            .and_then(|service| service.address_of(name))
            .unwrap_or_else(|| panic!("{} has no running {name} server", self.name))
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request to `path`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request to `path` on the management listener.
    pub fn management(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.management_url))
    }

    /// `GET /metrics` from the management listener, expecting 200: the
    /// Prometheus text.
    pub async fn metrics(&self) -> String {
        let response = self
            .management(Method::GET, "/metrics")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /metrics on {}: {e}", self.name));
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "GET /metrics on {}",
            self.name
        );
        response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading /metrics of {}: {e}", self.name))
    }

    /// `GET path`, expecting 200; its JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.name));
        expect_json(response, StatusCode::OK).await
    }
}
