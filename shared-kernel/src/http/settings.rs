//! How a service's HTTP edge is bounded: the same variables for both
//! services, flattened into each one's `Config`.

use std::time::Duration;

use axum::http::HeaderValue;

use super::client::{TrustedProxies, parse_trusted_proxies};

/// Timeouts, the connection caps, the shutdown grace, the proxies trusted
/// to name the client and the origins a browser may call from. `Default`
/// gives the documented defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpSettings {
    /// How long a client may take to send a request's line and headers, in
    /// milliseconds, before its connection is closed.
    #[arg(
        long = "http-header-read-timeout-ms",
        env = "HTTP_HEADER_READ_TIMEOUT_MS",
        value_name = "HTTP_HEADER_READ_TIMEOUT_MS",
        default_value = "5000",
        value_parser = positive_milliseconds
    )]
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may stay idle between requests, in
    /// milliseconds, before it is closed.
    #[arg(
        long = "http-idle-timeout-ms",
        env = "HTTP_IDLE_TIMEOUT_MS",
        value_name = "HTTP_IDLE_TIMEOUT_MS",
        default_value = "60000",
        value_parser = positive_milliseconds
    )]
    pub idle_timeout: Duration,
    /// How long, in milliseconds, a response may wait to be written because
    /// the client reads nothing (its buffers full) before the connection is
    /// closed: a client that stalls cannot hold a connection, or a live
    /// stream's place, for ever.
    #[arg(
        long = "http-send-timeout-ms",
        env = "HTTP_SEND_TIMEOUT_MS",
        value_name = "HTTP_SEND_TIMEOUT_MS",
        default_value = "15000",
        value_parser = positive_milliseconds
    )]
    pub send_timeout: Duration,
    /// Connections served at once (live streams included); further ones
    /// wait in the listen backlog until one closes. Each needs a file
    /// descriptor: the service raises its own limit to the hard limit at
    /// start, and says so when that is still too low.
    #[arg(
        long = "http-max-connections",
        env = "HTTP_MAX_CONNECTIONS",
        value_name = "HTTP_MAX_CONNECTIONS",
        default_value_t = 16_384,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,
    /// Connections one client may have open at once (the client: the TCP
    /// peer, or the source a trusted proxy's PROXY header names); a
    /// further one is answered 429 `too-many-connections` and closed. The
    /// same number bounds the live streams one client (by the address a
    /// request's `ClientAddress` names) may have open. A trusted
    /// proxy's own connections that carry no PROXY header are not counted
    /// against it: it speaks for many clients.
    #[arg(
        long = "http-max-connections-per-client",
        env = "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        value_name = "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections_per_client: u32,
    /// How long a request's whole body may take to arrive, in
    /// milliseconds, from the end of its head; past it the request is
    /// answered 408 (or, when nothing reads the body, the connection is
    /// closed).
    #[arg(
        long = "http-body-read-timeout-ms",
        env = "HTTP_BODY_READ_TIMEOUT_MS",
        value_name = "HTTP_BODY_READ_TIMEOUT_MS",
        default_value = "10000",
        value_parser = positive_milliseconds
    )]
    pub body_read_timeout: Duration,
    /// Bytes a live stream (a `text/event-stream` response) may have
    /// waiting in the service for its client to read, its socket's send
    /// buffer being shrunk to as much; past it the stream is closed
    /// (`http_streams_dropped_total`), and the client resumes with
    /// `Last-Event-ID` when it reads again. A stream so holds less than
    /// twice this unsent (the kernel's 4 MiB before); the default takes a
    /// burst of a few hundred changes from a client that reads.
    #[arg(
        long = "http-stream-max-unsent-bytes",
        env = "HTTP_STREAM_MAX_UNSENT_BYTES",
        value_name = "HTTP_STREAM_MAX_UNSENT_BYTES",
        default_value_t = 65_536,
        value_parser = clap::value_parser!(u32).range(8_192..=67_108_864)
    )]
    pub stream_max_unsent_bytes: u32,
    /// Proxies trusted to name the client, comma-separated CIDRs
    /// (`10.0.0.0/8,192.0.2.7/32`); none by default. A connection from
    /// one may begin with a PROXY protocol header (v1 or v2), and its
    /// requests' `X-Forwarded-For` is read (the rightmost address that is
    /// not itself a trusted proxy is the client). From any other peer
    /// both are ignored: the peer is the client.
    #[arg(
        long = "http-trusted-proxies",
        env = "HTTP_TRUSTED_PROXIES",
        value_name = "HTTP_TRUSTED_PROXIES",
        default_value = "",
        hide_default_value = true,
        value_parser = parse_trusted_proxies
    )]
    pub trusted_proxies: TrustedProxies,
    /// On SIGTERM, how long in-flight requests and work in hand may take to
    /// finish, in milliseconds; what is left is then closed.
    #[arg(
        long = "shutdown-grace-ms",
        env = "SHUTDOWN_GRACE_MS",
        value_name = "SHUTDOWN_GRACE_MS",
        default_value = "15000",
        value_parser = positive_milliseconds
    )]
    pub shutdown_grace: Duration,
    /// Origins a browser may call the API from, comma-separated
    /// (`https://app.example.com,http://localhost:3000`); none by default.
    #[arg(
        long = "cors-allowed-origins",
        env = "CORS_ALLOWED_ORIGINS",
        value_name = "CORS_ALLOWED_ORIGINS",
        default_value = "",
        hide_default_value = true,
        value_parser = parse_origins
    )]
    pub cors_allowed_origins: AllowedOrigins,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(15),
            max_connections: 16_384,
            max_connections_per_client: 64,
            body_read_timeout: Duration::from_secs(10),
            stream_max_unsent_bytes: 65_536,
            trusted_proxies: TrustedProxies::default(),
            shutdown_grace: Duration::from_secs(15),
            cors_allowed_origins: AllowedOrigins::default(),
        }
    }
}

/// A setting in milliseconds is not a positive whole number.
#[derive(Debug, thiserror::Error)]
#[error("must be a whole number of milliseconds above 0")]
pub struct MillisecondsError;

/// A setting in whole milliseconds above 0 (a clap `value_parser`).
pub fn positive_milliseconds(text: &str) -> Result<Duration, MillisecondsError> {
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(MillisecondsError),
        Ok(milliseconds) => Ok(Duration::from_millis(milliseconds)),
    }
}

/// The origins `CORS_ALLOWED_ORIGINS` names, as browsers send them in
/// `Origin`; empty (the default) when no browser origin is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(pub Vec<HeaderValue>);

/// Comma-separated origins; blank entries (an empty variable) are none.
fn parse_origins(text: &str) -> Result<AllowedOrigins, OriginError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_origin)
        .collect::<Result<_, _>>()
        .map(AllowedOrigins)
}

/// An entry of `CORS_ALLOWED_ORIGINS` is not an origin.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an origin: write scheme://host[:port], http or https, nothing after")]
pub struct OriginError(String);

/// An origin as a browser sends it in `Origin`: `scheme://host[:port]`.
fn parse_origin(text: &str) -> Result<HeaderValue, OriginError> {
    let text = text.trim();
    let refuse = || OriginError(text.to_owned());
    let url = url::Url::parse(text).map_err(|_| refuse())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !text.ends_with('/');
    if !plain {
        return Err(refuse());
    }
    HeaderValue::from_str(&url.origin().ascii_serialization()).map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in ["https://app.example.com", "http://localhost:3000"] {
            assert_eq!(parse_origin(good).ok(), HeaderValue::from_str(good).ok());
        }
        for bad in [
            "app.example.com",
            "ftp://example.com",
            "https://example.com/",
            "https://example.com/app",
            "https://user@example.com",
            "*",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_list_allows_no_origin_and_entries_are_trimmed() {
        assert_eq!(parse_origins("").ok(), Some(AllowedOrigins::default()));
        assert_eq!(
            parse_origins(" https://a.example , http://b.example:8080 ").ok(),
            Some(AllowedOrigins(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://b.example:8080"),
            ]))
        );
        assert!(parse_origins("https://a.example,nope").is_err());
    }

    #[test]
    fn milliseconds_are_positive() {
        assert_eq!(
            positive_milliseconds("250").ok(),
            Some(Duration::from_millis(250))
        );
        assert!(positive_milliseconds("0").is_err());
        assert!(positive_milliseconds("soon").is_err());
    }
}
