//! bet-maker's configuration: one clap derive, read once at start-up from
//! flags or, as usually, the environment (`bet-maker --help` lists every
//! variable with its default).

mod jwt;
mod payments;
mod placement;
mod streams;

use std::net::IpAddr;
use std::path::PathBuf;

use rust_decimal::Decimal;
use shared_kernel::alerts::AlertSettings;
use shared_kernel::cli::ServiceConfig;
use shared_kernel::http::{HttpSettings, ManagementSettings};
use shared_kernel::telemetry::TelemetrySettings;

use crate::domain::Currency;

pub use jwt::{
    BadLifetime, DEFAULT_MAX_LIFETIME, JwtClaimSettings, JwtKeySettings, JwtSecret, JwtSettings,
    MIN_SECRET_BYTES, NotPositiveSeconds, SecretTooShort, TokenSigningSettings, parse_lifetime,
};
pub use payments::{PaymentSettings, PaymentSettingsError, ProviderKind};
pub use placement::PlacementSettings;
pub use streams::StreamSettings;

/// The largest value of a money limit (`BET_MAKER_MAX_STAKE`,
/// `BET_MAKER_MAX_PAYOUT`, `BET_MAKER_MAX_LIABILITY_PER_EVENT`):
/// 10^15, so that nothing a bettor controls can overflow the schema's
/// `NUMERIC(28, 2)` money columns (the reasoning is on `MAX_LIMIT`).
const LARGEST_STAKE_LIMIT: Decimal = crate::domain::MAX_LIMIT;

/// Everything bet-maker reads from its environment. A plain struct: tests
/// build it with a literal.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// The service's PostgreSQL database (`bet-maker migrate` creates it).
    #[arg(
        long,
        env = "BET_MAKER_DATABASE_URL",
        value_name = "BET_MAKER_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/bet_maker",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Connections in the database pool.
    #[arg(
        long = "db-pool-size",
        env = "BET_MAKER_DB_POOL_SIZE",
        value_name = "BET_MAKER_DB_POOL_SIZE",
        default_value_t = 10
    )]
    pub database_pool_size: u32,
    /// The address to listen on (0.0.0.0 in containers).
    #[arg(
        long,
        env = "BET_MAKER_HOST",
        value_name = "BET_MAKER_HOST",
        default_value = "127.0.0.1"
    )]
    pub host: IpAddr,
    /// The port to listen on (0 picks a free one).
    #[arg(
        long,
        env = "BET_MAKER_PORT",
        value_name = "BET_MAKER_PORT",
        default_value_t = 8080
    )]
    pub port: u16,
    /// The port of the management listener (`/metrics`, `/health/*`), on
    /// MANAGEMENT_BIND (0 picks a free one).
    #[arg(
        long,
        env = "BET_MAKER_ADMIN_PORT",
        value_name = "BET_MAKER_ADMIN_PORT",
        default_value_t = 9080
    )]
    pub admin_port: u16,
    /// Where the management listener binds.
    #[command(flatten)]
    pub management: ManagementSettings,
    /// line-provider's gRPC API (`line.v1.LineService`), read by
    /// `bet-maker resync`.
    #[arg(
        long,
        env = "LINE_PROVIDER_GRPC_URL",
        value_name = "LINE_PROVIDER_GRPC_URL",
        default_value = "http://127.0.0.1:50051",
        value_parser = grpc_url
    )]
    pub line_provider_grpc_url: String,
    /// The RabbitMQ broker.
    #[arg(
        long,
        env = "AMQP_URL",
        value_name = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    pub amqp_url: String,
    /// The topic exchange line-provider publishes line events to.
    #[arg(
        long,
        env = "LINE_EVENTS_EXCHANGE",
        value_name = "LINE_EVENTS_EXCHANGE",
        default_value = "line-provider.events"
    )]
    pub exchange: String,
    /// The queue bet-maker consumes; its dead-letter queue is `<queue>.dlq`.
    #[arg(
        long,
        env = "BET_MAKER_QUEUE",
        value_name = "BET_MAKER_QUEUE",
        default_value = "bet-maker.line-events"
    )]
    pub queue: String,
    /// The Ed25519 public keys (SPKI PEM files, comma-separated) whose
    /// signatures line messages must carry; several while a key is
    /// rotated. Required.
    #[arg(
        long,
        env = "LINE_EVENTS_VERIFY_KEY_FILES",
        value_name = "LINE_EVENTS_VERIFY_KEY_FILES",
        value_delimiter = ',',
        required = true,
        num_args = 1..
    )]
    pub verify_key_files: Vec<PathBuf>,
    /// Messages the broker hands over before the first is acknowledged.
    #[arg(
        long,
        env = "BET_MAKER_PREFETCH",
        value_name = "BET_MAKER_PREFETCH",
        default_value_t = 64
    )]
    pub prefetch: u16,
    /// The most messages the dead-letter queue keeps (`x-max-length`; the
    /// oldest are dropped beyond it). Fixed when the queue is created:
    /// changing it for an existing queue needs the queue re-created.
    #[arg(
        long,
        env = "BET_MAKER_DLQ_MAX_LENGTH",
        value_name = "BET_MAKER_DLQ_MAX_LENGTH",
        default_value_t = 100_000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub dead_letter_max_length: u32,
    /// How often the dead-letter queue's depth is read (gauges
    /// `dead_letter_queue_messages`, `dead_letter_queue_max_length`; an
    /// alert when it reaches 80 % of its bound).
    #[arg(
        long = "dlq-check-interval-ms",
        env = "BET_MAKER_DLQ_CHECK_INTERVAL_MS",
        value_name = "BET_MAKER_DLQ_CHECK_INTERVAL_MS",
        default_value_t = 15_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub dead_letter_check_interval_ms: u64,
    /// The broker user line-provider publishes as. When set, a message
    /// whose AMQP `user_id` is missing or another user's is refused
    /// (dead-lettered as `wrong_publisher`) before it is read; the broker
    /// guarantees `user_id` is the publisher's own. Unset by default, for a
    /// development broker where everyone is `guest`; empty means unset.
    #[arg(
        long,
        env = "LINE_PROVIDER_AMQP_USER",
        value_name = "LINE_PROVIDER_AMQP_USER"
    )]
    pub line_provider_amqp_user: Option<String>,
    /// The largest stake a bet may have: above 0, at most
    /// 1000000000000000.00, with at most 2 decimals.
    #[arg(
        long,
        env = "BET_MAKER_MAX_STAKE",
        value_name = "BET_MAKER_MAX_STAKE",
        default_value = "1000000.00",
        value_parser = parse_max_stake
    )]
    pub max_stake: Decimal,
    /// The most one bet may pay, round(stake × coefficient, 2): a bet that
    /// would pay more is refused whole (409 `payout-limit`). Above 0, at
    /// most 1000000000000000.00, with at most 2 decimals.
    #[arg(
        long,
        env = "BET_MAKER_MAX_PAYOUT",
        value_name = "BET_MAKER_MAX_PAYOUT",
        default_value = "10000000.00",
        value_parser = parse_max_stake
    )]
    pub max_payout: Decimal,
    /// The most an event's pending bets may cost the house net if they all
    /// won (its liability), unless a trader set the event's own (409
    /// `liability-limit`). Above 0, at most 1000000000000000.00, with at
    /// most 2 decimals.
    #[arg(
        long,
        env = "BET_MAKER_MAX_LIABILITY_PER_EVENT",
        value_name = "BET_MAKER_MAX_LIABILITY_PER_EVENT",
        default_value = "1000000.00",
        value_parser = parse_max_stake
    )]
    pub max_liability_per_event: Decimal,
    /// The house's share of a cash-out's fair value: 0 (none) to below 1,
    /// at most 4 decimals (`0.05`: a quote pays 95 % of what the bet is
    /// worth at the line's current odds).
    #[arg(
        long,
        env = "BET_MAKER_CASH_OUT_MARGIN",
        value_name = "BET_MAKER_CASH_OUT_MARGIN",
        default_value = "0.05",
        value_parser = parse_margin
    )]
    pub cash_out_margin: Decimal,
    /// How long a cash-out quote may be taken, in seconds (1 to 3600).
    #[arg(
        long,
        env = "BET_MAKER_CASH_OUT_QUOTE_SECS",
        value_name = "BET_MAKER_CASH_OUT_QUOTE_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=3600)
    )]
    pub cash_out_quote_secs: u32,
    /// The currency every wallet holds: three upper-case letters. Set it
    /// before the first deposit: wallets keep the currency they were made in.
    #[arg(
        long,
        env = "BET_MAKER_CURRENCY",
        value_name = "BET_MAKER_CURRENCY",
        default_value = "EUR",
        value_parser = |code: &str| Currency::parse(code)
    )]
    pub currency: Currency,
    /// How long, in hours, an `Idempotency-Key` is remembered: a retry
    /// within it returns the first response; the keys are swept after it,
    /// so their table stays bounded.
    #[arg(
        long = "idempotency-ttl-hours",
        env = "BET_MAKER_IDEMPOTENCY_TTL_HOURS",
        value_name = "BET_MAKER_IDEMPOTENCY_TTL_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u32).range(1..=8_760)
    )]
    pub idempotency_ttl_hours: u32,
    /// The development sign-in (`POST /dev/sign-in`, and the bettor app's
    /// `Name` field): anyone may sign in as any bettor by name, with a
    /// token signed with BET_MAKER_JWT_SECRET. `true` or `false`; for
    /// development only (`make run` sets it), never where real money is.
    #[arg(
        long,
        env = "BET_MAKER_DEV_SIGN_IN",
        value_name = "BET_MAKER_DEV_SIGN_IN",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub dev_sign_in: bool,
    /// How bettors' tokens are verified (and, with a secret, issued).
    #[command(flatten)]
    pub jwt: JwtSettings,
    /// The payment provider and its webhook.
    #[command(flatten)]
    pub payments: PaymentSettings,
    /// Retention, buffering and keep-alive of the live streams.
    #[command(flatten)]
    pub streams: StreamSettings,
    /// How concurrent bet placements are grouped into one commit.
    #[command(flatten)]
    pub placement: PlacementSettings,
    /// Timeouts, connection cap, shutdown grace and CORS of the HTTP edge.
    #[command(flatten)]
    pub http: HttpSettings,
    /// Where alerts go, how often, and when an outage becomes one.
    #[command(flatten)]
    pub alerts: AlertSettings,
    /// Log format, the error log file, and the export of traces.
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
}

impl ServiceConfig for Config {
    fn telemetry(&self) -> &TelemetrySettings {
        &self.telemetry
    }
}

/// `BET_MAKER_MAX_STAKE` (or `_MAX_PAYOUT`, `_MAX_LIABILITY_PER_EVENT`) is
/// not a limit the platform can hold.
#[derive(Debug, thiserror::Error)]
pub enum MaxStakeError {
    /// Not a decimal number at all.
    #[error("not a decimal number")]
    Malformed(#[source] rust_decimal::Error),
    /// Zero, negative, too large, or with more than 2 decimals.
    #[error("it must be above 0, at most {LARGEST_STAKE_LIMIT}, with at most 2 decimals")]
    OutOfRange,
}

/// Why `BET_MAKER_CASH_OUT_MARGIN` is refused.
#[derive(Debug, thiserror::Error)]
#[error("must be a decimal from 0 to below 1, with at most 4 decimal places (0.05 is 5 %)")]
struct MarginError;

fn parse_margin(text: &str) -> Result<Decimal, MarginError> {
    let margin: Decimal = text.trim().parse().map_err(|_| MarginError)?;
    if margin < Decimal::ZERO || margin >= Decimal::ONE || margin.normalize().scale() > 4 {
        return Err(MarginError);
    }
    Ok(margin)
}

fn parse_max_stake(text: &str) -> Result<Decimal, MaxStakeError> {
    let max_stake: Decimal = text.trim().parse().map_err(MaxStakeError::Malformed)?;
    if max_stake <= Decimal::ZERO
        || max_stake > LARGEST_STAKE_LIMIT
        || max_stake.normalize().scale() > 2
    {
        return Err(MaxStakeError::OutOfRange);
    }
    Ok(max_stake)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_name_of_its_own() {
        // clap checks names only when a command line is parsed: a clash
        // (two settings called `exchange`) would stop the binary at start.
        <Config as clap::Args>::augment_args(clap::Command::new("bet-maker")).debug_assert();
    }

    #[test]
    fn the_largest_stake_limit_is_ten_to_the_fifteenth() {
        assert_eq!(LARGEST_STAKE_LIMIT.to_string(), "1000000000000000.00");
    }

    #[test]
    fn the_stake_limit_is_above_zero_at_most_the_largest_with_two_decimals() {
        assert_eq!(
            parse_max_stake("1000000.00").ok(),
            Some(Decimal::new(100_000_000, 2))
        );
        assert_eq!(
            parse_max_stake("1000000000000000.00").ok(),
            Some(LARGEST_STAKE_LIMIT)
        );
        assert_eq!(parse_max_stake("0.5").ok(), Some(Decimal::new(5, 1)));
        for bad in ["0", "-1", "1000000000000000.01", "1.001"] {
            assert!(
                matches!(parse_max_stake(bad), Err(MaxStakeError::OutOfRange)),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_max_stake("lots"),
            Err(MaxStakeError::Malformed(_))
        ));
    }
}

/// A URL a gRPC channel can be opened to: `http://host:port` (or https).
fn grpc_url(text: &str) -> Result<String, InvalidGrpcUrl> {
    let url = url::Url::parse(text).map_err(InvalidGrpcUrl::Malformed)?;
    match (url.scheme(), url.host_str()) {
        ("http" | "https", Some(_)) => Ok(text.to_owned()),
        _ => Err(InvalidGrpcUrl::NotHttp),
    }
}

/// Why a gRPC URL was refused.
#[derive(Debug, thiserror::Error)]
enum InvalidGrpcUrl {
    /// Not a URL.
    #[error("not a URL")]
    Malformed(#[source] url::ParseError),
    /// Not `http://host[:port]` or `https://...`.
    #[error("must be http://host:port or https://host:port")]
    NotHttp,
}
