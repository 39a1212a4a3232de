//! `line.v1.LineService` with a real tonic client against the running
//! service: every call, every refusal as its status code, changes published
//! through the outbox like REST ones, health and reflection.

mod support;

use std::time::Duration;

use futures_util::stream;
use lapin::options::BasicGetOptions;
use shared_kernel::proto::line::v1::{
    CreateEventRequest, Event, EventStatus, GetEventRequest, ListEventsRequest,
    SetEventStatusRequest, UpdateEventRequest,
};
use shared_kernel::testing::eventually;
use support::grpc::{self, LineClient, create, set_status, violated_fields, with_token};
use support::{TOKEN, TestApp};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const PATIENCE: Duration = Duration::from_secs(20);

async fn channel(app: &TestApp) -> Channel {
    grpc::channel(&app.grpc_url()).await
}

async fn client(app: &TestApp) -> LineClient {
    grpc::line_client(&app.grpc_url()).await
}

fn operator<T>(message: T) -> Request<T> {
    with_token(message, TOKEN)
}

async fn create_event(client: &mut LineClient, coefficient: &str) -> Event {
    grpc::create_with(client, TOKEN, coefficient).await
}

fn refused<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> Status {
    match result {
        Ok(response) => panic!("expected a refusal, got {:?}", response.into_inner()),
        Err(status) => status,
    }
}

#[tokio::test]
async fn every_call_drives_the_same_use_cases_as_rest() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;

    let created = create_event(&mut client, "1.85").await;
    assert_eq!(created.coefficient, "1.85");
    assert_eq!(created.status(), EventStatus::New);
    assert_eq!(created.version, 1);
    let rest = app.operator(reqwest::Method::GET, &format!("/events/{}", created.id));
    let rest: serde_json::Value = rest
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rest["coefficient"], "1.85", "REST sees what gRPC created");
    assert_eq!(rest["deadline"].as_str(), Some(created.deadline.as_str()));

    let got = client
        .get_event(GetEventRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("GetEvent: {e}"))
        .into_inner();
    assert_eq!(got, created);

    let updated = client
        .update_event(operator(UpdateEventRequest {
            id: created.id.clone(),
            coefficient: Some("2.10".to_owned()),
            deadline: None,
            expected_version: Some(1),
        }))
        .await
        .unwrap_or_else(|e| panic!("UpdateEvent: {e}"))
        .into_inner();
    assert_eq!((updated.coefficient.as_str(), updated.version), ("2.10", 2));

    let second = create_event(&mut client, "3.00").await;
    let finished = client
        .set_event_status(operator(set_status(&second.id, EventStatus::FinishedWin)))
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"))
        .into_inner();
    assert_eq!(finished.status(), EventStatus::FinishedWin);
    assert_eq!(finished.version, 2);

    let first_page = client
        .list_events(ListEventsRequest {
            limit: 1,
            ..ListEventsRequest::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ListEvents: {e}"))
        .into_inner();
    assert_eq!(first_page.items, std::slice::from_ref(&updated));
    assert!(!first_page.next_cursor.is_empty());
    let last_page = client
        .list_events(ListEventsRequest {
            limit: 1,
            cursor: first_page.next_cursor,
            ..ListEventsRequest::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ListEvents: {e}"))
        .into_inner();
    assert_eq!(last_page.items, [finished]);
    assert_eq!(last_page.next_cursor, "", "the last page has no cursor");
    let open = client
        .list_events(ListEventsRequest {
            status: EventStatus::New.into(),
            ..ListEventsRequest::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ListEvents: {e}"))
        .into_inner();
    assert_eq!(open.items, [updated]);
}

#[tokio::test]
async fn operator_calls_without_the_token_are_unauthenticated_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;

    let missing = refused(client.create_event(Request::new(create("1.85"))).await);
    let wrong = refused(
        client
            .create_event(with_token(create("1.85"), "guess"))
            .await,
    );
    let update = UpdateEventRequest {
        id: uuid::Uuid::now_v7().to_string(),
        coefficient: Some("2.00".to_owned()),
        ..UpdateEventRequest::default()
    };
    let update = refused(client.update_event(with_token(update, "guess")).await);
    let finish = set_status(&uuid::Uuid::now_v7().to_string(), EventStatus::Cancelled);
    let finish = refused(client.set_event_status(Request::new(finish)).await);

    for status in [missing, wrong, update, finish] {
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    assert_eq!(app.rows_written().await, (0, 0));
}

#[tokio::test]
async fn invalid_fields_are_invalid_argument_naming_every_field() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;

    let too_precise = refused(client.create_event(operator(create("1.855"))).await);
    assert_eq!(too_precise.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&too_precise), ["coefficient"]);

    let both = CreateEventRequest {
        coefficient: "1.00".to_owned(),
        deadline: "2020-01-01T00:00:00Z".to_owned(),
    };
    let both = refused(client.create_event(operator(both)).await);
    assert_eq!(both.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&both), ["coefficient", "deadline"]);

    let event = create_event(&mut client, "1.85").await;
    let not_a_float = UpdateEventRequest {
        id: event.id.clone(),
        coefficient: Some("0.30000000000000004".to_owned()),
        ..UpdateEventRequest::default()
    };
    let not_a_float = refused(client.update_event(operator(not_a_float)).await);
    assert_eq!(violated_fields(&not_a_float), ["coefficient"]);

    let no_status = refused(
        client
            .set_event_status(operator(set_status(&event.id, EventStatus::Unspecified)))
            .await,
    );
    assert_eq!(violated_fields(&no_status), ["status"]);

    let bad_id = refused(
        client
            .get_event(GetEventRequest {
                id: "42".to_owned(),
            })
            .await,
    );
    assert_eq!(violated_fields(&bad_id), ["id"]);
    assert_eq!(app.rows_written().await, (1, 1), "only the valid event");
}

#[tokio::test]
async fn an_unknown_event_is_not_found() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;
    let id = uuid::Uuid::now_v7().to_string();

    let get = refused(client.get_event(GetEventRequest { id: id.clone() }).await);
    let update = UpdateEventRequest {
        id: id.clone(),
        coefficient: Some("2.00".to_owned()),
        ..UpdateEventRequest::default()
    };
    let update = refused(client.update_event(operator(update)).await);
    let finish = refused(
        client
            .set_event_status(operator(set_status(&id, EventStatus::FinishedLose)))
            .await,
    );

    for status in [get, update, finish] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
}

#[tokio::test]
async fn a_stale_expected_version_is_aborted_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;
    let event = create_event(&mut client, "1.85").await;

    let stale = UpdateEventRequest {
        id: event.id.clone(),
        coefficient: Some("2.00".to_owned()),
        deadline: None,
        expected_version: Some(7),
    };
    let stale = refused(client.update_event(operator(stale)).await);
    let finish = SetEventStatusRequest {
        expected_version: Some(2),
        ..set_status(&event.id, EventStatus::FinishedWin)
    };
    let finish = refused(client.set_event_status(operator(finish)).await);

    for status in [stale, finish] {
        assert_eq!(status.code(), Code::Aborted, "{status:?}");
    }
    let now = client
        .get_event(GetEventRequest { id: event.id })
        .await
        .unwrap_or_else(|e| panic!("GetEvent: {e}"))
        .into_inner();
    assert_eq!((now.coefficient.as_str(), now.version), ("1.85", 1));
}

#[tokio::test]
async fn a_conflicting_final_status_is_a_failed_precondition() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;
    let event = create_event(&mut client, "1.85").await;
    let win = || operator(set_status(&event.id, EventStatus::FinishedWin));
    client
        .set_event_status(win())
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"));

    let again = client
        .set_event_status(win())
        .await
        .unwrap_or_else(|e| panic!("the same status again: {e}"))
        .into_inner();
    assert_eq!(again.version, 2, "the same final status changes nothing");
    let other = refused(
        client
            .set_event_status(operator(set_status(&event.id, EventStatus::Cancelled)))
            .await,
    );
    let moved = UpdateEventRequest {
        id: event.id.clone(),
        coefficient: Some("2.00".to_owned()),
        ..UpdateEventRequest::default()
    };
    let moved = refused(client.update_event(operator(moved)).await);

    for status in [other, moved] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
}

#[tokio::test]
async fn a_change_over_grpc_is_published_through_the_outbox() {
    let mut app = TestApp::spawn().await;
    let (channel, queue) = app
        .broker
        .bind_queue("grpc", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut client = client(&app).await;

    let event = create_event(&mut client, "1.85").await;
    client
        .set_event_status(operator(set_status(&event.id, EventStatus::Cancelled)))
        .await
        .unwrap_or_else(|e| panic!("SetEventStatus: {e}"));

    eventually("both changes published", PATIENCE, || async {
        let depth = app.broker.depth(&queue).await.ok()?;
        (depth >= 2).then_some(())
    })
    .await;
    let mut keys = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap_or_else(|e| panic!("reading {queue}: {e}"))
    {
        let body: serde_json::Value = serde_json::from_slice(&message.delivery.data)
            .unwrap_or_else(|e| panic!("not JSON: {e}"));
        assert_eq!(body["data"]["id"].as_str(), Some(event.id.as_str()));
        keys.push(message.delivery.routing_key.to_string());
    }
    assert_eq!(keys, ["event.created", "event.cancelled"]);
    drop(client);
    app.stop().await;
}

#[tokio::test]
async fn health_says_serving_once_ready() {
    let app = TestApp::spawn().await;
    app.wait_until_ready().await;
    let mut health = HealthClient::new(channel(&app).await);

    for service in ["", "line.v1.LineService"] {
        eventually(&format!("{service:?} SERVING"), PATIENCE, || {
            let mut health = health.clone();
            async move {
                let request = HealthCheckRequest {
                    service: service.to_owned(),
                };
                let response = health.check(request).await.ok()?.into_inner();
                (response.status() == ServingStatus::Serving).then_some(())
            }
        })
        .await;
    }
    let unknown = refused(
        health
            .check(HealthCheckRequest {
                service: "no.such.Service".to_owned(),
            })
            .await,
    );
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn the_grpc_server_stops_with_the_service_while_a_client_is_connected() {
    let mut app = TestApp::spawn().await;
    let mut client = client(&app).await;
    create_event(&mut client, "1.85").await;

    // Fails the test if the gRPC worker does not finish within the grace.
    app.stop().await;

    let after = client
        .get_event(GetEventRequest {
            id: uuid::Uuid::now_v7().to_string(),
        })
        .await;
    assert!(
        matches!(&after, Err(status) if status.code() == Code::Unavailable),
        "{after:?}"
    );
}

#[tokio::test]
async fn reflection_lists_the_line_service() {
    let app = TestApp::spawn().await;
    let mut reflection = ServerReflectionClient::new(channel(&app).await);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(stream::iter([request]))
        .await
        .unwrap_or_else(|e| panic!("ServerReflectionInfo: {e}"))
        .into_inner();
    let response = responses
        .message()
        .await
        .unwrap_or_else(|e| panic!("reading the reflection answer: {e}"))
        .unwrap_or_else(|| panic!("no reflection answer"));

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list of services: {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    // What README shows `grpcurl list` print (grpcurl asks the v1 service,
    // which lists itself and not the older v1alpha one).
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "line.v1.LineService"
        ],
    );
}
