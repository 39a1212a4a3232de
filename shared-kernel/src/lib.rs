//! What line-provider and bet-maker must agree on — the message contracts
//! and the exact money type on the wire — and the plumbing both use.

pub mod amqp;
pub mod config;
pub mod contracts;
pub mod http;
pub mod migrations;
pub mod money;
pub mod pagination;
pub mod postgres;
pub mod service;
pub mod storage;
pub mod telemetry;

#[cfg(feature = "test-support")]
pub mod testing;
