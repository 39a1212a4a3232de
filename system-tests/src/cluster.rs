//! Both services as real processes, any number of replicas of each, every
//! replica behind proxies to PostgreSQL and RabbitMQ that the test can cut;
//! and the books a fault test checks once the faults are healed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use shared_kernel::testing::{
    TestBroker, TestDatabase, amqp_url, count, database_server_url, eventually,
};
use uuid::Uuid;

use crate::PATIENCE;
use crate::process::{ServiceProcess, binary, free_port};
use crate::proxy::TcpProxy;

/// The operator token the line-provider processes are started with.
pub const OPERATOR_TOKEN: &str = "fault-test-operator-token";

/// Records every settlement of a bet (PENDING to WON or LOST), so a test
/// can show that no bet was settled twice.
const RECORD_SETTLEMENTS: &str = "
    CREATE TABLE test_settlements (bet_id UUID NOT NULL, settled_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION test_record_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO test_settlements (bet_id) VALUES (NEW.id);
        RETURN NULL;
    END $$;
    CREATE TRIGGER test_record_settlement AFTER UPDATE OF status ON bets
        FOR EACH ROW WHEN (OLD.status = 'PENDING' AND NEW.status <> 'PENDING')
        EXECUTE FUNCTION test_record_settlement();";

/// One replica of a service: its process (absent while killed or stopped)
/// and its two proxies.
#[derive(Debug)]
pub struct Node {
    name: String,
    binary: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    /// The running process, if any.
    pub process: Option<ServiceProcess>,
    /// Between this replica and RabbitMQ.
    pub amqp: TcpProxy,
    /// Between this replica and PostgreSQL.
    pub database: TcpProxy,
}

impl Node {
    async fn new(
        name: &str,
        binary_name: &str,
        database_url: &str,
        env: Vec<(String, String)>,
        port_variable: &str,
    ) -> Self {
        let amqp = TcpProxy::start(&host_port(&amqp_url())).await;
        let database = TcpProxy::start(&host_port(&database_server_url())).await;
        let port = free_port();
        let mut env = env;
        env.push((port_variable.to_owned(), port.to_string()));
        env.push(("AMQP_URL".to_owned(), via(&amqp_url(), &amqp)));
        let database_variable = if binary_name == "line-provider" {
            "LINE_PROVIDER_DATABASE_URL"
        } else {
            "BET_MAKER_DATABASE_URL"
        };
        env.push((database_variable.to_owned(), via(database_url, &database)));
        let mut node = Self {
            name: name.to_owned(),
            binary: binary(binary_name),
            port,
            env,
            process: None,
            amqp,
            database,
        };
        node.start().await;
        node
    }

    /// Starts the process (again), and waits until it is ready.
    pub async fn start(&mut self) {
        self.process =
            Some(ServiceProcess::start(&self.name, &self.binary, self.port, &self.env).await);
    }

    /// SIGKILL.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// SIGTERM; returns whether it exited with status 0.
    pub async fn terminate(&mut self) -> bool {
        match self.process.take() {
            Some(mut process) => process.terminate().await.success(),
            None => panic!("{} is not running", self.name),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where its current process logs.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.log.display().to_string())
            .unwrap_or_default()
    }
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
}

impl Cluster {
    /// `line_providers` replicas of line-provider and `bet_makers` of
    /// bet-maker, all ready.
    pub async fn start(line_providers: usize, bet_makers: usize) -> Self {
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
        let queue = broker.own_queue(&broker.queue_name("bet-maker"));
        let dead_letter_queue = broker.own_queue(&format!("{queue}.dlq"));

        let mut line_provider_nodes = Vec::new();
        for replica in 0..line_providers {
            let env = vec![
                (
                    "LINE_PROVIDER_ADMIN_TOKEN".to_owned(),
                    OPERATOR_TOKEN.to_owned(),
                ),
                ("LINE_EVENTS_EXCHANGE".to_owned(), broker.exchange.clone()),
                ("LINE_PROVIDER_DB_POOL_SIZE".to_owned(), "4".to_owned()),
                ("OUTBOX_SWEEP_INTERVAL_MS".to_owned(), "200".to_owned()),
            ];
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
        let line_provider_url = line_provider_nodes
            .first()
            .map(Node::base_url)
            .unwrap_or_default();
        let mut bet_maker_nodes = Vec::new();
        for replica in 0..bet_makers {
            let env = vec![
                ("LINE_EVENTS_EXCHANGE".to_owned(), broker.exchange.clone()),
                ("BET_MAKER_QUEUE".to_owned(), queue.clone()),
                ("BET_MAKER_DB_POOL_SIZE".to_owned(), "4".to_owned()),
                ("LINE_PROVIDER_URL".to_owned(), line_provider_url.clone()),
            ];
            let name = format!("bet-maker-{replica}");
            bet_maker_nodes.push(
                Node::new(&name, "bet-maker", &bet_maker_db.url, env, "BET_MAKER_PORT").await,
            );
        }
        Self {
            line_providers: line_provider_nodes,
            bet_makers: bet_maker_nodes,
            client: reqwest::Client::new(),
            queue,
            dead_letter_queue,
            line_provider_db,
            bet_maker_db,
            broker,
        }
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

    /// Places a bet through replica `replica` of bet-maker; the bet's id
    /// when it was accepted (201).
    pub async fn place_bet(&self, replica: usize, event_id: Uuid, amount: &str) -> Option<Uuid> {
        let response = self
            .client
            .post(format!("{}/bets", self.bet_makers[replica].base_url()))
            .json(&json!({ "event_id": event_id, "amount": amount }))
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::CREATED {
            return None;
        }
        let bet: Value = response.json().await.ok()?;
        bet["id"].as_str().and_then(|id| id.parse().ok())
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

    /// The books, once every fault is healed: nothing lost, nothing twice.
    ///
    /// - every message line-provider committed is published, and applied
    ///   by bet-maker exactly once (its inbox holds every message id);
    /// - bet-maker's copy of every event matches line-provider's;
    /// - every bet in `accepted` exists; no bet on a finished event is
    ///   pending; every settled bet pays what the rule says; no bet was
    ///   settled twice;
    /// - the dead-letter queue is empty.
    pub async fn check_the_books(&self, accepted: &[Uuid]) {
        let line_provider = &self.line_provider_db.connection;
        let bet_maker = &self.bet_maker_db.connection;
        eventually("every outbox message published", PATIENCE, || async {
            (count(
                line_provider,
                "SELECT count(*) FROM outbox WHERE published_at IS NULL",
            )
            .await
                == 0)
                .then_some(())
        })
        .await;
        let messages = count(line_provider, "SELECT count(*) FROM outbox").await;
        eventually(
            "bet-maker to apply every message once",
            PATIENCE,
            || async {
                (count(bet_maker, "SELECT count(*) FROM inbox").await == messages).then_some(())
            },
        )
        .await;

        let line = events(line_provider).await;
        let copy = events(bet_maker).await;
        assert_eq!(
            copy, line,
            "bet-maker's copy of the line differs from line-provider's"
        );

        for bet in accepted {
            let sql = format!("SELECT count(*) FROM bets WHERE id = '{bet}'");
            assert_eq!(
                count(bet_maker, &sql).await,
                1,
                "accepted bet {bet} was lost"
            );
        }
        let pending_on_finished = count(
            bet_maker,
            "SELECT count(*) FROM bets b JOIN events e ON e.id = b.event_id
             WHERE e.status <> 'NEW' AND b.status = 'PENDING'",
        )
        .await;
        assert_eq!(
            pending_on_finished, 0,
            "bets left pending on finished events"
        );
        let wrong_payouts = count(
            bet_maker,
            "SELECT count(*) FROM bets b JOIN events e ON e.id = b.event_id
             WHERE (e.status = 'FINISHED_WIN' AND (b.status <> 'WON' OR b.payout <> round(b.amount * b.coefficient, 2)))
                OR (e.status = 'FINISHED_LOSE' AND (b.status <> 'LOST' OR b.payout <> 0))",
        )
        .await;
        assert_eq!(
            wrong_payouts, 0,
            "bets settled with the wrong status or payout"
        );
        let settled_twice = count(
            bet_maker,
            "SELECT count(*) FROM (SELECT bet_id FROM test_settlements GROUP BY bet_id HAVING count(*) > 1) AS twice",
        )
        .await;
        assert_eq!(settled_twice, 0, "bets settled more than once");
        let settled = count(
            bet_maker,
            "SELECT count(*) FROM bets WHERE status <> 'PENDING'",
        )
        .await;
        let settlements = count(bet_maker, "SELECT count(*) FROM test_settlements").await;
        assert_eq!(
            settlements, settled,
            "every settled bet was settled exactly once"
        );

        assert_eq!(
            self.depth(&self.dead_letter_queue).await,
            0,
            "messages in the dead-letter queue"
        );
    }

    /// Messages waiting in a queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        let channel = self
            .broker
            .connection
            .create_channel()
            .await
            .unwrap_or_else(|e| panic!("channel: {e}"));
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .unwrap_or_else(|e| panic!("inspecting {queue}: {e}"))
            .message_count()
    }
}

/// Every event: id → (coefficient, deadline, status, version), as text.
async fn events(db: &sea_orm::DatabaseConnection) -> BTreeMap<String, String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id::text AS id, concat_ws(' ', coefficient, deadline, status, version) AS state FROM events",
        ))
        .await
        .unwrap_or_else(|e| panic!("events: {e}"));
    rows.into_iter()
        .map(|row| {
            (
                row.try_get::<String>("", "id").unwrap_or_default(),
                row.try_get::<String>("", "state").unwrap_or_default(),
            )
        })
        .collect()
}

/// `host:port` of a URL.
fn host_port(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port_or_known_default().unwrap_or_default()
    )
}

/// The same URL, through the proxy.
fn via(url: &str, proxy: &TcpProxy) -> String {
    let mut parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let _ = parsed.set_host(Some("127.0.0.1"));
    let _ = parsed.set_port(Some(proxy.address().port()));
    parsed.to_string()
}
