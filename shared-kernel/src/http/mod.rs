//! HTTP plumbing both services share: problem documents, extractors that
//! never answer in plain text, the wire forms of ids and instants, query
//! parameters for pages, health and metrics routes, and trace propagation.

mod health;
mod json;
mod observe;
mod pagination;
mod params;
mod problem;
mod router;
mod validation;
mod wire;

pub use health::{Readiness, health_router};
pub use json::{ApiJson, parse_json};
pub use observe::{metrics_router, observe_requests};
pub use pagination::PageQuery;
pub use params::{ApiPath, ApiQuery};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use router::{MAX_BODY_BYTES, service_router};
pub use validation::field_errors;
pub use wire::{
    A_LEAP_SECOND, NOT_A_DATE_TIME, NOT_A_UUID, WireDateTime, WireDateTimeError, WireUuid,
    WireUuidError, YEAR_OUT_OF_RANGE,
};
