//! Wiring: the layers put together into a running service.

use std::sync::Arc;

use anyhow::Context as _;
use shared_kernel::amqp::BrokerStatus;
use shared_kernel::database::connect_database;
use shared_kernel::http::{Readiness, management_router};
use shared_kernel::lifecycle::{Listener, RunningService, ServiceLabel};
use shared_kernel::signing::MessageSigner;

use crate::application::ports::SystemClock;
use crate::application::{ChangeFeed, EventService, FeedSettings};
use crate::config::Config;
use crate::infrastructure::outbox::{BacklogWatch, OutboxRelay, PgChangeLog, RelayConfig};
use crate::infrastructure::persistence::SeaOrmEventRepository;
use crate::infrastructure::persistence::migrations::Migrator;
use crate::presentation::grpc::{self, LineGrpc};
use crate::presentation::http::{AppState, OperatorAuth, OperatorToken, ThrottleSettings, router};

const SERVICE: &str = "line-provider";
const DATABASE_VARIABLE: &str = "LINE_PROVIDER_DATABASE_URL";
/// The name [`RunningService::address_of`] knows the gRPC server by.
pub const GRPC: &str = "gRPC";
/// Changes a watcher reads from the change log at once.
const WATCH_PAGE_SIZE: u32 = 100;

/// Creates the database if it is missing and applies every migration.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    shared_kernel::database::migrate::<Migrator>(SERVICE, &config.database_url, DATABASE_VARIABLE)
        .await
}

/// Connects to the database, binds the port, and starts serving and
/// relaying. The broker is connected to in the background, with retries:
/// until then `/health/ready` says so.
pub async fn start(config: Config) -> anyhow::Result<RunningService> {
    // Checked first: a token that can be guessed must not guard a thing.
    let operator_token = OperatorToken::new(&config.admin_token)
        .map_err(|weak| anyhow::anyhow!("LINE_PROVIDER_ADMIN_TOKEN {weak}"))?;
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
    let change_log = PgChangeLog::new(db.get_postgres_connection_pool().clone());
    let changes = ChangeFeed::new(
        Arc::new(change_log.clone()),
        FeedSettings {
            page_size: WATCH_PAGE_SIZE,
            // A watcher sweeps as often as the relay, for the same reason.
            sweep_interval: config.outbox_sweep_interval,
            readers: config.grpc.watch_readers as usize,
        },
    );
    let feed_tail = changes.clone();
    let operator_auth = OperatorAuth::new(
        operator_token,
        ThrottleSettings {
            max_failures: config.operator_auth_max_failures,
            window: config.operator_auth_window,
            max_clients: config.operator_auth_max_clients as usize,
        },
    );
    let line_grpc = LineGrpc::new(events.clone(), changes, operator_auth.clone());
    let state = AppState {
        events,
        operator_auth,
    };
    let readiness = Readiness {
        database: db.clone(),
        broker: broker.clone(),
    };
    // Bound before anything is served, so a taken port stops start-up.
    let grpc_listener = tokio::net::TcpListener::bind((config.host, config.grpc_port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{} (LINE_PROVIDER_GRPC_PORT)",
                config.host, config.grpc_port
            )
        })?;
    let grpc_address = grpc_listener
        .local_addr()
        .context("reading the address the gRPC server listens on")?;
    let grpc_readiness = readiness.clone();
    let grpc_settings = config.grpc;
    let alert_readiness = readiness.clone();
    let public = Listener {
        host: config.host,
        port: config.port,
        port_variable: "LINE_PROVIDER_PORT",
        router: router(state, readiness.clone()),
    };
    let management = Listener {
        host: config.management.bind,
        port: config.admin_port,
        port_variable: "LINE_PROVIDER_ADMIN_PORT",
        router: management_router(readiness),
    };
    let mut service = RunningService::serve(
        ServiceLabel::new(SERVICE, &config.database_url),
        public,
        management,
        &config.http,
    )
    .await?;
    let alerts = shared_kernel::alerts::start(
        &mut service,
        SERVICE,
        &config.amqp_url,
        &config.alerts,
        alert_readiness,
    );
    let backlog = BacklogWatch::new(
        db.get_postgres_connection_pool().clone(),
        alerts,
        config.alerts.threshold(),
    );
    service.spawn_worker("outbox backlog watch", |stop| backlog.run(stop));
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
    service.spawn_worker("change log listener", |stop| change_log.listen(stop));
    service.spawn_worker("change feed tail", |stop| feed_tail.run_tail(stop));
    service.add_address(GRPC, grpc_address);
    service.spawn_worker("gRPC server", |stop| async move {
        if let Err(error) = grpc::serve(grpc_listener, grpc_settings, line_grpc, grpc_readiness, stop).await {
            tracing::error!(error = %shared_kernel::storage::chain(&error), "the gRPC server stopped");
        }
    });
    tracing::info!(
        service = SERVICE,
        address = %service.address(),
        grpc_address = %grpc_address,
        management_address = %service.management_address(),
        "listening; Swagger UI at /docs, /metrics at the management address"
    );
    Ok(service)
}
