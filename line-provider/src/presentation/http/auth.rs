//! Operator authentication: `Authorization: Bearer <token>`, compared in
//! constant time, with failed calls logged (at most once a second) and
//! throttled per client address.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use shared_kernel::http::Problem;
use subtle::ConstantTimeEq;

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
    /// Wraps the configured token.
    pub fn new(token: &str) -> Self {
        Self(Arc::new(Sha256::digest(token.as_bytes()).into()))
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

    /// Lets the call through, or says why not. A client that used up its
    /// failures is refused before its token is even looked at, so that it
    /// cannot go on guessing; a client that has not is never slowed down.
    fn authenticate(&self, parts: &Parts, now: Instant) -> Result<Operator, Problem> {
        let client = Client::of(parts);
        let checked = self.throttle.attempt(client, now, || {
            let token = bearer_token(parts)?;
            if self.token.matches(token) {
                Ok(Operator)
            } else {
                Err(Refusal::WrongToken)
            }
        });
        let (refusal, problem) = match checked {
            Ok(Ok(operator)) => return Ok(operator),
            Ok(Err(refusal)) => (refusal, Problem::unauthorized(refusal.detail())),
            Err(wait) => (Refusal::Throttled, too_many_failures(wait)),
        };
        self.log_refusal(parts, client, refusal, now);
        Err(problem)
    }

    /// A WARN line naming the client and the reason (never the token), if
    /// the limit lets it through, with `suppressed`: how many refusals were
    /// not logged since the previous line. A metric either way.
    fn log_refusal(&self, parts: &Parts, client: Client, refusal: Refusal, now: Instant) {
        metrics::counter!("operator_auth_refusals_total", "reason" => refusal.label()).increment(1);
        if let Some(suppressed) = self.log.admit(now) {
            tracing::warn!(
                %client,
                reason = refusal.label(),
                method = %parts.method,
                path = parts.uri.path(),
                suppressed,
                "operator call refused"
            );
        }
    }
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
    /// The client made too many failed calls in the current window.
    Throttled,
}

impl Refusal {
    /// The reason as a log field and metric label (a fixed set).
    fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not-bearer",
            Self::WrongToken => "wrong-token",
            Self::Throttled => "throttled",
        }
    }

    /// What the client is told.
    fn detail(self) -> &'static str {
        match self {
            Self::Missing => MISSING_TOKEN,
            Self::NotBearer => "the Authorization header must use the Bearer scheme",
            Self::WrongToken => "the operator token is not valid",
            Self::Throttled => "too many failed operator calls from this address",
        }
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(parts: &Parts) -> Result<&str, Refusal> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(Refusal::Missing)?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Refusal::NotBearer),
    }
}

/// 429 with `Retry-After` (whole seconds, at least one).
pub(super) fn too_many_failures(wait: Duration) -> Problem {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-failed-calls",
        "Too many failed calls",
        format!("too many failed operator calls from this address; try again in {seconds} seconds"),
    )
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
}

/// Proof that the request came from an operator. Put it first among a
/// handler's arguments so that a 401 or 429 comes before any other
/// complaint.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        state.operator_auth.authenticate(parts, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let token = OperatorToken::new("s3cret");
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches("s3cret!"));
        assert!(!token.matches("S3cret"));
        assert!(!token.matches(""));
    }

    #[test]
    fn the_token_is_kept_as_a_fixed_size_digest_whatever_its_length() {
        let long = "x".repeat(4096);
        for token in ["a", "s3cret", long.as_str()] {
            let kept = OperatorToken::new(token);
            assert_eq!(kept.0.len(), 32, "only a digest is kept");
            assert!(kept.matches(token));
            assert!(!kept.matches(&token[1..]), "a prefix never matches");
        }
        assert_eq!(
            format!("{:?}", OperatorToken::new("s3cret")),
            "OperatorToken(..)"
        );
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
    fn a_client_out_of_failures_is_refused_even_with_the_right_token_until_the_window_passes() {
        let window = Duration::from_secs(60);
        let auth = OperatorAuth::new(
            OperatorToken::new("s3cret"),
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
            status(auth.authenticate(&call(Some("a"), guesser), start)),
            Some(401)
        );
        assert_eq!(
            status(auth.authenticate(&call(None, guesser), start)),
            Some(401)
        );
        assert_eq!(
            status(auth.authenticate(&call(Some("b"), guesser), start)),
            Some(429)
        );
        assert_eq!(
            status(auth.authenticate(&call(Some("s3cret"), guesser), start)),
            Some(429),
            "a throttled client learns nothing about its guesses"
        );
        let elsewhere = [192, 0, 2, 2];
        assert_eq!(
            status(auth.authenticate(&call(Some("s3cret"), elsewhere), start)),
            None
        );
        let later = start + window;
        assert_eq!(
            status(auth.authenticate(&call(Some("s3cret"), guesser), later)),
            None
        );
    }

    #[test]
    fn successful_calls_are_never_throttled() {
        let auth = OperatorAuth::new(
            OperatorToken::new("s3cret"),
            ThrottleSettings {
                max_failures: 1,
                window: Duration::from_secs(60),
                max_clients: 10,
            },
        );
        let now = Instant::now();

        for _ in 0..1000 {
            let call = call(Some("s3cret"), [192, 0, 2, 1]);
            assert!(auth.authenticate(&call, now).is_ok());
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
