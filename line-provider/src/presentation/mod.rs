//! Inbound adapters: what drives the use cases from outside. [`http`] (the
//! REST API) and [`grpc`] (`line.v1.LineService`) drive the same use cases,
//! so a rule has one home and two ways in; [`web`] (the operator console)
//! is a page that drives the REST API from a browser.

pub mod grpc;
pub mod http;
pub mod web;
