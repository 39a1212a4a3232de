//! line-provider's configuration: one clap derive, read once at start-up
//! from flags or, as usually, the environment (`line-provider --help` lists
//! every variable with its default).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use shared_kernel::alerts::AlertSettings;
use shared_kernel::cli::ServiceConfig;
use shared_kernel::http::{HttpSettings, ManagementSettings};
use shared_kernel::telemetry::TelemetrySettings;

pub use crate::presentation::grpc::GrpcSettings;

/// Everything line-provider reads from its environment. A plain struct:
/// tests build it with a literal.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// The service's PostgreSQL database (`line-provider migrate` creates it).
    #[arg(
        long,
        env = "LINE_PROVIDER_DATABASE_URL",
        value_name = "LINE_PROVIDER_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/line_provider",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Connections in the database pool.
    #[arg(
        long = "db-pool-size",
        env = "LINE_PROVIDER_DB_POOL_SIZE",
        value_name = "LINE_PROVIDER_DB_POOL_SIZE",
        default_value_t = 10
    )]
    pub database_pool_size: u32,
    /// The address to listen on (0.0.0.0 in containers).
    #[arg(
        long,
        env = "LINE_PROVIDER_HOST",
        value_name = "LINE_PROVIDER_HOST",
        default_value = "127.0.0.1"
    )]
    pub host: IpAddr,
    /// The port to listen on (0 picks a free one).
    #[arg(
        long,
        env = "LINE_PROVIDER_PORT",
        value_name = "LINE_PROVIDER_PORT",
        default_value_t = 8100
    )]
    pub port: u16,
    /// The port the gRPC API (`line.v1.LineService`, health, reflection)
    /// listens on, on the same address (0 picks a free one).
    #[arg(
        long,
        env = "LINE_PROVIDER_GRPC_PORT",
        value_name = "LINE_PROVIDER_GRPC_PORT",
        default_value_t = 50051
    )]
    pub grpc_port: u16,
    /// The port of the management listener (`/metrics`, `/health/*`), on
    /// MANAGEMENT_BIND (0 picks a free one).
    #[arg(
        long,
        env = "LINE_PROVIDER_ADMIN_PORT",
        value_name = "LINE_PROVIDER_ADMIN_PORT",
        default_value_t = 9100
    )]
    pub admin_port: u16,
    /// Where the management listener binds.
    #[command(flatten)]
    pub management: ManagementSettings,
    /// The operator token for the write endpoints (REST and gRPC). Required,
    /// no default, at least 128 bits of entropy, estimated conservatively
    /// from its length and character classes (a shorter one stops start-up):
    /// `openssl rand -hex 32` makes one.
    #[arg(
        long,
        env = "LINE_PROVIDER_ADMIN_TOKEN",
        value_name = "LINE_PROVIDER_ADMIN_TOKEN",
        value_parser = NonEmptyStringValueParser::new(),
        hide_env_values = true
    )]
    pub admin_token: String,
    /// The Ed25519 private key (PKCS#8 PEM) every published message is
    /// signed with: `line-provider keygen <dir>` writes one. Required.
    #[arg(
        long,
        env = "LINE_EVENTS_SIGNING_KEY_FILE",
        value_name = "LINE_EVENTS_SIGNING_KEY_FILE"
    )]
    pub signing_key_file: PathBuf,
    /// Failed operator calls (no, malformed or wrong token) a client
    /// address may make in one window, over REST and gRPC together; its
    /// further failed calls get 429 (RESOURCE_EXHAUSTED) until the window
    /// passes. The right token is never counted nor refused.
    #[arg(
        long,
        env = "OPERATOR_AUTH_MAX_FAILURES",
        value_name = "OPERATOR_AUTH_MAX_FAILURES",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub operator_auth_max_failures: u32,
    /// How long the window of failed operator calls lasts, from a client's
    /// first failure, in seconds.
    #[arg(
        long = "operator-auth-window-secs",
        env = "OPERATOR_AUTH_WINDOW_SECS",
        value_name = "OPERATOR_AUTH_WINDOW_SECS",
        default_value = "60",
        value_parser = positive_seconds
    )]
    pub operator_auth_window: Duration,
    /// How many client addresses with failed operator calls are tracked at
    /// most (memory stays bounded; the oldest window makes room).
    #[arg(
        long,
        env = "OPERATOR_AUTH_MAX_CLIENTS",
        value_name = "OPERATOR_AUTH_MAX_CLIENTS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub operator_auth_max_clients: u32,
    /// The RabbitMQ broker.
    #[arg(
        long,
        env = "AMQP_URL",
        value_name = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    pub amqp_url: String,
    /// The topic exchange line events are published to.
    #[arg(
        long,
        env = "LINE_EVENTS_EXCHANGE",
        value_name = "LINE_EVENTS_EXCHANGE",
        default_value = "line-provider.events"
    )]
    pub exchange: String,
    /// Outbox messages published per batch.
    #[arg(
        long,
        env = "OUTBOX_BATCH_SIZE",
        value_name = "OUTBOX_BATCH_SIZE",
        default_value_t = 500
    )]
    pub outbox_batch_size: u16,
    /// How often the relay sweeps the outbox when no change wakes it, in
    /// milliseconds.
    #[arg(
        long = "outbox-sweep-interval-ms",
        env = "OUTBOX_SWEEP_INTERVAL_MS",
        value_name = "OUTBOX_SWEEP_INTERVAL_MS",
        default_value = "1000",
        value_parser = milliseconds
    )]
    pub outbox_sweep_interval: Duration,
    /// The gRPC listener's bounds: connections, handshake and idle
    /// timeouts, streams per connection, keepalive.
    #[command(flatten)]
    pub grpc: GrpcSettings,
    /// Timeouts, connection cap, shutdown grace and CORS of the HTTP edge.
    #[command(flatten)]
    pub http: HttpSettings,
    /// Where alerts go, how often, and when an outage or the outbox's
    /// backlog becomes one.
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

/// Whole seconds, at least one.
fn positive_seconds(text: &str) -> Result<Duration, PositiveSecondsError> {
    match text.parse::<u64>()? {
        0 => Err(PositiveSecondsError::Zero),
        seconds => Ok(Duration::from_secs(seconds)),
    }
}

/// Why a number of seconds was refused.
#[derive(Debug, thiserror::Error)]
enum PositiveSecondsError {
    /// Not a whole number.
    #[error(transparent)]
    NotANumber(#[from] std::num::ParseIntError),
    /// Zero: the setting needs at least one second.
    #[error("must be at least 1")]
    Zero,
}

fn milliseconds(text: &str) -> Result<Duration, std::num::ParseIntError> {
    text.parse().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_name_of_its_own() {
        // clap checks names only when a command line is parsed: a clash
        // (two settings called `exchange`) would stop the binary at start.
        <Config as clap::Args>::augment_args(clap::Command::new("line-provider")).debug_assert();
    }
}
