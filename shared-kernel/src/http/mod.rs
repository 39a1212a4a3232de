//! HTTP plumbing both services share: problem documents, extractors that
//! never answer in plain text, the wire forms of ids and instants, query
//! parameters for pages, health and metrics routes (and the management
//! listener that serves them), trace propagation, and the bounded edge
//! every request crosses (timeouts, connection caps overall and per client,
//! the client behind a trusted proxy, CORS, a bounded shutdown).

mod admission;
mod body;
mod client;
mod connection;
mod head;
mod health;
mod json;
mod management;
mod observe;
mod pagination;
mod params;
mod problem;
mod proxy_protocol;
mod router;
mod server;
mod settings;
mod slots;
mod socket;
mod unsent;
mod validation;
mod wire;

pub use client::{ClientAddress, TrustedProxies, TrustedProxyError};
pub use head::{MAX_HEAD_BYTES, MAX_HEADERS};
pub use health::{Readiness, health_router};
pub use json::{ApiJson, parse_json};
pub use management::{MANAGEMENT_MAX_CONNECTIONS, ManagementSettings, management_router};
pub use observe::{metrics_router, observe_requests};
pub use pagination::PageQuery;
pub use params::{ApiPath, ApiQuery};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use router::{MAX_BODY_BYTES, service_router};
pub use server::Connections;
pub(crate) use server::serve;
pub use settings::{
    AllowedOrigins, HttpSettings, MillisecondsError, OriginError, positive_milliseconds,
};
pub use slots::{StreamSlot, StreamSlots};
pub use validation::field_errors;
pub use wire::{
    A_LEAP_SECOND, NOT_A_DATE_TIME, NOT_A_UUID, WireDateTime, WireDateTimeError, WireUuid,
    WireUuidError, YEAR_OUT_OF_RANGE,
};
