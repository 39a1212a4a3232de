//! `WatchEvents` with a real tonic client against the running service:
//! every kind of change in order with the event after it, resuming from a
//! position while changes commit concurrently (none missed, none twice), a
//! change that commits after a later one, a malformed position, and the
//! stream ending when the service stops.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use shared_kernel::proto::line::v1::{
    ChangeKind, EventChange, EventStatus, UpdateEventRequest, WatchEventsRequest,
};
use support::grpc::{
    LineClient, create_with, line_client, set_status, violated_fields, with_token,
};
use support::{TOKEN, TestApp};
use tonic::{Code, Streaming};

const PATIENCE: Duration = Duration::from_secs(20);

fn from(after: &str) -> WatchEventsRequest {
    WatchEventsRequest {
        after: after.to_owned(),
        from_now: false,
    }
}

async fn watch(client: &mut LineClient, request: WatchEventsRequest) -> Streaming<EventChange> {
    client
        .watch_events(request)
        .await
        .unwrap_or_else(|e| panic!("WatchEvents: {e}"))
        .into_inner()
}

/// The next change on `stream`, failing the test if none comes in time.
async fn next(stream: &mut Streaming<EventChange>) -> EventChange {
    match tokio::time::timeout(PATIENCE, stream.message()).await {
        Ok(Ok(Some(change))) => change,
        Ok(Ok(None)) => panic!("the watch stream ended"),
        Ok(Err(status)) => panic!("the watch stream failed: {status:?}"),
        Err(_) => panic!("no change within {PATIENCE:?}"),
    }
}

/// A position's parts, to check that positions only grow (clients treat
/// them as opaque).
fn parts(position: &str) -> (u64, i64) {
    position
        .split_once('.')
        .and_then(|(xid, id)| Some((xid.parse().ok()?, id.parse().ok()?)))
        .unwrap_or_else(|| panic!("not a position: {position:?}"))
}

async fn update(client: &mut LineClient, id: &str, coefficient: &str) {
    let request = UpdateEventRequest {
        id: id.to_owned(),
        coefficient: Some(coefficient.to_owned()),
        ..UpdateEventRequest::default()
    };
    client
        .update_event(with_token(request, TOKEN))
        .await
        .unwrap_or_else(|e| panic!("UpdateEvent: {e}"));
}

async fn finish(client: &mut LineClient, id: &str, status: EventStatus) {
    client
        .set_event_status(with_token(set_status(id, status), TOKEN))
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"));
}

#[tokio::test]
async fn every_change_arrives_in_order_with_the_event_after_it() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let mut everything = watch(&mut client, from("")).await;
    let first = create_with(&mut client, TOKEN, "1.85").await;
    let mut live = watch(
        &mut client,
        WatchEventsRequest {
            from_now: true,
            ..from("")
        },
    )
    .await;

    update(&mut client, &first.id, "2.10").await;
    finish(&mut client, &first.id, EventStatus::FinishedWin).await;
    let second = create_with(&mut client, TOKEN, "3.00").await;
    finish(&mut client, &second.id, EventStatus::Cancelled).await;

    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut everything).await);
    }
    let summary: Vec<_> = seen
        .iter()
        .map(|change| {
            let event = change.event.clone().unwrap_or_default();
            let status = event.status();
            (
                change.kind(),
                event.id,
                event.coefficient,
                status,
                event.version,
            )
        })
        .collect();
    let (a, b) = (first.id.clone(), second.id.clone());
    assert_eq!(
        summary,
        [
            (
                ChangeKind::Created,
                a.clone(),
                "1.85".to_owned(),
                EventStatus::New,
                1
            ),
            (
                ChangeKind::Updated,
                a.clone(),
                "2.10".to_owned(),
                EventStatus::New,
                2
            ),
            (
                ChangeKind::Finished,
                a,
                "2.10".to_owned(),
                EventStatus::FinishedWin,
                3
            ),
            (
                ChangeKind::Created,
                b.clone(),
                "3.00".to_owned(),
                EventStatus::New,
                1
            ),
            (
                ChangeKind::Cancelled,
                b,
                "3.00".to_owned(),
                EventStatus::Cancelled,
                2
            ),
        ]
    );
    assert_eq!(
        seen[0].event.as_ref(),
        Some(&first),
        "the event as CreateEvent returned it"
    );
    let positions: Vec<_> = seen.iter().map(|change| parts(&change.position)).collect();
    assert!(positions.is_sorted_by(|a, b| a < b), "{positions:?}");
    let message_ids: BTreeSet<_> = seen
        .iter()
        .map(|change| change.message_id.clone())
        .collect();
    assert_eq!(
        message_ids.len(),
        5,
        "one message per change: {message_ids:?}"
    );

    // From now: every change made after the call, in order. The start is
    // the oldest transaction still running on the whole server, so while
    // other tests write, the change committed just before the call may
    // come first (as the .proto says); none other can.
    let mut from_now = next(&mut live).await;
    if from_now.position == seen[0].position {
        from_now = next(&mut live).await;
    }
    let mut after_the_call = vec![from_now.position];
    for _ in 0..3 {
        after_the_call.push(next(&mut live).await.position);
    }
    let later: Vec<_> = seen[1..]
        .iter()
        .map(|change| change.position.clone())
        .collect();
    assert_eq!(
        after_the_call, later,
        "a watcher from now gets every change made after the call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_resuming_from_its_position_misses_nothing_while_writers_race() {
    let app = TestApp::spawn().await;
    let mut watcher = line_client(&app.grpc_url()).await;
    let (writers, events_each) = (6, 8);
    let expected = writers * events_each * 3;
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let url = app.grpc_url();
            tokio::spawn(async move {
                let mut client = line_client(&url).await;
                for _ in 0..events_each {
                    let event = create_with(&mut client, TOKEN, "1.50").await;
                    update(&mut client, &event.id, "1.75").await;
                    finish(&mut client, &event.id, EventStatus::FinishedLose).await;
                }
            })
        })
        .collect();

    // Reconnects every 7 changes, from the last position received.
    let mut received: Vec<EventChange> = Vec::new();
    while received.len() < expected {
        let after = received
            .last()
            .map(|c| c.position.clone())
            .unwrap_or_default();
        let mut stream = watch(&mut watcher, from(&after)).await;
        for _ in 0..7.min(expected - received.len()) {
            received.push(next(&mut stream).await);
        }
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("a writer failed: {e}"));
    }

    let ids: Vec<String> = received.iter().map(|c| c.message_id.clone()).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no change twice");
    let rows = app
        .db
        .connection
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT message_id::text AS id FROM outbox",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the outbox: {e}"));
    let committed: BTreeSet<String> = rows
        .iter()
        .map(|row| row.try_get("", "id").unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(unique, committed, "every committed change, none missed");
    let positions: Vec<_> = received.iter().map(|c| parts(&c.position)).collect();
    assert!(positions.is_sorted_by(|a, b| a < b), "positions only grow");
    let mut versions: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for change in &received {
        let event = change.event.clone().unwrap_or_default();
        versions.entry(event.id).or_default().push(event.version);
    }
    assert!(
        versions.values().all(|seen| seen == &[1, 2, 3]),
        "each event's changes in order: {versions:?}"
    );
}

#[tokio::test]
async fn a_change_that_commits_after_a_later_one_is_not_skipped() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let mut stream = watch(&mut client, from("")).await;
    create_with(&mut client, TOKEN, "1.85").await;
    let first = next(&mut stream).await;

    // Another transaction (a replica's, say) takes the next outbox id and
    // stays open while a later change commits.
    let slow = app
        .db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("BEGIN: {e}"));
    let announced = slow
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "WITH fresh AS (SELECT gen_random_uuid() AS id)
             INSERT INTO outbox (message_id, routing_key, payload, occurred_at)
             SELECT fresh.id, routing_key,
                    jsonb_set(payload, '{message_id}', to_jsonb(fresh.id::text)), occurred_at
             FROM outbox, fresh ORDER BY outbox.id LIMIT 1
             RETURNING message_id::text AS id",
        ))
        .await
        .unwrap_or_else(|e| panic!("the slow insert: {e}"))
        .and_then(|row| row.try_get::<String>("", "id").ok())
        .unwrap_or_else(|| panic!("the slow insert returned no id"));
    let later = create_with(&mut client, TOKEN, "2.00").await;
    slow.commit()
        .await
        .unwrap_or_else(|e| panic!("COMMIT: {e}"));

    let (second, third) = (next(&mut stream).await, next(&mut stream).await);
    assert_eq!(second.message_id, announced, "the slow change in its place");
    assert_eq!(third.event.map(|e| e.id), Some(later.id));
    assert!(parts(&first.position) < parts(&second.position));
    assert!(parts(&second.position) < parts(&third.position));
}

#[tokio::test]
async fn a_malformed_position_is_an_invalid_argument_naming_it() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;

    for (request, field) in [
        (from("not-a-position"), "after"),
        (from("12"), "after"),
        (from("-1.5"), "after"),
        // Positions it never returned: no transaction or outbox row is 0.
        (from("0.0"), "after"),
        (from("07.1"), "after"),
        (
            WatchEventsRequest {
                from_now: true,
                ..from("12.5")
            },
            "from_now",
        ),
    ] {
        let status = match client.watch_events(request.clone()).await {
            Ok(_) => panic!("{request:?} was accepted"),
            Err(status) => status,
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), [field], "{request:?}");
    }
}

#[tokio::test]
async fn a_watch_stream_ends_cleanly_when_the_service_stops() {
    let mut app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let mut stream = watch(&mut client, from("")).await;
    create_with(&mut client, TOKEN, "1.85").await;
    next(&mut stream).await;

    // Fails the test if the gRPC server waits on the stream past the grace.
    app.stop().await;

    let end = tokio::time::timeout(PATIENCE, stream.message()).await;
    assert!(matches!(end, Ok(Ok(None))), "{end:?}");
}

#[tokio::test]
async fn suspensions_resumptions_and_corrections_arrive_with_the_reason() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let mut stream = watch(&mut client, from("")).await;
    let event = create_with(&mut client, TOKEN, "1.85").await;

    finish(&mut client, &event.id, EventStatus::Suspended).await;
    finish(&mut client, &event.id, EventStatus::New).await;
    finish(&mut client, &event.id, EventStatus::FinishedWin).await;
    let correction = shared_kernel::proto::line::v1::CorrectEventRequest {
        id: event.id.clone(),
        status: EventStatus::FinishedLose.into(),
        reason: "VAR overturned the goal".to_owned(),
        expected_version: None,
    };
    client
        .correct_event(with_token(correction, TOKEN))
        .await
        .unwrap_or_else(|e| panic!("CorrectEvent: {e}"));

    let mut seen = Vec::new();
    for _ in 0..5 {
        let change = next(&mut stream).await;
        let event = change.event.clone().unwrap_or_default();
        seen.push((
            change.kind(),
            event.status(),
            event.version,
            change.reason.clone(),
        ));
    }
    assert_eq!(
        seen,
        [
            (ChangeKind::Created, EventStatus::New, 1, String::new()),
            (
                ChangeKind::Suspended,
                EventStatus::Suspended,
                2,
                String::new()
            ),
            (ChangeKind::Resumed, EventStatus::New, 3, String::new()),
            (
                ChangeKind::Finished,
                EventStatus::FinishedWin,
                4,
                String::new()
            ),
            (
                ChangeKind::Corrected,
                EventStatus::FinishedLose,
                5,
                "VAR overturned the goal".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_position_beyond_the_log_s_end_is_an_invalid_argument_naming_after() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    create_with(&mut client, TOKEN, "1.85").await;
    let current: String = app
        .db
        .connection
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_current_xact_id()::text AS xid",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the current transaction id: {e}"))
        .and_then(|row| row.try_get("", "xid").ok())
        .unwrap_or_else(|| panic!("no transaction id"));
    let current: u64 = current
        .parse()
        .unwrap_or_else(|e| panic!("{current:?}: {e}"));

    for after in [
        "18446744073709551615.1".to_owned(),
        format!("{}.1", current + 1_000_000),
    ] {
        // Today such a stream is accepted and waits for ever: bounded here.
        let answer = tokio::time::timeout(PATIENCE, client.watch_events(from(&after))).await;
        let status = match answer {
            Ok(Ok(_)) => panic!("{after} was accepted"),
            Ok(Err(status)) => status,
            Err(_) => panic!("no answer to {after} within {PATIENCE:?}"),
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), ["after"], "{after}");
        assert!(
            status.message().contains("end of the change log"),
            "{status:?}"
        );
    }

    // A position inside the log still starts a stream, which goes on
    // after it (here: from before the first change).
    let mut stream = watch(&mut client, from("1.1")).await;
    let first = next(&mut stream).await;
    assert_eq!(first.kind(), ChangeKind::Created);
}

#[tokio::test]
async fn a_watcher_that_reads_nothing_during_a_burst_then_gets_every_change_in_order() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    create_with(&mut client, TOKEN, "1.85").await;
    let mut stream = watch(&mut client, from("")).await;
    let first = next(&mut stream).await;
    let counter = |metrics: &str, name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    };
    let before = app.metrics().await;
    let broadcast = counter(&before, "watch_feed_broadcast_total");

    // Reading nothing while far more changes than the tail keeps commit at
    // once (the feed's unit tests make sure the watcher is live by then).
    let copies = 3_000;
    app.db
        .connection
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "INSERT INTO outbox (message_id, routing_key, payload, occurred_at)
                 SELECT fresh.id, routing_key,
                        jsonb_set(payload, '{{message_id}}', to_jsonb(fresh.id::text)), occurred_at
                 FROM outbox, LATERAL (SELECT gen_random_uuid() AS id
                                       FROM generate_series(1, {copies})) AS fresh"
            ),
        ))
        .await
        .unwrap_or_else(|e| panic!("committing {copies} changes: {e}"));
    shared_kernel::testing::eventually("the tail broadcast the burst", PATIENCE, || async {
        let now = counter(&app.metrics().await, "watch_feed_broadcast_total");
        (now >= broadcast + copies as u64).then_some(())
    })
    .await;

    let mut seen = vec![first];
    for _ in 0..copies {
        seen.push(next(&mut stream).await);
    }
    let ids: BTreeSet<_> = seen.iter().map(|c| c.message_id.clone()).collect();
    assert_eq!(ids.len(), copies + 1, "none twice, none missed");
    let positions: Vec<_> = seen.iter().map(|c| parts(&c.position)).collect();
    assert!(positions.is_sorted_by(|a, b| a < b), "in log order");
}
