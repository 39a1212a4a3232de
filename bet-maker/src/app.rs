//! Wiring: the layers put together into a running service.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shared_kernel::amqp::BrokerStatus;
use shared_kernel::database::connect_database;
use shared_kernel::http::{Readiness, StreamSlots, management_router};
use shared_kernel::lifecycle::{Listener, RunningService, ServiceLabel};
use shared_kernel::postgres::listen;
use shared_kernel::signing::MessageVerifier;

use crate::application::live::LiveFeed;
use crate::application::ports::PaymentProvider;
use crate::application::ports::SystemClock;
use crate::application::{
    AccountService, BetService, CashOutService, CashOutSettings, CashierService, DeadLetterService,
    LineService, PaymentService, ResyncReport, RiskService, RiskSettings, WalletService,
};
use crate::config::{Config, ProviderKind, TokenSigningSettings};
use crate::domain::BettorId;
use crate::infrastructure::line_provider_client::{GrpcLineProvider, PAGE_SIZE};
use crate::infrastructure::open_events_cache::OpenEventsCache;
use crate::infrastructure::payment_provider::{WebhookProvider, sandbox};
use crate::infrastructure::persistence::migrations::Migrator;
use crate::infrastructure::persistence::{
    GroupedBetRepository, KeySweeper, SeaOrmBetRepository, SeaOrmLineRepository,
    SqlAccountRepository, SqlCashOutRepository, SqlChangeLog, SqlDeadLetterLog,
    SqlPaymentRepository, SqlRiskRepository, SqlStaffRepository, SqlWalletRepository,
    writers_database_url,
};
use crate::presentation::http::{AppState, BettorTokens, router};
use crate::presentation::messaging::{
    ConsumerConfig, DeadLetterListing, DeadLetterWatch, LineEventConsumer, Topology,
    list_dead_letters,
};

const SERVICE: &str = "bet-maker";
const DATABASE_VARIABLE: &str = "BET_MAKER_DATABASE_URL";

/// The `NOTIFY` channel of the trigger on `events`: a change to the line
/// wakes the feed's reader at once (bets and wallets are polled).
const LINE_CHANGED: &str = "line_changed";

/// Creates the database if it is missing and applies every migration.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    shared_kernel::database::migrate::<Migrator>(SERVICE, &config.database_url, DATABASE_VARIABLE)
        .await
}

/// Connects to the database, binds the port, and starts serving and
/// consuming. The broker is connected to in the background, with retries:
/// until then `/health/ready` says so (placing bets works meanwhile).
pub async fn start(config: Config) -> anyhow::Result<RunningService> {
    // Read first: without a trusted key no line message could be applied.
    let verifier = MessageVerifier::from_pem_files(&config.verify_key_files).context(
        "LINE_EVENTS_VERIFY_KEY_FILES: reading the keys line messages are verified with",
    )?;
    tracing::info!(
        key_ids = %verifier.key_ids().map(ToString::to_string).collect::<Vec<_>>().join(","),
        "accepting line messages signed by these keys"
    );
    // Read first too: without a key no bettor could be served.
    let tokens = BettorTokens::from_settings(&config.jwt)?;
    // The development sign-in signs tokens itself: it needs the secret.
    if config.dev_sign_in {
        anyhow::ensure!(
            tokens.can_issue(),
            "BET_MAKER_DEV_SIGN_IN=true needs BET_MAKER_JWT_SECRET to sign tokens with; with BET_MAKER_JWT_PUBLIC_KEY_FILE, tokens come from the identity provider (set BET_MAKER_DEV_SIGN_IN=false)"
        );
        tracing::warn!(
            "the development sign-in is on (BET_MAKER_DEV_SIGN_IN=true): anyone can sign in as any bettor; never where real money is"
        );
    }
    // And the provider's secrets: production refuses to start without one.
    let webhooks = config.payments.verifier()?;
    tracing::info!(
        algorithm = ?tokens.algorithm(),
        issuer = config.jwt.claims.issuer.as_deref().unwrap_or("any"),
        audience = config.jwt.claims.audience.as_deref().unwrap_or("not checked"),
        "accepting bettor tokens"
    );
    let db = connect_database(
        &config.database_url,
        config.database_pool_size,
        DATABASE_VARIABLE,
    )
    .await?;
    let broker = BrokerStatus::default();
    let clock = Arc::new(SystemClock);
    // GET /events, and the event a bet is decided on, come from memory,
    // refreshed whenever the line changes.
    let open_events = Arc::new(OpenEventsCache::new(Arc::new(SeaOrmLineRepository::new(
        db.clone(),
    ))));
    let line = LineService::new(open_events.clone(), clock.clone());
    let pool = db.get_postgres_connection_pool().clone();
    let risk_settings = RiskSettings {
        max_payout: config.max_payout,
        max_liability_per_event: config.max_liability_per_event,
    };
    // Concurrent placements go a group to a commit, placed by writers
    // (started with the other workers below) on connections of their own.
    let groups = config.placement.groups();
    let writers_url = writers_database_url(&config.database_url)
        .context("BET_MAKER_DATABASE_URL: adding the placement writers' options")?;
    let writers_db = connect_database(
        &writers_url,
        u32::from(config.placement.writers),
        DATABASE_VARIABLE,
    )
    .await?;
    let (placements, placement_writers) =
        GroupedBetRepository::new(SeaOrmBetRepository::new(db.clone()), &writers_db, groups);
    let bets = BetService::new(
        Arc::new(placements),
        open_events.clone(),
        clock.clone(),
        config.max_stake,
    )
    .with_risk(risk_settings);
    let cash_out = CashOutService::new(
        Arc::new(SeaOrmBetRepository::new(db.clone())),
        open_events.clone(),
        Arc::new(SqlCashOutRepository::new(&db)),
        clock.clone(),
        CashOutSettings {
            margin: config.cash_out_margin,
            quote_secs: config.cash_out_quote_secs,
        },
    );
    let risk = RiskService::new(
        Arc::new(SqlRiskRepository::new(&db)),
        open_events.clone(),
        clock.clone(),
        risk_settings,
        config.max_stake,
    );
    let wallets = WalletService::new(
        Arc::new(SqlWalletRepository::new(&db)),
        config.currency.clone(),
    );
    let (provider, sandbox): (Arc<dyn PaymentProvider>, _) = match config.payments.provider {
        ProviderKind::Webhook => (Arc::new(WebhookProvider), None),
        ProviderKind::Sandbox => {
            // Signs with the secret the verifier accepts first.
            let secret = webhooks.secrets()[0].clone();
            let (provider, worker) = sandbox(secret, config.payments.sandbox_delay());
            (Arc::new(provider), Some(worker))
        }
    };
    tracing::info!(provider = ?config.payments.provider, tolerance_secs = config.payments.tolerance_secs, "payments completed by");
    let payments = PaymentService::new(
        Arc::new(SqlPaymentRepository::new(&db, config.currency.clone())),
        provider,
        clock.clone(),
        config.max_stake,
    );
    let cashier = CashierService::new(
        Arc::new(SqlStaffRepository::new(&db, config.currency.clone())),
        config.max_stake,
    );
    let accounts = AccountService::new(
        Arc::new(SqlAccountRepository::new(&db, config.currency.clone())),
        clock.clone(),
    );
    // What the consumer dead-letters and the watch reads of the queue,
    // for the back office.
    let dead_letters = DeadLetterService::new(Arc::new(SqlDeadLetterLog::new(&db)), clock.clone());
    let key_sweeper = KeySweeper::new(&db, config.idempotency_ttl_hours);
    // The live streams: one reader of the change feed, whichever replica
    // made the change, woken by every change to the line.
    let feed = LiveFeed::new(Arc::new(SqlChangeLog::new(&db)), config.streams.feed());
    let readiness = Readiness {
        database: db,
        broker: broker.clone(),
    };
    let alert_readiness = readiness.clone();
    let state = AppState {
        bets,
        cash_out,
        line: line.clone(),
        wallets,
        payments,
        cashier,
        accounts,
        risk,
        dead_letters: dead_letters.clone(),
        webhooks,
        tokens,
        feed: feed.clone(),
        stream_slots: StreamSlots::new(config.http.max_connections_per_client),
        dev_sign_in: config.dev_sign_in,
        open_events_pages: Arc::default(),
    };
    let public = Listener {
        host: config.host,
        port: config.port,
        port_variable: "BET_MAKER_PORT",
        router: router(state, readiness.clone()),
    };
    let management = Listener {
        host: config.management.bind,
        port: config.admin_port,
        port_variable: "BET_MAKER_ADMIN_PORT",
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
    let topology = Topology::new(&config.exchange, &config.queue)
        .with_dead_letter_max_length(config.dead_letter_max_length);
    let dead_letter_watch = DeadLetterWatch::new(
        &config.amqp_url,
        &topology,
        Duration::from_millis(config.dead_letter_check_interval_ms),
        alerts.clone(),
        dead_letters.clone(),
    );
    let consumer = LineEventConsumer::new(
        ConsumerConfig {
            amqp_url: config.amqp_url,
            topology,
            prefetch: config.prefetch,
            verifier,
            line_provider_user: config
                .line_provider_amqp_user
                .filter(|user| !user.is_empty()),
            alerts,
            dead_letters,
        },
        line,
        broker,
    );
    // Not stopped by the signal: the writers place what the HTTP server's
    // requests queued, and end once the server is done with them.
    service.spawn_worker("placement writers", |_stop| placement_writers.run());
    service.spawn_worker("consumer", |stop| consumer.run(stop));
    service.spawn_worker("dead-letter watch", |stop| dead_letter_watch.run(stop));
    service.spawn_worker("change feed listener", {
        let (feed, pool) = (feed.clone(), pool.clone());
        |stop| async move { listen(pool, LINE_CHANGED, stop, || feed.wake()).await }
    });
    service.spawn_worker("change feed", |stop| feed.run(stop));
    service.spawn_worker("open events cache", |stop| {
        open_events.listen_for_changes(pool, stop)
    });
    service.spawn_worker("idempotency key sweeper", |stop| key_sweeper.run(stop));
    if let Some(worker) = sandbox {
        // The sandbox posts to this very service, as the provider would.
        let mut address = service.address();
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let url = format!("http://{address}/payments/webhook");
        service.spawn_worker("payment sandbox", |stop| worker.run(url, stop));
    }
    tracing::info!(
        service = SERVICE,
        address = %service.address(),
        management_address = %service.management_address(),
        "listening; Swagger UI at /docs, /metrics at the management address"
    );
    Ok(service)
}

/// A token for `bettor`, valid for `lifetime` from now (at most
/// `BET_MAKER_JWT_MAX_LIFETIME_SECS`), signed with `BET_MAKER_JWT_SECRET`
/// and carrying the issuer and audience bet-maker checks.
/// With `scope` (`"trader cashier"`), a staff member's token.
pub fn token(
    signing: &TokenSigningSettings,
    bettor: &BettorId,
    scope: Option<&str>,
    lifetime: Duration,
) -> anyhow::Result<String> {
    let tokens = BettorTokens::from_settings(&signing.jwt_settings())?;
    Ok(tokens.issue_with_scope(bettor, scope, lifetime, std::time::SystemTime::now())?)
}

/// Lists up to `limit` messages of the dead-letter queue, oldest first,
/// with why each is there, leaving them all in the queue.
pub async fn dead_letters(config: &Config, limit: u32) -> anyhow::Result<DeadLetterListing> {
    let queue = Topology::new(&config.exchange, &config.queue).dead_letter_queue;
    let connection = shared_kernel::amqp::connect(&config.amqp_url, "bet-maker-dead-letters")
        .await
        .context("connecting to RabbitMQ (AMQP_URL)")?;
    let listing = list_dead_letters(&connection, &queue, limit)
        .await
        .with_context(|| format!("reading the dead-letter queue {queue}"));
    connection
        .close(200, "listed".into())
        .await
        .context("closing the RabbitMQ connection")?;
    listing
}

/// Rebuilds bet-maker's copy of the line from line-provider's gRPC
/// `ListEvents`, page by page.
pub async fn resync(config: &Config) -> anyhow::Result<ResyncReport> {
    let line_provider = GrpcLineProvider::new(&config.line_provider_grpc_url, PAGE_SIZE)
        .context("LINE_PROVIDER_GRPC_URL")?;
    let db = connect_database(&config.database_url, 2, DATABASE_VARIABLE).await?;
    let line = LineService::new(
        Arc::new(SeaOrmLineRepository::new(db.clone())),
        Arc::new(SystemClock),
    );
    let report = line.resync(&line_provider).await?;
    db.close()
        .await
        .context("closing the database connection")?;
    Ok(report)
}
