//! Fault tests: both services as real processes against the real broker and
//! databases, faults injected by the test (connections cut through its own
//! proxies, processes killed), and then the books checked: nothing lost,
//! nothing twice.

use reqwest::StatusCode;
use serde_json::json;
use system_tests::cluster::Cluster;
use uuid::Uuid;

/// Places `count` bets of 10.00 through bet-maker replica 0; the accepted ids.
async fn bets(cluster: &Cluster, event_id: Uuid, count: usize) -> Vec<Uuid> {
    let mut accepted = Vec::new();
    for _ in 0..count {
        if let Some(bet) = cluster.place_bet(0, event_id, "10.00").await {
            accepted.push(bet);
        }
    }
    accepted
}

async fn new_event(cluster: &Cluster, coefficient: &str) -> Uuid {
    cluster
        .create_event(0, coefficient)
        .await
        .unwrap_or_else(|| panic!("line-provider refused to create an event"))
}

#[tokio::test]
async fn cutting_the_broker_connections_mid_stream_loses_nothing() {
    let cluster = Cluster::start(1, 1).await;
    let mut accepted = Vec::new();
    for round in 0..3 {
        let event = new_event(&cluster, "1.85").await;
        cluster.wait_until_known(event).await;
        accepted.extend(bets(&cluster, event, 10).await);

        cluster.line_providers[0].amqp.cut();
        cluster.bet_makers[0].amqp.cut();
        cluster
            .wait_for_readiness(&cluster.line_providers, StatusCode::SERVICE_UNAVAILABLE)
            .await;
        cluster
            .wait_for_readiness(&cluster.bet_makers, StatusCode::SERVICE_UNAVAILABLE)
            .await;

        // Cut off from the broker, both services still do what needs only
        // their database: line-provider commits changes (to its outbox),
        // bet-maker takes bets (on what it knows).
        new_event(&cluster, "2.10").await;
        let result = if round % 2 == 0 {
            "FINISHED_WIN"
        } else {
            "FINISHED_LOSE"
        };
        assert!(
            cluster.finish_event(0, event, result).await,
            "finishing while the broker is cut"
        );
        let during = bets(&cluster, event, 5).await;
        assert_eq!(during.len(), 5, "bets need no broker");
        accepted.extend(during);

        cluster.line_providers[0].amqp.restore();
        cluster.bet_makers[0].amqp.restore();
        cluster
            .wait_for_readiness(&cluster.line_providers, StatusCode::OK)
            .await;
        cluster
            .wait_for_readiness(&cluster.bet_makers, StatusCode::OK)
            .await;
    }
    cluster.check_the_books(&accepted).await;
    cluster.stop().await;
}

#[tokio::test]
async fn cutting_the_database_connections_loses_nothing_and_answers_503_meanwhile() {
    let cluster = Cluster::start(1, 1).await;
    let mut accepted = Vec::new();
    for _ in 0..2 {
        let event = new_event(&cluster, "1.50").await;
        cluster.wait_until_known(event).await;
        accepted.extend(bets(&cluster, event, 10).await);

        // bet-maker loses its database: requests fail fast with a problem
        // document, and the result that arrives meanwhile waits in the queue.
        cluster.bet_makers[0].database.cut();
        cluster
            .wait_for_readiness(&cluster.bet_makers, StatusCode::SERVICE_UNAVAILABLE)
            .await;
        let refused = cluster
            .client
            .post(format!("{}/bets", cluster.bet_makers[0].base_url()))
            .json(&json!({ "event_id": event, "amount": "1.00" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"));
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(cluster.finish_event(0, event, "FINISHED_WIN").await);

        // line-provider loses its database too: its writes are refused,
        // its relay pauses.
        cluster.line_providers[0].database.cut();
        cluster
            .wait_for_readiness(&cluster.line_providers, StatusCode::SERVICE_UNAVAILABLE)
            .await;
        assert_eq!(
            cluster.create_event(0, "3.00").await,
            None,
            "no event without a database"
        );

        cluster.line_providers[0].database.restore();
        cluster.bet_makers[0].database.restore();
        cluster
            .wait_for_readiness(&cluster.line_providers, StatusCode::OK)
            .await;
        cluster
            .wait_for_readiness(&cluster.bet_makers, StatusCode::OK)
            .await;
    }
    cluster.check_the_books(&accepted).await;
    cluster.stop().await;
}
