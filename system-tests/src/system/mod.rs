//! Both services in-process on port 0, each a [`SpawnedApp`] on a database
//! of its own, talking through the machine's real RabbitMQ on an exchange
//! and queues of the test's own.

mod bets;
mod line;

use shared_kernel::testing::{SpawnedApp, TestBroker, TestDatabase};

use crate::{bet_maker_support, line_provider_support};

/// The operator token line-provider is started with.
pub const OPERATOR_TOKEN: &str = "517d432122ca31034e6f49e5f8b93939447f57dac79faff3756b4bda450a71cf";

/// How bet-maker hears of line-provider's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messaging {
    /// Both services on one exchange: bet-maker hears every change.
    Shared,
    /// bet-maker consumes from an exchange of its own that nobody publishes
    /// to: it hears nothing, and only a resync can fill its copy of the line.
    Isolated,
}

/// Both services running, what they run on, and a client for each.
///
/// Fields drop in order: the services first (stopping in the background if
/// [`stop`](Self::stop) was not reached), then the databases and the broker
/// names.
#[derive(Debug)]
pub struct System {
    /// bet-maker.
    pub bet_maker: SpawnedApp,
    /// line-provider.
    pub line_provider: SpawnedApp,
    /// The configuration bet-maker was started with (for `resync`).
    pub bet_maker_config: bet_maker::config::Config,
    /// The queue bet-maker consumes.
    pub queue: String,
    /// Its dead-letter queue.
    pub dead_letter_queue: String,
    /// line-provider's database.
    pub line_provider_db: TestDatabase,
    /// bet-maker's database.
    pub bet_maker_db: TestDatabase,
    /// The exchange line-provider publishes to (and, with
    /// [`Messaging::Shared`], the one bet-maker consumes from).
    pub broker: TestBroker,
    /// bet-maker's own exchange with [`Messaging::Isolated`].
    isolated_broker: Option<TestBroker>,
}

/// What the bettor has deposited when a [`System`] starts: four deposits
/// of the house limit, enough for any test's stakes.
pub const FUNDS: &str = "4000000.00";

impl System {
    /// Both services on one exchange, ready; the bettor
    /// [`crate::bet_maker_support::BETTOR`] has deposited [`FUNDS`].
    pub async fn start() -> Self {
        Self::start_with(Messaging::Shared).await
    }

    /// Both services, bet-maker hearing line-provider's messages or not,
    /// started and ready (database and broker reachable).
    pub async fn start_with(messaging: Messaging) -> Self {
        let system = Self::start_unfunded(messaging).await;
        for _ in 0..4 {
            system.deposit(crate::MAX_STAKE).await;
        }
        system
    }

    /// The same, where no bettor has a wallet yet.
    pub async fn start_unfunded(messaging: Messaging) -> Self {
        Self::start_unfunded_with(messaging, |_| {}).await
    }

    /// The same, with bet-maker's configuration changed by `adjust` first
    /// (the README's walkthrough runs with the payment sandbox, as `make
    /// run` does).
    pub async fn start_unfunded_with(
        messaging: Messaging,
        adjust: impl FnOnce(&mut bet_maker::config::Config),
    ) -> Self {
        shared_kernel::testing::init_logs();
        let (line_provider_db, bet_maker_db) = databases().await;
        let mut broker = new_broker("system").await;
        let mut isolated_broker = match messaging {
            Messaging::Shared => None,
            Messaging::Isolated => Some(new_broker("system-isolated").await),
        };
        let bet_maker_broker = isolated_broker.as_mut().unwrap_or(&mut broker);
        let (queue, dead_letter_queue) = bet_maker_broker.own_consumer_queues("bet-maker");
        let bet_maker_exchange = bet_maker_broker.exchange.clone();
        // Declared as line-provider declares its own (bet-maker only
        // checks that the exchange it binds to exists).
        bet_maker_broker
            .declare_exchange()
            .await
            .unwrap_or_else(|e| panic!("declaring {bet_maker_exchange}: {e}"));

        let config =
            line_provider_support::config(&line_provider_db.url, &broker.exchange, OPERATOR_TOKEN);
        let line_provider =
            SpawnedApp::new("line-provider", line_provider::app::start(config).await);
        let line_provider_grpc = format!(
            "http://{}",
            line_provider.address_of(line_provider::app::GRPC)
        );
        let mut bet_maker_config = bet_maker_support::config(
            &bet_maker_db.url,
            &bet_maker_exchange,
            &queue,
            &line_provider_grpc,
        );
        // The flows stake up to the house's largest stake on one event,
        // several times over; the liability limit is bet-maker's own
        // tests' subject (`bet-maker/tests/risk.rs`), not theirs.
        bet_maker_config.max_liability_per_event = bet_maker::domain::MAX_LIMIT;
        adjust(&mut bet_maker_config);
        let bet_maker = SpawnedApp::new(
            "bet-maker",
            bet_maker::app::start(bet_maker_config.clone()).await,
        );
        line_provider.wait_until_ready().await;
        bet_maker.wait_until_ready().await;
        Self {
            bet_maker,
            line_provider,
            bet_maker_config,
            queue,
            dead_letter_queue,
            line_provider_db,
            bet_maker_db,
            broker,
            isolated_broker,
        }
    }

    /// Stops bet-maker, then line-provider, gracefully; fails the test if
    /// either does not stop cleanly.
    pub async fn stop(mut self) {
        self.bet_maker.stop().await;
        self.line_provider.stop().await;
    }

    /// Rebuilds bet-maker's copy of the line from line-provider, as
    /// `bet-maker resync` does.
    pub async fn resync(&self) -> bet_maker::application::ResyncReport {
        bet_maker::app::resync(&self.bet_maker_config)
            .await
            .unwrap_or_else(|e| panic!("resync: {e:#}"))
    }

    /// Messages waiting in bet-maker's dead-letter queue (a passive declare:
    /// it fails if the consumer never declared the queue).
    pub async fn dead_letters(&self) -> u32 {
        let broker = self.isolated_broker.as_ref().unwrap_or(&self.broker);
        broker
            .depth(&self.dead_letter_queue)
            .await
            .unwrap_or_else(|e| panic!("inspecting {}: {e}", self.dead_letter_queue))
    }
}

/// line-provider's and bet-maker's test databases, made side by side.
async fn databases() -> (TestDatabase, TestDatabase) {
    use bet_maker::infrastructure::persistence::migrations as bet_maker_schema;
    use line_provider::infrastructure::persistence::migrations as line_provider_schema;
    let (line_provider_db, bet_maker_db) = tokio::join!(
        TestDatabase::create::<line_provider_schema::Migrator>(
            "sys_line_provider",
            line_provider_schema::schema_fingerprint(),
        ),
        TestDatabase::create::<bet_maker_schema::Migrator>(
            "sys_bet_maker",
            bet_maker_schema::schema_fingerprint(),
        ),
    );
    (
        line_provider_db.unwrap_or_else(|e| panic!("line-provider's test database: {e}")),
        bet_maker_db.unwrap_or_else(|e| panic!("bet-maker's test database: {e}")),
    )
}

async fn new_broker(label: &str) -> TestBroker {
    TestBroker::new(label)
        .await
        .unwrap_or_else(|e| panic!("test broker {label}: {e}"))
}
