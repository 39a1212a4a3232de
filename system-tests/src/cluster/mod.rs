//! Both services as real processes, any number of replicas of each, every
//! replica behind proxies to PostgreSQL and RabbitMQ that the test can cut;
//! and the books a fault test checks once the faults are healed.

mod books;
mod node;

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use shared_kernel::testing::{
    AlertListener, TestBroker, TestDatabase, alerts_exchange, count, eventually,
};
use uuid::Uuid;

use crate::{PATIENCE, expect_json};
pub use node::Node;

/// The operator token the line-provider processes are started with.
pub const OPERATOR_TOKEN: &str = "c93835526115f4321f1c9d415a8162cd13fb00007f342e25eaecd7fe71a8bace";

/// How many bettors the cluster's bets come from, in turn.
pub const BETTORS: usize = 24;

/// What each of the [`BETTORS`] deposits when the cluster starts: more
/// than any test stakes.
pub const FUNDS: &str = "100000.00";

/// Records every settlement of a bet (PENDING to WON, LOST or VOID) and
/// every reopening (a settled accumulator back to PENDING: a lost leg
/// corrected while another leg is open), so a test can show that no bet
/// was settled twice without a reopening between.
const RECORD_SETTLEMENTS: &str = "
    CREATE TABLE test_settlements (
        bet_id UUID NOT NULL,
        reopened BOOLEAN NOT NULL,
        settled_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION test_record_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO test_settlements (bet_id, reopened) VALUES (NEW.id, NEW.status = 'PENDING');
        RETURN NULL;
    END $$;
    CREATE TRIGGER test_record_settlement AFTER UPDATE OF status ON bets
        FOR EACH ROW WHEN ((OLD.status = 'PENDING') <> (NEW.status = 'PENDING'))
        EXECUTE FUNCTION test_record_settlement();";

/// Environment variables for each service's replicas, besides the test's.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// For every line-provider replica.
    pub line_provider: Vec<(String, String)>,
    /// For every bet-maker replica.
    pub bet_maker: Vec<(String, String)>,
}

/// Both services as processes on their own databases and broker names.
#[derive(Debug)]
pub struct Cluster {
    /// line-provider replicas.
    pub line_providers: Vec<Node>,
    /// bet-maker replicas.
    pub bet_makers: Vec<Node>,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// bet-maker's queue and its dead-letter queue.
    pub queue: String,
    /// Where unreadable messages go.
    pub dead_letter_queue: String,
    /// line-provider's database.
    pub line_provider_db: TestDatabase,
    /// bet-maker's database.
    pub bet_maker_db: TestDatabase,
    /// The exchange and queues of this test.
    pub broker: TestBroker,
    /// Which of the [`BETTORS`] bettors places the next bet.
    next_bettor: AtomicUsize,
}

impl Cluster {
    /// `line_providers` replicas of line-provider and `bet_makers` of
    /// bet-maker, all ready.
    pub async fn start(line_providers: usize, bet_makers: usize) -> Self {
        Self::start_with(line_providers, bet_makers, |_, _| Settings::default()).await
    }

    /// The same, with more settings for each service, chosen by `settings`
    /// from the exchange and queue names of the cluster (an `AMQP_URL`
    /// there keeps its credentials, through the replica's proxy).
    pub async fn start_with(
        line_providers: usize,
        bet_makers: usize,
        settings: impl FnOnce(&str, &str) -> Settings,
    ) -> Self {
        shared_kernel::testing::init_logs();
        let line_provider_db = TestDatabase::create::<
            line_provider::infrastructure::persistence::migrations::Migrator,
        >(
            "fault_line_provider",
            line_provider::infrastructure::persistence::migrations::schema_fingerprint(),
        )
        .await
        .unwrap_or_else(|e| panic!("line-provider database: {e}"));
        let bet_maker_db =
            TestDatabase::create::<bet_maker::infrastructure::persistence::migrations::Migrator>(
                "fault_bet_maker",
                bet_maker::infrastructure::persistence::migrations::schema_fingerprint(),
            )
            .await
            .unwrap_or_else(|e| panic!("bet-maker database: {e}"));
        bet_maker_db
            .connection
            .execute_unprepared(RECORD_SETTLEMENTS)
            .await
            .unwrap_or_else(|e| panic!("settlement log: {e}"));
        let mut broker = TestBroker::new("faults")
            .await
            .unwrap_or_else(|e| panic!("broker: {e}"));
        let (queue, dead_letter_queue) = broker.own_consumer_queues("bet-maker");
        let settings = settings(&broker.exchange, &queue);

        let mut line_provider_nodes = Vec::new();
        for replica in 0..line_providers {
            let env: Vec<(String, String)> = vec![
                (
                    "LINE_PROVIDER_ADMIN_TOKEN".to_owned(),
                    OPERATOR_TOKEN.to_owned(),
                ),
                ("LINE_EVENTS_EXCHANGE".to_owned(), broker.exchange.clone()),
                ("LINE_PROVIDER_DB_POOL_SIZE".to_owned(), "4".to_owned()),
                // Replicas side by side: each its own free gRPC port.
                ("LINE_PROVIDER_GRPC_PORT".to_owned(), "0".to_owned()),
                ("OUTBOX_SWEEP_INTERVAL_MS".to_owned(), "200".to_owned()),
                (
                    "OPS_ALERTS_EXCHANGE".to_owned(),
                    alerts_exchange(&broker.exchange),
                ),
            ]
            .into_iter()
            .chain(settings.line_provider.iter().cloned())
            .collect();
            let name = format!("line-provider-{replica}");
            line_provider_nodes.push(
                Node::new(
                    &name,
                    "line-provider",
                    &line_provider_db.url,
                    env,
                    "LINE_PROVIDER_PORT",
                )
                .await,
            );
        }
        let mut bet_maker_nodes = Vec::new();
        for replica in 0..bet_makers {
            let env: Vec<(String, String)> = vec![
                ("LINE_EVENTS_EXCHANGE".to_owned(), broker.exchange.clone()),
                ("BET_MAKER_QUEUE".to_owned(), queue.clone()),
                ("BET_MAKER_DB_POOL_SIZE".to_owned(), "4".to_owned()),
                (
                    "OPS_ALERTS_EXCHANGE".to_owned(),
                    alerts_exchange(&broker.exchange),
                ),
            ]
            .into_iter()
            .chain(settings.bet_maker.iter().cloned())
            .collect();
            let name = format!("bet-maker-{replica}");
            bet_maker_nodes.push(
                Node::new(&name, "bet-maker", &bet_maker_db.url, env, "BET_MAKER_PORT").await,
            );
        }
        let cluster = Self {
            line_providers: line_provider_nodes,
            bet_makers: bet_maker_nodes,
            client: reqwest::Client::new(),
            queue,
            dead_letter_queue,
            line_provider_db,
            bet_maker_db,
            broker,
            next_bettor: AtomicUsize::new(0),
        };
        if !cluster.bet_makers.is_empty() {
            for bettor in 0..BETTORS {
                cluster
                    .deposit_as(0, &format!("bettor-{bettor}"), FUNDS)
                    .await;
            }
        }
        cluster
    }

    /// Listens to the alerts every replica raises from now on.
    pub async fn alerts(&self) -> AlertListener {
        AlertListener::bind(
            &self.broker.connection,
            &alerts_exchange(&self.broker.exchange),
        )
        .await
        .unwrap_or_else(|e| panic!("binding a queue to the alerts exchange: {e}"))
    }

    /// Deposits `amount` into `bettor`'s wallet through replica `replica`
    /// of bet-maker: the request, expecting 202 (pending), then the
    /// provider's signed `deposit.succeeded` about it posted to the same
    /// replica, expecting 200 `applied`.
    pub async fn deposit_as(&self, replica: usize, bettor: &str, amount: &str) -> Deposit {
        let payment = self.request_deposit(replica, bettor, amount).await;
        let notice = crate::notice_about("deposit.succeeded", &payment);
        let response = self
            .post_notice(replica, &notice)
            .await
            .unwrap_or_else(|e| panic!("POST /payments/webhook for {bettor}: {e}"));
        let ack = expect_json(response, StatusCode::OK).await;
        assert_eq!(ack["result"], "applied", "confirming {payment}: {ack}");
        Deposit { payment, notice }
    }

    /// `POST /wallet/deposits` of `amount` as `bettor` through replica
    /// `replica`, expecting 202; the deposit, pending (nothing credited
    /// until the provider says so).
    pub async fn request_deposit(&self, replica: usize, bettor: &str, amount: &str) -> Value {
        let response = self
            .client
            .post(format!(
                "{}/wallet/deposits",
                self.bet_makers[replica].base_url()
            ))
            .bearer_auth(crate::token_for(bettor))
            .json(&json!({ "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /wallet/deposits as {bettor}: {e}"));
        let payment = expect_json(response, StatusCode::ACCEPTED).await;
        assert_eq!(payment["status"], "PENDING", "the deposit: {payment}");
        payment
    }

    /// The provider's notice `body`, signed now (as a redelivery is: the
    /// same bytes, a fresh signature), posted to replica `replica`'s
    /// webhook; the response, whatever it is.
    pub async fn post_notice(
        &self,
        replica: usize,
        body: &str,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let url = format!("{}/payments/webhook", self.bet_makers[replica].base_url());
        crate::bet_maker_support::signed(self.client.post(url), body)
            .send()
            .await
    }

    /// `bettor`'s balance as replica `replica`'s `GET /wallet` says it
    /// (asked again while it answers otherwise than 200: a connection the
    /// pool held through a cut may fail once).
    pub async fn balance_of(&self, replica: usize, bettor: &str) -> Decimal {
        let url = format!("{}/wallet", self.bet_makers[replica].base_url());
        eventually(&format!("GET /wallet as {bettor}"), PATIENCE, || async {
            let response = self
                .client
                .get(&url)
                .bearer_auth(crate::token_for(bettor))
                .send()
                .await
                .ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            let wallet: Value = response.json().await.ok()?;
            wallet["balance"].as_str()?.parse().ok()
        })
        .await
    }

    /// Stops every process with SIGTERM and asserts each exited with 0.
    pub async fn stop(mut self) {
        for node in self
            .bet_makers
            .iter_mut()
            .chain(self.line_providers.iter_mut())
        {
            if node.process.is_some() {
                let log = node.log();
                assert!(
                    node.terminate().await,
                    "{} did not exit with 0 on SIGTERM; log: {log}",
                    node.name
                );
            }
        }
    }

    /// Creates an event (deadline in an hour) through replica `replica` of
    /// line-provider; its id.
    pub async fn create_event(&self, replica: usize, coefficient: &str) -> Option<Uuid> {
        let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
        let response = self
            .client
            .post(format!(
                "{}/events",
                self.line_providers[replica].base_url()
            ))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({ "coefficient": coefficient, "deadline": deadline }))
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::CREATED {
            return None;
        }
        let event: Value = response.json().await.ok()?;
        event["id"].as_str().and_then(|id| id.parse().ok())
    }

    /// Sets an event's result through replica `replica`; whether it was
    /// accepted.
    pub async fn finish_event(&self, replica: usize, event_id: Uuid, status: &str) -> bool {
        let response = self
            .client
            .request(
                Method::PUT,
                format!(
                    "{}/events/{event_id}/status",
                    self.line_providers[replica].base_url()
                ),
            )
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({ "status": status }))
            .send()
            .await;
        response.is_ok_and(|r| r.status() == StatusCode::OK)
    }

    /// Corrects the final status of `event_id` to `status` through
    /// replica `replica` of line-provider; whether it answered 200.
    pub async fn correct_event(&self, replica: usize, event_id: Uuid, status: &str) -> bool {
        let response = self
            .client
            .request(
                Method::POST,
                format!(
                    "{}/events/{event_id}/corrections",
                    self.line_providers[replica].base_url()
                ),
            )
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({ "status": status, "reason": "corrected by the fault test" }))
            .send()
            .await;
        response.is_ok_and(|r| r.status() == StatusCode::OK)
    }

    /// Places a bet through replica `replica` of bet-maker, as the next of
    /// the [`BETTORS`] bettors in turn; what it answered, or why it did not
    /// answer.
    pub async fn place_bet(
        &self,
        replica: usize,
        event_id: Uuid,
        amount: &str,
    ) -> Result<BetAnswer, reqwest::Error> {
        let bettor = self.next_bettor.fetch_add(1, Ordering::Relaxed) % BETTORS;
        self.place_bet_as(replica, &format!("bettor-{bettor}"), event_id, amount)
            .await
    }

    /// Places a bet through replica `replica` of bet-maker as `bettor`.
    pub async fn place_bet_as(
        &self,
        replica: usize,
        bettor: &str,
        event_id: Uuid,
        amount: &str,
    ) -> Result<BetAnswer, reqwest::Error> {
        let response = self
            .client
            .post(format!("{}/bets", self.bet_makers[replica].base_url()))
            .bearer_auth(crate::token_for(bettor))
            .json(&json!({ "event_id": event_id, "amount": amount }))
            .send()
            .await?;
        BetAnswer::read(response).await
    }

    /// Places an accumulator on `events` (its legs, in this order, each at
    /// the event's current coefficient) through replica `replica` of
    /// bet-maker, as the next of the [`BETTORS`] bettors in turn; what it
    /// answered, or why it did not answer.
    pub async fn place_accumulator(
        &self,
        replica: usize,
        events: &[Uuid],
        amount: &str,
    ) -> Result<BetAnswer, reqwest::Error> {
        let bettor = self.next_bettor.fetch_add(1, Ordering::Relaxed) % BETTORS;
        let response = self
            .client
            .post(format!("{}/bets", self.bet_makers[replica].base_url()))
            .bearer_auth(crate::token_for(&format!("bettor-{bettor}")))
            .json(&accumulator_slip(events, amount))
            .send()
            .await?;
        BetAnswer::read(response).await
    }

    /// Waits until bet-maker's copy of `event_id` exists (it can take bets).
    pub async fn wait_until_known(&self, event_id: Uuid) {
        let sql = format!("SELECT count(*) FROM events WHERE id = '{event_id}'");
        eventually(
            &format!("bet-maker to hear of event {event_id}"),
            PATIENCE,
            || async { (count(&self.bet_maker_db.connection, &sql).await == 1).then_some(()) },
        )
        .await;
    }

    /// Waits until every replica of `service` reports `/health/ready` as
    /// `expected` (200 or 503).
    pub async fn wait_for_readiness(&self, nodes: &[Node], expected: StatusCode) {
        for node in nodes.iter().filter(|n| n.process.is_some()) {
            let url = format!("{}/health/ready", node.base_url());
            eventually(
                &format!("{} readiness {expected}", node.name),
                PATIENCE,
                || async {
                    let status = self.client.get(&url).send().await.ok()?.status();
                    (status == expected).then_some(())
                },
            )
            .await;
        }
    }

    /// Waits until every replica of both services reports `/health/ready`
    /// as `expected`.
    pub async fn wait_for_readiness_of_all(&self, expected: StatusCode) {
        self.wait_for_readiness(&self.line_providers, expected)
            .await;
        self.wait_for_readiness(&self.bet_makers, expected).await;
    }

    /// Messages waiting in a queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        self.broker
            .depth(queue)
            .await
            .unwrap_or_else(|e| panic!("inspecting {queue}: {e}"))
    }
}

/// The body of `POST /bets` for an accumulator on `events`, each leg at
/// its event's current coefficient.
pub fn accumulator_slip(events: &[Uuid], amount: &str) -> Value {
    let legs: Vec<Value> = events
        .iter()
        .map(|event| json!({ "event_id": event }))
        .collect();
    json!({ "legs": legs, "amount": amount })
}

/// A deposit the provider confirmed ([`Cluster::deposit_as`]).
#[derive(Debug, Clone)]
pub struct Deposit {
    /// The deposit as bet-maker answered its request (pending).
    pub payment: Value,
    /// The provider's notice that confirmed it, as posted: a test delivers
    /// it again as a provider does when it did not hear the answer.
    pub notice: String,
}

/// What bet-maker answered to a bet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BetAnswer {
    /// 201, with the new bet's id.
    Accepted(Uuid),
    /// Any other answer: its status and body, for the failure message.
    Refused {
        /// The status.
        status: StatusCode,
        /// The body, as text.
        body: String,
    },
}

impl BetAnswer {
    /// Reads a response to `POST /bets`. A 201 without a readable bet id is
    /// a refusal too: the bettor has nothing to show for it.
    pub async fn read(response: reqwest::Response) -> Result<Self, reqwest::Error> {
        let status = response.status();
        let body = response.text().await?;
        let id = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|bet| bet["id"].as_str().and_then(|id| id.parse().ok()));
        Ok(match id {
            Some(id) if status == StatusCode::CREATED => Self::Accepted(id),
            _ => Self::Refused { status, body },
        })
    }
}
