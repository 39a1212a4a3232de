//! Wiring: the layers put together into a running service.

use std::sync::Arc;

use anyhow::Context as _;
use shared_kernel::amqp::BrokerStatus;
use shared_kernel::database::connect_database;
use shared_kernel::http::Readiness;
use shared_kernel::lifecycle::{RunningService, ServiceLabel};
use shared_kernel::signing::MessageSigner;

use crate::application::EventService;
use crate::application::ports::SystemClock;
use crate::config::Config;
use crate::infrastructure::outbox::{OutboxRelay, RelayConfig};
use crate::infrastructure::persistence::SeaOrmEventRepository;
use crate::infrastructure::persistence::migrations::Migrator;
use crate::presentation::http::{AppState, OperatorAuth, OperatorToken, ThrottleSettings, router};

const SERVICE: &str = "line-provider";
const DATABASE_VARIABLE: &str = "LINE_PROVIDER_DATABASE_URL";

/// Creates the database if it is missing and applies every migration.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    shared_kernel::database::migrate::<Migrator>(SERVICE, &config.database_url, DATABASE_VARIABLE)
        .await
}

/// Connects to the database, binds the port, and starts serving and
/// relaying. The broker is connected to in the background, with retries:
/// until then `/health/ready` says so.
pub async fn start(config: Config) -> anyhow::Result<RunningService> {
    // Read first: a service that cannot sign must not take a single change.
    let signer = MessageSigner::from_pem_file(&config.signing_key_file)
        .context("LINE_EVENTS_SIGNING_KEY_FILE: reading the signing key")?;
    tracing::info!(key_id = %signer.key_id(), "signing line messages");
    let db = connect_database(
        &config.database_url,
        config.database_pool_size,
        DATABASE_VARIABLE,
    )
    .await?;
    let broker = BrokerStatus::default();
    let events = EventService::new(
        Arc::new(SeaOrmEventRepository::new(db.clone())),
        Arc::new(SystemClock),
    );
    let operator_auth = OperatorAuth::new(
        OperatorToken::new(&config.admin_token),
        ThrottleSettings {
            max_failures: config.operator_auth_max_failures,
            window: config.operator_auth_window,
            max_clients: config.operator_auth_max_clients as usize,
        },
    );
    let state = AppState {
        events,
        operator_auth,
    };
    let readiness = Readiness {
        database: db.clone(),
        broker: broker.clone(),
    };
    let mut service = RunningService::serve(
        ServiceLabel::new(SERVICE, &config.database_url),
        config.host,
        config.port,
        "LINE_PROVIDER_PORT",
        router(state, readiness),
        &config.http,
    )
    .await?;
    let relay = OutboxRelay::new(
        db.get_postgres_connection_pool().clone(),
        RelayConfig {
            amqp_url: config.amqp_url,
            exchange: config.exchange,
            batch_size: config.outbox_batch_size,
            sweep_interval: config.outbox_sweep_interval,
            signer: Arc::new(signer),
        },
        broker,
    );
    service.spawn_worker("outbox relay", |stop| relay.run(stop));
    tracing::info!(
        service = SERVICE,
        address = %service.address(),
        "listening; Swagger UI at /docs"
    );
    Ok(service)
}
