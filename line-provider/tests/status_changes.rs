//! Suspension, corrections and passed deadlines, over REST and gRPC,
//! against the real app: what each answers, what it refuses, and what it
//! publishes on the broker (routing key, status, version, reason).

mod support;

use std::time::Duration;

use lapin::Channel;
use lapin::options::BasicGetOptions;
use reqwest::header::ETAG;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shared_kernel::proto::line::v1::{
    CorrectEventRequest, CreateEventRequest, EventStatus, ListEventsRequest, UpdateEventRequest,
};
use shared_kernel::testing::{
    assert_names_field, eventually, expect_json, expect_problem, header, send,
};
use support::grpc::{
    LineClient, create_with, line_client, set_status, violated_fields, with_token,
};
use support::{TOKEN, TestApp};
use tonic::{Code, Request, Status};

const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- helpers

fn id_of(event: &Value) -> String {
    event["id"]
        .as_str()
        .unwrap_or_else(|| panic!("event without an id: {event}"))
        .to_owned()
}

async fn put_status(app: &TestApp, id: &str, status: &str) -> Response {
    send(
        app.operator(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": status })),
    )
    .await
}

async fn correct(app: &TestApp, id: &str, body: Value) -> Response {
    send(
        app.operator(Method::POST, &format!("/events/{id}/corrections"))
            .json(&body),
    )
    .await
}

async fn get_event(app: &TestApp, id: &str) -> Value {
    expect_json(
        send(app.request(Method::GET, &format!("/events/{id}"))).await,
        StatusCode::OK,
    )
    .await
}

async fn outbox_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM outbox").await
}

/// A queue bound to every line message of the test's exchange.
async fn listen(app: &mut TestApp) -> (Channel, String) {
    app.broker
        .bind_queue("status-changes", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What a published message says: routing key, `type`, the event's status
/// and version, and the reason (`None` when the body has none).
type Published = (String, String, String, i64, Option<String>);

/// Waits until `count` messages are in `queue`, then takes them all.
async fn published(app: &TestApp, channel: &Channel, queue: &str, count: u32) -> Vec<Published> {
    eventually(&format!("{count} messages published"), PATIENCE, || async {
        let depth = app.broker.depth(queue).await.ok()?;
        (depth >= count).then_some(())
    })
    .await;
    let mut messages = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap_or_else(|e| panic!("reading {queue}: {e}"))
    {
        let body: Value = serde_json::from_slice(&message.delivery.data)
            .unwrap_or_else(|e| panic!("not JSON: {e}"));
        messages.push((
            message.delivery.routing_key.to_string(),
            body["type"].as_str().unwrap_or_default().to_owned(),
            body["data"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body["data"]["version"].as_i64().unwrap_or_default(),
            body.get("reason")
                .map(|reason| reason.as_str().unwrap_or_default().to_owned()),
        ));
    }
    messages
}

fn message(key: &str, status: &str, version: i64) -> Published {
    (
        key.to_owned(),
        key.to_owned(),
        status.to_owned(),
        version,
        None,
    )
}

fn refused<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> Status {
    match result {
        Ok(response) => panic!("expected a refusal, got {:?}", response.into_inner()),
        Err(status) => status,
    }
}

async fn set(
    client: &mut LineClient,
    id: &str,
    status: EventStatus,
) -> Result<tonic::Response<shared_kernel::proto::line::v1::Event>, Status> {
    client
        .set_event_status(operator(set_status(id, status)))
        .await
}

fn operator<T>(message: T) -> Request<T> {
    with_token(message, TOKEN)
}

fn correction(id: &str, status: EventStatus, reason: &str) -> CorrectEventRequest {
    CorrectEventRequest {
        id: id.to_owned(),
        status: status.into(),
        reason: reason.to_owned(),
        expected_version: None,
    }
}

// ------------------------------------------------------ suspension, REST

#[tokio::test]
async fn suspending_and_resuming_over_rest_are_published_each_once() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = listen(&mut app).await;
    let id = id_of(&app.create_event("1.85").await);

    let suspended = put_status(&app, &id, "SUSPENDED").await;
    assert_eq!(header(&suspended, ETAG), "\"2\"");
    let suspended = expect_json(suspended, StatusCode::OK).await;
    let again = expect_json(put_status(&app, &id, "SUSPENDED").await, StatusCode::OK).await;
    let resumed = expect_json(put_status(&app, &id, "NEW").await, StatusCode::OK).await;
    let open_again = expect_json(put_status(&app, &id, "NEW").await, StatusCode::OK).await;

    assert_eq!(
        (&suspended["status"], &suspended["version"]),
        (&json!("SUSPENDED"), &json!(2))
    );
    assert_eq!(again, suspended, "the same status again changes nothing");
    assert_eq!(
        (&resumed["status"], &resumed["version"]),
        (&json!("NEW"), &json!(3))
    );
    assert_eq!(open_again, resumed, "NEW on an open event changes nothing");
    assert_eq!(get_event(&app, &id).await, resumed, "stored as returned");
    assert_eq!(
        published(&app, &channel, &queue, 3).await,
        [
            message("event.created", "NEW", 1),
            message("event.suspended", "SUSPENDED", 2),
            message("event.resumed", "NEW", 3),
        ]
    );
}

#[tokio::test]
async fn a_suspended_event_takes_changes_and_a_result_and_lists_as_suspended() {
    let app = TestApp::spawn().await;
    let open = id_of(&app.create_event("1.85").await);
    let id = id_of(&app.create_event("2.00").await);
    expect_json(put_status(&app, &id, "SUSPENDED").await, StatusCode::OK).await;

    let page = expect_json(
        send(app.request(Method::GET, "/events?status=SUSPENDED")).await,
        StatusCode::OK,
    )
    .await;
    let open_page = expect_json(
        send(app.request(Method::GET, "/events?status=NEW")).await,
        StatusCode::OK,
    )
    .await;
    let patched = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "coefficient": "2.50" })),
    )
    .await;
    let patched = expect_json(patched, StatusCode::OK).await;
    let finished = expect_json(put_status(&app, &id, "FINISHED_LOSE").await, StatusCode::OK).await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .map(|items| items.iter().map(id_of).collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(&page), std::slice::from_ref(&id), "{page}");
    assert_eq!(page["items"][0]["status"], "SUSPENDED", "{page}");
    assert_eq!(ids(&open_page), [open], "{open_page}");
    assert_eq!(
        (
            &patched["coefficient"],
            &patched["status"],
            &patched["version"]
        ),
        (&json!("2.50"), &json!("SUSPENDED"), &json!(3)),
        "a PATCH keeps the suspension"
    );
    assert_eq!(
        (&finished["status"], &finished["version"]),
        (&json!("FINISHED_LOSE"), &json!(4))
    );
}

#[tokio::test]
async fn a_final_event_is_neither_suspended_nor_resumed_409() {
    let app = TestApp::spawn().await;
    let won = id_of(&app.create_event("1.85").await);
    let cancelled = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &won, "FINISHED_WIN").await, StatusCode::OK).await;
    expect_json(
        put_status(&app, &cancelled, "CANCELLED").await,
        StatusCode::OK,
    )
    .await;
    let rows_before = outbox_rows(&app).await;

    for (id, detail) in [
        (
            &won,
            "the event is finished (FINISHED_WIN) and can no longer change",
        ),
        (
            &cancelled,
            "the event is cancelled (CANCELLED) and can no longer change",
        ),
    ] {
        for status in ["SUSPENDED", "NEW"] {
            let problem =
                expect_problem(put_status(&app, id, status).await, StatusCode::CONFLICT).await;
            assert_eq!(
                problem["type"], "urn:betting:problem:event-finished",
                "{problem}"
            );
            assert_eq!(problem["detail"], detail, "{problem}");
        }
    }
    assert_eq!(
        outbox_rows(&app).await,
        rows_before,
        "a 409 announced something"
    );
}

#[tokio::test]
async fn suspending_without_a_token_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);

    let response = send(
        app.request(Method::PUT, &format!("/events/{id}/status"))
            .json(&json!({ "status": "SUSPENDED" })),
    )
    .await;

    expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(get_event(&app, &id).await["status"], "NEW");
    assert_eq!(app.rows_written().await, (1, 1));
}

// ------------------------------------------------------ suspension, gRPC

#[tokio::test]
async fn suspending_and_resuming_over_grpc_are_published_and_filtered() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = listen(&mut app).await;
    let mut client = line_client(&app.grpc_url()).await;
    let event = create_with(&mut client, TOKEN, "1.85").await;

    let suspended = set(&mut client, &event.id, EventStatus::Suspended)
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus SUSPENDED: {e}"))
        .into_inner();
    let listed = client
        .list_events(ListEventsRequest {
            status: EventStatus::Suspended.into(),
            ..ListEventsRequest::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ListEvents: {e}"))
        .into_inner();
    let again = set(&mut client, &event.id, EventStatus::Suspended)
        .await
        .unwrap_or_else(|e| panic!("SUSPENDED again: {e}"))
        .into_inner();
    let resumed = set(&mut client, &event.id, EventStatus::New)
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus NEW: {e}"))
        .into_inner();
    let unspecified = refused(set(&mut client, &event.id, EventStatus::Unspecified).await);

    assert_eq!(
        (suspended.status(), suspended.version),
        (EventStatus::Suspended, 2)
    );
    assert_eq!(listed.items, std::slice::from_ref(&suspended));
    assert_eq!(again, suspended, "the same status again changes nothing");
    assert_eq!((resumed.status(), resumed.version), (EventStatus::New, 3));
    assert_eq!(unspecified.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&unspecified), ["status"]);
    assert_eq!(
        published(&app, &channel, &queue, 3).await,
        [
            message("event.created", "NEW", 1),
            message("event.suspended", "SUSPENDED", 2),
            message("event.resumed", "NEW", 3),
        ]
    );
    drop(client);
    app.stop().await;
}

#[tokio::test]
async fn a_final_event_is_not_suspended_over_grpc() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let event = create_with(&mut client, TOKEN, "1.85").await;
    client
        .set_event_status(operator(set_status(&event.id, EventStatus::FinishedWin)))
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"));

    for status in [EventStatus::Suspended, EventStatus::New] {
        let refusal = refused(
            client
                .set_event_status(operator(set_status(&event.id, status)))
                .await,
        );
        assert_eq!(
            refusal.code(),
            Code::FailedPrecondition,
            "{status:?}: {refusal:?}"
        );
    }
    let unauthenticated = refused(
        client
            .set_event_status(Request::new(set_status(&event.id, EventStatus::Suspended)))
            .await,
    );
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
}

// ------------------------------------------------------ corrections, REST

#[tokio::test]
async fn a_correction_is_a_new_version_published_with_its_reason() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = listen(&mut app).await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;

    let response = correct(
        &app,
        &id,
        json!({ "status": "FINISHED_LOSE", "reason": "  The referee's report: the goal was offside\n" }),
    )
    .await;

    assert_eq!(header(&response, ETAG), "\"3\"");
    let corrected = expect_json(response, StatusCode::OK).await;
    assert_eq!(
        (&corrected["status"], &corrected["version"]),
        (&json!("FINISHED_LOSE"), &json!(3))
    );
    assert_eq!(get_event(&app, &id).await, corrected, "stored as returned");
    let mut expected = message("event.corrected", "FINISHED_LOSE", 3);
    expected.4 = Some("The referee's report: the goal was offside".to_owned());
    assert_eq!(
        published(&app, &channel, &queue, 3).await,
        [
            message("event.created", "NEW", 1),
            message("event.finished", "FINISHED_WIN", 2),
            expected,
        ],
        "the reason is published trimmed, and only with the correction"
    );
}

#[tokio::test]
async fn a_correction_honours_if_match() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &id, "CANCELLED").await, StatusCode::OK).await;
    let body = json!({ "status": "FINISHED_WIN", "reason": "played after all" });

    let stale = send(
        app.operator(Method::POST, &format!("/events/{id}/corrections"))
            .header("if-match", "\"1\"")
            .json(&body),
    )
    .await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let current = send(
        app.operator(Method::POST, &format!("/events/{id}/corrections"))
            .header("if-match", "\"2\"")
            .json(&body),
    )
    .await;

    let corrected = expect_json(current, StatusCode::OK).await;
    assert_eq!(
        (&corrected["status"], &corrected["version"]),
        (&json!("FINISHED_WIN"), &json!(3))
    );
}

#[tokio::test]
async fn correcting_what_is_not_final_or_to_the_same_status_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let open = id_of(&app.create_event("1.85").await);
    let suspended = id_of(&app.create_event("1.85").await);
    let won = id_of(&app.create_event("1.85").await);
    expect_json(
        put_status(&app, &suspended, "SUSPENDED").await,
        StatusCode::OK,
    )
    .await;
    expect_json(put_status(&app, &won, "FINISHED_WIN").await, StatusCode::OK).await;
    let rows_before = outbox_rows(&app).await;
    let body = json!({ "status": "FINISHED_WIN", "reason": "the result" });

    let cases = [
        (
            &open,
            "event-not-final",
            "the event is open (NEW): only a final status (FINISHED_WIN, FINISHED_LOSE or CANCELLED) can be corrected",
        ),
        (
            &suspended,
            "event-not-final",
            "the event is suspended (SUSPENDED): only a final status (FINISHED_WIN, FINISHED_LOSE or CANCELLED) can be corrected",
        ),
        (
            &won,
            "nothing-to-correct",
            "the event is already FINISHED_WIN: there is nothing to correct; a correction names another final status",
        ),
    ];
    for (id, slug, detail) in cases {
        let problem =
            expect_problem(correct(&app, id, body.clone()).await, StatusCode::CONFLICT).await;
        assert_eq!(
            problem["type"],
            format!("urn:betting:problem:{slug}"),
            "{problem}"
        );
        assert_eq!(problem["detail"], detail, "{problem}");
    }
    assert_eq!(
        outbox_rows(&app).await,
        rows_before,
        "a 409 announced something"
    );
}

#[tokio::test]
async fn a_different_final_status_by_put_is_still_409_corrections_are_the_only_way() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;

    let problem = expect_problem(
        put_status(&app, &id, "FINISHED_LOSE").await,
        StatusCode::CONFLICT,
    )
    .await;

    assert_eq!(
        problem["type"], "urn:betting:problem:conflicting-result",
        "{problem}"
    );
    assert_eq!(get_event(&app, &id).await["status"], "FINISHED_WIN");
}

#[tokio::test]
async fn a_correction_without_a_reason_is_422_naming_reason() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;
    let rows_before = app.rows_written().await;

    for reason in [json!(""), json!("   "), json!("x".repeat(501))] {
        let response = correct(
            &app,
            &id,
            json!({ "status": "FINISHED_LOSE", "reason": reason }),
        )
        .await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names_field(&problem, "reason");
    }
    let longest = correct(
        &app,
        &id,
        json!({ "status": "FINISHED_LOSE", "reason": "é".repeat(500) }),
    )
    .await;
    expect_json(longest, StatusCode::OK).await;
    assert_eq!(app.rows_written().await, (rows_before.0, rows_before.1 + 1));
}

#[tokio::test]
async fn correcting_without_a_token_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.create_event("1.85").await);
    expect_json(put_status(&app, &id, "FINISHED_WIN").await, StatusCode::OK).await;

    for request in [
        app.request(Method::POST, &format!("/events/{id}/corrections")),
        app.request(Method::POST, &format!("/events/{id}/corrections"))
            .bearer_auth("not-the-operator-token"),
    ] {
        let response =
            send(request.json(&json!({ "status": "FINISHED_LOSE", "reason": "why" }))).await;
        expect_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(get_event(&app, &id).await["status"], "FINISHED_WIN");
    assert_eq!(app.rows_written().await, (1, 2));
}

#[tokio::test]
async fn correcting_an_unknown_event_is_404() {
    let app = TestApp::spawn().await;

    let response = correct(
        &app,
        &uuid::Uuid::now_v7().to_string(),
        json!({ "status": "FINISHED_LOSE", "reason": "why" }),
    )
    .await;

    expect_problem(response, StatusCode::NOT_FOUND).await;
}

// ------------------------------------------------------ corrections, gRPC

#[tokio::test]
async fn correct_event_over_grpc_follows_the_rest_rules() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = listen(&mut app).await;
    let mut client = line_client(&app.grpc_url()).await;
    let event = create_with(&mut client, TOKEN, "1.85").await;

    let not_final = refused(
        client
            .correct_event(operator(correction(
                &event.id,
                EventStatus::FinishedLose,
                "why",
            )))
            .await,
    );
    client
        .set_event_status(operator(set_status(&event.id, EventStatus::FinishedWin)))
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"));
    let same = refused(
        client
            .correct_event(operator(correction(
                &event.id,
                EventStatus::FinishedWin,
                "why",
            )))
            .await,
    );
    let invalid = refused(
        client
            .correct_event(operator(correction("42", EventStatus::New, " ")))
            .await,
    );
    let stale = refused(
        client
            .correct_event(operator(CorrectEventRequest {
                expected_version: Some(1),
                ..correction(&event.id, EventStatus::Cancelled, "abandoned")
            }))
            .await,
    );
    let anonymous = refused(
        client
            .correct_event(Request::new(correction(
                &event.id,
                EventStatus::Cancelled,
                "x",
            )))
            .await,
    );
    let corrected = client
        .correct_event(operator(CorrectEventRequest {
            expected_version: Some(2),
            ..correction(&event.id, EventStatus::Cancelled, "The match was abandoned")
        }))
        .await
        .unwrap_or_else(|e| panic!("CorrectEvent: {e}"))
        .into_inner();

    assert_eq!(not_final.code(), Code::FailedPrecondition, "{not_final:?}");
    assert_eq!(same.code(), Code::FailedPrecondition, "{same:?}");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&invalid), ["id", "status", "reason"]);
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert_eq!(
        (corrected.status(), corrected.version),
        (EventStatus::Cancelled, 3)
    );
    let mut expected = message("event.corrected", "CANCELLED", 3);
    expected.4 = Some("The match was abandoned".to_owned());
    assert_eq!(
        published(&app, &channel, &queue, 3).await,
        [
            message("event.created", "NEW", 1),
            message("event.finished", "FINISHED_WIN", 2),
            expected,
        ]
    );
    drop(client);
    app.stop().await;
}

// ------------------------------------------------------- passed deadlines

/// An event whose deadline is a second away, once that second has passed:
/// the service reads the system clock, so the test waits for the deadline
/// itself (about a second), not for anything the service does.
async fn event_past_its_deadline(app: &TestApp) -> (String, chrono::DateTime<chrono::Utc>) {
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(1);
    let response = send(
        app.operator(Method::POST, "/events")
            .json(&json!({ "coefficient": "1.85", "deadline": deadline })),
    )
    .await;
    let event = expect_json(response, StatusCode::CREATED).await;
    let wait = (deadline - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    (id_of(&event), deadline)
}

#[tokio::test]
async fn a_passed_deadline_cannot_be_moved_409_but_the_coefficient_still_can() {
    let app = TestApp::spawn().await;
    let (id, _) = event_past_its_deadline(&app).await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let rows_before = outbox_rows(&app).await;

    let moved = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "deadline": later })),
    )
    .await;
    let problem = expect_problem(moved, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:deadline-passed",
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.ends_with(
            "has passed: betting on the event has closed, and its deadline can no longer be moved"
        ),
        "{problem}"
    );
    assert_eq!(
        outbox_rows(&app).await,
        rows_before,
        "a 409 announced something"
    );
    expect_json(put_status(&app, &id, "SUSPENDED").await, StatusCode::OK).await;
    let moved_while_suspended = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "deadline": later })),
    )
    .await;
    expect_problem(moved_while_suspended, StatusCode::CONFLICT).await;

    let odds = send(
        app.operator(Method::PATCH, &format!("/events/{id}"))
            .json(&json!({ "coefficient": "2.40" })),
    )
    .await;
    let odds = expect_json(odds, StatusCode::OK).await;
    assert_eq!(
        (&odds["coefficient"], &odds["version"]),
        (&json!("2.40"), &json!(3))
    );
}

#[tokio::test]
async fn a_passed_deadline_cannot_be_moved_over_grpc() {
    let app = TestApp::spawn().await;
    let (id, _) = event_past_its_deadline(&app).await;
    let mut client = line_client(&app.grpc_url()).await;

    let moved = refused(
        client
            .update_event(operator(UpdateEventRequest {
                id: id.clone(),
                deadline: Some((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()),
                ..UpdateEventRequest::default()
            }))
            .await,
    );
    let odds = client
        .update_event(operator(UpdateEventRequest {
            id,
            coefficient: Some("2.40".to_owned()),
            ..UpdateEventRequest::default()
        }))
        .await
        .unwrap_or_else(|e| panic!("UpdateEvent: {e}"))
        .into_inner();

    assert_eq!(moved.code(), Code::FailedPrecondition, "{moved:?}");
    assert!(moved.message().contains("has passed"), "{moved:?}");
    assert_eq!((odds.coefficient.as_str(), odds.version), ("2.40", 2));
}

#[tokio::test]
async fn a_deadline_still_ahead_moves_as_before() {
    let app = TestApp::spawn().await;
    let mut client = line_client(&app.grpc_url()).await;
    let event = client
        .create_event(operator(CreateEventRequest {
            coefficient: "1.85".to_owned(),
            deadline: (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339(),
        }))
        .await
        .unwrap_or_else(|e| panic!("CreateEvent: {e}"))
        .into_inner();

    let moved = client
        .update_event(operator(UpdateEventRequest {
            id: event.id,
            deadline: Some((chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()),
            ..UpdateEventRequest::default()
        }))
        .await
        .unwrap_or_else(|e| panic!("UpdateEvent: {e}"))
        .into_inner();

    assert_eq!(moved.version, 2);
}
