//! Inbound adapters: what drives the use cases from outside. Today that is
//! HTTP only ([`http`]); the gRPC service will sit beside it.

pub mod http;
