//! What line-provider and bet-maker must agree on — the message contracts
//! and the exact money type on the wire — and the plumbing both use
//! (their web pages' included: [`web`]).

pub mod alerts;
pub mod amqp;
pub mod cli;
pub mod clock;
pub mod contracts;
pub mod database;
pub mod http;
pub mod lifecycle;
pub mod migrations;
pub mod money;
pub mod pagination;
pub mod postgres;
pub mod proto;
pub mod signing;
pub mod storage;
pub mod telemetry;
pub mod web;
pub mod webhook_signature;

#[cfg(feature = "test-support")]
pub mod testing;
