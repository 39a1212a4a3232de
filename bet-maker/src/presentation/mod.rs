//! Inbound adapters: what drives bet-maker's use cases from outside.
//! [`http`] serves the REST API; [`messaging`] consumes line-provider's
//! messages; [`web`] is the bettor app, a page that drives the REST API
//! from a browser. Each maps what arrives to a use case, and the use case's
//! errors to what its protocol can say.

pub mod http;
pub mod messaging;
pub mod web;
