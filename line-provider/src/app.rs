//! Wiring: the layers put together into a running service.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use shared_kernel::amqp::BrokerStatus;
use shared_kernel::http::Readiness;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::application::EventService;
use crate::application::ports::SystemClock;
use crate::config::Config;
use crate::infrastructure::outbox::{OutboxRelay, RelayConfig};
use crate::infrastructure::persistence::SeaOrmEventRepository;
use crate::infrastructure::persistence::migrations::Migrator;
use crate::presentation::{AppState, OperatorToken, router};

/// A started line-provider: HTTP server and outbox relay.
#[derive(Debug)]
pub struct RunningApp {
    address: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    relay: JoinHandle<()>,
}

/// Creates the database if it is missing and applies every migration.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let created = shared_kernel::postgres::create_database_if_missing(&config.database_url)
        .await
        .with_context(|| unreachable_database(&config.database_url))?;
    if created {
        tracing::info!("created the database");
    }
    let db = connect(config).await?;
    Migrator::up(&db, None)
        .await
        .context("applying migrations failed")?;
    db.close()
        .await
        .context("closing the database connection")?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    shared_kernel::postgres::connect(&config.database_url, config.database_pool_size)
        .await
        .with_context(|| unreachable_database(&config.database_url))
}

fn unreachable_database(url: &str) -> String {
    let shown = url::Url::parse(url).map_or_else(
        |_| "the configured URL".to_owned(),
        |mut url| {
            let _ = url.set_password(None);
            url.to_string()
        },
    );
    format!(
        "cannot use PostgreSQL at {shown} (LINE_PROVIDER_DATABASE_URL): is it running, and migrated (`make migrate`)?"
    )
}

impl RunningApp {
    /// Connects to the database, binds the port, and starts serving and
    /// relaying. The broker is connected to in the background, with retries:
    /// until then `/health/ready` says so.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let db = connect(&config).await?;
        let broker = BrokerStatus::default();
        let events = EventService::new(
            Arc::new(SeaOrmEventRepository::new(db.clone())),
            Arc::new(SystemClock),
        );
        let state = AppState {
            events,
            operator_token: OperatorToken::new(&config.admin_token),
        };
        let readiness = Readiness {
            database: db.clone(),
            broker: broker.clone(),
        };
        let listener = tokio::net::TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{} (LINE_PROVIDER_PORT)",
                    config.host, config.port
                )
            })?;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();

        let relay = OutboxRelay::new(
            db.get_postgres_connection_pool().clone(),
            RelayConfig {
                amqp_url: config.amqp_url.clone(),
                exchange: config.exchange.clone(),
                batch_size: config.outbox_batch_size,
                sweep_interval: config.outbox_sweep_interval,
            },
            broker,
        );
        let relay = tokio::spawn(relay.run(stop.child_token()));
        let server = tokio::spawn(
            axum::serve(listener, router(state, readiness))
                .with_graceful_shutdown(stop.child_token().cancelled_owned())
                .into_future(),
        );
        tracing::info!(%address, "line-provider listening; Swagger UI at /docs");
        Ok(Self {
            address,
            stop,
            server,
            relay,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, finishes in-flight requests and the relay's batch,
    /// and returns when both are done.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.server
            .await
            .context("the HTTP server panicked")?
            .context("the HTTP server failed")?;
        self.relay.await.context("the outbox relay panicked")?;
        Ok(())
    }
}
