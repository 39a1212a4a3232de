//! line-provider: owns the line of sporting events and announces every
//! change through a transactional outbox.
//!
//! Layers, inner to outer: [`domain`] (the rules), [`application`] (the use
//! cases and their ports), [`infrastructure`] (outbound adapters: PostgreSQL,
//! the outbox relay), [`presentation`] (inbound adapters: HTTP and gRPC). [`app`]
//! wires them together.

pub mod app;
pub mod application;
pub mod config;
pub mod domain;
pub mod infrastructure;
pub mod presentation;
