//! Test support: a database of its own and AMQP names of its own for every
//! test, so that tests run in parallel against the machine's real
//! PostgreSQL and RabbitMQ and leave nothing behind.
//!
//! Each test database is cloned from a migrated template (fast: a file copy
//! instead of running every migration). The template's name carries a
//! fingerprint of the schema, so a changed migration makes a new template.

mod assertions;
mod openapi;

pub use assertions::{count, expect_json, expect_problem};

pub use openapi::openapi_31_violations;

use std::time::Duration;

use lapin::options::{
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

use crate::postgres::{connect, maintenance_url, quote_identifier};

/// The server tests run against: `TEST_DATABASE_URL`, or the local default.
pub fn database_server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The broker tests run against: `TEST_AMQP_URL`, or the local default.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A freshly migrated database that is dropped when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL, for the service under test.
    pub url: String,
    /// A small pool on it, for arranging and asserting.
    pub connection: DatabaseConnection,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `<prefix>_test_<uuid>` from the template for migrator `M`,
    /// making the template first if this schema has none yet.
    /// `schema_fingerprint` must change whenever a migration does.
    pub async fn create<M: MigratorTrait>(
        prefix: &str,
        schema_fingerprint: u64,
    ) -> Result<Self, DbErr> {
        let (admin_url, _) = maintenance_url(&database_server_url())
            .map_err(|error| DbErr::Custom(error.to_string()))?;
        let admin = connect(&admin_url, 1).await?;
        let template = format!("{prefix}_template_{schema_fingerprint:016x}");
        ensure_template::<M>(&admin, &admin_url, prefix, &template).await?;

        let name = format!("{prefix}_test_{}", Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_identifier(&name),
                quote_identifier(&template)
            ))
            .await?;
        admin.close().await?;
        let url = with_database(&admin_url, &name)?;
        let connection = connect(&url, 3).await?;
        Ok(Self {
            url,
            connection,
            name,
            admin_url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(&self.name)
        );
        let admin_url = self.admin_url.clone();
        run_blocking_cleanup(async move {
            let admin = connect(&admin_url, 1).await.map_err(|e| e.to_string())?;
            admin
                .execute_unprepared(&statement)
                .await
                .map_err(|e| e.to_string())?;
            admin.close().await.map_err(|e| e.to_string())
        });
    }
}

/// Makes the template if it is missing: migrated under a temporary name,
/// then renamed, so concurrent test processes never see a half-made one.
async fn ensure_template<M: MigratorTrait>(
    admin: &DatabaseConnection,
    admin_url: &str,
    prefix: &str,
    template: &str,
) -> Result<(), DbErr> {
    if database_exists(admin, template).await? {
        return Ok(());
    }
    let building = format!("{prefix}_building_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {}", quote_identifier(&building)))
        .await?;
    let building_url = with_database(admin_url, &building)?;
    let migrated = async {
        let connection = connect(&building_url, 1).await?;
        M::up(&connection, None).await?;
        connection.close().await
    }
    .await;
    let renamed = match migrated {
        Ok(()) => admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_identifier(&building),
                quote_identifier(template)
            ))
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if renamed.is_err() {
        // Another process won the race (or migrating failed): ours goes.
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&building)
            ))
            .await?;
        if !database_exists(admin, template).await? {
            return renamed;
        }
    }
    drop_stale_templates(admin, prefix, template).await
}

/// Templates of older schemas are of no use to anyone.
async fn drop_stale_templates(
    admin: &DatabaseConnection,
    prefix: &str,
    current: &str,
) -> Result<(), DbErr> {
    let stale = admin
        .query_all_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
            [
                format!("{prefix}_template_%").into(),
                current.to_owned().into(),
            ],
        ))
        .await?;
    for row in stale {
        let name: String = row.try_get("", "datname")?;
        let _ = admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&name)
            ))
            .await;
    }
    Ok(())
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> Result<bool, DbErr> {
    Ok(admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.to_owned().into()],
        ))
        .await?
        .is_some())
}

fn with_database(admin_url: &str, name: &str) -> Result<String, DbErr> {
    let mut url = url::Url::parse(admin_url).map_err(|e| DbErr::Custom(e.to_string()))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
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

/// An exchange name of the test's own, deleted (with the queues made
/// through [`TestBroker::bind_queue`]) when this value is dropped.
#[derive(Debug)]
pub struct TestBroker {
    /// The exchange the service under test should publish to.
    pub exchange: String,
    /// A connection for the test's own observing.
    pub connection: Connection,
    queues: Vec<String>,
}

impl TestBroker {
    /// Names an exchange `test.<label>.<uuid>`; the service declares it.
    pub async fn new(label: &str) -> Result<Self, lapin::Error> {
        let connection = crate::amqp::connect(&amqp_url(), &format!("test-{label}")).await?;
        Ok(Self {
            exchange: format!("test.{label}.{}", Uuid::new_v4().simple()),
            connection,
            queues: Vec::new(),
        })
    }

    /// A name for a queue of this test (deleted at the end if declared
    /// through [`bind_queue`](Self::bind_queue) or [`own_queue`](Self::own_queue)).
    pub fn queue_name(&self, label: &str) -> String {
        format!("{}.{label}", self.exchange)
    }

    /// A queue name that the service under test will declare; it is deleted
    /// when the test ends.
    pub fn own_queue(&mut self, name: &str) -> String {
        self.queues.push(name.to_owned());
        name.to_owned()
    }

    /// Publishes `body` to the exchange with `routing_key` (persistent), and
    /// waits for the broker to take it.
    pub async fn publish(&self, routing_key: &str, body: &[u8]) -> Result<(), lapin::Error> {
        let channel = self.connection.create_channel().await?;
        crate::amqp::declare_line_exchange(&channel, &self.exchange).await?;
        channel
            .confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await?;
        channel
            .basic_publish(
                self.exchange.as_str().into(),
                routing_key.into(),
                lapin::options::BasicPublishOptions::default(),
                body,
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        channel.close(200, "published".into()).await
    }

    /// Declares a durable queue bound to the exchange with `pattern`
    /// (declaring the exchange too, if the service has not yet).
    pub async fn bind_queue(
        &mut self,
        label: &str,
        pattern: &str,
    ) -> Result<(Channel, String), lapin::Error> {
        let channel = self.connection.create_channel().await?;
        crate::amqp::declare_line_exchange(&channel, &self.exchange).await?;
        let queue = self.queue_name(label);
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.as_str().into(),
                self.exchange.as_str().into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.queues.push(queue.clone());
        Ok((channel, queue))
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let exchange = self.exchange.clone();
        let queues = std::mem::take(&mut self.queues);
        run_blocking_cleanup(async move {
            let connection = crate::amqp::connect(&amqp_url(), "test-cleanup")
                .await
                .map_err(|e| e.to_string())?;
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| e.to_string())?;
            for queue in queues {
                channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            connection
                .close(200, "done".into())
                .await
                .map_err(|e| e.to_string())
        });
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
