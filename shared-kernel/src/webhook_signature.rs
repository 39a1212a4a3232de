//! A webhook's signature, as the large card processors sign theirs: the
//! header `Payments-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is
//! HMAC-SHA256 over `<t>.<the exact body bytes>` with a secret both sides
//! hold. Several `v1=` may be sent while a secret is rotated; any one that
//! verifies with any accepted secret will do, if `t` is within the
//! tolerance of the receiver's clock (so a captured request cannot be
//! replayed later).
//!
//! Both ends live here, so they cannot drift: the receiver's
//! [`WebhookVerifier`] and the [`sign`] a sender (a sandbox provider, a
//! test) uses.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header the signature travels in.
pub const HEADER: &str = "Payments-Signature";

/// The fewest bytes a secret may have: 256 bits, as HS256's key.
pub const MIN_SECRET_BYTES: usize = 32;

/// The most `v1=` signatures one header may carry: a rotation needs two;
/// more would only let a sender make the receiver hash the body many times.
pub const MAX_SIGNATURES: usize = 8;

type HmacSha256 = Hmac<Sha256>;

/// A shared secret. Its value is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A secret shorter than [`MIN_SECRET_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a webhook secret must be at least {MIN_SECRET_BYTES} bytes long (`openssl rand -hex 32` makes one)"
)]
pub struct SecretTooShort;

impl WebhookSecret {
    /// The secret as configured (its bytes as written, as `openssl dgst
    /// -hmac` takes them).
    pub fn parse(text: &str) -> Result<Self, SecretTooShort> {
        let text = text.trim();
        if text.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort);
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    /// A fresh random secret (64 hex digits), for a sandbox that signs and
    /// verifies its own webhooks.
    pub fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(hex::encode(bytes).into_bytes())
    }

    fn mac(&self, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// The hex HMAC-SHA256 of `<timestamp>.<body>` with `secret`.
pub fn sign(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    hex::encode(secret.mac(timestamp, body).finalize().into_bytes())
}

/// The header's value for a body signed at `timestamp` with each of
/// `secrets` (one `v1=` each).
pub fn header_value(secrets: &[WebhookSecret], timestamp: i64, body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&sign(secret, timestamp, body));
    }
    value
}

/// Why a webhook's signature was refused: a fixed set, for a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    /// No signature header.
    #[error("the {HEADER} header is missing")]
    Missing,
    /// The header is not `t=<unix seconds>,v1=<64 hex digits>[,v1=...]`.
    #[error("the {HEADER} header is not t=<unix seconds>,v1=<hex HMAC-SHA256>")]
    Malformed,
    /// `t` is further from now than the tolerance.
    #[error("the signature's timestamp is outside the tolerance of this server's clock")]
    Stale,
    /// No `v1=` verifies with any accepted secret.
    #[error("no signature verifies with an accepted secret")]
    Mismatch,
}

impl SignatureRefusal {
    /// The reason as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing_signature",
            Self::Malformed => "malformed_signature",
            Self::Stale => "stale_signature",
            Self::Mismatch => "bad_signature",
        }
    }
}

/// Checks webhooks against the accepted secrets and the clock.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secrets: Vec<WebhookSecret>,
    tolerance_secs: i64,
}

impl WebhookVerifier {
    /// Accepts a signature by any of `secrets` with `t` at most
    /// `tolerance_secs` from now, either way.
    pub fn new(secrets: Vec<WebhookSecret>, tolerance_secs: u32) -> Self {
        Self {
            secrets,
            tolerance_secs: i64::from(tolerance_secs),
        }
    }

    /// The secrets, newest (the one a sender should sign with) first.
    pub fn secrets(&self) -> &[WebhookSecret] {
        &self.secrets
    }

    /// Whether `header` signs `body`, read at `now` (unix seconds); the
    /// signature's `t` when it does. Each comparison takes constant time.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<i64, SignatureRefusal> {
        let header = header.ok_or(SignatureRefusal::Missing)?;
        let (timestamp, signatures) = parse_header(header)?;
        if timestamp.abs_diff(now) > self.tolerance_secs.unsigned_abs() {
            return Err(SignatureRefusal::Stale);
        }
        for secret in &self.secrets {
            for signature in &signatures {
                if secret.mac(timestamp, body).verify_slice(signature).is_ok() {
                    return Ok(timestamp);
                }
            }
        }
        Err(SignatureRefusal::Mismatch)
    }
}

/// `t` and every `v1` of the header; other schemes (`v0=`) are ignored, as
/// senders may add them.
fn parse_header(header: &str) -> Result<(i64, Vec<Vec<u8>>), SignatureRefusal> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureRefusal::Malformed)?;
        match key {
            "t" => {
                let parsed = (!value.is_empty()
                    && value.len() <= 12
                    && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<i64>().ok())
                .flatten()
                .ok_or(SignatureRefusal::Malformed)?;
                if timestamp.replace(parsed).is_some() {
                    return Err(SignatureRefusal::Malformed);
                }
            }
            "v1" => {
                if signatures.len() == MAX_SIGNATURES || value.len() != 64 {
                    return Err(SignatureRefusal::Malformed);
                }
                signatures.push(hex::decode(value).map_err(|_| SignatureRefusal::Malformed)?);
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok((timestamp, signatures)),
        _ => Err(SignatureRefusal::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"deposit.succeeded"}"#;

    fn secret(text: &str) -> WebhookSecret {
        WebhookSecret::parse(&text.repeat(32)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn verifier(secrets: &[&str]) -> WebhookVerifier {
        WebhookVerifier::new(secrets.iter().map(|s| secret(s)).collect(), 300)
    }

    #[test]
    fn a_signature_is_the_hmac_openssl_computes() {
        // printf '%s' '1800000000.{"id":"evt_1","type":"deposit.succeeded"}' |
        //   openssl dgst -sha256 -hmac "$(printf 'a%.0s' $(seq 32))"
        let text = sign(&secret("a"), NOW, BODY);
        assert_eq!(text.len(), 64);
        let openssl = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", &"a".repeat(32)])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(format!("{NOW}.").as_bytes())?;
                    stdin.write_all(BODY)?;
                }
                child.wait_with_output()
            })
            .unwrap_or_else(|e| panic!("running openssl: {e}"));
        let printed = String::from_utf8_lossy(&openssl.stdout);
        assert!(
            printed.trim_end().ends_with(&text),
            "openssl printed {printed}, we {text}"
        );
    }

    #[test]
    fn a_signed_body_verifies_within_the_tolerance_either_way() {
        let header = header_value(&[secret("a")], NOW, BODY);
        let verifier = verifier(&["a"]);
        assert_eq!(verifier.verify(Some(&header), BODY, NOW), Ok(NOW));
        assert_eq!(verifier.verify(Some(&header), BODY, NOW + 300), Ok(NOW));
        assert_eq!(verifier.verify(Some(&header), BODY, NOW - 300), Ok(NOW));
        assert_eq!(
            verifier.verify(Some(&header), BODY, NOW + 301),
            Err(SignatureRefusal::Stale)
        );
        assert_eq!(
            verifier.verify(Some(&header), BODY, NOW - 301),
            Err(SignatureRefusal::Stale)
        );
    }

    #[test]
    fn a_missing_header_wrong_secret_or_altered_body_is_refused() {
        let verifier = verifier(&["a"]);
        assert_eq!(
            verifier.verify(None, BODY, NOW),
            Err(SignatureRefusal::Missing)
        );
        let other = header_value(&[secret("b")], NOW, BODY);
        assert_eq!(
            verifier.verify(Some(&other), BODY, NOW),
            Err(SignatureRefusal::Mismatch)
        );
        let header = header_value(&[secret("a")], NOW, BODY);
        let altered = br#"{"id":"evt_1","type":"deposit.succeeded" }"#;
        assert_eq!(
            verifier.verify(Some(&header), altered, NOW),
            Err(SignatureRefusal::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert_eq!(
            verifier.verify(Some(&moved), BODY, NOW),
            Err(SignatureRefusal::Mismatch)
        );
    }

    #[test]
    fn during_a_rotation_any_signature_by_any_accepted_secret_verifies() {
        let both = header_value(&[secret("new"), secret("old")], NOW, BODY);
        assert_eq!(verifier(&["old"]).verify(Some(&both), BODY, NOW), Ok(NOW));
        assert_eq!(verifier(&["new"]).verify(Some(&both), BODY, NOW), Ok(NOW));
        let old_only = header_value(&[secret("old")], NOW, BODY);
        assert_eq!(
            verifier(&["new", "old"]).verify(Some(&old_only), BODY, NOW),
            Ok(NOW)
        );
        assert_eq!(
            verifier(&["new"]).verify(Some(&old_only), BODY, NOW),
            Err(SignatureRefusal::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused_before_any_hashing() {
        let good = sign(&secret("a"), NOW, BODY);
        let too_many = format!(
            "t={NOW}{}",
            format!(",v1={good}").repeat(MAX_SIGNATURES + 1)
        );
        for header in [
            String::new(),
            format!("v1={good}"),
            format!("t={NOW}"),
            format!("t=,v1={good}"),
            format!("t=-5,v1={good}"),
            format!("t=1e9,v1={good}"),
            format!("t={NOW},t={NOW},v1={good}"),
            format!("t={NOW},v1={}", &good[..63]),
            format!("t={NOW},v1={}zz", &good[..62]),
            format!("t={NOW};v1={good}"),
            too_many,
        ] {
            assert_eq!(
                verifier(&["a"]).verify(Some(&header), BODY, NOW),
                Err(SignatureRefusal::Malformed),
                "{header}"
            );
        }
        let with_other_scheme = format!("t={NOW},v0=abc,v1={good}");
        assert_eq!(
            verifier(&["a"]).verify(Some(&with_other_scheme), BODY, NOW),
            Ok(NOW)
        );
    }

    #[test]
    fn secrets_are_long_and_never_printed() {
        assert_eq!(WebhookSecret::parse(&"x".repeat(31)), Err(SecretTooShort));
        assert!(WebhookSecret::parse(&"x".repeat(32)).is_ok());
        assert_eq!(format!("{:?}", secret("a")), "WebhookSecret(..)");
        assert_ne!(WebhookSecret::random(), WebhookSecret::random());
    }
}
