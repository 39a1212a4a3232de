//! Test support: a database of its own and AMQP names of its own for every
//! test, so that tests run in parallel against the machine's real
//! PostgreSQL and RabbitMQ and leave nothing behind; the service under test
//! spawned in-process ([`SpawnedApp`]); the assertions and the bad-input
//! table runner ([`run_cases`]) every service's tests share, and the
//! checks every web page passes ([`web`], reading its HTML with [`html`]).

mod alerts;
mod assertions;
mod bad_input;
mod broker;
mod database;
pub mod html;
mod keys;
mod openapi;
pub mod otlp;
mod spawned;
mod sse;
pub mod web;

/// The signature headers a signer gives a body (as line-provider sends them).
pub use crate::amqp::signature_headers as signed_by;
pub use alerts::AlertListener;
pub use assertions::{
    assert_names_field, count, expect_json, expect_problem, field_names, header, hours_from_now,
    send,
};
pub use bad_input::{Case, run_cases};
pub use broker::{TestBroker, alerts_exchange, amqp_url};
pub use database::{TestDatabase, database_server_url};
pub use keys::{TestKeys, rotated_test_keys, test_keys};
pub use openapi::openapi_31_violations;
pub use spawned::{PATIENCE, SpawnedApp};
pub use sse::{EventStream, SseMessage};

use std::time::Duration;

use sea_orm_migration::MigratorTrait;

/// What a service under test runs on, made fresh for one test: a database
/// from the migrated template of `M` and an exchange, both named after
/// `service` (`line-provider`, `bet-maker`). Its logs go to the test output.
pub async fn database_and_broker<M: MigratorTrait>(
    service: &str,
    schema_fingerprint: u64,
) -> (TestDatabase, TestBroker) {
    init_logs();
    let prefix = service.replace('-', "_");
    let db = TestDatabase::create::<M>(&prefix, schema_fingerprint)
        .await
        .unwrap_or_else(|e| panic!("{service}'s test database: {e}"));
    let broker = TestBroker::new(service)
        .await
        .unwrap_or_else(|e| panic!("{service}'s test broker: {e}"));
    (db, broker)
}

/// Runs async clean-up from `Drop`, which may happen inside or outside a
/// runtime, during a panic or not: on a thread of its own with a runtime of
/// its own. Failures are printed, not raised: a failed clean-up must not
/// hide the test's own result.
fn run_blocking_cleanup<F>(cleanup: F)
where
    F: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let joined = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), cleanup).await })
            .map_err(|_| "timed out".to_owned())?
    })
    .join();
    match joined {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("test clean-up failed: {error}"),
        Err(_) => eprintln!("test clean-up panicked"),
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or fails the test
/// after `within`, saying what did not happen.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("within {within:?}: {what} did not happen");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends the services' logs to the test output (shown for failing tests),
/// filtered by `RUST_LOG` (default: warnings and errors). Once per process.
pub fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
