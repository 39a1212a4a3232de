//! The real line-provider on port 0, with a database and an exchange of its
//! own: [`SpawnedApp`] with line-provider's configuration and helpers.
//!
//! system-tests includes this file too (`#[path]`), for [`config`] and
//! [`create_event`]: one place says how a test runs line-provider.

#![allow(dead_code)] // each test file uses a different part of this

pub mod grpc;

use std::ops::Deref;
use std::time::Duration;

use line_provider::app;
use line_provider::config::{Config, GrpcSettings};
use line_provider::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shared_kernel::alerts::AlertSettings;
use shared_kernel::http::{HttpSettings, ManagementSettings};
use shared_kernel::lifecycle::RunningService;
use shared_kernel::telemetry::TelemetrySettings;
use shared_kernel::testing::{
    SpawnedApp, TestBroker, TestDatabase, amqp_url, database_and_broker, expect_json, test_keys,
};

pub const TOKEN: &str = "44e8ef176704c702a5d9f84debd2f028a31ccf1c57789056a6d86bb83953ceba";

/// A running line-provider and what it runs on; derefs to the
/// [`SpawnedApp`] for requests.
pub struct TestApp {
    app: SpawnedApp,
    pub db: TestDatabase,
    pub broker: TestBroker,
}

impl Deref for TestApp {
    type Target = SpawnedApp;

    fn deref(&self) -> &SpawnedApp {
        &self.app
    }
}

impl TestApp {
    /// A fresh database, a fresh exchange, and the app on both (not waiting
    /// for readiness: a test of readiness polls for it).
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// [`spawn`](Self::spawn), with the test's changes to the
    /// configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let (db, broker) =
            database_and_broker::<Migrator>("line-provider", schema_fingerprint()).await;
        let mut config = config(&db.url, &broker.exchange, TOKEN);
        adjust(&mut config);
        let app = SpawnedApp::new("line-provider", app::start(config).await);
        Self { app, db, broker }
    }

    /// Another process of the same service on the same database and
    /// exchange: a replica.
    pub async fn start_replica(&self) -> RunningService {
        self.start_replica_with(|_| {}).await
    }

    /// [`start_replica`](Self::start_replica), with the test's changes to
    /// the configuration.
    pub async fn start_replica_with(&self, adjust: impl FnOnce(&mut Config)) -> RunningService {
        let mut config = config(&self.db.url, &self.broker.exchange, TOKEN);
        adjust(&mut config);
        app::start(config)
            .await
            .unwrap_or_else(|e| panic!("starting a line-provider replica: {e:#}"))
    }

    /// Stops the app gracefully (the database and exchange stay until drop).
    pub async fn stop(&mut self) {
        self.app.stop().await;
    }

    /// `http://<address>` of the gRPC server, for a tonic client.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.app.address_of(app::GRPC))
    }

    /// A request with the operator's token.
    pub fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(TOKEN)
    }

    /// Creates an event closing in an hour and returns its JSON.
    pub async fn create_event(&self, coefficient: &str) -> Value {
        create_event(&self.app, TOKEN, coefficient).await
    }

    /// How many rows a query counts (`SELECT count(*) ...`).
    pub async fn count(&self, sql: &str) -> i64 {
        shared_kernel::testing::count(&self.db.connection, sql).await
    }

    /// The Prometheus text of `/metrics`: the one place tests read it.
    pub async fn metrics(&self) -> String {
        let response = shared_kernel::testing::send(self.management(Method::GET, "/metrics")).await;
        response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading /metrics: {e}"))
    }

    /// Rows in `events` and `outbox`: what a request wrote.
    pub async fn rows_written(&self) -> (i64, i64) {
        (
            self.count("SELECT count(*) FROM events").await,
            self.count("SELECT count(*) FROM outbox").await,
        )
    }
}

/// Creates an event closing in an hour on `app` with the operator `token`,
/// expecting 201; returns its JSON.
pub async fn create_event(app: &SpawnedApp, token: &str, coefficient: &str) -> Value {
    let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
    let response = app
        .request(Method::POST, "/events")
        .bearer_auth(token)
        .json(&json!({ "coefficient": coefficient, "deadline": deadline }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /events: {e}"));
    expect_json(response, StatusCode::CREATED).await
}

/// line-provider's configuration for a test: port 0, a small pool, a quick
/// outbox sweep, publishing to `exchange`.
pub fn config(database_url: &str, exchange: &str, operator_token: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        database_pool_size: 3,
        host: [127, 0, 0, 1].into(),
        port: 0,
        grpc_port: 0,
        admin_port: 0,
        management: ManagementSettings::default(),
        admin_token: operator_token.to_owned(),
        signing_key_file: test_keys().signing_key_file.clone(),
        operator_auth_max_failures: 10,
        operator_auth_window: Duration::from_secs(60),
        operator_auth_max_clients: 10_000,
        amqp_url: amqp_url(),
        exchange: exchange.to_owned(),
        outbox_batch_size: 100,
        outbox_sweep_interval: Duration::from_millis(200),
        grpc: GrpcSettings::default(),
        http: HttpSettings::default(),
        alerts: alert_settings(exchange),
        telemetry: TelemetrySettings::default(),
    }
}

/// Alerts go to an exchange of the test's own (`<exchange>.alerts`,
/// deleted with the test's broker names), so a test that listens for an
/// alert hears only its own service's.
pub fn alert_settings(exchange: &str) -> AlertSettings {
    AlertSettings {
        exchange: shared_kernel::testing::alerts_exchange(exchange),
        ..AlertSettings::default()
    }
}
