//! Operator authentication, for REST and gRPC alike: `Bearer <token>`,
//! compared in constant time first. The right token is always let
//! through; only failed calls meet the throttle (per client address, 429
//! or `RESOURCE_EXHAUSTED` past the limit), the log limiter (at most one
//! WARN line a second) and the metric `operator_auth_refusals_total`
//! (labels `reason` and `transport`). Both transports share one throttle
//! and one limiter, so guessing over gRPC costs the same as over REST.

mod strength;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use shared_kernel::http::Problem;
use subtle::ConstantTimeEq;

pub use self::strength::{MIN_BITS as MIN_TOKEN_BITS, WeakToken};
use super::AppState;
use super::throttle::{Client, FailureThrottle, LogLimiter, ThrottleSettings};

/// The answer to an operator call without a token; also the 401 example
/// of the OpenAPI document.
pub(super) const MISSING_TOKEN: &str = "operator calls need `Authorization: Bearer <token>`";

/// At most one log line about refused operator calls per this interval.
const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The secret operator calls must present, kept only as its SHA-256
/// digest: comparing two digests of fixed length in constant time reveals
/// neither where a guess differs nor how long the token is.
#[derive(Clone)]
pub struct OperatorToken(Arc<[u8; 32]>);

impl OperatorToken {
    /// Wraps the configured token, unless it is too weak to be safe from
    /// guessing (see [`strength`] for the rule; the error never holds the
    /// token).
    pub fn new(token: &str) -> Result<Self, WeakToken> {
        strength::check(token)?;
        Ok(Self(Arc::new(Sha256::digest(token.as_bytes()).into())))
    }

    /// Whether `presented` is the token, in time that depends only on the
    /// length of `presented` (which its sender knows anyway).
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.0.ct_eq(&presented).into()
    }
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(..)")
    }
}

/// Where an operator call came in, for the log line and the metric.
#[derive(Debug, Clone, Copy)]
pub struct OperatorCall<'a> {
    /// `http` or `grpc`: the metric's `transport` label.
    pub transport: &'static str,
    /// The HTTP method (`POST` for every gRPC call).
    pub method: &'a str,
    /// The path: a REST route or `/line.v1.LineService/<Method>`.
    pub path: &'a str,
    /// The address the call came from, if the server knows it.
    pub client: Option<IpAddr>,
    /// The `authorization` header or metadata, if readable as text.
    pub authorization: Option<&'a str>,
}

/// Why an operator call was refused, as each transport answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No, a malformed or a wrong token: 401 / `UNAUTHENTICATED`.
    Unauthenticated(&'static str),
    /// A wrong token from an address past its failures in the current
    /// window: 429 / `RESOURCE_EXHAUSTED`, retry after this long.
    Throttled(Duration),
}

/// Everything operator authentication needs: the token, the failure
/// throttle and the limit on log lines. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    token: OperatorToken,
    throttle: Arc<FailureThrottle>,
    log: Arc<LogLimiter>,
}

impl OperatorAuth {
    /// Checks calls against `token`, throttling clients as `settings` say.
    pub fn new(token: OperatorToken, settings: ThrottleSettings) -> Self {
        Self {
            token,
            throttle: Arc::new(FailureThrottle::new(settings)),
            log: Arc::new(LogLimiter::new(LOG_INTERVAL)),
        }
    }

    /// Lets the call through when it carries the token, whatever the
    /// throttle holds against its address; otherwise counts the failure
    /// against the address and says how to answer it.
    pub fn authenticate(&self, call: &OperatorCall<'_>, now: Instant) -> Result<(), Refused> {
        let refusal = match bearer_token(call.authorization) {
            Ok(token) if self.token.matches(token) => return Ok(()),
            Ok(_) => Refusal::WrongToken,
            Err(refusal) => refusal,
        };
        let client = Client::from_address(call.client);
        let (reason, refused) = match self.throttle.fail(client, now) {
            None => (refusal.label(), Refused::Unauthenticated(refusal.detail())),
            Some(wait) => ("throttled", Refused::Throttled(wait)),
        };
        self.log_refusal(call, client, reason, now);
        Err(refused)
    }

    /// A WARN line naming the client and the reason (never the token), if
    /// the limit lets it through, with `suppressed`: how many refusals were
    /// not logged since the previous line. A metric either way.
    fn log_refusal(
        &self,
        call: &OperatorCall<'_>,
        client: Client,
        reason: &'static str,
        now: Instant,
    ) {
        metrics::counter!(
            "operator_auth_refusals_total",
            "reason" => reason,
            "transport" => call.transport
        )
        .increment(1);
        if let Some(suppressed) = self.log.admit(now) {
            tracing::warn!(
                %client,
                reason,
                transport = call.transport,
                method = call.method,
                path = call.path,
                suppressed,
                "operator call refused"
            );
        }
    }

    /// [`authenticate`](Self::authenticate) for a REST call.
    fn authenticate_rest(&self, parts: &Parts, now: Instant) -> Result<Operator, Problem> {
        let call = OperatorCall {
            transport: "http",
            method: parts.method.as_str(),
            path: parts.uri.path(),
            client: client_address(parts),
            authorization: parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok()),
        };
        match self.authenticate(&call, now) {
            Ok(()) => Ok(Operator),
            Err(Refused::Unauthenticated(detail)) => Err(Problem::unauthorized(detail)),
            Err(Refused::Throttled(wait)) => Err(too_many_failures(wait)),
        }
    }
}

/// The client a REST call came from: the server's
/// [`ClientAddress`](shared_kernel::http::ClientAddress) (the peer, or the
/// client a trusted proxy names, so the throttle counts real clients
/// behind a load balancer), else the TCP peer (a request built by hand).
fn client_address(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<shared_kernel::http::ClientAddress>()
        .map(|client| client.0)
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        })
}

/// Why an operator call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No `Authorization` header (or not readable as text).
    Missing,
    /// An `Authorization` header of another scheme than Bearer.
    NotBearer,
    /// A bearer token that is not the operator token.
    WrongToken,
}

impl Refusal {
    /// The reason as a log field and metric label (a fixed set, with
    /// `throttled`).
    fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not-bearer",
            Self::WrongToken => "wrong-token",
        }
    }

    /// What the client is told.
    fn detail(self) -> &'static str {
        match self {
            Self::Missing => MISSING_TOKEN,
            Self::NotBearer => "the Authorization header must use the Bearer scheme",
            Self::WrongToken => "the operator token is not valid",
        }
    }
}

/// The token of `Bearer <token>`.
fn bearer_token(header: Option<&str>) -> Result<&str, Refusal> {
    let header = header.ok_or(Refusal::Missing)?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Refusal::NotBearer),
    }
}

/// 429 with `Retry-After` (whole seconds, at least one).
pub(super) fn too_many_failures(wait: Duration) -> Problem {
    let seconds = retry_after_seconds(wait);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-failed-calls",
        "Too many failed calls",
        format!("too many failed operator calls from this address; try again in {seconds} seconds"),
    )
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
}

/// `wait` in whole seconds, rounded up, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

/// Proof that the request came from an operator. Put it first among a
/// handler's arguments so that a 401 or 429 comes before any other
/// complaint.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        state.operator_auth.authenticate_rest(parts, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token strong enough to be accepted.
    const TOKEN: &str = "44e8ef176704c702a5d9f84debd2f028a31ccf1c57789056a6d86bb83953ceba";

    fn token() -> OperatorToken {
        OperatorToken::new(TOKEN).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = token();
        assert!(token.matches(TOKEN));
        assert!(!token.matches(&TOKEN[1..]));
        assert!(!token.matches(&format!("{TOKEN}!")));
        assert!(!token.matches(&TOKEN.to_uppercase()));
        assert!(!token.matches(""));
    }

    #[test]
    fn the_token_is_kept_as_a_fixed_size_digest_and_a_weak_one_refused() {
        let kept = token();
        assert_eq!(kept.0.len(), 32, "only a digest is kept");
        assert_eq!(format!("{kept:?}"), "OperatorToken(..)");
        assert!(OperatorToken::new("s3cret").is_err());
        assert!(OperatorToken::new(&"x".repeat(4096)).is_err());
    }

    fn call(token: Option<&str>, peer: [u8; 4]) -> Parts {
        let mut request = axum::http::Request::new(());
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"));
            if let Ok(value) = value {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
        let (mut parts, ()) = request.into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
        parts
    }

    #[test]
    fn a_client_out_of_failures_gets_429_for_wrong_tokens_and_in_with_the_right_one() {
        let window = Duration::from_secs(60);
        let auth = OperatorAuth::new(
            token(),
            ThrottleSettings {
                max_failures: 2,
                window,
                max_clients: 10,
            },
        );
        let start = Instant::now();
        let status = |result: Result<Operator, Problem>| result.err().map(|p| p.status.as_u16());
        let guesser = [192, 0, 2, 1];

        assert_eq!(
            status(auth.authenticate_rest(&call(Some("a"), guesser), start)),
            Some(401)
        );
        assert_eq!(
            status(auth.authenticate_rest(&call(None, guesser), start)),
            Some(401)
        );
        assert_eq!(
            status(auth.authenticate_rest(&call(Some("b"), guesser), start)),
            Some(429)
        );
        assert_eq!(
            status(auth.authenticate_rest(&call(Some(TOKEN), guesser), start)),
            None,
            "the right token is never refused"
        );
        assert_eq!(
            status(auth.authenticate_rest(&call(Some("c"), guesser), start)),
            Some(429),
            "and does not lift the throttle on wrong ones"
        );
        let later = start + window;
        assert_eq!(
            status(auth.authenticate_rest(&call(Some("d"), guesser), later)),
            Some(401)
        );
    }

    #[test]
    fn successful_calls_are_never_throttled() {
        let auth = OperatorAuth::new(
            token(),
            ThrottleSettings {
                max_failures: 1,
                window: Duration::from_secs(60),
                max_clients: 10,
            },
        );
        let now = Instant::now();

        for _ in 0..1000 {
            let call = call(Some(TOKEN), [192, 0, 2, 1]);
            assert!(auth.authenticate_rest(&call, now).is_ok());
        }
    }

    #[test]
    fn retry_after_is_in_whole_seconds_rounded_up() {
        let retry = |wait| {
            axum::response::IntoResponse::into_response(too_many_failures(wait))
                .headers()
                .get(RETRY_AFTER)
                .cloned()
        };
        assert_eq!(
            retry(Duration::from_millis(1500)),
            Some(HeaderValue::from(2u64))
        );
        assert_eq!(retry(Duration::ZERO), Some(HeaderValue::from(1u64)));
        assert_eq!(
            retry(Duration::from_secs(60)),
            Some(HeaderValue::from(60u64))
        );
    }
}
