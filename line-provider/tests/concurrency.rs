//! Operators changing one event at the same time: the changes take turns,
//! none is lost, none answers 500, and each is announced exactly once.

mod support;

use std::collections::{BTreeMap, HashSet};

use line_provider::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::TestApp;

const CONCURRENT: usize = 200;

/// The test is one client sending [`CONCURRENT`] requests at once, past a
/// client's default connection cap (`HTTP_MAX_CONNECTIONS_PER_CLIENT`,
/// which would answer the rest 429): here the operator may have them all.
fn room_for_every_request(config: &mut Config) {
    config.http.max_connections_per_client = u32::try_from(CONCURRENT).unwrap_or(u32::MAX);
}

/// Which change a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Patch,
    Win,
    Lose,
}

/// What the concurrent requests got: status codes and the bodies.
async fn send_all(
    requests: impl Iterator<Item = reqwest::RequestBuilder>,
) -> Vec<(StatusCode, Value)> {
    futures_util::future::join_all(requests.map(|request| async move {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending a change: {e}"));
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }))
    .await
}

fn tally(responses: &[(StatusCode, Value)]) -> BTreeMap<u16, usize> {
    let mut tally = BTreeMap::new();
    for (status, _) in responses {
        *tally.entry(status.as_u16()).or_default() += 1;
    }
    tally
}

fn versions_of(responses: &[(StatusCode, Value)]) -> Vec<i64> {
    responses
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| {
            body["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("a 200 without a version: {body}"))
        })
        .collect()
}

/// The versions the outbox announces for event `id`, one entry per row.
async fn announced_versions(app: &TestApp, id: &str) -> Vec<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let connection = &app.db.connection;
    let sql = format!(
        "SELECT (payload->'data'->>'version')::bigint FROM outbox \
         WHERE payload->'data'->>'id' = '{id}' ORDER BY id"
    );
    connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            sql.clone(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            row.try_get_by_index::<i64>(0)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
        .collect()
}

/// The final version, every answered version distinct, and one message
/// per version from 1 to the final one.
async fn assert_one_version_per_change(app: &TestApp, id: &str, answered: &[i64]) -> i64 {
    let distinct: HashSet<_> = answered.iter().collect();
    assert_eq!(
        distinct.len(),
        answered.len(),
        "two 200s carried the same version: {answered:?}"
    );
    let event = app.get_json(&format!("/events/{id}")).await;
    let last = event["version"].as_i64().unwrap_or_default();
    let mut announced = announced_versions(app, id).await;
    announced.sort_unstable();
    assert_eq!(
        announced,
        (1..=last).collect::<Vec<_>>(),
        "the outbox should hold exactly one message per version"
    );
    last
}

#[tokio::test]
async fn two_hundred_concurrent_patches_all_apply_in_turn_without_a_5xx() {
    let app = TestApp::spawn_with(room_for_every_request).await;
    let event = app.create_event("1.50").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    // Every request moves the odds somewhere else: each is a real change.
    let requests = (0..CONCURRENT).map(|i| {
        let coefficient = format!("{}.{:02}", 2 + i / 100, i % 100);
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "coefficient": coefficient }))
    });

    let responses = send_all(requests).await;

    let tally = tally(&responses);
    assert_eq!(
        tally,
        BTreeMap::from([(200, CONCURRENT)]),
        "every change should apply (status: count)"
    );
    let answered = versions_of(&responses);
    let last = assert_one_version_per_change(&app, &id, &answered).await;
    assert_eq!(last, 1 + CONCURRENT as i64, "one version per change");
}

#[tokio::test]
async fn concurrent_results_and_patches_settle_on_one_result_without_a_5xx() {
    let app = TestApp::spawn_with(room_for_every_request).await;
    let event = app.create_event("1.50").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    // Mostly patches, and now and then one of the two results, all at once.
    let kind = |i: usize| match i % 10 {
        4 => Kind::Win,
        9 => Kind::Lose,
        _ => Kind::Patch,
    };
    let requests = (0..CONCURRENT).map(|i| match kind(i) {
        Kind::Win => app
            .operator(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": "FINISHED_WIN" })),
        Kind::Lose => app
            .operator(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": "FINISHED_LOSE" })),
        Kind::Patch => app
            .operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "coefficient": format!("{}.{:02}", 2 + i / 100, i % 100) })),
    });
    let kinds: Vec<Kind> = (0..CONCURRENT).map(kind).collect();

    let responses = send_all(requests).await;

    let tally = tally(&responses);
    assert!(
        tally.keys().all(|status| [200, 409].contains(status)),
        "only 200 and 409 expected (status: count): {tally:?}"
    );
    let event = app.get_json(&format!("/events/{id}")).await;
    let result = event["status"].as_str().unwrap_or_default().to_owned();
    assert!(result.starts_with("FINISHED_"), "{event}");
    let applied_patches = responses
        .iter()
        .zip(&kinds)
        .filter(|((status, _), kind)| **kind == Kind::Patch && *status == StatusCode::OK)
        .count();
    for ((status, body), kind) in responses.iter().zip(&kinds) {
        if *kind != Kind::Patch && *status == StatusCode::OK {
            assert_eq!(
                body["status"],
                result.as_str(),
                "a 200 for the other result"
            );
        }
    }
    let patch_versions: Vec<i64> = responses
        .iter()
        .zip(&kinds)
        .filter(|(_, kind)| **kind == Kind::Patch)
        .filter(|((status, _), _)| *status == StatusCode::OK)
        .filter_map(|((_, body), _)| body["version"].as_i64())
        .collect();
    let last = assert_one_version_per_change(&app, &id, &patch_versions).await;
    assert_eq!(
        last,
        1 + applied_patches as i64 + 1,
        "creation, each applied patch, and one result"
    );
}

#[tokio::test]
async fn concurrent_patches_through_two_replicas_take_turns_at_the_row_lock() {
    let app = TestApp::spawn_with(room_for_every_request).await;
    let replica = app.start_replica_with(room_for_every_request).await;
    let replica_url = format!("http://{}", replica.address());
    let event = app.create_event("1.50").await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    // Each replica queues only its own requests in memory: between the
    // two, only the row lock keeps the changes in turn.
    let requests = (0..CONCURRENT).map(|i| {
        let base = if i % 2 == 0 {
            &app.base_url
        } else {
            &replica_url
        };
        app.client
            .patch(format!("{base}/events/{id}"))
            .bearer_auth(support::TOKEN)
            .json(&json!({ "coefficient": format!("{}.{:02}", 2 + i / 100, i % 100) }))
    });

    let responses = send_all(requests).await;

    assert_eq!(
        tally(&responses),
        BTreeMap::from([(200, CONCURRENT)]),
        "every change should apply (status: count)"
    );
    let answered = versions_of(&responses);
    let last = assert_one_version_per_change(&app, &id, &answered).await;
    assert_eq!(last, 1 + CONCURRENT as i64, "one version per change");
    replica.stop().await.unwrap_or_else(|e| panic!("{e:#}"));
}
