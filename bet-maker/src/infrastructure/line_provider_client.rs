//! line-provider's `GET /events`, read page by page for resync.

use async_trait::async_trait;
use serde::Deserialize;
use shared_kernel::contracts::EventSnapshot;

use crate::application::ports::{LinePage, LineProvider, LineProviderError};
use crate::line_contract::to_line_event;

/// Events per page asked of line-provider.
const PAGE_SIZE: u32 = 500;

/// What resync asks of line-provider, as named in errors.
const GET_EVENTS: &str = "GET /events";

/// An HTTP client for line-provider.
#[derive(Debug, Clone)]
pub struct HttpLineProvider {
    base_url: String,
    client: reqwest::Client,
}

impl HttpLineProvider {
    /// A client for line-provider at `base_url` (`LINE_PROVIDER_URL`).
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
    }
}

/// line-provider's page of events: its items have the snapshot's shape.
#[derive(Debug, Deserialize)]
struct Page {
    items: Vec<EventSnapshot>,
    next_cursor: Option<String>,
}

#[async_trait]
impl LineProvider for HttpLineProvider {
    async fn events_page(&self, cursor: Option<String>) -> Result<LinePage, LineProviderError> {
        let mut request = self
            .client
            .get(format!("{}/events", self.base_url))
            .query(&[("limit", PAGE_SIZE.to_string())]);
        if let Some(cursor) = cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let response = request
            .send()
            .await
            .map_err(|source| LineProviderError::Unreachable {
                what: GET_EVENTS.to_owned(),
                source: source.into(),
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(LineProviderError::BadStatus {
                what: GET_EVENTS.to_owned(),
                status: status.as_u16(),
            });
        }
        let page: Page =
            response
                .json()
                .await
                .map_err(|source| LineProviderError::UnreadablePage {
                    what: GET_EVENTS.to_owned(),
                    source: source.into(),
                })?;
        Ok(LinePage {
            events: page.items.iter().map(to_line_event).collect(),
            next_cursor: page.next_cursor,
        })
    }
}
