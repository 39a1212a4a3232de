//! line-provider's configuration, read once from the environment.

use std::net::IpAddr;
use std::time::Duration;

use shared_kernel::config::{ConfigError, parse_or, required, var_or};
use shared_kernel::telemetry::LogFormat;

/// Everything line-provider reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `LINE_PROVIDER_DATABASE_URL`.
    pub database_url: String,
    /// `LINE_PROVIDER_DB_POOL_SIZE` (default 10).
    pub database_pool_size: u32,
    /// `LINE_PROVIDER_HOST` (default 127.0.0.1; 0.0.0.0 in containers).
    pub host: IpAddr,
    /// `LINE_PROVIDER_PORT` (default 8100; 0 picks a free port).
    pub port: u16,
    /// `LINE_PROVIDER_ADMIN_TOKEN`: required, no default.
    pub admin_token: String,
    /// `AMQP_URL`.
    pub amqp_url: String,
    /// `LINE_EVENTS_EXCHANGE`.
    pub exchange: String,
    /// `OUTBOX_BATCH_SIZE` (default 500).
    pub outbox_batch_size: u16,
    /// `OUTBOX_SWEEP_INTERVAL_MS` (default 1000).
    pub outbox_sweep_interval: Duration,
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
}

impl Config {
    /// Reads the environment; the error names the variable at fault.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: var_or(
                "LINE_PROVIDER_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/line_provider",
            )?,
            database_pool_size: parse_or("LINE_PROVIDER_DB_POOL_SIZE", 10)?,
            host: parse_or("LINE_PROVIDER_HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: parse_or("LINE_PROVIDER_PORT", 8100)?,
            admin_token: required("LINE_PROVIDER_ADMIN_TOKEN")?,
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?,
            exchange: var_or("LINE_EVENTS_EXCHANGE", "line-provider.events")?,
            outbox_batch_size: parse_or("OUTBOX_BATCH_SIZE", 500)?,
            outbox_sweep_interval: Duration::from_millis(parse_or(
                "OUTBOX_SWEEP_INTERVAL_MS",
                1000,
            )?),
            log_format: parse_or("LOG_FORMAT", LogFormat::Pretty)?,
        })
    }
}
