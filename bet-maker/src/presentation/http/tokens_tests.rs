use super::*;
use crate::config::{JwtClaimSettings, JwtKeySettings, JwtSecret};
use crate::domain::BettorIdError;

const SECRET: &str = "a-secret-for-unit-tests-of-32-bytes";

fn settings(issuer: Option<&str>, audience: Option<&str>) -> JwtSettings {
    JwtSettings {
        key: JwtKeySettings {
            secret: JwtSecret::parse(SECRET).ok(),
            public_key_file: None,
        },
        claims: JwtClaimSettings {
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
            max_lifetime: crate::config::DEFAULT_MAX_LIFETIME,
        },
    }
}

fn tokens(settings: &JwtSettings) -> BettorTokens {
    BettorTokens::from_settings(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn alice() -> BettorId {
    BettorId::parse("alice").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_issued_token_verifies_as_its_bettor_until_it_expires() {
    let tokens = tokens(&settings(
        Some("https://id.example.com/"),
        Some("bet-maker"),
    ));
    let now = SystemTime::now();
    let fresh = tokens.issue(&alice(), Duration::from_secs(600), now);
    let stale = tokens.issue(
        &alice(),
        Duration::from_secs(60),
        now - Duration::from_secs(3_600),
    );

    assert_eq!(fresh.map(|t| tokens.verify(&t)).ok(), Some(Ok(alice())));
    assert_eq!(
        stale.map(|t| tokens.verify(&t)).ok(),
        Some(Err(TokenRefusal::Expired))
    );
}

#[test]
fn a_token_for_another_issuer_or_audience_is_refused() {
    let ours = tokens(&settings(
        Some("https://id.example.com/"),
        Some("bet-maker"),
    ));
    let theirs = tokens(&settings(
        Some("https://other.example.com/"),
        Some("bet-maker"),
    ));
    let elsewhere = tokens(&settings(Some("https://id.example.com/"), Some("wallet")));
    let now = SystemTime::now();
    let lifetime = Duration::from_secs(600);

    let from_them = theirs.issue(&alice(), lifetime, now);
    let for_elsewhere = elsewhere.issue(&alice(), lifetime, now);

    assert_eq!(
        from_them.map(|t| ours.verify(&t)).ok(),
        Some(Err(TokenRefusal::WrongIssuer))
    );
    assert_eq!(
        for_elsewhere.map(|t| ours.verify(&t)).ok(),
        Some(Err(TokenRefusal::WrongAudience))
    );
}

#[test]
fn without_issuer_and_audience_settings_neither_is_required() {
    let plain = tokens(&settings(None, None));
    let strict = tokens(&settings(
        Some("https://id.example.com/"),
        Some("bet-maker"),
    ));
    let token = plain.issue(&alice(), Duration::from_secs(600), SystemTime::now());

    let token = token.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.verify(&token), Ok(alice()));
    assert!(matches!(
        strict.verify(&token),
        Err(TokenRefusal::MissingClaim("iss" | "aud"))
    ));
}

#[test]
fn only_a_secret_signs() {
    let public_only = JwtSettings {
        key: JwtKeySettings {
            secret: None,
            public_key_file: Some(shared_kernel::testing::test_keys().verify_key_file.clone()),
        },
        claims: JwtClaimSettings::default(),
    };
    let tokens = tokens(&public_only);

    assert_eq!(tokens.algorithm(), Algorithm::EdDSA);
    assert!(matches!(
        tokens.issue(&alice(), Duration::from_secs(60), SystemTime::now()),
        Err(IssueError::NoSecret)
    ));
}

#[test]
fn exactly_one_key_is_needed() {
    let neither = JwtSettings {
        key: JwtKeySettings {
            secret: None,
            public_key_file: None,
        },
        claims: JwtClaimSettings::default(),
    };
    assert!(matches!(
        BettorTokens::from_settings(&neither),
        Err(TokenKeyError::NotExactlyOne)
    ));
}

#[test]
fn refusals_have_fixed_labels_and_quote_free_details() {
    let all = [
        TokenRefusal::Missing,
        TokenRefusal::NotBearer,
        TokenRefusal::Malformed,
        TokenRefusal::WrongAlgorithm,
        TokenRefusal::BadSignature,
        TokenRefusal::Expired,
        TokenRefusal::NotYetValid,
        TokenRefusal::MissingClaim("exp"),
        TokenRefusal::WrongIssuer,
        TokenRefusal::WrongAudience,
        TokenRefusal::BadSubject(BettorIdError::Empty),
        TokenRefusal::TooLong(86_400),
        TokenRefusal::CriticalHeader,
    ];
    let labels: std::collections::BTreeSet<_> = all.iter().map(|r| r.label()).collect();
    assert_eq!(labels.len(), all.len());
    for refusal in all {
        let detail = refusal.detail();
        assert!(!detail.contains(['"', '\\']), "{detail}");
    }
}

#[test]
fn the_lifetime_counts_from_iat_or_from_now_whichever_is_earlier() {
    let day = Duration::from_secs(86_400);
    let now = 1_800_000_000;
    let leeway = LEEWAY.as_secs();
    // From iat.
    assert!(!lives_too_long(now + 86_400, Some(now), now, day));
    assert!(!lives_too_long(now + 86_400 + leeway, Some(now), now, day));
    assert!(lives_too_long(now + 86_401 + leeway, Some(now), now, day));
    assert!(lives_too_long(
        now + 60,
        Some(now - 86_400 - leeway),
        now,
        day
    ));
    // From now, without iat or with one in the future.
    assert!(!lives_too_long(now + 86_400, None, now, day));
    assert!(lives_too_long(now + 86_401 + leeway, None, now, day));
    assert!(lives_too_long(u64::MAX, Some(u64::MAX - 1), now, day));
    // An exp already past is the library's to refuse, not a long life.
    assert!(!lives_too_long(0, Some(now), now, day));
}

#[test]
fn a_crit_parameter_is_found_in_any_header_and_garbage_never_panics() {
    let header = |json: &str| format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(json));
    assert!(has_critical_header(&header(
        r#"{"alg":"HS256","crit":["exp"]}"#
    )));
    assert!(has_critical_header(&header(
        r#"{"alg":"HS256","crit":null}"#
    )));
    assert!(!has_critical_header(&header(
        r#"{"alg":"HS256","typ":"JWT"}"#
    )));
    assert!(!has_critical_header(&header(
        r#"{"alg":"HS256","x":{"crit":1}}"#
    )));
    for garbage in [
        "",
        ".",
        "..",
        "%%%.e30.",
        "é.é.é",
        "\u{0}",
        &header("[\"crit\"]"),
        &header("\"crit\""),
        &header("{"),
        &"A".repeat(100_000),
    ] {
        assert!(!has_critical_header(garbage), "{garbage:?}");
    }
}

#[test]
fn no_token_is_issued_for_longer_than_the_max_lifetime() {
    let tokens = tokens(&settings(None, None));
    let now = SystemTime::now();
    let day = crate::config::DEFAULT_MAX_LIFETIME;
    assert!(tokens.issue(&alice(), day, now).is_ok());
    assert!(matches!(
        tokens.issue(&alice(), day + Duration::from_secs(1), now),
        Err(IssueError::TooLong { .. })
    ));
}
