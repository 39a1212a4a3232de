//! The settings of bettors' tokens, and the lifetime `bet-maker token`
//! reads.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How bettors' tokens (JWTs) are checked: the key (exactly one of a shared
/// secret or a public key file), and the issuer, audience and longest
/// lifetime.
#[derive(Debug, Clone, clap::Args)]
pub struct JwtSettings {
    /// The key tokens are signed with.
    #[command(flatten)]
    pub key: JwtKeySettings,
    /// What every token must say, and how long it may live.
    #[command(flatten)]
    pub claims: JwtClaimSettings,
}

/// What `bet-maker token` reads, and nothing else: the secret it signs
/// with and the claims bet-maker checks, so that the token it prints is
/// one bet-maker accepts. Neither the database nor the broker nor the
/// keys of line messages: a token needs none of them.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenSigningSettings {
    /// The shared secret of HS256 tokens (at least 32 bytes) to sign with,
    /// the one bet-maker verifies with. Required: with only
    /// BET_MAKER_JWT_PUBLIC_KEY_FILE, tokens come from the identity
    /// provider that holds the private key, not from bet-maker.
    #[arg(
        long = "jwt-secret",
        env = "BET_MAKER_JWT_SECRET",
        value_name = "BET_MAKER_JWT_SECRET",
        hide_env_values = true,
        required = true,
        value_parser = SecretParser
    )]
    pub secret: JwtSecret,
    /// What the token must say, and how long it may live.
    #[command(flatten)]
    pub claims: JwtClaimSettings,
}

impl TokenSigningSettings {
    /// The settings bet-maker would verify the token with.
    pub fn jwt_settings(&self) -> JwtSettings {
        JwtSettings {
            key: JwtKeySettings {
                secret: Some(self.secret.clone()),
                public_key_file: None,
            },
            claims: self.claims.clone(),
        }
    }
}

/// The claims checked on every token besides its signature: the issuer
/// and audience when set, and how long it may live.
#[derive(Debug, Clone, clap::Args)]
pub struct JwtClaimSettings {
    /// The `iss` every token must carry; unset, any issuer (or none).
    #[arg(
        long = "jwt-issuer",
        env = "BET_MAKER_JWT_ISSUER",
        value_name = "BET_MAKER_JWT_ISSUER"
    )]
    pub issuer: Option<String>,
    /// The audience (`aud`) every token must name; unset, `aud` is not
    /// checked.
    #[arg(
        long = "jwt-audience",
        env = "BET_MAKER_JWT_AUDIENCE",
        value_name = "BET_MAKER_JWT_AUDIENCE"
    )]
    pub audience: Option<String>,
    /// The longest a token may live, in seconds: a token whose `exp` is
    /// more than this after its `iat` (or after now, when it has no `iat`
    /// or one in the future) is refused, so that no token is good for
    /// ever. `bet-maker token` refuses a longer `--ttl`.
    #[arg(
        long = "jwt-max-lifetime-secs",
        env = "BET_MAKER_JWT_MAX_LIFETIME_SECS",
        value_name = "BET_MAKER_JWT_MAX_LIFETIME_SECS",
        default_value = "86400",
        value_parser = positive_seconds
    )]
    pub max_lifetime: Duration,
}

impl Default for JwtClaimSettings {
    /// No issuer or audience checked, a day at most.
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

/// The default of `BET_MAKER_JWT_MAX_LIFETIME_SECS`: a day.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(86_400);

/// A number of seconds that is not a whole number above zero.
#[derive(Debug, thiserror::Error)]
#[error("must be a whole number of seconds above 0")]
pub struct NotPositiveSeconds;

fn positive_seconds(text: &str) -> Result<Duration, NotPositiveSeconds> {
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(NotPositiveSeconds),
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
    }
}

/// Exactly one of the two ways to verify tokens.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct JwtKeySettings {
    /// The shared secret of HS256 tokens (at least 32 bytes), which
    /// `bet-maker token` also signs with. Exactly one of this and
    /// BET_MAKER_JWT_PUBLIC_KEY_FILE is required.
    #[arg(
        long = "jwt-secret",
        env = "BET_MAKER_JWT_SECRET",
        value_name = "BET_MAKER_JWT_SECRET",
        hide_env_values = true,
        value_parser = SecretParser
    )]
    pub secret: Option<JwtSecret>,
    /// An identity provider's public key (PEM: RSA for RS256, EC P-256 for
    /// ES256, Ed25519 for EdDSA; the key's type decides the algorithm).
    /// Exactly one of this and BET_MAKER_JWT_SECRET is required.
    #[arg(
        long = "jwt-public-key-file",
        env = "BET_MAKER_JWT_PUBLIC_KEY_FILE",
        value_name = "BET_MAKER_JWT_PUBLIC_KEY_FILE"
    )]
    pub public_key_file: Option<PathBuf>,
}

/// The HS256 secret: at least 32 bytes, as RFC 7518 asks of a key for a
/// 256-bit hash. Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(String);

/// The fewest bytes a secret may have.
pub const MIN_SECRET_BYTES: usize = 32;

/// `BET_MAKER_JWT_SECRET` is too short to be a secret.
#[derive(Debug, thiserror::Error)]
#[error(
    "it must be at least {MIN_SECRET_BYTES} bytes long (it has {0}); `openssl rand -hex 32` makes one"
)]
pub struct SecretTooShort(usize);

impl JwtSecret {
    /// Checks the length.
    pub fn parse(secret: &str) -> Result<Self, SecretTooShort> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort(secret.len()));
        }
        Ok(Self(secret.to_owned()))
    }

    /// The secret's bytes, to sign and verify with.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Reads `BET_MAKER_JWT_SECRET` without ever echoing it: clap's own
/// message for a refused value quotes the value.
#[derive(Debug, Clone, Copy)]
struct SecretParser;

impl clap::builder::TypedValueParser for SecretParser {
    type Value = JwtSecret;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<JwtSecret, clap::Error> {
        let refused = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid BET_MAKER_JWT_SECRET: {why}\n"),
            )
            .with_cmd(command)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refused("it is not UTF-8".to_owned()))?;
        JwtSecret::parse(text).map_err(|error| refused(error.to_string()))
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}

/// A token lifetime that is not `<number><s|m|h|d>`, or not above zero.
#[derive(Debug, thiserror::Error)]
#[error(
    "a lifetime is a whole number and a unit, s, m, h or d (30m, 1h, 7d), above zero and at most 365d"
)]
pub struct BadLifetime;

/// Reads a token lifetime: `90s`, `30m`, `1h`, `7d`; at most a year.
pub fn parse_lifetime(text: &str) -> Result<Duration, BadLifetime> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let number = text.get(..split).ok_or(BadLifetime)?;
    let unit = text.get(split..).ok_or(BadLifetime)?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(BadLifetime),
    };
    let number: u64 = number.parse().map_err(|_| BadLifetime)?;
    let seconds = number.checked_mul(seconds_per_unit).ok_or(BadLifetime)?;
    if seconds == 0 || seconds > 365 * 86_400 {
        return Err(BadLifetime);
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_max_lifetime_is_whole_seconds_above_zero() {
        assert_eq!(positive_seconds("86400").ok(), Some(DEFAULT_MAX_LIFETIME));
        for bad in ["0", "-1", "1.5", "a day", ""] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_secret_has_at_least_32_bytes_and_never_shows() {
        assert!(JwtSecret::parse(&"s".repeat(31)).is_err());
        let secret = JwtSecret::parse(&"s".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{secret:?}"), "JwtSecret(..)");
    }

    #[test]
    fn a_lifetime_is_a_number_and_a_unit_up_to_a_year() {
        let seconds = |text| parse_lifetime(text).ok().map(|d| d.as_secs());
        assert_eq!(seconds("1h"), Some(3_600));
        assert_eq!(seconds("90s"), Some(90));
        assert_eq!(seconds("30m"), Some(1_800));
        assert_eq!(seconds("365d"), Some(365 * 86_400));
        for bad in [
            "",
            "h",
            "1",
            "0h",
            "-1h",
            "1.5h",
            "366d",
            "1w",
            "1 h",
            "1é",
            "99999999999999999999d",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
