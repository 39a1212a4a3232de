//! `LineService`: each call reads its request, checks the operator where
//! REST does, and drives the same use case as the REST handler.

use std::time::Instant;

use shared_kernel::pagination::into_page;
use shared_kernel::proto::line::v1 as wire;
use shared_kernel::proto::line::v1::line_service_server::LineService;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

use super::errors::{start_refused, status_of};
use super::messages::{
    Violations, decimal, event_id, event_message, final_status, instant, page, precondition,
    reason, status_filter, target_status,
};
use super::watch::{ChangeStream, start_at, watch};
use crate::application::{ChangeFeed, EventFilter, EventService, RequestedChanges};
use crate::domain::Event;
use crate::presentation::http::{OperatorAuth, OperatorCall, Refused, retry_after_seconds};

/// The service's path prefix, for the operator calls' log lines.
const SERVICE_PATH: &str = "/line.v1.LineService/";

/// The gRPC face of the line's use cases.
#[derive(Debug, Clone)]
pub struct LineGrpc {
    events: EventService,
    changes: ChangeFeed,
    operator: OperatorAuth,
    /// Ends every watch stream: the server's shutdown waits for calls in
    /// flight, and a watch would otherwise never end.
    stop: CancellationToken,
}

impl LineGrpc {
    /// The service over these use cases, letting operator calls through
    /// as `operator` says (the same throttle and log limit as REST's).
    pub fn new(events: EventService, changes: ChangeFeed, operator: OperatorAuth) -> Self {
        Self {
            events,
            changes,
            operator,
            stop: CancellationToken::new(),
        }
    }

    /// The same service, whose watch streams end when `stop` is cancelled.
    pub(super) fn stopping_with(self, stop: CancellationToken) -> Self {
        Self { stop, ..self }
    }

    /// Lets the call of `method` through when its metadata carries the
    /// operator's token; otherwise `UNAUTHENTICATED`, or
    /// `RESOURCE_EXHAUSTED` with a `RetryInfo` once its address is past
    /// its failures (the right token is let through even then).
    fn authenticate<T>(&self, request: &Request<T>, method: &str) -> Result<(), Status> {
        let path = format!("{SERVICE_PATH}{method}");
        let call = OperatorCall {
            transport: "grpc",
            method: "POST",
            path: &path,
            client: super::client_address(request),
            authorization: request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok()),
        };
        match self.operator.authenticate(&call, Instant::now()) {
            Ok(()) => Ok(()),
            Err(Refused::Unauthenticated(detail)) => Err(Status::unauthenticated(detail)),
            Err(Refused::Throttled(wait)) => {
                let seconds = retry_after_seconds(wait);
                Err(Status::with_error_details(
                    Code::ResourceExhausted,
                    format!(
                        "too many failed operator calls from this address; try again in {seconds} seconds"
                    ),
                    ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(seconds))),
                ))
            }
        }
    }
}

fn reply(event: &Event) -> Response<wire::Event> {
    Response::new(event_message(event))
}

#[tonic::async_trait]
impl LineService for LineGrpc {
    type WatchEventsStream = ChangeStream;

    async fn watch_events(
        &self,
        request: Request<wire::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let start = start_at(request.get_ref())?;
        let after = self.changes.start(start).await.map_err(start_refused)?;
        let changes = watch(self.changes.clone(), after, self.stop.child_token());
        Ok(Response::new(changes))
    }

    async fn create_event(
        &self,
        request: Request<wire::CreateEventRequest>,
    ) -> Result<Response<wire::Event>, Status> {
        self.authenticate(&request, "CreateEvent")?;
        let request = request.into_inner();
        let mut violations = Violations::default();
        let coefficient = violations.read("coefficient", decimal(&request.coefficient));
        let deadline = violations.read("deadline", instant(&request.deadline));
        violations.finish()?;
        let (Some(coefficient), Some(deadline)) = (coefficient, deadline) else {
            return Err(Status::internal("a read field went missing"));
        };
        let event = self
            .events
            .create(coefficient, deadline)
            .await
            .map_err(status_of)?;
        Ok(reply(&event))
    }

    async fn get_event(
        &self,
        request: Request<wire::GetEventRequest>,
    ) -> Result<Response<wire::Event>, Status> {
        let mut violations = Violations::default();
        let id = violations.read("id", event_id(&request.get_ref().id));
        violations.finish()?;
        let Some(id) = id else {
            return Err(Status::internal("a read field went missing"));
        };
        let event = self.events.get(id).await.map_err(status_of)?;
        Ok(reply(&event))
    }

    async fn list_events(
        &self,
        request: Request<wire::ListEventsRequest>,
    ) -> Result<Response<wire::ListEventsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let page = page(request.limit, &request.cursor, &mut violations);
        let status = violations.read("status", status_filter(request.status));
        violations.finish()?;
        let filter = EventFilter {
            status: status.flatten(),
        };
        let rows = self.events.list(filter, page).await.map_err(status_of)?;
        let (events, next_cursor) = into_page(rows, page, Event::id);
        Ok(Response::new(wire::ListEventsResponse {
            items: events.iter().map(event_message).collect(),
            next_cursor: next_cursor.unwrap_or_default(),
        }))
    }

    async fn update_event(
        &self,
        request: Request<wire::UpdateEventRequest>,
    ) -> Result<Response<wire::Event>, Status> {
        self.authenticate(&request, "UpdateEvent")?;
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = violations.read("id", event_id(&request.id));
        let coefficient = match request.coefficient.as_deref() {
            Some(text) => violations.read("coefficient", decimal(text)),
            None => None,
        };
        let deadline = match request.deadline.as_deref() {
            Some(text) => violations.read("deadline", instant(text)),
            None => None,
        };
        if request.coefficient.is_none() && request.deadline.is_none() {
            violations.note(
                "coefficient",
                "name at least one of `coefficient` and `deadline`",
            );
        }
        violations.finish()?;
        let Some(id) = id else {
            return Err(Status::internal("a read field went missing"));
        };
        let changes = RequestedChanges {
            coefficient,
            deadline,
        };
        let event = self
            .events
            .update(id, changes, precondition(request.expected_version))
            .await
            .map_err(status_of)?;
        Ok(reply(&event))
    }

    async fn set_event_status(
        &self,
        request: Request<wire::SetEventStatusRequest>,
    ) -> Result<Response<wire::Event>, Status> {
        self.authenticate(&request, "SetEventStatus")?;
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = violations.read("id", event_id(&request.id));
        let status = violations.read("status", target_status(request.status));
        violations.finish()?;
        let (Some(id), Some(status)) = (id, status) else {
            return Err(Status::internal("a read field went missing"));
        };
        let event = self
            .events
            .set_status(id, status, precondition(request.expected_version))
            .await
            .map_err(status_of)?;
        Ok(reply(&event))
    }

    async fn correct_event(
        &self,
        request: Request<wire::CorrectEventRequest>,
    ) -> Result<Response<wire::Event>, Status> {
        self.authenticate(&request, "CorrectEvent")?;
        let request = request.into_inner();
        let mut violations = Violations::default();
        let id = violations.read("id", event_id(&request.id));
        let result = violations.read("status", final_status(request.status));
        let reason = violations.read("reason", reason(&request.reason));
        violations.finish()?;
        let (Some(id), Some(result), Some(reason)) = (id, result, reason) else {
            return Err(Status::internal("a read field went missing"));
        };
        let event = self
            .events
            .correct(id, result, reason, precondition(request.expected_version))
            .await
            .map_err(status_of)?;
        Ok(reply(&event))
    }
}
