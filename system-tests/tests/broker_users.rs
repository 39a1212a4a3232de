//! The least-privilege broker users README's Security section documents,
//! made by `scripts/broker-users.sh` itself: both services run with them
//! (a bet is placed and settled), and each user is refused what the other
//! service does.

use std::process::Command;

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ExchangeKind};
use serde_json::Value;
use shared_kernel::alerts::declare_alerts_exchange;
use shared_kernel::testing::{PATIENCE, alerts_exchange, amqp_url, eventually};
use system_tests::cluster::{BetAnswer, Cluster, Settings};
use uuid::Uuid;

/// Two broker users of this test, deleted when it ends.
struct BrokerUsers {
    line_provider: String,
    bet_maker: String,
    password: String,
}

impl BrokerUsers {
    /// Runs the script for this exchange and queue.
    fn create(exchange: &str, queue: &str) -> Self {
        let suffix = Uuid::new_v4().simple().to_string();
        let users = Self {
            line_provider: format!("test-line-provider-{suffix}"),
            bet_maker: format!("test-bet-maker-{suffix}"),
            password: format!("pw-{suffix}"),
        };
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/broker-users.sh");
        let output = Command::new(script)
            .env("LINE_EVENTS_EXCHANGE", exchange)
            .env("BET_MAKER_QUEUE", queue)
            .env("OPS_ALERTS_EXCHANGE", alerts_exchange(exchange))
            .env("LINE_PROVIDER_AMQP_USER", &users.line_provider)
            .env("BET_MAKER_AMQP_USER", &users.bet_maker)
            .env("LINE_PROVIDER_AMQP_PASSWORD", &users.password)
            .env("BET_MAKER_AMQP_PASSWORD", &users.password)
            .output()
            .unwrap_or_else(|e| panic!("running {script}: {e}"));
        assert!(output.status.success(), "{script}: {output:?}");
        users
    }

    /// The broker's URL, as `user`.
    fn url(&self, user: &str) -> String {
        let mut url = url::Url::parse(&amqp_url()).unwrap_or_else(|e| panic!("{e}"));
        let _ = url.set_username(user);
        let _ = url.set_password(Some(&self.password));
        url.to_string()
    }
}

impl Drop for BrokerUsers {
    fn drop(&mut self) {
        for user in [&self.line_provider, &self.bet_maker] {
            let _ = Command::new("rabbitmqctl")
                .args(["-q", "delete_user", user])
                .output();
        }
    }
}

/// What the broker answered to `attempt`, as text ("" if it allowed it).
async fn refusal<F: Future<Output = Result<(), lapin::Error>>>(attempt: F) -> String {
    attempt
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn each_service_runs_with_only_the_permissions_readme_lists() {
    let mut users = None;
    let cluster = Cluster::start_with(1, 1, |exchange, queue| {
        let made = BrokerUsers::create(exchange, queue);
        let settings = Settings {
            line_provider: vec![("AMQP_URL".to_owned(), made.url(&made.line_provider))],
            bet_maker: vec![
                ("AMQP_URL".to_owned(), made.url(&made.bet_maker)),
                // Only what line-provider's user published is read.
                (
                    "LINE_PROVIDER_AMQP_USER".to_owned(),
                    made.line_provider.clone(),
                ),
            ],
        };
        users = Some(made);
        settings
    })
    .await;
    let users = users.unwrap_or_else(|| panic!("the users were not made"));
    let (exchange, queue) = (cluster.broker.exchange.clone(), cluster.queue.clone());
    let (line_provider_url, bet_maker_url) =
        (users.url(&users.line_provider), users.url(&users.bet_maker));

    // The whole flow works with these users.
    let event = cluster
        .create_event(0, "2.00")
        .await
        .unwrap_or_else(|| panic!("line-provider refused to create an event"));
    cluster.wait_until_known(event).await;
    cluster.deposit_as(0, "alice", "10.00").await;
    let bet = match cluster.place_bet_as(0, "alice", event, "10.00").await {
        Ok(BetAnswer::Accepted(bet)) => bet,
        other => panic!("the bet was not accepted: {other:?}"),
    };
    assert!(cluster.finish_event(0, event, "FINISHED_WIN").await);
    let url = format!("{}/bets/{bet}", cluster.bet_makers[0].base_url());
    eventually("the bet to be settled", PATIENCE, || async {
        let response = cluster
            .client
            .get(&url)
            .bearer_auth(system_tests::token_for("alice"))
            .send()
            .await
            .ok()?;
        let bet: Value = response.json().await.ok()?;
        (bet["status"] == "WON").then_some(())
    })
    .await;

    // bet-maker's user cannot publish a line message, nor redeclare
    // (or so delete) line-provider's exchange.
    let as_bet_maker = lapin_connect(&bet_maker_url).await;
    let publish = refusal(async {
        let channel = as_bet_maker.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .basic_publish(
                exchange.as_str().into(),
                "event.finished".into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await?
            .await?;
        Ok(())
    })
    .await;
    assert!(publish.contains("ACCESS_REFUSED"), "publish: {publish:?}");
    let declare = refusal(async {
        let channel = as_bet_maker.create_channel().await?;
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
    })
    .await;
    assert!(declare.contains("ACCESS_REFUSED"), "declare: {declare:?}");

    // line-provider's user cannot read bet-maker's queue, nor make a queue.
    let as_line_provider = lapin_connect(&line_provider_url).await;
    let read = refusal(async {
        let channel = as_line_provider.create_channel().await?;
        channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await?;
        Ok(())
    })
    .await;
    assert!(read.contains("ACCESS_REFUSED"), "read: {read:?}");
    let own_queue = refusal(async {
        let channel = as_line_provider.create_channel().await?;
        channel
            .queue_declare(
                format!("{exchange}.spy").as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    })
    .await;
    assert!(own_queue.contains("ACCESS_REFUSED"), "queue: {own_queue:?}");

    // Both may declare and publish to the alerts exchange: bet-maker
    // alerts a message another user published (the test's own, as guest)...
    let mut alerts = cluster.alerts().await;
    cluster
        .broker
        .publish("event.updated", b"{}")
        .await
        .unwrap_or_else(|e| panic!("publishing as guest: {e}"));
    let alert = alerts
        .wait_for("forged_message", PATIENCE)
        .await
        .unwrap_or_else(|| panic!("bet-maker's user published no alert"));
    assert_eq!(alert["details"]["reason"], "wrong_publisher", "{alert}");
    // ... and line-provider's user can do what its alert publisher does.
    let alerting = refusal(async {
        let channel = as_line_provider.create_channel().await?;
        declare_alerts_exchange(&channel, &alerts_exchange(&exchange)).await?;
        channel
            .basic_publish(
                alerts_exchange(&exchange).as_str().into(),
                "".into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await?;
        channel.close(200, "done".into()).await
    })
    .await;
    assert_eq!(alerting, "", "line-provider's user cannot alert");

    let _ = (
        as_bet_maker.close(200, "done".into()).await,
        as_line_provider.close(200, "done".into()).await,
    );
    // The one refused message, dead-lettered (just after its alert).
    eventually("the refused message in the DLQ", PATIENCE, || async {
        (cluster.depth(&cluster.dead_letter_queue).await == 1).then_some(())
    })
    .await;
    cluster.stop().await;
    drop(users);
}

async fn lapin_connect(url: &str) -> Connection {
    shared_kernel::amqp::connect(url, "least-privilege-test")
        .await
        .unwrap_or_else(|e| panic!("connecting as {url}: {e}"))
}
