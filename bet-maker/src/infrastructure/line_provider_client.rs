//! line-provider's gRPC `ListEvents`, read page by page for resync.

use std::time::Duration;

use async_trait::async_trait;
use shared_kernel::contracts::EventSnapshot;
use shared_kernel::proto::line::v1::ListEventsRequest;
use shared_kernel::proto::line::v1::line_service_client::LineServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::application::ports::{LinePage, LineProvider, LineProviderError};
use crate::line_contract::to_line_event;

/// Events per page asked of line-provider: the most it gives.
pub const PAGE_SIZE: u32 = 500;

/// What resync asks of line-provider, as named in errors.
const LIST_EVENTS: &str = "ListEvents";

/// How long to wait for line-provider to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for one page: a stuck line-provider fails the resync
/// instead of holding it forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A gRPC client of line-provider's `line.v1.LineService`.
#[derive(Debug, Clone)]
pub struct GrpcLineProvider {
    client: LineServiceClient<Channel>,
    page_size: u32,
}

impl GrpcLineProvider {
    /// A client for line-provider at `url` (`LINE_PROVIDER_GRPC_URL`),
    /// reading pages of `page_size` events. It connects on the first call,
    /// so an unreachable line-provider is reported by that call.
    pub fn new(url: &str, page_size: u32) -> Result<Self, LineProviderError> {
        let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|source| {
            LineProviderError::Unreachable {
                what: format!("{LIST_EVENTS} (the URL {url})"),
                source: source.into(),
            }
        })?;
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .connect_lazy();
        Ok(Self {
            client: LineServiceClient::new(channel),
            page_size,
        })
    }
}

#[async_trait]
impl LineProvider for GrpcLineProvider {
    async fn events_page(&self, cursor: Option<String>) -> Result<LinePage, LineProviderError> {
        let request = ListEventsRequest {
            limit: self.page_size,
            cursor: cursor.unwrap_or_default(),
            ..ListEventsRequest::default()
        };
        // A clone shares the channel: the client's calls need `&mut`.
        let page = self
            .client
            .clone()
            .list_events(request)
            .await
            .map_err(error_of)?
            .into_inner();
        let events = page
            .items
            .iter()
            .map(|event| EventSnapshot::try_from(event).map(|snapshot| to_line_event(&snapshot)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| LineProviderError::UnreadablePage {
                what: LIST_EVENTS.to_owned(),
                source: source.into(),
            })?;
        Ok(LinePage {
            events,
            next_cursor: Some(page.next_cursor).filter(|cursor| !cursor.is_empty()),
        })
    }
}

/// A failed call: no connection or no answer in time is `Unreachable`
/// (the transport reports both as UNAVAILABLE or DEADLINE_EXCEEDED, as
/// does a line-provider whose database is down), any other status
/// `Refused`. Either keeps the status, and its cause, as the source.
fn error_of(status: Status) -> LineProviderError {
    let what = LIST_EVENTS.to_owned();
    let source = Box::new(status);
    match source.code() {
        Code::Unavailable | Code::DeadlineExceeded => {
            LineProviderError::Unreachable { what, source }
        }
        _ => LineProviderError::Refused { what, source },
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_status_becomes_the_error_it_means_keeping_it() {
        let unavailable = error_of(Status::unavailable("connection refused"));
        assert!(matches!(unavailable, LineProviderError::Unreachable { .. }));
        let refused = error_of(Status::invalid_argument("cursor is not a cursor"));
        assert!(matches!(refused, LineProviderError::Refused { .. }));
        let cause = refused
            .source()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(cause.contains("cursor is not a cursor"), "{cause}");
    }

    #[test]
    fn a_url_that_is_no_url_is_refused_naming_it() {
        let error = GrpcLineProvider::new("not a url", PAGE_SIZE).err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("not a url"), "{message}");
    }
}
