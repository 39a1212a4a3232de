//! How the gRPC listener is bounded, whatever clients do: read once from
//! `LINE_PROVIDER_GRPC_*` (see `line-provider --help`).

use std::time::Duration;

use shared_kernel::http::positive_milliseconds;

/// The gRPC listener's bounds. `Default` gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct GrpcSettings {
    /// gRPC connections served at once; a connection past the cap is
    /// closed as soon as it is accepted (so it costs no file descriptor
    /// for longer than that).
    #[arg(
        id = "grpc_max_connections",
        long = "grpc-max-connections",
        env = "LINE_PROVIDER_GRPC_MAX_CONNECTIONS",
        value_name = "LINE_PROVIDER_GRPC_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,
    /// How long a new connection may take to send the HTTP/2 preface and
    /// its first SETTINGS frame, in milliseconds, before it is closed.
    #[arg(
        id = "grpc_handshake_timeout_ms",
        long = "grpc-handshake-timeout-ms",
        env = "LINE_PROVIDER_GRPC_HANDSHAKE_TIMEOUT_MS",
        value_name = "LINE_PROVIDER_GRPC_HANDSHAKE_TIMEOUT_MS",
        default_value = "5000",
        value_parser = positive_milliseconds
    )]
    pub handshake_timeout: Duration,
    /// How long a connection may stay without any call or stream open, in
    /// milliseconds, before it is closed (clients reconnect when needed).
    #[arg(
        id = "grpc_idle_timeout_ms",
        long = "grpc-idle-timeout-ms",
        env = "LINE_PROVIDER_GRPC_IDLE_TIMEOUT_MS",
        value_name = "LINE_PROVIDER_GRPC_IDLE_TIMEOUT_MS",
        default_value = "300000",
        value_parser = positive_milliseconds
    )]
    pub idle_timeout: Duration,
    /// Calls and streams (a WatchEvents is one) open at once on one
    /// connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(
        id = "grpc_max_concurrent_streams",
        long = "grpc-max-concurrent-streams",
        env = "LINE_PROVIDER_GRPC_MAX_CONCURRENT_STREAMS",
        value_name = "LINE_PROVIDER_GRPC_MAX_CONCURRENT_STREAMS",
        default_value_t = 200,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_concurrent_streams: u32,
    /// How often an HTTP/2 PING checks that the client is still there, in
    /// milliseconds.
    #[arg(
        id = "grpc_keepalive_interval_ms",
        long = "grpc-keepalive-interval-ms",
        env = "LINE_PROVIDER_GRPC_KEEPALIVE_INTERVAL_MS",
        value_name = "LINE_PROVIDER_GRPC_KEEPALIVE_INTERVAL_MS",
        default_value = "30000",
        value_parser = positive_milliseconds
    )]
    pub keepalive_interval: Duration,
    /// How long the answer to a PING may take, in milliseconds, before the
    /// connection is closed as dead.
    #[arg(
        id = "grpc_keepalive_timeout_ms",
        long = "grpc-keepalive-timeout-ms",
        env = "LINE_PROVIDER_GRPC_KEEPALIVE_TIMEOUT_MS",
        value_name = "LINE_PROVIDER_GRPC_KEEPALIVE_TIMEOUT_MS",
        default_value = "10000",
        value_parser = positive_milliseconds
    )]
    pub keepalive_timeout: Duration,
    /// Database queries WatchEvents streams make at once to catch up, all
    /// watchers together (full pages are shared, and live watchers share
    /// one reader of new changes): what any number of watchers can take of
    /// the pool. Keep it well below LINE_PROVIDER_DB_POOL_SIZE.
    #[arg(
        id = "grpc_watch_readers",
        long = "grpc-watch-readers",
        env = "LINE_PROVIDER_GRPC_WATCH_READERS",
        value_name = "LINE_PROVIDER_GRPC_WATCH_READERS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=64)
    )]
    pub watch_readers: u32,
}

impl Default for GrpcSettings {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            max_concurrent_streams: 200,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            watch_readers: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        grpc: GrpcSettings,
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let parsed = Command::try_parse_from(["line-provider"]).map(|c| c.grpc);
        assert_eq!(parsed.ok(), Some(GrpcSettings::default()));
        assert!(Command::try_parse_from(["x", "--grpc-handshake-timeout-ms", "0"]).is_err());
    }
}
