//! The real bet-maker on port 0, with a database, an exchange and queues of
//! its own: [`SpawnedApp`] with bet-maker's configuration, and helpers to
//! feed it line events and place bets as a bettor ([`token_for`] signs a
//! bettor's token with the test secret).
//!
//! system-tests includes this file too (`#[path]`), for [`config`]: one
//! place says how a test runs bet-maker.

#![allow(dead_code)] // each test file uses a different part of this

use std::ops::Deref;

use bet_maker::app;
use bet_maker::application::ports::LineRepository;
use bet_maker::config::{
    Config, JwtClaimSettings, JwtKeySettings, JwtSecret, JwtSettings, PaymentSettings,
    PlacementSettings, ProviderKind, StreamSettings,
};
use bet_maker::domain::{BettorId, Currency, LineEvent, LineEventStatus};
use bet_maker::infrastructure::persistence::SeaOrmLineRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use bet_maker::presentation::http::BettorTokens;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::json;
use shared_kernel::alerts::AlertSettings;
use shared_kernel::contracts::{EventSnapshot, EventStatusWire, LineEventKind, LineEventMessage};
use shared_kernel::http::{HttpSettings, ManagementSettings};
use shared_kernel::money::WireDecimal;
use shared_kernel::telemetry::TelemetrySettings;
use shared_kernel::testing::{
    SpawnedApp, TestBroker, TestDatabase, amqp_url, database_and_broker, test_keys,
};
use uuid::Uuid;

/// The house limit in tests, as in the default configuration.
pub const MAX_STAKE: &str = "1000000.00";

/// The payout cap in tests, as in the default configuration.
pub const MAX_PAYOUT: &str = "10000000.00";

/// An event's maximum liability in tests, as in the default configuration.
pub const MAX_LIABILITY_PER_EVENT: &str = "1000000.00";

/// The secret bettors' tokens are signed with in tests
/// (`BET_MAKER_JWT_SECRET`).
pub const JWT_SECRET: &str = "test-secret-of-bettor-tokens-32-bytes-or-more";

/// The secret the payment provider signs its webhooks with in tests
/// (`BET_MAKER_PAYMENTS_WEBHOOK_SECRETS`).
pub const WEBHOOK_SECRET: &str = "test-secret-of-the-payment-provider-webhooks";

/// The payment settings of tests: the provider's webhook, signed with
/// [`WEBHOOK_SECRET`].
pub fn payment_settings() -> PaymentSettings {
    PaymentSettings {
        provider: ProviderKind::Webhook,
        webhook_secrets: vec![webhook_secret()],
        ..PaymentSettings::default()
    }
}

/// [`WEBHOOK_SECRET`] as a secret.
pub fn webhook_secret() -> shared_kernel::webhook_signature::WebhookSecret {
    shared_kernel::webhook_signature::WebhookSecret::parse(WEBHOOK_SECRET)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The provider's notice `kind` (`deposit.succeeded`, ...) about `payment`
/// (a deposit or withdrawal as the API returned it), with a fresh event id.
pub fn notice_about(kind: &str, payment: &serde_json::Value) -> String {
    json!({
        "id": format!("evt_{}", Uuid::now_v7().simple()),
        "type": kind,
        "created": Utc::now().timestamp(),
        "data": {
            "reference": payment["id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
        },
    })
    .to_string()
}

/// `request` (a POST to `/payments/webhook`) carrying `body`, signed now
/// with [`WEBHOOK_SECRET`], as the provider sends it.
pub fn signed(request: RequestBuilder, body: &str) -> RequestBuilder {
    let signature = shared_kernel::webhook_signature::header_value(
        &[webhook_secret()],
        Utc::now().timestamp(),
        body.as_bytes(),
    );
    request
        .header(shared_kernel::webhook_signature::HEADER, signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
}

/// The bettor a [`TestApp`]'s requests come from unless a test names
/// another.
pub const BETTOR: &str = "alice";

/// The token settings of tests: HS256 with [`JWT_SECRET`], no issuer or
/// audience.
pub fn jwt_settings() -> JwtSettings {
    JwtSettings {
        key: JwtKeySettings {
            secret: Some(JwtSecret::parse(JWT_SECRET).unwrap_or_else(|e| panic!("{e}"))),
            public_key_file: None,
        },
        claims: JwtClaimSettings::default(),
    }
}

/// A token for `bettor`, valid for an hour, signed with the test secret
/// (as `bet-maker token <bettor>` signs it).
pub fn token_for(bettor: &str) -> String {
    let bettor = BettorId::parse(bettor).unwrap_or_else(|e| panic!("bettor `{bettor}`: {e}"));
    let tokens = BettorTokens::from_settings(&jwt_settings())
        .unwrap_or_else(|e| panic!("the test token keys: {e}"));
    tokens
        .issue(
            &bettor,
            std::time::Duration::from_secs(3_600),
            std::time::SystemTime::now(),
        )
        .unwrap_or_else(|e| panic!("signing a token for {bettor}: {e}"))
}

/// A staff token for `who` granting `scope` (`cashier`, `trader`).
pub fn staff_token(who: &str, scope: &str) -> String {
    let who = BettorId::parse(who).unwrap_or_else(|e| panic!("staff `{who}`: {e}"));
    let tokens = BettorTokens::from_settings(&jwt_settings())
        .unwrap_or_else(|e| panic!("the test token keys: {e}"));
    tokens
        .issue_with_scope(
            &who,
            Some(scope),
            std::time::Duration::from_secs(600),
            std::time::SystemTime::now(),
        )
        .unwrap_or_else(|e| panic!("signing a token for {who}: {e}"))
}

/// A running bet-maker and what it runs on; derefs to the [`SpawnedApp`]
/// for requests.
pub struct TestApp {
    app: SpawnedApp,
    pub db: TestDatabase,
    pub broker: TestBroker,
    /// The queue the consumer reads, and its dead-letter queue.
    pub queue: String,
    pub dead_letter_queue: String,
}

impl Deref for TestApp {
    type Target = SpawnedApp;

    fn deref(&self) -> &SpawnedApp {
        &self.app
    }
}

/// The bettors every [`TestApp::spawn`] funds.
pub const FUNDED: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// What each of them deposits.
pub const FUNDS: &str = "1000.00";

impl TestApp {
    /// A fresh database, exchange and queues, and the app on them, ready:
    /// consuming, so nothing a test publishes from now on is unroutable;
    /// each of [`FUNDED`] has deposited [`FUNDS`], so they can bet.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// The same, with the configuration changed by `adjust` first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let app = Self::spawn_unfunded_with(adjust).await;
        for bettor in FUNDED {
            app.deposit_as(bettor, FUNDS).await;
        }
        app
    }

    /// A fresh app where no bettor has a wallet yet.
    pub async fn spawn_unfunded() -> Self {
        Self::spawn_unfunded_with(|_| {}).await
    }

    /// The same, with the configuration changed by `adjust` first.
    pub async fn spawn_unfunded_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let (db, mut broker) =
            database_and_broker::<Migrator>("bet-maker", schema_fingerprint()).await;
        let (queue, dead_letter_queue) = broker.own_consumer_queues("bet-maker");
        // line-provider's exchange, as line-provider would have declared it.
        broker
            .declare_exchange()
            .await
            .unwrap_or_else(|e| panic!("declaring the exchange: {e}"));
        let mut config = config(&db.url, &broker.exchange, &queue, "http://127.0.0.1:9");
        adjust(&mut config);
        let app = SpawnedApp::new("bet-maker", app::start(config).await);
        app.wait_until_ready().await;
        Self {
            app,
            db,
            broker,
            queue,
            dead_letter_queue,
        }
    }

    /// Stops the app gracefully (the database and queues stay until drop).
    pub async fn stop(&mut self) {
        self.app.stop().await;
    }

    /// Puts an event into bet-maker's copy of the line directly, through
    /// the store the consumer uses (no broker involved).
    pub async fn seed_event(&self, event: &LineEvent) {
        SeaOrmLineRepository::new(self.db.connection.clone())
            .apply_snapshot(event)
            .await
            .unwrap_or_else(|e| panic!("seeding {event:?}: {e}"));
    }

    /// Seeds an open event with this coefficient, closing in an hour.
    pub async fn open_event(&self, coefficient: &str) -> LineEvent {
        let event = line_event(
            coefficient,
            Utc::now() + Duration::hours(1),
            LineEventStatus::New,
            1,
        );
        self.seed_event(&event).await;
        event
    }

    /// A request to `path` as the default bettor, [`BETTOR`] (with their
    /// token).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(BETTOR, method, path)
    }

    /// A request to `path` as `bettor`.
    pub fn request_as(&self, bettor: &str, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(token_for(bettor))
    }

    /// A request to `path` without a token.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.app.request(method, path)
    }

    /// `GET path` as the default bettor, expecting 200; its JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.get_json_as(BETTOR, path).await
    }

    /// `GET path` as `bettor`, expecting 200; its JSON.
    pub async fn get_json_as(&self, bettor: &str, path: &str) -> serde_json::Value {
        let response = self
            .request_as(bettor, Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        shared_kernel::testing::expect_json(response, StatusCode::OK).await
    }

    /// `POST /wallet/deposits` of `amount` as `bettor`, expecting 202, then
    /// the provider's `deposit.succeeded`, expecting 200; the deposit as it
    /// is then.
    pub async fn deposit_as(&self, bettor: &str, amount: &str) -> serde_json::Value {
        let deposit = self.request_payment_as(bettor, "deposits", amount).await;
        let response = self.notify("deposit.succeeded", &deposit).await;
        assert_eq!(response.status(), StatusCode::OK, "confirming {deposit}");
        let id = deposit["id"].as_str().unwrap_or_default();
        self.get_json_as(bettor, &format!("/wallet/deposits/{id}"))
            .await
    }

    /// `POST /wallet/<deposits|withdrawals>` of `amount` as `bettor`,
    /// expecting 202; the payment, pending.
    pub async fn request_payment_as(
        &self,
        bettor: &str,
        kind: &str,
        amount: &str,
    ) -> serde_json::Value {
        let response = self
            .request_as(bettor, Method::POST, &format!("/wallet/{kind}"))
            .json(&json!({ "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /wallet/{kind}: {e}"));
        shared_kernel::testing::expect_json(response, StatusCode::ACCEPTED).await
    }

    /// The provider's notice `kind` about `payment`, signed and posted.
    pub async fn notify(&self, kind: &str, payment: &serde_json::Value) -> Response {
        self.post_notice(&notice_about(kind, payment)).await
    }

    /// `body` posted to the webhook, signed.
    pub async fn post_notice(&self, body: &str) -> Response {
        signed(self.anonymous(Method::POST, "/payments/webhook"), body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /payments/webhook: {e}"))
    }

    /// `bettor`'s balance, as `GET /wallet` says it.
    pub async fn balance_of(&self, bettor: &str) -> serde_json::Value {
        self.get_json_as(bettor, "/wallet").await["balance"].clone()
    }

    /// `POST /bets` as the default bettor, and the response.
    pub async fn place_bet(&self, event_id: Uuid, amount: &str) -> Response {
        self.place_bet_as(BETTOR, event_id, amount).await
    }

    /// `POST /bets` as `bettor`, and the response.
    pub async fn place_bet_as(&self, bettor: &str, event_id: Uuid, amount: &str) -> Response {
        self.request_as(bettor, Method::POST, "/bets")
            .json(&json!({ "event_id": event_id, "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"))
    }

    /// Publishes a line event message to the exchange, as line-provider would.
    pub async fn publish(&self, message: &LineEventMessage) {
        let body = serde_json::to_vec(message).unwrap_or_else(|e| panic!("{e}"));
        self.publish_raw(message.kind.routing_key(), &body).await;
    }

    /// Publishes a message with exactly these headers (a signature or none).
    pub async fn publish_with_headers(
        &self,
        message: &LineEventMessage,
        headers: lapin::types::FieldTable,
    ) {
        let body = serde_json::to_vec(message).unwrap_or_else(|e| panic!("{e}"));
        self.broker
            .publish_with_headers(message.kind.routing_key(), &body, headers)
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
    }

    /// Publishes any bytes with this routing key.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        self.broker
            .publish(routing_key, body)
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
    }

    /// The first number of a query's first row (`SELECT count(*) ...`).
    pub async fn count(&self, sql: &str) -> i64 {
        shared_kernel::testing::count(&self.db.connection, sql).await
    }

    /// Waits until the dead-letter queue holds at least `count` messages,
    /// then takes every one: (label, reason), as `bet-maker dead-letters`
    /// reads them.
    pub async fn take_dead_letters(&self, count: u32) -> Vec<(String, String)> {
        use bet_maker::presentation::messaging::read_dead_letter;
        use lapin::options::BasicGetOptions;
        shared_kernel::testing::eventually(
            &format!("{count} message(s) in the dead-letter queue"),
            shared_kernel::testing::PATIENCE,
            || async {
                let depth = self
                    .broker
                    .depth(&self.dead_letter_queue)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                (depth >= count).then_some(())
            },
        )
        .await;
        let channel = self
            .broker
            .connection
            .create_channel()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut taken = Vec::new();
        while let Some(message) = channel
            .basic_get(
                self.dead_letter_queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        {
            let delivery = &message.delivery;
            let letter = read_dead_letter(&delivery.properties, delivery.routing_key.as_str());
            taken.push((letter.label, letter.reason));
        }
        taken
    }

    /// bet-maker's copy of an event: (status, version, coefficient).
    pub async fn copy_of(&self, id: Uuid) -> Option<(String, i64, String)> {
        use sea_orm::{ConnectionTrait, Statement};
        let db = &self.db.connection;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT status, version, coefficient::text AS coefficient FROM events WHERE id = $1",
                [id.into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))?;
        Some((
            row.try_get("", "status").unwrap_or_default(),
            row.try_get("", "version").unwrap_or_default(),
            row.try_get("", "coefficient").unwrap_or_default(),
        ))
    }

    /// Waits until every message published before has been consumed: a
    /// probe event published after them is applied (one consumer, in
    /// order).
    pub async fn drain(&self) {
        let probe = line_event(
            "1.10",
            Utc::now() + Duration::hours(1),
            LineEventStatus::New,
            1,
        );
        self.publish(&message_for(LineEventKind::Created, &probe))
            .await;
        self.until_version(probe.id, 1).await;
    }

    /// How many messages wait in the dead-letter queue.
    pub async fn dead_letter_depth(&self) -> u32 {
        self.broker
            .depth(&self.dead_letter_queue)
            .await
            .unwrap_or_else(|e| panic!("inspecting the dead-letter queue: {e}"))
    }

    /// Waits until the copy of event `id` is at `version`.
    pub async fn until_version(&self, id: Uuid, version: i64) {
        shared_kernel::testing::eventually(
            &format!("event {id} reaching version {version}"),
            std::time::Duration::from_secs(30),
            || async {
                self.copy_of(id)
                    .await
                    .filter(|(_, v, _)| *v == version)
                    .map(|_| ())
            },
        )
        .await;
    }
}

/// bet-maker's configuration for a test: port 0, a small pool, consuming
/// `queue` bound to `exchange`, resyncing from line-provider's gRPC API at
/// `line_provider_grpc_url`.
pub fn config(
    database_url: &str,
    exchange: &str,
    queue: &str,
    line_provider_grpc_url: &str,
) -> Config {
    Config {
        database_url: database_url.to_owned(),
        database_pool_size: 4,
        host: [127, 0, 0, 1].into(),
        port: 0,
        admin_port: 0,
        management: ManagementSettings::default(),
        line_provider_grpc_url: line_provider_grpc_url.to_owned(),
        amqp_url: amqp_url(),
        exchange: exchange.to_owned(),
        queue: queue.to_owned(),
        verify_key_files: vec![test_keys().verify_key_file.clone()],
        prefetch: 64,
        dead_letter_max_length: 1_000,
        dead_letter_check_interval_ms: 100,
        line_provider_amqp_user: None,
        max_stake: MAX_STAKE.parse().unwrap_or_else(|e| panic!("{e}")),
        max_payout: MAX_PAYOUT.parse().unwrap_or_else(|e| panic!("{e}")),
        max_liability_per_event: MAX_LIABILITY_PER_EVENT
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        cash_out_margin: rust_decimal::Decimal::new(5, 2),
        cash_out_quote_secs: 10,
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        idempotency_ttl_hours: 24,
        dev_sign_in: false,
        jwt: jwt_settings(),
        payments: payment_settings(),
        streams: StreamSettings::default(),
        placement: PlacementSettings::default(),
        http: HttpSettings::default(),
        alerts: alert_settings(exchange),
        telemetry: TelemetrySettings::default(),
    }
}

/// A line event value.
pub fn line_event(
    coefficient: &str,
    deadline: DateTime<Utc>,
    status: LineEventStatus,
    version: i64,
) -> LineEvent {
    LineEvent {
        id: Uuid::now_v7(),
        coefficient: coefficient
            .parse::<Decimal>()
            .unwrap_or_else(|e| panic!("{e}")),
        deadline,
        status,
        version,
    }
}

/// The message line-provider would publish for `event` at its version.
pub fn message_for(kind: LineEventKind, event: &LineEvent) -> LineEventMessage {
    LineEventMessage::new(
        kind,
        Utc::now(),
        EventSnapshot {
            id: event.id,
            coefficient: WireDecimal::from_decimal_exact(event.coefficient),
            deadline: event.deadline,
            status: match event.status {
                LineEventStatus::New => EventStatusWire::New,
                LineEventStatus::Suspended => EventStatusWire::Suspended,
                LineEventStatus::FinishedWin => EventStatusWire::FinishedWin,
                LineEventStatus::FinishedLose => EventStatusWire::FinishedLose,
                LineEventStatus::Cancelled => EventStatusWire::Cancelled,
            },
            version: event.version,
        },
    )
}

/// How many of `statuses` are 201, and how many 409.
pub fn created_and_conflicts(statuses: &[StatusCode]) -> (usize, usize) {
    let of = |wanted: StatusCode| statuses.iter().filter(|s| **s == wanted).count();
    (of(StatusCode::CREATED), of(StatusCode::CONFLICT))
}

/// The books: every transaction sums to zero, every wallet equals the sum
/// of its entries and is not negative unless a correction took it there,
/// and each wallet entry's balance_after is the running sum of that
/// wallet's entries.
pub async fn assert_books_balance(db: &TestDatabase) {
    let checks = [
        (
            "transactions that do not sum to zero",
            "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
               GROUP BY transaction_id HAVING sum(amount) <> 0) AS unbalanced",
        ),
        (
            "wallets whose balance is not the sum of their entries",
            "SELECT count(*) FROM wallets w WHERE balance <> (SELECT coalesce(sum(amount), 0)
               FROM ledger_entries e WHERE e.account = 'WALLET' AND e.bettor_id = w.bettor_id)",
        ),
        (
            "negative wallets no correction took below zero",
            "SELECT count(*) FROM wallets w WHERE balance < 0 AND NOT EXISTS (
               SELECT 1 FROM ledger_entries e WHERE e.account = 'WALLET'
               AND e.bettor_id = w.bettor_id AND e.line = 'CORRECTION' AND e.amount < 0)",
        ),
        (
            "wallet lines whose balance_after is not the running sum",
            "SELECT count(*) FROM (SELECT balance_after, sum(amount) OVER
               (PARTITION BY bettor_id ORDER BY created_at, id) AS running
               FROM ledger_entries WHERE account = 'WALLET') AS lines
               WHERE balance_after <> running",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(
            shared_kernel::testing::count(&db.connection, sql).await,
            0,
            "{what}"
        );
    }
}

/// Alerts go to an exchange of the test's own (`<exchange>.alerts`,
/// deleted with the test's broker names), so a test that listens for an
/// alert hears only its own service's.
pub fn alert_settings(exchange: &str) -> AlertSettings {
    AlertSettings {
        exchange: shared_kernel::testing::alerts_exchange(exchange),
        ..AlertSettings::default()
    }
}
