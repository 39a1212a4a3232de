//! What the services tell whoever runs them, with both running as real
//! processes: one trace of an operator's change across both services,
//! exported over OTLP to a receiver the test runs; warnings landing in
//! the error log file as JSON lines; and a drop of the broker logged as the
//! service's own warning, with no ERROR line of lapin's beside it.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::otlp::{OtlpReceiver, ReceivedSpan};
use shared_kernel::testing::{PATIENCE, eventually};
use system_tests::cluster::{BetAnswer, Cluster, OPERATOR_TOKEN, Settings};
use system_tests::expect_json;
use uuid::Uuid;

/// Export settings for a service: to `receiver`, in batches sent every
/// 100 ms rather than every 5 s, so the test does not wait for them.
fn exporting_to(receiver: &OtlpReceiver) -> Vec<(String, String)> {
    vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            receiver.endpoint(),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "100".to_owned()),
    ]
}

/// A W3C `traceparent` of a new trace, as an operator's tool would send it.
fn new_traceparent() -> (String, String, String) {
    let trace_id = Uuid::new_v4().simple().to_string();
    let span_id = format!("{:016x}", rand::random::<u64>().max(1));
    (format!("00-{trace_id}-{span_id}-01"), trace_id, span_id)
}

/// One attribute of a span, as text.
fn attribute<'a>(span: &'a ReceivedSpan, key: &str) -> Option<&'a str> {
    span.attributes.get(key).map(String::as_str)
}

/// The one span of `trace` named `name` from `service`.
fn span<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.service_name == service && span.name == name)
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!(
            "expected one {name} span from {service}, found {}: {spans:#?}",
            found.len()
        ),
    }
}

#[tokio::test]
async fn one_trace_shows_an_operators_change_from_the_request_to_the_settlement() {
    let receiver = OtlpReceiver::start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap_or_else(|e| panic!("OTLP receiver: {e}"));
    let cluster = Cluster::start_with(1, 1, |_, _| Settings {
        line_provider: exporting_to(&receiver),
        bet_maker: exporting_to(&receiver),
    })
    .await;
    let line_provider = cluster.line_providers[0].base_url();
    let exchange = cluster.broker.exchange.clone();
    let queue = cluster.queue.clone();

    // Create an event (a trace of its own), and bet on it.
    let (traceparent, created_trace, _) = new_traceparent();
    let response = cluster
        .client
        .post(format!("{line_provider}/events"))
        .bearer_auth(OPERATOR_TOKEN)
        .header("traceparent", &traceparent)
        .json(&json!({ "coefficient": "2.00", "deadline": chrono::Utc::now() + chrono::Duration::hours(1) }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /events: {e}"));
    let event = expect_json(response, StatusCode::CREATED).await;
    let event_id: Uuid = event["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {event}"));
    cluster.wait_until_known(event_id).await;
    let bet = match cluster.place_bet(0, event_id, "10.00").await {
        Ok(BetAnswer::Accepted(bet)) => bet,
        other => panic!("the bet was not taken: {other:?}"),
    };

    // Act: the operator finishes it, in a trace of the operator's tool.
    let (traceparent, trace_id, operator_span) = new_traceparent();
    let response = cluster
        .client
        .request(
            Method::PUT,
            format!("{line_provider}/events/{event_id}/status"),
        )
        .bearer_auth(OPERATOR_TOKEN)
        .header("traceparent", &traceparent)
        .json(&json!({ "status": "FINISHED_WIN" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT /events/{event_id}/status: {e}"));
    let answered = response
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    expect_json(response, StatusCode::OK).await;

    // Each service sends its spans in batches of its own: wait for all.
    let expected = [
        ("line-provider", "PUT /events/{id}/status".to_owned()),
        ("line-provider", "outbox insert".to_owned()),
        ("line-provider", format!("{exchange} publish")),
        ("bet-maker", format!("{queue} process")),
        ("bet-maker", "settle bets".to_owned()),
    ];
    let trace = eventually(
        "the spans of the trace to reach the receiver",
        PATIENCE,
        || async {
            let trace: Vec<ReceivedSpan> = receiver
                .spans()
                .into_iter()
                .filter(|span| span.trace_id == trace_id)
                .collect();
            expected
                .iter()
                .all(|(service, name)| {
                    trace
                        .iter()
                        .any(|span| span.service_name == *service && span.name == *name)
                })
                .then_some(trace)
        },
    )
    .await;

    let [request, outbox, publish, handled, settled] =
        expected.map(|(service, name)| span(&trace, service, &name));
    // Each is the child of the one before, across the broker too.
    assert_eq!(
        request.parent_span_id.as_deref(),
        Some(operator_span.as_str())
    );
    assert_eq!(request.kind, "server");
    assert_eq!(attribute(request, "http.response.status_code"), Some("200"));
    assert_eq!(answered, format!("00-{trace_id}-{}-01", request.span_id));
    assert_eq!(outbox.parent_span_id.as_ref(), Some(&request.span_id));
    assert_eq!(publish.parent_span_id.as_ref(), Some(&outbox.span_id));
    assert_eq!(publish.kind, "producer");
    assert_eq!(attribute(publish, "messaging.outcome"), Some("acked"));
    assert_eq!(handled.parent_span_id.as_ref(), Some(&publish.span_id));
    assert_eq!(handled.kind, "consumer");
    assert_eq!(attribute(handled, "messaging.outcome"), Some("acked"));
    assert_eq!(settled.parent_span_id.as_ref(), Some(&handled.span_id));
    assert_eq!(attribute(settled, "bets.settled"), Some("1"));

    // The bet placed in between is a trace of its own; the creation's
    // trace went through to bet-maker too, and settled nothing.
    let spans = receiver.spans();
    let created: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.trace_id == created_trace)
        .collect();
    assert!(
        created
            .iter()
            .any(|span| span.service_name == "bet-maker" && span.kind == "consumer"),
        "{created:#?}"
    );
    assert!(
        created.iter().all(|span| span.name != "settle bets"),
        "{created:#?}"
    );
    assert!(
        spans
            .iter()
            .any(|span| span.service_name == "bet-maker" && span.name == "POST /bets"),
        "no span of the bet"
    );
    let response = cluster
        .client
        .get(format!("{}/bets/{bet}", cluster.bet_makers[0].base_url()))
        .bearer_auth(system_tests::token_for("bettor-0"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /bets/{bet}: {e}"));
    assert_eq!(expect_json(response, StatusCode::OK).await["status"], "WON");
    // Prometheus's scrape, beside the health checks the cluster's start
    // made: counted, but not traced.
    for service in [
        cluster.line_providers[0].management_url(),
        cluster.bet_makers[0].management_url(),
    ] {
        let response = cluster
            .client
            .get(format!("{service}/metrics"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {service}/metrics: {e}"));
        assert_eq!(response.status(), StatusCode::OK);
    }
    cluster.stop().await;
    // Stopping sent what each service had left to export.
    let probes: Vec<ReceivedSpan> = receiver
        .spans()
        .into_iter()
        .filter(|span| {
            attribute(span, "http.route")
                .is_some_and(|route| route.starts_with("/health/") || route == "/metrics")
        })
        .collect();
    assert!(probes.is_empty(), "probes were traced: {probes:#?}");
    let _ = receiver.stop().await;
}

/// Every JSON line of every file in `directory`.
fn json_lines(directory: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            lines.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")),
            );
        }
    }
    lines
}

#[tokio::test]
async fn warnings_go_to_the_error_log_file_as_json_lines_and_info_does_not() {
    let directory = std::env::temp_dir().join(format!("error-log-{}", Uuid::new_v4().simple()));
    let file = directory.join("line-provider.log");
    let mut cluster = Cluster::start_with(1, 0, |_, _| Settings {
        line_provider: vec![("LOG_ERROR_FILE".to_owned(), file.display().to_string())],
        bet_maker: Vec::new(),
    })
    .await;
    let line_provider = cluster.line_providers[0].base_url();
    // Info lines: an event created (and the start-up's).
    assert!(cluster.create_event(0, "1.50").await.is_some());

    // A warning: an operator call with the wrong token, in a trace.
    let (traceparent, trace_id, _) = new_traceparent();
    let response = cluster
        .client
        .post(format!("{line_provider}/events"))
        .bearer_auth("not-the-operator-token")
        .header("traceparent", &traceparent)
        .json(&json!({ "coefficient": "1.50", "deadline": "2030-06-01T18:00:00Z" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /events: {e}"));
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Stopping writes out what the file's writer still holds.
    assert!(
        cluster.line_providers[0].terminate().await,
        "line-provider did not stop cleanly"
    );

    let lines = json_lines(&directory);
    let _ = std::fs::remove_dir_all(&directory);
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "operator call refused")
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    let refused = refused[0];
    assert_eq!(refused["level"], "WARN");
    assert_eq!(refused["reason"], "wrong-token");
    assert_eq!(refused["path"], "/events");
    assert_eq!(refused["trace_id"], trace_id.as_str());
    assert!(
        lines
            .iter()
            .all(|line| line["level"] == "WARN" || line["level"] == "ERROR"),
        "only warnings and errors: {lines:#?}"
    );
    cluster.stop().await;
}

/// The supervisor's warning when a connection to the broker drops.
const LOST_THE_BROKER: &str = "lost the broker; reconnecting";

/// How many lines of the log at `path` (stdout, written line by line)
/// contain `text`.
fn lines_saying(path: &str, text: &str) -> usize {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    log.lines().filter(|line| line.contains(text)).count()
}

#[tokio::test]
async fn a_broker_drop_logs_the_services_warning_and_nothing_at_error() {
    let directory = std::env::temp_dir().join(format!("broker-drop-{}", Uuid::new_v4().simple()));
    let error_file = |service: &str| {
        vec![(
            "LOG_ERROR_FILE".to_owned(),
            directory
                .join(format!("{service}.log"))
                .display()
                .to_string(),
        )]
    };
    let cluster = Cluster::start_with(1, 1, |_, _| Settings {
        line_provider: error_file("line-provider"),
        bet_maker: error_file("bet-maker"),
    })
    .await;
    // Each service, its stdout, and what it says once its main AMQP
    // worker is connected. Readiness is not polled: every 503 it answers
    // during the drop is a line of tower-http's at ERROR, which a probe
    // asked for, not the drop.
    let nodes = [
        (&cluster.line_providers[0], "outbox relay connected"),
        (&cluster.bet_makers[0], "consuming line events"),
    ];
    let logs: Vec<(String, &str)> = nodes
        .iter()
        .map(|(node, connected)| (node.log(), *connected))
        .collect();
    for (log, connected) in &logs {
        eventually(&format!("{log} to say {connected}"), PATIENCE, || async {
            (lines_saying(log, connected) == 1).then_some(())
        })
        .await;
    }

    // Where each log stood before the drop (start-up's own lines, the
    // 503s of the start's readiness polls among them, are not the drop's).
    let before: Vec<usize> = logs
        .iter()
        .map(|(log, _)| std::fs::read_to_string(log).map_or(0, |text| text.len()))
        .collect();
    // The error files' lines are stamped as tracing stamps them.
    let cut_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

    // The network to the broker cut, then back before anything would be
    // an alert (ALERT_AFTER_SECS, 30 s): a blip the services ride out.
    for (node, _) in nodes {
        node.amqp.cut();
    }
    for (log, _) in &logs {
        eventually(&format!("{log} to tell of the drop"), PATIENCE, || async {
            (lines_saying(log, LOST_THE_BROKER) > 0).then_some(())
        })
        .await;
    }
    for (node, _) in nodes {
        node.amqp.restore();
    }
    for (log, connected) in &logs {
        eventually(
            &format!("{log} to say {connected} again"),
            PATIENCE,
            || async { (lines_saying(log, connected) == 2).then_some(()) },
        )
        .await;
    }

    // stdout since the cut (a passing test's is deleted when its process
    // stops).
    for ((log, _), before) in logs.iter().zip(before) {
        let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{log}: {e}"));
        let loud: Vec<&str> = text[before..]
            .lines()
            .filter(|line| line.contains("ERROR") || line.contains("lapin"))
            .collect();
        assert!(loud.is_empty(), "{log}: {loud:#?}");
    }
    // Stopping writes out what the error files' writers still hold.
    cluster.stop().await;
    let lines: Vec<Value> = json_lines(&directory)
        .into_iter()
        .filter(|line| line["timestamp"].as_str() >= Some(cut_at.as_str()))
        .collect();
    let _ = std::fs::remove_dir_all(&directory);
    let warnings = lines
        .iter()
        .filter(|line| line["message"] == LOST_THE_BROKER && line["level"] == "WARN")
        .count();
    assert!(warnings >= 2, "a warning from each service: {lines:#?}");
    let loud: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["level"] == "ERROR"
                || line["target"]
                    .as_str()
                    .is_some_and(|target| target.starts_with("lapin"))
        })
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

#[tokio::test]
async fn the_receiver_binary_writes_each_span_it_receives_as_a_json_line() {
    let spans = std::env::temp_dir().join(format!("spans-{}.jsonl", Uuid::new_v4().simple()));
    let mut receiver = tokio::process::Command::new(system_tests::process::binary("otlp_receiver"))
        .arg("127.0.0.1:0")
        .arg("--out")
        .arg(&spans)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting otlp_receiver: {e}"));
    let stderr = receiver
        .stderr
        .take()
        .unwrap_or_else(|| panic!("no stderr of otlp_receiver"));
    let mut said = String::new();
    tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stderr), &mut said),
    )
    .await
    .unwrap_or_else(|_| panic!("otlp_receiver said nothing within {PATIENCE:?}"))
    .unwrap_or_else(|e| panic!("reading otlp_receiver's stderr: {e}"));
    let address = said
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("otlp_receiver said {said:?}"))
        .to_owned();
    let endpoint = vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            format!("http://{address}"),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "100".to_owned()),
    ];
    let cluster = Cluster::start_with(1, 0, |_, _| Settings {
        line_provider: endpoint,
        bet_maker: Vec::new(),
    })
    .await;

    assert!(cluster.create_event(0, "1.50").await.is_some());

    let request = eventually("the request's span in the file", PATIENCE, || async {
        let text = std::fs::read_to_string(&spans).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|span| span["name"] == "POST /events")
    })
    .await;
    assert_eq!(request["service_name"], "line-provider");
    assert_eq!(request["parent_span_id"], Value::Null);
    assert_eq!(request["trace_id"].as_str().map(str::len), Some(32));
    assert_eq!(request["span_id"].as_str().map(str::len), Some(16));
    cluster.stop().await;
    let _ = receiver.start_kill();
    let _ = std::fs::remove_file(&spans);
}
