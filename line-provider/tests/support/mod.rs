//! The real line-provider on port 0, with a database and an exchange of its
//! own, and a client that speaks to it.

#![allow(dead_code)] // each test file uses a different part of this

use std::time::Duration;

use line_provider::app;
use line_provider::config::Config;
use line_provider::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shared_kernel::lifecycle::RunningService;
use shared_kernel::telemetry::LogFormat;
use shared_kernel::testing::{TestBroker, TestDatabase, amqp_url};
#[allow(unused_imports)] // not every test file asserts problems
pub use shared_kernel::testing::{expect_json, expect_problem};

pub const TOKEN: &str = "test-operator-token";

/// A running line-provider and what it runs on.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub broker: TestBroker,
    app: Option<RunningService>,
}

impl TestApp {
    /// A fresh database, a fresh exchange, and the app on both.
    pub async fn spawn() -> Self {
        shared_kernel::testing::init_logs();
        let db = TestDatabase::create::<Migrator>("line_provider", schema_fingerprint())
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        let broker = TestBroker::new("line-provider")
            .await
            .unwrap_or_else(|e| panic!("test broker: {e}"));
        let app = start(&db, &broker).await;
        Self {
            base_url: format!("http://{}", app.address()),
            client: reqwest::Client::new(),
            db,
            broker,
            app: Some(app),
        }
    }

    /// Another process of the same service on the same database and
    /// exchange: a replica.
    pub async fn start_replica(&self) -> RunningService {
        start(&self.db, &self.broker).await
    }

    /// Stops the app gracefully (the database and exchange stay until drop).
    pub async fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop()
                .await
                .unwrap_or_else(|e| panic!("stopping: {e:#}"));
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
    }

    /// A request with the operator's token.
    pub fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(TOKEN)
    }

    /// Creates an event closing in an hour and returns its JSON.
    pub async fn create_event(&self, coefficient: &str) -> Value {
        let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
        let response = self
            .operator(Method::POST, "/events")
            .json(&json!({ "coefficient": coefficient, "deadline": deadline }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /events: {e}"));
        expect_json(response, StatusCode::CREATED).await
    }

    /// How many rows a query counts (`SELECT count(*) ...`).
    pub async fn count(&self, sql: &str) -> i64 {
        shared_kernel::testing::count(&self.db.connection, sql).await
    }

    /// Rows in `events` and `outbox`: what a request wrote.
    pub async fn rows_written(&self) -> (i64, i64) {
        (
            self.count("SELECT count(*) FROM events").await,
            self.count("SELECT count(*) FROM outbox").await,
        )
    }
}

async fn start(db: &TestDatabase, broker: &TestBroker) -> RunningService {
    let config = Config {
        database_url: db.url.clone(),
        database_pool_size: 3,
        host: [127, 0, 0, 1].into(),
        port: 0,
        admin_token: TOKEN.to_owned(),
        amqp_url: amqp_url(),
        exchange: broker.exchange.clone(),
        outbox_batch_size: 100,
        outbox_sweep_interval: Duration::from_millis(200),
        log_format: LogFormat::Pretty,
    };
    app::start(config)
        .await
        .unwrap_or_else(|e| panic!("starting line-provider: {e:#}"))
}
