//! The whole platform in one test: line-provider and bet-maker running
//! in-process on port 0, each on a database of its own, talking through the
//! machine's real RabbitMQ on an exchange and queues of the test's own.
//!
//! A [`System`] is started per test and stopped gracefully at its end; what
//! it ran on (databases, exchange, queues) is removed when it is dropped, so
//! tests run in parallel and leave nothing behind. Nothing here sleeps:
//! every wait polls with a deadline ([`PATIENCE`]) and fails naming what did
//! not happen.

pub mod bench;
pub mod cluster;
pub mod process;
pub mod proxy;

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use shared_kernel::lifecycle::RunningService;
use shared_kernel::telemetry::LogFormat;
pub use shared_kernel::testing::expect_json;
use shared_kernel::testing::{TestBroker, TestDatabase, amqp_url, eventually};
use uuid::Uuid;

/// How long any one thing may take to happen before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The operator token line-provider is started with.
pub const OPERATOR_TOKEN: &str = "system-test-operator-token";

/// bet-maker's house limit on a stake, as in the default configuration.
pub const MAX_STAKE: &str = "1000000.00";

/// How bet-maker hears of line-provider's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messaging {
    /// Both services on one exchange: bet-maker hears every change.
    Shared,
    /// bet-maker consumes from an exchange of its own that nobody publishes
    /// to: it hears nothing, and only a resync can fill its copy of the line.
    Isolated,
}

/// Both services running, what they run on, and an HTTP client for each.
///
/// Fields drop in order: the services first (stopping in the background if
/// [`stop`](Self::stop) was not reached), then the databases and the broker
/// names.
#[derive(Debug)]
pub struct System {
    line_provider: Option<RunningService>,
    bet_maker: Option<RunningService>,
    /// The client every helper uses.
    pub client: reqwest::Client,
    /// `http://127.0.0.1:<port>` of line-provider.
    pub line_provider_url: String,
    /// `http://127.0.0.1:<port>` of bet-maker.
    pub bet_maker_url: String,
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

impl System {
    /// Both services on one exchange, ready.
    pub async fn start() -> Self {
        Self::start_with(Messaging::Shared).await
    }

    /// Both services, bet-maker hearing line-provider's messages or not,
    /// started and ready (database and broker reachable).
    pub async fn start_with(messaging: Messaging) -> Self {
        let (line_provider_db, bet_maker_db) = tokio::join!(
            TestDatabase::create::<line_provider::infrastructure::persistence::migrations::Migrator>(
                "sys_line_provider",
                line_provider::infrastructure::persistence::migrations::schema_fingerprint(),
            ),
            TestDatabase::create::<bet_maker::infrastructure::persistence::migrations::Migrator>(
                "sys_bet_maker",
                bet_maker::infrastructure::persistence::migrations::schema_fingerprint(),
            ),
        );
        let line_provider_db =
            line_provider_db.unwrap_or_else(|e| panic!("line-provider's test database: {e}"));
        let bet_maker_db =
            bet_maker_db.unwrap_or_else(|e| panic!("bet-maker's test database: {e}"));
        let mut broker = new_broker("system").await;
        let mut isolated_broker = match messaging {
            Messaging::Shared => None,
            Messaging::Isolated => Some(new_broker("system-isolated").await),
        };
        let bet_maker_broker = isolated_broker.as_mut().unwrap_or(&mut broker);
        let queue_name = bet_maker_broker.queue_name("bet-maker");
        let queue = bet_maker_broker.own_queue(&queue_name);
        let dead_letter_queue = bet_maker_broker.own_queue(&format!("{queue}.dlq"));
        let bet_maker_exchange = bet_maker_broker.exchange.clone();

        let line_provider = line_provider::app::start(line_provider::config::Config {
            database_url: line_provider_db.url.clone(),
            database_pool_size: 3,
            host: [127, 0, 0, 1].into(),
            port: 0,
            admin_token: OPERATOR_TOKEN.to_owned(),
            amqp_url: amqp_url(),
            exchange: broker.exchange.clone(),
            outbox_batch_size: 100,
            outbox_sweep_interval: Duration::from_millis(200),
            log_format: LogFormat::Pretty,
        })
        .await
        .unwrap_or_else(|e| panic!("starting line-provider: {e:#}"));
        let line_provider_url = format!("http://{}", line_provider.address());

        let bet_maker_config = bet_maker::config::Config {
            database_url: bet_maker_db.url.clone(),
            database_pool_size: 4,
            host: [127, 0, 0, 1].into(),
            port: 0,
            line_provider_url: line_provider_url.clone(),
            amqp_url: amqp_url(),
            exchange: bet_maker_exchange,
            queue: queue.clone(),
            prefetch: 64,
            max_stake: decimal(MAX_STAKE),
            log_format: LogFormat::Pretty,
        };
        let bet_maker = bet_maker::app::start(bet_maker_config.clone())
            .await
            .unwrap_or_else(|e| panic!("starting bet-maker: {e:#}"));
        let bet_maker_url = format!("http://{}", bet_maker.address());

        let system = Self {
            line_provider: Some(line_provider),
            bet_maker: Some(bet_maker),
            client: reqwest::Client::builder()
                .timeout(PATIENCE)
                .build()
                .unwrap_or_else(|e| panic!("HTTP client: {e}")),
            line_provider_url,
            bet_maker_url,
            bet_maker_config,
            queue,
            dead_letter_queue,
            line_provider_db,
            bet_maker_db,
            broker,
            isolated_broker,
        };
        system
            .wait_until_ready(&system.line_provider_url, "line-provider")
            .await;
        system
            .wait_until_ready(&system.bet_maker_url, "bet-maker")
            .await;
        system
    }

    /// Stops bet-maker, then line-provider, gracefully; fails the test if
    /// either does not stop cleanly.
    pub async fn stop(mut self) {
        if let Some(bet_maker) = self.bet_maker.take() {
            bet_maker
                .stop()
                .await
                .unwrap_or_else(|e| panic!("stopping bet-maker: {e:#}"));
        }
        if let Some(line_provider) = self.line_provider.take() {
            line_provider
                .stop()
                .await
                .unwrap_or_else(|e| panic!("stopping line-provider: {e:#}"));
        }
    }

    async fn wait_until_ready(&self, base_url: &str, service: &str) {
        let url = format!("{base_url}/health/ready");
        eventually(&format!("{service} reporting ready"), PATIENCE, || async {
            let response = self.client.get(&url).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    // line-provider

    /// A request to line-provider.
    pub fn line_provider(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.line_provider_url))
    }

    /// A request to line-provider with the operator's token.
    pub fn operator(&self, method: Method, path: &str) -> RequestBuilder {
        self.line_provider(method, path).bearer_auth(OPERATOR_TOKEN)
    }

    /// Creates an event closing in an hour; returns line-provider's JSON.
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

    /// Changes an open event's coefficient; returns the changed event.
    pub async fn change_coefficient(&self, event_id: Uuid, coefficient: &str) -> Value {
        self.patch_event(event_id, &json!({ "coefficient": coefficient }))
            .await
    }

    /// `PATCH /events/{id}` with `body`, expecting 200; returns the event.
    pub async fn patch_event(&self, event_id: Uuid, body: &Value) -> Value {
        let response = self
            .operator(Method::PATCH, &format!("/events/{event_id}"))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PATCH /events/{event_id}: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// Sets an event's result (`FINISHED_WIN` or `FINISHED_LOSE`), expecting
    /// 200; returns the finished event.
    pub async fn finish_event(&self, event_id: Uuid, status: &str) -> Value {
        let response = self
            .operator(Method::PUT, &format!("/events/{event_id}/status"))
            .json(&json!({ "status": status }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT /events/{event_id}/status: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// `GET` a line-provider path, expecting 200; its JSON.
    pub async fn line_provider_get(&self, path: &str) -> Value {
        let response = self
            .line_provider(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on line-provider: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    // bet-maker

    /// A request to bet-maker.
    pub fn bet_maker(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.bet_maker_url))
    }

    /// `POST /bets`, and the response, whatever it is.
    pub async fn try_place_bet(&self, event_id: Uuid, amount: &str) -> Response {
        self.bet_maker(Method::POST, "/bets")
            .json(&json!({ "event_id": event_id, "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"))
    }

    /// Places a bet, expecting 201; returns the bet.
    pub async fn place_bet(&self, event_id: Uuid, amount: &str) -> Value {
        let response = self.try_place_bet(event_id, amount).await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// `GET` a bet-maker path, expecting 200; its JSON.
    pub async fn bet_maker_get(&self, path: &str) -> Value {
        let response = self
            .bet_maker(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on bet-maker: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// Every event bet-maker lists as open (following `next_cursor`).
    pub async fn open_events(&self) -> Vec<Value> {
        self.all_pages("/events?limit=500").await
    }

    /// Every bet matching `query` (e.g. `status=PENDING`), newest first.
    pub async fn bets(&self, query: &str) -> Vec<Value> {
        self.all_pages(&format!("/bets?limit=500&{query}")).await
    }

    /// Follows bet-maker's cursor pagination from `first` to the last page.
    async fn all_pages(&self, first: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut page = self.bet_maker_get(first).await;
        loop {
            if let Some(page_items) = page["items"].as_array() {
                items.extend(page_items.iter().cloned());
            } else {
                panic!("GET {first}: a page without items: {page}");
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    page = self
                        .bet_maker_get(&format!("{first}&cursor={cursor}"))
                        .await
                }
                None => return items,
            }
        }
    }

    /// A bet by id.
    pub async fn bet(&self, bet_id: Uuid) -> Value {
        self.bet_maker_get(&format!("/bets/{bet_id}")).await
    }

    /// Rebuilds bet-maker's copy of the line from line-provider, as
    /// `bet-maker resync` does.
    pub async fn resync(&self) -> bet_maker::application::ResyncReport {
        bet_maker::app::resync(&self.bet_maker_config)
            .await
            .unwrap_or_else(|e| panic!("resync: {e:#}"))
    }

    // waiting

    /// Waits until bet-maker lists `event_id` as open with `coefficient`;
    /// returns the listed event.
    pub async fn wait_for_open_event(&self, event_id: Uuid, coefficient: &str) -> Value {
        eventually(
            &format!("bet-maker listing event {event_id} as open at {coefficient}"),
            PATIENCE,
            || async {
                self.open_events()
                    .await
                    .into_iter()
                    .find(|event| id_of(event) == event_id && event["coefficient"] == coefficient)
            },
        )
        .await
    }

    /// Waits until bet-maker no longer lists `event_id` as open.
    pub async fn wait_until_closed(&self, event_id: Uuid) {
        eventually(
            &format!("bet-maker no longer listing event {event_id}"),
            PATIENCE,
            || async {
                (!self
                    .open_events()
                    .await
                    .iter()
                    .any(|e| id_of(e) == event_id))
                .then_some(())
            },
        )
        .await;
    }

    /// Waits until no bet on `event_id` is `PENDING`; returns every bet on it.
    pub async fn wait_for_settlement(&self, event_id: Uuid) -> Vec<Value> {
        eventually(
            &format!("bet-maker settling every bet on event {event_id}"),
            PATIENCE,
            || async {
                let bets = self.bets(&format!("event_id={event_id}")).await;
                bets.iter()
                    .all(|bet| bet["status"] != "PENDING")
                    .then_some(bets)
            },
        )
        .await
    }

    /// Waits until line-provider has published every change it recorded.
    pub async fn wait_until_all_published(&self) {
        eventually(
            "line-provider publishing every outbox row",
            PATIENCE,
            || async {
                (count(
                    &self.line_provider_db,
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL",
                )
                .await
                    == 0)
                    .then_some(())
            },
        )
        .await;
    }

    // the broker

    /// Messages waiting in bet-maker's dead-letter queue (a passive declare:
    /// it fails if the consumer never declared the queue).
    pub async fn dead_letters(&self) -> u32 {
        let broker = self.isolated_broker.as_ref().unwrap_or(&self.broker);
        let channel = broker
            .connection
            .create_channel()
            .await
            .unwrap_or_else(|e| panic!("a channel to inspect {}: {e}", self.dead_letter_queue));
        let declared = channel
            .queue_declare(
                self.dead_letter_queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("inspecting {}: {e}", self.dead_letter_queue));
        let _ = channel.close(200, "inspected".into()).await;
        declared.message_count()
    }
}

async fn new_broker(label: &str) -> TestBroker {
    TestBroker::new(label)
        .await
        .unwrap_or_else(|e| panic!("test broker {label}: {e}"))
}

/// The first number of a query's first row (`SELECT count(*) ...`).
pub async fn count(db: &TestDatabase, sql: &str) -> i64 {
    shared_kernel::testing::count(&db.connection, sql).await
}

/// The `id` of an event or bet as JSON.
pub fn id_of(item: &Value) -> Uuid {
    uuid_field(item, "id")
}

/// A UUID field of a JSON object.
pub fn uuid_field(item: &Value, field: &str) -> Uuid {
    item[field]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no UUID `{field}` in {item}"))
}

/// An exact decimal from its text.
pub fn decimal(text: &str) -> Decimal {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

/// What a won bet pays, as bet-maker writes it: `amount × coefficient`
/// rounded half-up to cents, with two decimals.
pub fn expected_payout(amount: &str, coefficient: &str) -> String {
    money(decimal(amount) * decimal(coefficient))
}

/// A decimal rounded half-up to cents, written with exactly two decimals.
pub fn money(value: Decimal) -> String {
    let mut cents = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    cents.rescale(2);
    cents.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payouts_round_half_up_to_cents() {
        assert_eq!(expected_payout("10.50", "1.85"), "19.43");
        assert_eq!(expected_payout("0.01", "1.85"), "0.02");
        assert_eq!(expected_payout("0.01", "1.01"), "0.01");
        assert_eq!(expected_payout("1000000.00", "1.85"), "1850000.00");
        assert_eq!(money(decimal("0")), "0.00");
    }
}
