//! The bettor behind a request: `Authorization: Bearer <JWT>`, verified,
//! or a 401 problem with the `WWW-Authenticate` challenge RFC 6750 asks for.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use shared_kernel::http::Problem;

use super::AppState;
use crate::domain::{BettorId, BettorIdError, Scopes, StaffScope};

/// The OpenAPI security scheme of bettor calls (Swagger UI's Authorize
/// button): `security(("bettor_token" = []))` on each such operation.
pub const SECURITY_SCHEME: &str = "bettor_token";

/// The bettor making the request, proven by a verified token. Put it first
/// among a handler's arguments, so that a 401 comes before any other
/// complaint about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bettor(BettorId);

impl Bettor {
    /// Who they are.
    pub fn id(&self) -> &BettorId {
        &self.0
    }

    /// Who they are, owned.
    pub fn into_id(self) -> BettorId {
        self.0
    }
}

impl FromRequestParts<AppState> for Bettor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        verified(parts, state).map(|(bettor, _)| Self(bettor))
    }
}

/// A staff member whose token grants `cashier`: adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cashier(pub BettorId);

/// A staff member whose token grants `trader`: the house's risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trader(pub BettorId);

impl FromRequestParts<AppState> for Trader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        staff(parts, state, &[StaffScope::Trader]).map(Self)
    }
}

/// A staff member whose token grants `trader` or `cashier`: the audit
/// log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff(pub BettorId);

impl FromRequestParts<AppState> for Cashier {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        staff(parts, state, &[StaffScope::Cashier]).map(Self)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        staff(parts, state, &[StaffScope::Trader, StaffScope::Cashier]).map(Self)
    }
}

/// The token's holder if it grants one of `scopes`: 401 for no valid
/// token, 403 for a valid one without the scope (a bettor's).
fn staff(parts: &Parts, state: &AppState, scopes: &[StaffScope]) -> Result<BettorId, Problem> {
    let (holder, granted) = verified(parts, state)?;
    if granted.grants_any(scopes) {
        return Ok(holder);
    }
    metrics::counter!("bettor_auth_refusals_total", "reason" => "missing_scope").increment(1);
    let names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    tracing::info!(holder = %holder, method = %parts.method, path = parts.uri.path(), "staff call refused: no staff scope");
    Err(forbidden(&names.join(" or ")))
}

/// 403: a valid token without the scope the call needs.
pub fn forbidden(scopes: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Forbidden",
        format!("this call is for staff: the token's scope must grant {scopes}"),
    )
}

/// Who the token proves and its scopes, or the 401.
fn verified(parts: &Parts, state: &AppState) -> Result<(BettorId, Scopes), Problem> {
    let checked = bearer_token(parts).and_then(|token| state.tokens.verify_with_scopes(token));
    match checked {
        Ok(verified) => Ok(verified),
        Err(refusal) => {
            metrics::counter!("bettor_auth_refusals_total", "reason" => refusal.label())
                .increment(1);
            tracing::debug!(
                reason = refusal.label(),
                method = %parts.method,
                path = parts.uri.path(),
                "bettor call refused"
            );
            Err(unauthorized(refusal))
        }
    }
}

/// Why a bettor call was refused: a fixed set, for the metric's label and
/// the problem's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// No `Authorization` header (or not readable as text).
    Missing,
    /// An `Authorization` header of another scheme than Bearer.
    NotBearer,
    /// Not a JWT at all, or its parts cannot be read.
    Malformed,
    /// The header names another algorithm than the configured key's.
    WrongAlgorithm,
    /// The signature does not verify with the configured key.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` has not come yet (beyond the leeway).
    NotYetValid,
    /// A claim that must be there is not (`exp`, `sub`, or the configured
    /// `iss`/`aud`).
    MissingClaim(&'static str),
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name the configured audience.
    WrongAudience,
    /// `sub` is not a bettor's id (1 to 64 characters).
    BadSubject(BettorIdError),
    /// `exp` is more than the maximum lifetime (these seconds,
    /// `BET_MAKER_JWT_MAX_LIFETIME_SECS`) after `iat`, or after now.
    TooLong(u64),
    /// The header has a `crit` parameter: it names extensions that must
    /// be understood, and none is here (RFC 7515, 4.1.11).
    CriticalHeader,
}

impl TokenRefusal {
    /// The reason as a metric label and log field.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not_bearer",
            Self::Malformed => "malformed",
            Self::WrongAlgorithm => "wrong_algorithm",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MissingClaim(_) => "missing_claim",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::BadSubject(_) => "bad_subject",
            Self::TooLong(_) => "too_long",
            Self::CriticalHeader => "critical_header",
        }
    }

    /// What the client is told (no quotes or backslashes: it also goes
    /// into the `WWW-Authenticate` header).
    pub fn detail(self) -> String {
        match self {
            Self::Missing => "bettor calls need `Authorization: Bearer <token>`".to_owned(),
            Self::NotBearer => "the Authorization header must use the Bearer scheme".to_owned(),
            Self::Malformed => "the token is not a well-formed JWT".to_owned(),
            Self::WrongAlgorithm => {
                "the token is not signed with the algorithm this service accepts".to_owned()
            }
            Self::BadSignature => "the token's signature does not verify".to_owned(),
            Self::Expired => "the token has expired".to_owned(),
            Self::NotYetValid => "the token is not valid yet (nbf)".to_owned(),
            Self::MissingClaim(claim) => format!("the token has no `{claim}` claim"),
            Self::WrongIssuer => "the token's issuer (iss) is not the one trusted here".to_owned(),
            Self::WrongAudience => {
                "the token's audience (aud) does not name this service".to_owned()
            }
            Self::BadSubject(rule) => format!("the token's subject (sub) {rule}"),
            Self::TooLong(max) => format!(
                "the token lives too long: its exp is more than {max} s after its iat (or after now)"
            ),
            Self::CriticalHeader => {
                "the token's header has a crit parameter, and no extension is understood here"
                    .to_owned()
            }
        }
    }

    /// Whether the client sent a bearer token at all: RFC 6750 puts
    /// `error="invalid_token"` in the challenge only when it did.
    pub fn presented_a_token(self) -> bool {
        !matches!(self, Self::Missing | Self::NotBearer)
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token(parts: &Parts) -> Result<&str, TokenRefusal> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(TokenRefusal::Missing)?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ if header.eq_ignore_ascii_case("bearer") => Err(TokenRefusal::Malformed),
        _ => Err(TokenRefusal::NotBearer),
    }
}

/// 401 with `WWW-Authenticate: Bearer`, plus `error="invalid_token"` and
/// the reason when a token was presented (RFC 6750, 3.1).
pub fn unauthorized(refusal: TokenRefusal) -> Problem {
    let detail = refusal.detail();
    let problem = Problem::unauthorized(detail.clone());
    if !refusal.presented_a_token() {
        return problem;
    }
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{detail}\"");
    match HeaderValue::from_str(&challenge) {
        Ok(challenge) => problem.with_header(WWW_AUTHENTICATE, challenge),
        Err(_) => problem.with_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(authorization: Option<&'static str>) -> Parts {
        let mut request = axum::http::Request::new(());
        if let Some(value) = authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, HeaderValue::from_static(value));
        }
        request.into_parts().0
    }

    #[test]
    fn the_token_is_what_follows_the_bearer_scheme_in_any_case() {
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))), Ok("abc"));
        assert_eq!(bearer_token(&parts(Some("bearer  abc "))), Ok("abc"));
        assert_eq!(bearer_token(&parts(None)), Err(TokenRefusal::Missing));
        assert_eq!(
            bearer_token(&parts(Some("Basic YWxpY2U6c2VjcmV0"))),
            Err(TokenRefusal::NotBearer)
        );
        assert_eq!(
            bearer_token(&parts(Some("Bearer"))),
            Err(TokenRefusal::Malformed)
        );
    }

    #[test]
    fn the_challenge_names_invalid_token_only_when_a_token_was_sent() {
        let challenge = |refusal| {
            let response = axum::response::IntoResponse::into_response(unauthorized(refusal));
            assert_eq!(response.status(), axum::http::StatusCode::UNAUTHORIZED);
            response.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(challenge(TokenRefusal::Missing), "Bearer");
        assert_eq!(challenge(TokenRefusal::NotBearer), "Bearer");
        assert_eq!(
            challenge(TokenRefusal::Expired),
            "Bearer error=\"invalid_token\", error_description=\"the token has expired\""
        );
        let subject = challenge(TokenRefusal::BadSubject(
            crate::domain::BettorIdError::TooLong,
        ));
        assert!(
            subject.starts_with("Bearer error=\"invalid_token\""),
            "{subject}"
        );
    }
}
