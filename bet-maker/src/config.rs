//! bet-maker's configuration, read once from the environment.

use std::net::IpAddr;

use rust_decimal::Decimal;
use shared_kernel::config::{ConfigError, parse_or, var_or};
use shared_kernel::telemetry::LogFormat;

/// The largest house limit the schema can store (`NUMERIC(12, 2)`).
const LARGEST_STAKE_LIMIT: Decimal = rust_decimal::dec!(9_999_999_999.99);

/// Everything bet-maker reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BET_MAKER_DATABASE_URL`.
    pub database_url: String,
    /// `BET_MAKER_DB_POOL_SIZE` (default 10).
    pub database_pool_size: u32,
    /// `BET_MAKER_HOST` (default 127.0.0.1; 0.0.0.0 in containers).
    pub host: IpAddr,
    /// `BET_MAKER_PORT` (default 8080; 0 picks a free port).
    pub port: u16,
    /// `LINE_PROVIDER_URL`, for resync.
    pub line_provider_url: String,
    /// `AMQP_URL`.
    pub amqp_url: String,
    /// `LINE_EVENTS_EXCHANGE`.
    pub exchange: String,
    /// `BET_MAKER_QUEUE`; the dead-letter queue is `<queue>.dlq`.
    pub queue: String,
    /// `BET_MAKER_PREFETCH` (default 64).
    pub prefetch: u16,
    /// `BET_MAKER_MAX_STAKE` (default 1000000.00).
    pub max_stake: Decimal,
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
}

impl Config {
    /// Reads the environment; the error names the variable at fault.
    pub fn from_env() -> Result<Self, ConfigError> {
        let max_stake: Decimal = parse_or("BET_MAKER_MAX_STAKE", Decimal::new(100_000_000, 2))?;
        if max_stake <= Decimal::ZERO
            || max_stake > LARGEST_STAKE_LIMIT
            || max_stake.normalize().scale() > 2
        {
            return Err(ConfigError {
                variable: "BET_MAKER_MAX_STAKE",
                problem: format!(
                    "is {max_stake}; it must be above 0, at most {LARGEST_STAKE_LIMIT}, with at most 2 decimals"
                ),
            });
        }
        Ok(Self {
            database_url: var_or(
                "BET_MAKER_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/bet_maker",
            )?,
            database_pool_size: parse_or("BET_MAKER_DB_POOL_SIZE", 10)?,
            host: parse_or("BET_MAKER_HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: parse_or("BET_MAKER_PORT", 8080)?,
            line_provider_url: var_or("LINE_PROVIDER_URL", "http://127.0.0.1:8100")?,
            amqp_url: var_or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?,
            exchange: var_or("LINE_EVENTS_EXCHANGE", "line-provider.events")?,
            queue: var_or("BET_MAKER_QUEUE", "bet-maker.line-events")?,
            prefetch: parse_or("BET_MAKER_PREFETCH", 64)?,
            max_stake,
            log_format: parse_or("LOG_FORMAT", LogFormat::Pretty)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_stake_limit_is_what_the_schema_holds() {
        assert_eq!(LARGEST_STAKE_LIMIT.to_string(), "9999999999.99");
    }
}
