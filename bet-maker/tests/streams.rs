//! The live streams against the real app, database and broker: every
//! change in order with its payload, a reconnect that gets exactly what it
//! missed, a reset when that is too old, every replica streaming every
//! change, each bettor only their own, a stalled client dropped while the
//! others go on, and the streams ending when the service stops.

mod support;

use std::time::Duration;

use bet_maker::domain::{LineEvent, LineEventStatus};
use chrono::Utc;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{EventStream, SseMessage, TestBroker, eventually, expect_problem};
use support::{TestApp, line_event, message_for, token_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATIENCE: Duration = Duration::from_secs(20);

/// A client without the app client's overall timeout: a stream may last.
fn stream_client() -> reqwest::Client {
    reqwest::Client::new()
}

fn events_stream(app: &TestApp) -> RequestBuilder {
    stream_client().get(app.url("/events/stream"))
}

fn bets_stream(app: &TestApp, bettor: &str) -> RequestBuilder {
    stream_client()
        .get(app.url("/bets/stream"))
        .bearer_auth(token_for(bettor))
}

/// An hour from now, to the second (as stored and sent back).
fn in_an_hour() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    (Utc::now() + chrono::Duration::hours(1)).trunc_subsecs(0)
}

/// Seeds an open event (as the consumer would store it), closing in an
/// hour.
async fn open_event(app: &TestApp, coefficient: &str) -> LineEvent {
    let event = line_event(coefficient, in_an_hour(), LineEventStatus::New, 1);
    app.seed_event(&event).await;
    event
}

/// `event` at its next version with these changes.
fn next(event: &LineEvent, coefficient: &str, status: LineEventStatus) -> LineEvent {
    line_event(coefficient, event.deadline, status, event.version + 1).with_id(event.id)
}

trait WithId {
    fn with_id(self, id: uuid::Uuid) -> Self;
}

impl WithId for LineEvent {
    fn with_id(mut self, id: uuid::Uuid) -> Self {
        self.id = id;
        self
    }
}

/// The `line` message expected for `event`.
fn line_data(event: &LineEvent) -> Value {
    let status = match event.status {
        LineEventStatus::New => "NEW",
        LineEventStatus::Suspended => "SUSPENDED",
        LineEventStatus::FinishedWin => "FINISHED_WIN",
        LineEventStatus::FinishedLose => "FINISHED_LOSE",
        LineEventStatus::Cancelled => "CANCELLED",
    };
    json!({
        "id": event.id,
        "coefficient": format!("{:.2}", event.coefficient),
        "deadline": event.deadline.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "status": status,
        "version": event.version,
    })
}

async fn next_line(stream: &mut EventStream, what: &str) -> SseMessage {
    let message = stream.next_within(PATIENCE, what).await;
    assert_eq!(message.event, "line", "{what}: {message:?}");
    message
}

/// Positions are whole numbers that grow along the stream.
fn position(message: &SseMessage) -> i64 {
    message
        .id
        .as_deref()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{message:?} has no position"))
}

#[tokio::test]
async fn a_subscriber_sees_create_update_finish_and_cancel_in_order() {
    let app = TestApp::spawn().await;
    let mut stream = EventStream::expect(events_stream(&app)).await;

    let created = line_event("1.85", in_an_hour(), LineEventStatus::New, 1);
    let updated = next(&created, "2.10", LineEventStatus::New);
    let finished = next(&updated, "2.10", LineEventStatus::FinishedWin);
    let other = line_event("3.00", in_an_hour(), LineEventStatus::New, 1);
    let cancelled = next(&other, "3.00", LineEventStatus::Cancelled);
    for (kind, event) in [
        (LineEventKind::Created, &created),
        (LineEventKind::Updated, &updated),
        (LineEventKind::Finished, &finished),
        (LineEventKind::Created, &other),
        (LineEventKind::Cancelled, &cancelled),
    ] {
        app.publish(&message_for(kind, event)).await;
        app.until_version(event.id, event.version).await;
    }

    let mut last = 0;
    for expected in [&created, &updated, &finished, &other, &cancelled] {
        let message = next_line(&mut stream, "the next change").await;
        assert_eq!(message.json(), line_data(expected));
        assert!(position(&message) > last, "positions grow: {message:?}");
        last = position(&message);
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed_while_changes_keep_coming() {
    let app = TestApp::spawn().await;
    let mut seen: Vec<(i64, Value)> = Vec::new();
    let mut stream = EventStream::expect(events_stream(&app)).await;
    // Changes keep being made, through the consumer's own store, while
    // the client drops and reconnects three times.
    let writer = {
        let db = app.db.connection.clone();
        tokio::spawn(async move {
            let repository = bet_maker::infrastructure::persistence::SeaOrmLineRepository::new(db);
            let mut written = Vec::new();
            for round in 0..60 {
                let mut event = line_event("1.50", in_an_hour(), LineEventStatus::New, 1);
                for version in 1..=2 {
                    event.version = version;
                    event.coefficient = rust_decimal::Decimal::new(150 + round, 2);
                    bet_maker::application::ports::LineRepository::apply_snapshot(
                        &repository,
                        &event,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("writing a change: {e}"));
                    written.push(line_data(&event));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            written
        })
    };
    for _ in 0..3 {
        for _ in 0..10 {
            let message = next_line(&mut stream, "a change").await;
            seen.push((position(&message), message.json()));
        }
        let last = seen.last().map(|(p, _)| p.to_string()).unwrap_or_default();
        drop(stream);
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream = EventStream::expect(events_stream(&app).header("Last-Event-ID", last)).await;
    }
    let written = writer.await.unwrap_or_else(|e| panic!("the writer: {e}"));
    while seen.len() < written.len() {
        let message = next_line(&mut stream, "the rest of the changes").await;
        seen.push((position(&message), message.json()));
    }

    let positions: Vec<i64> = seen.iter().map(|(p, _)| *p).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "no duplicate, nothing out of order: {positions:?}"
    );
    let payloads: Vec<Value> = seen.into_iter().map(|(_, data)| data).collect();
    assert_eq!(payloads, written, "every change, once, in order");
}

#[tokio::test]
async fn an_id_older_than_the_retention_gets_a_reset_then_live_changes() {
    let app = TestApp::spawn_with(|config| config.streams.retention_secs = 1).await;
    let mut stream = EventStream::expect(events_stream(&app)).await;
    let old = open_event(&app, "1.50").await;
    let first = next_line(&mut stream, "the first change").await;
    assert_eq!(first.json()["id"], json!(old.id));
    drop(stream);
    let gone = format!(
        "SELECT count(*) FROM change_feed WHERE position = {}",
        position(&first)
    );
    eventually(
        "the change forgotten past the retention",
        PATIENCE,
        || async { (app.count(&gone).await == 0).then_some(()) },
    )
    .await;

    let mut stream = EventStream::expect(
        events_stream(&app).header("Last-Event-ID", position(&first).to_string()),
    )
    .await;
    let reset = stream.next_within(PATIENCE, "a reset").await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, None, "a reset moves no client's position");
    assert_eq!(reset.json()["reason"], "too-old");
    let fresh = open_event(&app, "2.50").await;
    let message = next_line(&mut stream, "a live change after the reset").await;
    assert_eq!(message.json(), line_data(&fresh));
}

#[tokio::test]
async fn a_last_event_id_no_stream_sent_is_a_problem() {
    let app = TestApp::spawn_unfunded().await;
    for bad in ["yesterday", "-3", "0", "1.5"] {
        let response = events_stream(&app)
            .header("Last-Event-ID", bad)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "Last-Event-ID", "{bad}");
    }
}

#[tokio::test]
async fn the_bet_stream_needs_a_token() {
    let app = TestApp::spawn_unfunded().await;
    let response = stream_client()
        .get(app.url("/bets/stream"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    expect_problem(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_bettor_follows_their_bets_and_wallet_and_never_another_bettors() {
    let app = TestApp::spawn_unfunded().await;
    let event = open_event(&app, "1.85").await;
    let mut alice = EventStream::expect(bets_stream(&app, "alice")).await;
    let mut bob = EventStream::expect(bets_stream(&app, "bob")).await;

    app.deposit_as("alice", "100.00").await;
    let response = app.place_bet(event.id, "10.00").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let finished = next(&event, "1.85", LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;

    let mut got = Vec::new();
    for what in ["deposit", "stake", "bet placed", "payout", "bet settled"] {
        let message = alice.next_within(PATIENCE, what).await;
        got.push((message.event.clone(), message.json()));
    }
    let wallets: Vec<&Value> = got
        .iter()
        .filter(|(kind, _)| kind == "wallet")
        .map(|(_, data)| &data["balance"])
        .collect();
    assert_eq!(
        wallets,
        [&json!("100.00"), &json!("90.00"), &json!("108.50")]
    );
    let bets: Vec<(&Value, Option<&Value>)> = got
        .iter()
        .filter(|(kind, _)| kind == "bet")
        .map(|(_, data)| (&data["status"], data.get("payout")))
        .collect();
    assert_eq!(
        bets,
        [
            (&json!("PENDING"), None),
            (&json!("WON"), Some(&json!("18.50")))
        ]
    );
    let bet = got
        .iter()
        .rev()
        .find_map(|(kind, data)| (kind == "bet").then_some(data))
        .unwrap_or_else(|| panic!("no bet in {got:?}"));
    assert_eq!(bet["event_id"], json!(event.id));
    assert_eq!(bet["amount"], "10.00");

    // Bob's first message is his own deposit: nothing of alice's came
    // before it.
    app.deposit_as("bob", "5.00").await;
    let first = bob.next_within(PATIENCE, "bob's deposit").await;
    assert_eq!(
        (first.event.as_str(), first.json()),
        ("wallet", json!({"balance": "5.00", "currency": "EUR"}))
    );
}

/// A settlement of more bets than the feed writes a document each for (100)
/// names them instead, at most 32 a row: the bettor's stream still shows
/// every bet settled, one message each, and only a group's last message
/// has an id, so a client cut off inside a group gets all of it again.
#[tokio::test]
async fn a_large_settlement_reaches_the_bettor_a_message_per_bet_in_resumable_groups() {
    const BETS: usize = 120;
    let app = TestApp::spawn_unfunded().await;
    let event = open_event(&app, "1.85").await;
    app.deposit_as("alice", "1000.00").await;
    for _ in 0..BETS {
        let response = app.place_bet(event.id, "1.00").await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut alice = EventStream::expect(bets_stream(&app, "alice")).await;
    let finished = next(&event, "1.85", LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &finished))
        .await;

    let mut settled: Vec<SseMessage> = Vec::new();
    let mut wallet = None;
    while settled.len() < BETS || wallet.is_none() {
        let message = alice
            .next_within(PATIENCE, "the settled bets and the payout")
            .await;
        match message.event.as_str() {
            // The feed is read a moment behind its commits: the last
            // placements may come first.
            "bet" if message.json()["status"] == "PENDING" => {}
            "bet" => settled.push(message),
            // The stakes' movements too, before the payout's.
            "wallet" if message.json()["balance"] == "1102.00" => wallet = Some(message.json()),
            "wallet" => {}
            other => panic!("unexpected {other}: {message:?}"),
        }
        assert!(settled.len() <= BETS, "a bet twice: {settled:?}");
    }
    let payouts: Vec<(Value, Value)> = settled
        .iter()
        .map(|message| {
            (
                message.json()["status"].clone(),
                message.json()["payout"].clone(),
            )
        })
        .collect();
    assert_eq!(payouts, vec![(json!("WON"), json!("1.85")); BETS]);
    let mut ids: Vec<String> = settled
        .iter()
        .map(|message| message.json()["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), BETS, "every bet once");
    assert_eq!(
        wallet,
        Some(json!({"balance": "1102.00", "currency": "EUR"}))
    );
    let ends: Vec<usize> = settled
        .iter()
        .enumerate()
        .filter_map(|(index, message)| message.id.is_some().then_some(index))
        .collect();
    assert_eq!(
        ends,
        [31, 63, 95, 119],
        "groups of 32, an id at the end of each"
    );

    // Cut off inside the second group: the client's last id is the first
    // group's, and it gets the second group whole, and the rest.
    let first_group_end = position(&settled[31]);
    let mut resumed = EventStream::expect(
        bets_stream(&app, "alice").header("Last-Event-ID", first_group_end.to_string()),
    )
    .await;
    let mut again = Vec::new();
    while again.len() < BETS - 32 {
        let message = resumed
            .next_within(PATIENCE, "the bets after the first group")
            .await;
        if message.event == "bet" {
            again.push(message.json()["id"].clone());
        }
    }
    let rest: Vec<Value> = settled[32..]
        .iter()
        .map(|message| message.json()["id"].clone())
        .collect();
    assert_eq!(again, rest);
}

#[tokio::test]
async fn a_corrected_result_reaches_the_bettor_and_the_line_live() {
    let app = TestApp::spawn_unfunded().await;
    let event = open_event(&app, "2.00").await;
    app.deposit_as("alice", "100.00").await;
    let response = app.place_bet(event.id, "10.00").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let won = next(&event, "2.00", LineEventStatus::FinishedWin);
    app.publish(&message_for(LineEventKind::Finished, &won))
        .await;
    app.until_version(event.id, won.version).await;
    let mut alice = EventStream::expect(bets_stream(&app, "alice")).await;
    let mut line = EventStream::expect(events_stream(&app)).await;

    let lost = next(&won, "2.00", LineEventStatus::FinishedLose);
    app.publish(&message_for(LineEventKind::Corrected, &lost).with_reason("offside"))
        .await;

    // The stream may still bring the first settlement's changes (the
    // feed is read a moment behind its commits); the correction's follow.
    let mut lines = Vec::new();
    while lines.last() != Some(&line_data(&lost)) {
        lines.push(next_line(&mut line, "the corrected event").await.json());
        assert!(lines.len() <= 3, "{lines:?}");
    }
    let mut got = Vec::new();
    let corrected = |got: &[(String, Value)]| {
        let last = |kind: &str| {
            got.iter()
                .rev()
                .find(|(k, _)| k == kind)
                .map(|(_, d)| d.clone())
        };
        last("wallet").is_some_and(|w| w["balance"] == "90.00")
            && last("bet").is_some_and(|b| b["status"] == "LOST" && b["payout"] == "0.00")
    };
    while !corrected(&got) {
        let message = alice
            .next_within(PATIENCE, "the bet and wallet corrected")
            .await;
        got.push((message.event.clone(), message.json()));
        // At most every change of alice's since she began, when the feed
        // lags that far (a loaded machine): her deposit, stake and bet,
        // the settlement's bet and payout, the correction's bet and wallet.
        assert!(got.len() <= 7, "{got:?}");
    }
}

#[tokio::test]
async fn changes_applied_by_one_replica_reach_the_subscribers_of_another() {
    let a = TestApp::spawn_unfunded().await;
    // Replica B shares A's database but consumes from an exchange nobody
    // publishes to: every change it streams was applied by A.
    let mut quiet = TestBroker::new("bet-maker-b")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    quiet
        .declare_exchange()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (queue, _) = quiet.own_consumer_queues("bet-maker-b");
    let b = shared_kernel::testing::SpawnedApp::new(
        "bet-maker B",
        bet_maker::app::start(support::config(
            &a.db.url,
            &quiet.exchange,
            &queue,
            "http://127.0.0.1:9",
        ))
        .await,
    );
    b.wait_until_ready().await;
    let mut line_on_b = EventStream::expect(stream_client().get(b.url("/events/stream"))).await;
    let mut alice_on_b = EventStream::expect(
        stream_client()
            .get(b.url("/bets/stream"))
            .bearer_auth(token_for("alice")),
    )
    .await;

    let event = line_event("1.85", in_an_hour(), LineEventStatus::New, 1);
    a.publish(&message_for(LineEventKind::Created, &event))
        .await;
    a.deposit_as("alice", "20.00").await;

    let line = next_line(&mut line_on_b, "A's change on B").await;
    assert_eq!(line.json(), line_data(&event));
    let wallet = alice_on_b.next_within(PATIENCE, "A's deposit on B").await;
    assert_eq!(wallet.json()["balance"], "20.00");
}

/// A client that asks for the line stream and never reads, with a receive
/// buffer as small as the system allows.
async fn open_stalled_line_stream(app: &TestApp) -> tokio::net::TcpStream {
    let address = app
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .set_recv_buffer_size(1)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stalled = socket
        .connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stalled
        .write_all(b"GET /events/stream HTTP/1.1\r\nHost: bet-maker\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stalled
}

#[tokio::test]
async fn a_stalled_client_is_dropped_without_affecting_another() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.http.send_timeout = Duration::from_millis(500);
    })
    .await;
    // Held open, unread, to the end of the test.
    let _stalled = open_stalled_line_stream(&app).await;
    let mut healthy = EventStream::expect(events_stream(&app)).await;
    eventually("both streams open", PATIENCE, || async {
        (streams_open(&app).await == 2).then_some(())
    })
    .await;

    // Changes in batches of 500 (one statement each, as a resync writes
    // them) until the stalled client's buffers are full and it is dropped.
    let mut written = 0;
    let mut read = 0;
    while streams_open(&app).await > 1 {
        assert!(written < 200_000, "the stalled client was never dropped");
        app.count(
            "WITH made AS (
                 INSERT INTO events (id, coefficient, deadline, status, version)
                 SELECT gen_random_uuid(), 1.50, now() + interval '1 day', 'NEW', 1
                 FROM generate_series(1, 500) RETURNING 1)
             SELECT count(*) FROM made",
        )
        .await;
        written += 500;
        while read < written {
            next_line(&mut healthy, "every change, on the healthy stream").await;
            read += 1;
        }
    }

    // The healthy client goes on.
    let event = open_event(&app, "4.00").await;
    let message = next_line(&mut healthy, "a change after the drop").await;
    assert_eq!(message.json(), line_data(&event));
}

/// `sse_streams_open{stream="events"}`, as `/metrics` says it.
async fn streams_open(app: &TestApp) -> i64 {
    let metrics = app
        .management(Method::GET, "/metrics")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("sse_streams_open{stream=\"events\"} "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as i64)
}

#[tokio::test]
async fn an_idle_stream_is_kept_alive_and_ends_when_the_service_stops() {
    let mut app = TestApp::spawn_unfunded_with(|config| {
        config.streams.keep_alive_secs = 1;
    })
    .await;
    let mut stream = EventStream::expect(events_stream(&app)).await;
    let keep_alive = tokio::time::timeout(PATIENCE, stream.next_comment()).await;
    assert_eq!(keep_alive, Ok(true), "a keep-alive comment");

    let stopped = tokio::time::timeout(PATIENCE, app.stop());
    let (stopped, ended) = tokio::join!(stopped, stream.ends_within(PATIENCE));
    stopped.unwrap_or_else(|_| panic!("the service did not stop with a stream open"));
    ended.unwrap_or_else(|e| panic!("the stream on stop: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_is_dropped_once_its_unsent_bytes_pass_the_bound() {
    let bound: u32 = 32 * 1024;
    let app = TestApp::spawn_unfunded_with(|config| {
        config.http.stream_max_unsent_bytes = bound;
        // Far beyond the test: only the bound can drop the client in time.
        config.http.send_timeout = Duration::from_secs(300);
    })
    .await;
    let mut stalled = open_stalled_line_stream(&app).await;
    let mut healthy = EventStream::expect(events_stream(&app)).await;
    // Both streams are live once a change reaches the healthy one... and
    // the stalled one has had time to ask for its own.
    let first = open_event(&app, "1.50").await;
    assert_eq!(
        next_line(&mut healthy, "the first change").await.json()["id"],
        json!(first.id)
    );

    // Batches of changes, each read by the healthy client as it comes,
    // until more than twice the bound went to the one that reads nothing.
    let changes = 500;
    for _ in 0..changes / 100 {
        app.count(
            "WITH made AS (
                 INSERT INTO events (id, coefficient, deadline, status, version)
                 SELECT gen_random_uuid(), 1.50, now() + interval '1 day', 'NEW', 1
                 FROM generate_series(1, 100) RETURNING 1)
             SELECT count(*) FROM made",
        )
        .await;
        for _ in 0..100 {
            next_line(&mut healthy, "every change, on the healthy stream").await;
        }
    }

    // The stalled client finds its stream cut off: what it can still read
    // ends well short of everything sent, and soon.
    let mut received = 0_usize;
    let mut buffer = [0_u8; 4096];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stalled.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stalled stream was still open, {received} bytes read"
    );
    assert!(
        received < changes * 100,
        "{received} bytes reached a client that read nothing"
    );

    // The healthy client goes on.
    let event = open_event(&app, "4.00").await;
    let message = next_line(&mut healthy, "a change after the drop").await;
    assert_eq!(message.json(), line_data(&event));
}
