//! bet-maker: the public gateway for bettors. It keeps its own copy of the
//! line from line-provider's messages, takes bets on open events, and
//! settles every bet exactly once when an event's result arrives.
//!
//! Layers, inner to outer: [`domain`] (the rules), [`application`] (the use
//! cases and their ports), [`infrastructure`] (PostgreSQL, the consumer, the
//! line-provider client), [`presentation`] (HTTP). [`app`] wires them.

pub mod app;
pub mod application;
pub mod config;
pub mod domain;
pub mod infrastructure;
pub mod presentation;
