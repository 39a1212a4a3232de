//! bet-maker: the public gateway for bettors. It keeps its own copy of the
//! line from line-provider's messages, takes bets on open events, and
//! settles every bet exactly once when an event's result arrives.
//!
//! Layers, inner to outer: [`domain`] (the rules), [`application`] (the use
//! cases and their ports), and the adapters around them:
//! [`infrastructure`] holds the outbound ones (PostgreSQL, the cache of open
//! events, the line-provider client), [`presentation`] the inbound ones
//! (HTTP, the consumer of line-provider's messages). [`line_contract`]
//! reads line-provider's published contract for both sides. [`app`] wires
//! them.

pub mod app;
pub mod application;
pub mod config;
pub mod domain;
pub mod infrastructure;
pub mod line_contract;
pub mod presentation;
