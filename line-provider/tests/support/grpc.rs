//! A tonic client of line-provider's `line.v1.LineService`, and the
//! requests tests send it.

use shared_kernel::proto::line::v1::line_service_client::LineServiceClient;
use shared_kernel::proto::line::v1::{
    CreateEventRequest, Event, EventStatus, SetEventStatusRequest,
};
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt as _;

/// A client of `LineService`.
pub type LineClient = LineServiceClient<Channel>;

/// A channel to the gRPC server at `url` (`http://host:port`).
pub async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .unwrap_or_else(|e| panic!("the gRPC URL {url}: {e}"))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to the gRPC server at {url}: {e}"))
}

/// A `LineService` client on a channel of its own.
pub async fn line_client(url: &str) -> LineClient {
    LineServiceClient::new(channel(url).await)
}

/// `message` with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .unwrap_or_else(|e| panic!("metadata: {e}"));
    request.metadata_mut().insert("authorization", value);
    request
}

/// An hour from now, as the API writes instants.
pub fn in_an_hour() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
}

/// A request to create an event closing in an hour.
pub fn create(coefficient: &str) -> CreateEventRequest {
    CreateEventRequest {
        coefficient: coefficient.to_owned(),
        deadline: in_an_hour(),
    }
}

/// Creates an event closing in an hour as the operator of `token`.
pub async fn create_with(client: &mut LineClient, token: &str, coefficient: &str) -> Event {
    client
        .create_event(with_token(create(coefficient), token))
        .await
        .unwrap_or_else(|e| panic!("CreateEvent: {e}"))
        .into_inner()
}

/// A request to set event `id`'s final status, whatever its version.
pub fn set_status(id: &str, status: EventStatus) -> SetEventStatusRequest {
    SetEventStatusRequest {
        id: id.to_owned(),
        status: status.into(),
        expected_version: None,
    }
}

/// The fields a status's `google.rpc.BadRequest` names.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest details in {status:?}"))
        .field_violations
        .into_iter()
        .map(|violation| violation.field)
        .collect()
}
