//! Bettors' tokens (JWTs): verified on every bettor call, and issued by
//! `bet-maker token` when a shared secret is configured.
//!
//! The algorithm comes from the configured key, never from the token: a
//! secret means HS256 and nothing else; a public key file means RS256,
//! ES256 or EdDSA by the key's type. A token whose header names anything
//! else (`none`, or HS256 "signed" with the public key's bytes) is refused
//! before its signature is looked at.
//!
//! No token is good for ever: one whose `exp` is more than
//! `BET_MAKER_JWT_MAX_LIFETIME_SECS` after its `iat` (or after now) is
//! refused. Nor is any extension understood: a header with `crit` is
//! refused (RFC 7515, 4.1.11), whatever it names; jsonwebtoken reads that
//! parameter but does not act on it, so it is checked here, on the
//! header's own JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::bettor::TokenRefusal;
use crate::config::JwtSettings;
use crate::domain::{BettorId, Scopes};

/// Clock skew forgiven on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// The key tokens are checked with could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    /// Neither or both of the secret and the public key file are set.
    #[error("exactly one of BET_MAKER_JWT_SECRET and BET_MAKER_JWT_PUBLIC_KEY_FILE must be set")]
    NotExactlyOne,
    /// The file could not be read.
    #[error("BET_MAKER_JWT_PUBLIC_KEY_FILE: reading {}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file holds a private key, which bet-maker must never hold.
    #[error(
        "BET_MAKER_JWT_PUBLIC_KEY_FILE: {} holds a private key; give bet-maker only the public one (`openssl pkey -in KEY -pubout`)",
        path.display()
    )]
    PrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// Not a PEM public key of a supported type.
    #[error(
        "BET_MAKER_JWT_PUBLIC_KEY_FILE: {} is not a PEM public key of RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA)",
        path.display()
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
    },
}

/// `bet-maker token` could not make a token.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// Only a public key is configured: tokens come from the identity
    /// provider that holds its private key.
    #[error(
        "bet-maker signs tokens only with BET_MAKER_JWT_SECRET; with BET_MAKER_JWT_PUBLIC_KEY_FILE, tokens come from the identity provider that holds the private key"
    )]
    NoSecret,
    /// The lifetime asked for is longer than tokens may live: the token
    /// would be refused.
    #[error(
        "a token may live at most {} s (BET_MAKER_JWT_MAX_LIFETIME_SECS), not {} s",
        max.as_secs(),
        asked.as_secs()
    )]
    TooLong {
        /// The lifetime asked for.
        asked: Duration,
        /// `BET_MAKER_JWT_MAX_LIFETIME_SECS`.
        max: Duration,
    },
    /// Signing failed.
    #[error("signing the token")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// What bet-maker reads from a token; `exp`, `nbf`, `iss` and `aud` are
/// checked by the library as [`Validation`] says.
#[derive(Debug, Deserialize)]
struct VerifiedClaims {
    sub: String,
    /// Checked by the library against now; here, against the lifetime.
    exp: u64,
    /// When the token was issued, if it says.
    #[serde(default)]
    iat: Option<u64>,
    /// Staff scopes, space-separated (OAuth 2.0); none for a bettor.
    #[serde(default)]
    scope: Option<String>,
}

/// What `bet-maker token` writes.
#[derive(Debug, Serialize)]
struct IssuedClaims<'a> {
    sub: &'a str,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

struct Keys {
    decoding: DecodingKey,
    validation: Validation,
    /// With a secret only.
    encoding: Option<EncodingKey>,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
    max_lifetime: Duration,
}

/// Verifies bettors' tokens, and issues them when the key is a secret.
/// Cheap to clone (shared).
#[derive(Clone)]
pub struct BettorTokens(Arc<Keys>);

impl std::fmt::Debug for BettorTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BettorTokens")
            .field("algorithm", &self.0.algorithm)
            .field("issuer", &self.0.issuer)
            .field("audience", &self.0.audience)
            .finish_non_exhaustive()
    }
}

impl BettorTokens {
    /// The keys `settings` name (reading the public key file, if that is
    /// the one configured).
    pub fn from_settings(settings: &JwtSettings) -> Result<Self, TokenKeyError> {
        let key = &settings.key;
        let (decoding, encoding, algorithm) = match (&key.secret, &key.public_key_file) {
            (Some(secret), None) => (
                DecodingKey::from_secret(secret.as_bytes()),
                Some(EncodingKey::from_secret(secret.as_bytes())),
                Algorithm::HS256,
            ),
            (None, Some(path)) => {
                let (decoding, algorithm) = read_public_key(path)?;
                (decoding, None, algorithm)
            }
            // The command line lets only one through; a `Config` built in
            // code may still get it wrong.
            (None, None) | (Some(_), Some(_)) => return Err(TokenKeyError::NotExactlyOne),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &settings.claims.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &settings.claims.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self(Arc::new(Keys {
            decoding,
            validation,
            encoding,
            algorithm,
            issuer: settings.claims.issuer.clone(),
            audience: settings.claims.audience.clone(),
            max_lifetime: settings.claims.max_lifetime,
        })))
    }

    /// Whether tokens can be issued here: only with a secret (with a
    /// public key, the identity provider holds the private one).
    pub fn can_issue(&self) -> bool {
        self.0.encoding.is_some()
    }

    /// The longest a token may live (`BET_MAKER_JWT_MAX_LIFETIME_SECS`).
    pub fn max_lifetime(&self) -> Duration {
        self.0.max_lifetime
    }

    /// The one algorithm tokens must be signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm
    }

    /// The bettor a token proves, or why it proves nothing.
    pub fn verify(&self, token: &str) -> Result<BettorId, TokenRefusal> {
        self.verify_with_scopes(token).map(|(bettor, _)| bettor)
    }

    /// Who a token proves, and the staff scopes it grants.
    pub fn verify_with_scopes(&self, token: &str) -> Result<(BettorId, Scopes), TokenRefusal> {
        let keys = &self.0;
        if has_critical_header(token) {
            return Err(TokenRefusal::CriticalHeader);
        }
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, &keys.decoding, &keys.validation)
            .map_err(|error| refusal(error.kind()))?;
        let claims = &data.claims;
        if lives_too_long(claims.exp, claims.iat, unix_now(), keys.max_lifetime) {
            return Err(TokenRefusal::TooLong(keys.max_lifetime.as_secs()));
        }
        let bettor = BettorId::parse(&data.claims.sub).map_err(TokenRefusal::BadSubject)?;
        let scopes = data
            .claims
            .scope
            .as_deref()
            .map(Scopes::parse)
            .unwrap_or_default();
        Ok((bettor, scopes))
    }

    /// A token for `bettor`, valid from `now` for `lifetime`, signed with
    /// the secret, with the configured issuer and audience.
    pub fn issue(
        &self,
        bettor: &BettorId,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<String, IssueError> {
        self.issue_with_scope(bettor, None, lifetime, now)
    }

    /// The same with a `scope` claim (`"trader cashier"`), for staff.
    pub fn issue_with_scope(
        &self,
        bettor: &BettorId,
        scope: Option<&str>,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<String, IssueError> {
        let keys = &self.0;
        let encoding = keys.encoding.as_ref().ok_or(IssueError::NoSecret)?;
        if lifetime > keys.max_lifetime {
            return Err(IssueError::TooLong {
                asked: lifetime,
                max: keys.max_lifetime,
            });
        }
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or_default();
        let claims = IssuedClaims {
            sub: bettor.as_str(),
            iat,
            exp: iat.saturating_add(lifetime.as_secs()),
            scope: scope.filter(|scope| !scope.trim().is_empty()),
            iss: keys.issuer.as_deref(),
            aud: keys.audience.as_deref(),
        };
        jsonwebtoken::encode(&Header::new(keys.algorithm), &claims, encoding)
            .map_err(IssueError::Signing)
    }
}

/// Whether the token's header (its first part, base64url JSON) has a
/// `crit` parameter, whatever its value. A header that cannot be read is
/// left to the library, which refuses it as malformed.
fn has_critical_header(token: &str) -> bool {
    let encoded = token.split('.').next().unwrap_or_default();
    let Ok(json) = URL_SAFE_NO_PAD.decode(encoded) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json)
        .is_ok_and(|header| header.contains_key("crit"))
}

/// Whether a token expiring at `exp` outlives `max` (plus the leeway),
/// counted from `iat`, or from `now` when there is no `iat` or it is
/// later than now (a token cannot stretch its life by claiming to be
/// issued in the future). Seconds since the Unix epoch.
fn lives_too_long(exp: u64, iat: Option<u64>, now: u64, max: Duration) -> bool {
    let start = iat.map_or(now, |iat| iat.min(now));
    exp.saturating_sub(start) > max.as_secs().saturating_add(LEEWAY.as_secs())
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

/// The library's verdict, as a refusal.
fn refusal(kind: &ErrorKind) -> TokenRefusal {
    match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            TokenRefusal::WrongAlgorithm
        }
        ErrorKind::InvalidSignature => TokenRefusal::BadSignature,
        ErrorKind::ExpiredSignature => TokenRefusal::Expired,
        ErrorKind::ImmatureSignature => TokenRefusal::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRefusal::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRefusal::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenRefusal::MissingClaim(match claim.as_str() {
                "exp" => "exp",
                "sub" => "sub",
                "iss" => "iss",
                "aud" => "aud",
                _ => "required",
            })
        }
        _ => TokenRefusal::Malformed,
    }
}

/// A PEM public key and the algorithm its type means.
fn read_public_key(path: &Path) -> Result<(DecodingKey, Algorithm), TokenKeyError> {
    let pem = std::fs::read(path).map_err(|source| TokenKeyError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY-----") {
        return Err(TokenKeyError::PrivateKey {
            path: path.to_owned(),
        });
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        // ES256 is P-256 only: its point is 65 bytes uncompressed (P-384's
        // is 97). Another curve would fail every token; refuse it now.
        return match key.try_get_as_bytes() {
            Ok(point) if point.len() == 65 => Ok((key, Algorithm::ES256)),
            _ => Err(TokenKeyError::Unsupported {
                path: path.to_owned(),
            }),
        };
    }
    if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
        return Ok((key, Algorithm::EdDSA));
    }
    Err(TokenKeyError::Unsupported {
        path: path.to_owned(),
    })
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
