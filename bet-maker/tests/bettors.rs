//! Bettors: who may call `/bets*` (a verified token, or a 401 saying why
//! not), and what each bettor sees (only their own bets, their own
//! idempotency keys). Against the real app on a database of its own.

mod support;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{expect_json, expect_problem, rotated_test_keys, test_keys};
use support::{BETTOR, JWT_SECRET, TestApp};
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A token with exactly these claims, signed with `key` under `algorithm`.
fn signed(algorithm: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key)
        .unwrap_or_else(|e| panic!("signing {claims}: {e}"))
}

/// An HS256 token with these claims, signed with the test secret.
fn hs256(claims: &Value) -> String {
    signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        claims,
    )
}

/// Claims that verify: `sub`, and `exp` an hour away.
fn good_claims(sub: &str) -> Value {
    json!({ "sub": sub, "iat": now(), "exp": now() + 3_600 })
}

/// The same claims under another JSON key set: `claims` with `changes`
/// merged in (a `null` removes the claim).
fn with(claims: Value, changes: Value) -> Value {
    let mut claims = claims;
    if let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            if value.is_null() {
                claims.remove(key);
            } else {
                claims.insert(key.clone(), value.clone());
            }
        }
    }
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `GET /bets` with this `Authorization` header (or none).
fn list_bets(app: &TestApp, authorization: Option<&str>) -> RequestBuilder {
    let request = app.anonymous(Method::GET, "/bets");
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

/// Sends `request`, expects a 401 problem, and returns its
/// `WWW-Authenticate` challenge.
async fn expect_401(request: RequestBuilder, case: &str) -> String {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{case}: a 401 without WWW-Authenticate"))
        .to_owned();
    let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:unauthorized",
        "{case}: {problem}"
    );
    challenge
}

/// Expects a 401 with `error="invalid_token"` in the challenge.
async fn expect_invalid_token(app: &TestApp, token: &str, case: &str) {
    let challenge = expect_401(list_bets(app, Some(&format!("Bearer {token}"))), case).await;
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{case}: {challenge}"
    );
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page without items: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

// --------------------------------------------------------- who may call

#[tokio::test]
async fn a_call_without_a_token_is_401_with_a_bare_bearer_challenge() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;

    let listing = expect_401(list_bets(&app, None), "GET /bets").await;
    let one = expect_401(
        app.anonymous(Method::GET, &format!("/bets/{}", Uuid::now_v7())),
        "GET /bets/{id}",
    )
    .await;
    let placing = expect_401(
        app.anonymous(Method::POST, "/bets")
            .json(&json!({ "event_id": event.id, "amount": "10.00" })),
        "POST /bets",
    )
    .await;
    let basic = expect_401(
        list_bets(&app, Some("Basic YWxpY2U6c2VjcmV0")),
        "another scheme",
    )
    .await;

    for challenge in [listing, one, placing, basic] {
        assert_eq!(challenge, "Bearer");
    }
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 0);
}

#[tokio::test]
async fn a_401_comes_before_any_complaint_about_the_request() {
    let app = TestApp::spawn().await;

    let malformed_body = expect_401(
        app.anonymous(Method::POST, "/bets")
            .header("Idempotency-Key", "not a key")
            .header("Content-Type", "application/json")
            .body("{"),
        "POST /bets with a bad key and body",
    )
    .await;
    let bad_id = expect_401(
        app.anonymous(Method::GET, "/bets/not-a-uuid"),
        "GET /bets/not-a-uuid",
    )
    .await;

    assert_eq!(malformed_body, "Bearer");
    assert_eq!(bad_id, "Bearer");
}

#[tokio::test]
async fn every_bad_token_is_401_invalid_token_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let good = hs256(&good_claims(BETTOR));
    let (header, payload, signature) = {
        let mut parts = good.split('.');
        (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        )
    };
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(&with(good_claims(BETTOR), json!({ "sub": "mallory" })))
    );
    let unsigned = format!(
        "{}.{payload}.",
        b64(&json!({ "alg": "none", "typ": "JWT" }))
    );
    let other_secret = signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long"),
        &good_claims(BETTOR),
    );
    let hs512 = signed(
        Algorithm::HS512,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        &good_claims(BETTOR),
    );
    let cases: Vec<(&str, String)> = vec![
        ("not a JWT", "not-a-jwt".to_owned()),
        ("an empty token", String::new()),
        ("two parts", format!("{header}.{payload}")),
        ("garbage parts", "a.b.c".to_owned()),
        ("tampered claims", tampered),
        ("alg none", unsigned),
        ("signed with another secret", other_secret),
        ("HS512, not HS256", hs512),
        (
            "expired",
            hs256(&with(good_claims(BETTOR), json!({ "exp": now() - 120 }))),
        ),
        (
            "not valid yet",
            hs256(&with(good_claims(BETTOR), json!({ "nbf": now() + 600 }))),
        ),
        (
            "no exp",
            hs256(&with(good_claims(BETTOR), json!({ "exp": null }))),
        ),
        (
            "exp not a number",
            hs256(&with(good_claims(BETTOR), json!({ "exp": "tomorrow" }))),
        ),
        (
            "no sub",
            hs256(&with(good_claims(BETTOR), json!({ "sub": null }))),
        ),
        ("an empty sub", hs256(&good_claims(""))),
        (
            "a sub of 65 characters",
            hs256(&good_claims(&"a".repeat(65))),
        ),
        (
            "a sub that is not a string",
            hs256(&with(good_claims(BETTOR), json!({ "sub": 42 }))),
        ),
        // A NUL would fail the statements that store it (a 500), a
        // newline would forge log lines: not printable, not a bettor.
        ("a sub with a NUL", hs256(&good_claims("ali\u{0}ce"))),
        (
            "a sub with a newline",
            hs256(&good_claims("alice\nINFO bet_maker: forged")),
        ),
        (
            "a sub with an escape",
            hs256(&good_claims("\u{1b}[31malice")),
        ),
    ];

    for (case, token) in &cases {
        expect_invalid_token(&app, token, case).await;
        let placing = app
            .anonymous(Method::POST, "/bets")
            .bearer_auth(token)
            .json(&json!({ "event_id": event.id, "amount": "10.00" }));
        let challenge = expect_401(placing, case).await;
        assert!(challenge.contains("invalid_token"), "{case}: {challenge}");
    }
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 0);
}

#[tokio::test]
async fn the_problem_says_why_the_token_was_refused() {
    let app = TestApp::spawn().await;
    let expired = hs256(&with(good_claims(BETTOR), json!({ "exp": now() - 120 })));

    let response = list_bets(&app, Some(&format!("Bearer {expired}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["detail"], "the token has expired", "{problem}");
    assert_eq!(
        challenge,
        "Bearer error=\"invalid_token\", error_description=\"the token has expired\""
    );
}

#[tokio::test]
async fn a_token_within_the_leeway_of_its_exp_or_nbf_is_accepted() {
    let app = TestApp::spawn().await;
    let just_expired = hs256(&with(good_claims(BETTOR), json!({ "exp": now() - 5 })));
    let almost_valid = hs256(&with(good_claims(BETTOR), json!({ "nbf": now() + 5 })));

    for token in [just_expired, almost_valid] {
        let response = list_bets(&app, Some(&format!("Bearer {token}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        expect_json(response, StatusCode::OK).await;
    }
}

/// 1 January 3000, in seconds since the Unix epoch.
const YEAR_3000: u64 = 32_503_680_000;

/// A day: the default of `BET_MAKER_JWT_MAX_LIFETIME_SECS`.
const DAY: u64 = 86_400;

/// An HS256 token with exactly this header (any JSON) and these claims,
/// signed with the test secret.
fn hs256_with_header(header: &Value, claims: &Value) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap_or_else(|e| panic!("signing {message}: {e}"));
    format!("{message}.{signature}")
}

/// `GET /bets` with `token`: 401 with the problem document, whose detail
/// is returned.
async fn refused_detail(app: &TestApp, token: &str, case: &str) -> String {
    let response = list_bets(app, Some(&format!("Bearer {token}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let problem = expect_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:unauthorized",
        "{case}: {problem}"
    );
    problem["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_token_living_longer_than_the_max_lifetime_is_401() {
    let app = TestApp::spawn().await;
    let now = now();
    let cases = [
        (
            "exp in year 3000",
            with(good_claims(BETTOR), json!({ "exp": YEAR_3000 })),
        ),
        (
            "exp a day and an hour after iat",
            with(
                good_claims(BETTOR),
                json!({ "iat": now - 3_600, "exp": now + DAY }),
            ),
        ),
        (
            "no iat, exp more than a day from now",
            with(
                good_claims(BETTOR),
                json!({ "iat": null, "exp": now + DAY + 3_600 }),
            ),
        ),
        (
            "an iat in the future does not stretch the lifetime",
            with(
                good_claims(BETTOR),
                json!({ "iat": YEAR_3000 - 60, "exp": YEAR_3000 }),
            ),
        ),
    ];

    for (case, claims) in &cases {
        let detail = refused_detail(&app, &hs256(claims), case).await;
        assert!(detail.contains("lives too long"), "{case}: {detail}");
    }
}

#[tokio::test]
async fn a_token_within_the_max_lifetime_is_accepted() {
    let app = TestApp::spawn().await;
    let now = now();
    let cases = [
        (
            "exp a day after iat",
            with(good_claims(BETTOR), json!({ "iat": now, "exp": now + DAY })),
        ),
        (
            "no iat, exp within a day of now",
            with(
                good_claims(BETTOR),
                json!({ "iat": null, "exp": now + DAY - 60 }),
            ),
        ),
    ];

    for (case, claims) in &cases {
        let response = list_bets(&app, Some(&format!("Bearer {}", hs256(claims))))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "{case}");
    }
}

#[tokio::test]
async fn the_max_lifetime_is_the_configured_one() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.jwt.claims.max_lifetime = std::time::Duration::from_secs(600);
    })
    .await;
    let an_hour = hs256(&good_claims(BETTOR));
    let ten_minutes = hs256(&with(good_claims(BETTOR), json!({ "exp": now() + 600 })));

    let detail = refused_detail(&app, &an_hour, "an hour, past 600 s").await;
    assert!(detail.contains("600 s"), "{detail}");
    let response = list_bets(&app, Some(&format!("Bearer {ten_minutes}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_with_a_crit_header_is_401_whatever_it_names() {
    let app = TestApp::spawn().await;
    let claims = good_claims(BETTOR);
    let headers = [
        json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": ["http://example.com/unknown"], "http://example.com/unknown": true }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": [] }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": null }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": "b64" }),
    ];
    // The same token without `crit` is accepted: only the header decides.
    let plain = hs256_with_header(&json!({ "alg": "HS256", "typ": "JWT" }), &claims);
    let response = list_bets(&app, Some(&format!("Bearer {plain}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::OK);

    for header in &headers {
        let token = hs256_with_header(header, &claims);
        let case = header.to_string();
        let detail = refused_detail(&app, &token, &case).await;
        assert!(detail.contains("crit"), "{case}: {detail}");
        expect_invalid_token(&app, &token, &case).await;
    }
}

#[tokio::test]
async fn the_line_health_and_docs_need_no_token() {
    let app = TestApp::spawn().await;

    for path in [
        "/events",
        "/health/live",
        "/health/ready",
        "/openapi.json",
        "/docs/",
    ] {
        let response = app
            .anonymous(Method::GET, path)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    }
}

// ------------------------------------------------- issuer and audience

#[tokio::test]
async fn with_an_issuer_and_audience_configured_tokens_must_name_both() {
    let app = TestApp::spawn_unfunded_with(|config| {
        config.jwt.claims.issuer = Some("https://id.example.com/".to_owned());
        config.jwt.claims.audience = Some("bet-maker".to_owned());
    })
    .await;
    let right = with(
        good_claims(BETTOR),
        json!({ "iss": "https://id.example.com/", "aud": "bet-maker" }),
    );

    let cases = [
        ("no iss", with(right.clone(), json!({ "iss": null }))),
        (
            "another iss",
            with(right.clone(), json!({ "iss": "https://evil.example.com/" })),
        ),
        ("no aud", with(right.clone(), json!({ "aud": null }))),
        (
            "another aud",
            with(right.clone(), json!({ "aud": "line-provider" })),
        ),
    ];
    for (case, claims) in &cases {
        expect_invalid_token(&app, &hs256(claims), case).await;
    }
    let accepted = list_bets(&app, Some(&format!("Bearer {}", hs256(&right))))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_json(accepted, StatusCode::OK).await;
    let among_audiences = with(right, json!({ "aud": ["bet-maker", "wallet"] }));
    let accepted = list_bets(&app, Some(&format!("Bearer {}", hs256(&among_audiences))))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    expect_json(accepted, StatusCode::OK).await;
}

// ------------------------------------------------------ public key files

/// A key pair made by `openssl` in a directory of the test's own: the
/// private key's PEM and the public key's file.
fn openssl_key_pair(dir: &Path, algorithm_args: &[&str]) -> (Vec<u8>, PathBuf) {
    let private = dir.join("idp.key");
    let public = dir.join("idp.pub");
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running openssl (needed by this test): {e}"));
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let private_path = private.to_string_lossy().into_owned();
    let public_path = public.to_string_lossy().into_owned();
    let mut generate = vec!["genpkey"];
    generate.extend_from_slice(algorithm_args);
    generate.extend_from_slice(&["-out", &private_path]);
    run(&generate);
    run(&[
        "pkey",
        "-in",
        &private_path,
        "-pubout",
        "-out",
        &public_path,
    ]);
    let pem = std::fs::read(&private).unwrap_or_else(|e| panic!("{e}"));
    (pem, public)
}

fn temporary_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bettor-keys-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// bet-maker verifying tokens with the public key in `public_key_file`.
async fn app_trusting(public_key_file: &Path) -> TestApp {
    let file = public_key_file.to_owned();
    TestApp::spawn_unfunded_with(move |config| {
        config.jwt.key.secret = None;
        config.jwt.key.public_key_file = Some(file);
    })
    .await
}

/// With the identity provider's key configured: its tokens are accepted,
/// and one "signed" with HS256 using the public key's bytes as the secret
/// (the classic algorithm confusion) is refused.
async fn assert_key_decides_the_algorithm(
    algorithm: Algorithm,
    private_pem: &[u8],
    public_key_file: &Path,
) {
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(private_pem),
        _ => EncodingKey::from_ed_pem(private_pem),
    }
    .unwrap_or_else(|e| panic!("{algorithm:?} key: {e}"));
    let app = app_trusting(public_key_file).await;
    let event = app.open_event("1.85").await;
    let token = signed(algorithm, &key, &good_claims("idp-user-1"));
    let deposited = app
        .anonymous(Method::POST, "/wallet/deposits")
        .bearer_auth(&token)
        .json(&json!({ "amount": "10.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deposit = expect_json(deposited, StatusCode::ACCEPTED).await;
    let confirmed = app.notify("deposit.succeeded", &deposit).await;
    assert_eq!(confirmed.status(), StatusCode::OK);

    let placed = app
        .anonymous(Method::POST, "/bets")
        .bearer_auth(&token)
        .json(&json!({ "event_id": event.id, "amount": "10.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let public_bytes = std::fs::read(public_key_file).unwrap_or_else(|e| panic!("{e}"));
    let confused = signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_bytes),
        &good_claims("idp-user-1"),
    );

    expect_json(placed, StatusCode::CREATED).await;
    expect_invalid_token(
        &app,
        &confused,
        &format!("HS256 with the {algorithm:?} public key"),
    )
    .await;
    expect_invalid_token(
        &app,
        &hs256(&good_claims("idp-user-1")),
        "HS256 with a secret",
    )
    .await;
}

#[tokio::test]
async fn an_ed25519_public_key_means_eddsa_and_nothing_else() {
    let keys = rotated_test_keys();
    let private = std::fs::read(&keys.signing_key_file).unwrap_or_else(|e| panic!("{e}"));
    assert_key_decides_the_algorithm(Algorithm::EdDSA, &private, &keys.verify_key_file).await;
}

#[tokio::test]
async fn an_rsa_public_key_means_rs256_and_nothing_else() {
    let dir = temporary_dir();
    let (private, public) = openssl_key_pair(
        &dir,
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    assert_key_decides_the_algorithm(Algorithm::RS256, &private, &public).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_p256_public_key_means_es256_and_nothing_else() {
    let dir = temporary_dir();
    let (private, public) = openssl_key_pair(
        &dir,
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    assert_key_decides_the_algorithm(Algorithm::ES256, &private, &public).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_private_key_or_an_unsupported_key_stops_start_up_naming_the_variable() {
    let dir = temporary_dir();
    let (_, p384) = openssl_key_pair(
        &dir,
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    let not_a_key = dir.join("not-a-key.pem");
    std::fs::write(&not_a_key, "hello").unwrap_or_else(|e| panic!("{e}"));
    let private = test_keys().signing_key_file.clone();

    for (case, file) in [
        ("a P-384 key", p384),
        ("not a key", not_a_key),
        ("a private key", private),
        ("a missing file", dir.join("missing.pem")),
    ] {
        // The key is read before anything is connected to.
        let mut config = support::config(
            "postgres://postgres@127.0.0.1:9/unused",
            "unused",
            "unused",
            "http://127.0.0.1:9",
        );
        config.jwt.key.secret = None;
        config.jwt.key.public_key_file = Some(file);
        let started = bet_maker::app::start(config).await;
        let error = match started {
            Ok(_) => panic!("{case}: bet-maker started"),
            Err(error) => format!("{error:#}"),
        };
        assert!(
            error.contains("BET_MAKER_JWT_PUBLIC_KEY_FILE"),
            "{case}: {error}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------ whose bets

#[tokio::test]
async fn a_bettor_never_sees_another_bettors_bets() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let alices = expect_json(
        app.place_bet_as("alice", event.id, "10.00").await,
        StatusCode::CREATED,
    )
    .await;
    let bobs = expect_json(
        app.place_bet_as("bob", event.id, "20.00").await,
        StatusCode::CREATED,
    )
    .await;

    let alice_lists = app.get_json_as("alice", "/bets").await;
    let bob_lists = app
        .get_json_as(
            "bob",
            &format!("/bets?event_id={}&status=PENDING", event.id),
        )
        .await;
    let carol_lists = app.get_json_as("carol", "/bets").await;
    let bob_reads_alices = app
        .request_as("bob", Method::GET, &format!("/bets/{}", id_of(&alices)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let alice_reads_hers = app
        .get_json_as("alice", &format!("/bets/{}", id_of(&alices)))
        .await;

    assert_eq!(ids(&alice_lists), vec![id_of(&alices)]);
    assert_eq!(ids(&bob_lists), vec![id_of(&bobs)]);
    assert!(ids(&carol_lists).is_empty(), "{carol_lists}");
    let problem = expect_problem(bob_reads_alices, StatusCode::NOT_FOUND).await;
    assert_eq!(
        problem["detail"],
        format!("no bet with id {}", id_of(&alices)),
        "the same answer as for a bet that does not exist: {problem}"
    );
    assert_eq!(alice_reads_hers, alices);
}

#[tokio::test]
async fn the_same_idempotency_key_from_two_bettors_makes_two_bets() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let place = |bettor: &'static str, amount: &'static str| {
        app.request_as(bettor, Method::POST, "/bets")
            .header("Idempotency-Key", "retry-safe-1")
            .json(&json!({ "event_id": event.id, "amount": amount }))
            .send()
    };

    let alices = place("alice", "10.00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let alices = expect_json(alices, StatusCode::CREATED).await;
    let bobs_other_body = place("bob", "25.00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bobs_other_body = expect_json(bobs_other_body, StatusCode::CREATED).await;
    let carols_same_body = place("carol", "10.00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let carols_same_body = expect_json(carols_same_body, StatusCode::CREATED).await;
    let alices_retry = place("alice", "10.00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let alices_retry = expect_json(alices_retry, StatusCode::CREATED).await;
    let bobs_reuse = place("bob", "10.00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        bobs_other_body["amount"], "25.00",
        "bob's own bet: {bobs_other_body}"
    );
    assert_ne!(
        id_of(&carols_same_body),
        id_of(&alices),
        "not alice's bet replayed"
    );
    assert_eq!(alices_retry, alices, "alice's retry replays her bet");
    let problem = expect_problem(bobs_reuse, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        problem["errors"][0]["field"], "Idempotency-Key",
        "{problem}"
    );
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 3);
    for (bettor, bet) in [
        ("alice", &alices),
        ("bob", &bobs_other_body),
        ("carol", &carols_same_body),
    ] {
        let owner = app
            .count(&format!(
                "SELECT count(*) FROM bets WHERE id = '{}' AND bettor_id = '{bettor}'",
                id_of(bet)
            ))
            .await;
        assert_eq!(owner, 1, "{bettor}'s bet is recorded as {bettor}'s");
    }
}

// ------------------------------------------------------ bet-maker token

/// `bet-maker token <args>` with exactly `env` (nothing else a token does
/// not need: no LINE_EVENTS_VERIFY_KEY_FILES) and no `.env` (in a folder
/// of its own, under the temporary directory, where none is): its exit
/// status, stdout and stderr.
fn token_command(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> (bool, String, String) {
    let (status, stdout, stderr) = token_command_in(&std::env::temp_dir(), args, env);
    (status.success(), stdout, stderr)
}

/// The same, run in `dir`: its exit status, stdout and stderr.
fn token_command_in(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> (std::process::ExitStatus, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bet-maker"));
    command.arg("token").args(args).env_clear().current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running bet-maker token: {e}"));
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_token_command_prints_a_token_the_service_accepts_for_that_bettor() {
    let app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let (succeeded, stdout, stderr) = token_command(
        &["dave", "--ttl", "5m"],
        &[("BET_MAKER_JWT_SECRET", JWT_SECRET.as_ref())],
    );

    assert!(succeeded, "bet-maker token failed: {stderr}");
    let token = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the token on stdout: {stdout}"
    );
    let claims: Value = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    assert_eq!(claims["sub"], "dave", "{claims}");
    let lifetime =
        claims["exp"].as_u64().unwrap_or_default() - claims["iat"].as_u64().unwrap_or_default();
    assert_eq!(lifetime, 300, "{claims}");
    let placed = app
        .anonymous(Method::POST, "/bets")
        .bearer_auth(token)
        .json(&json!({ "event_id": event.id, "amount": "10.00" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bet = expect_json(placed, StatusCode::CREATED).await;
    let owned = app
        .count(&format!(
            "SELECT count(*) FROM bets WHERE id = '{}' AND bettor_id = 'dave'",
            id_of(&bet)
        ))
        .await;
    assert_eq!(owned, 1);
    assert_eq!(
        ids(&app.get_json_as("dave", "/bets").await),
        vec![id_of(&bet)]
    );
}

#[test]
fn the_token_command_refuses_to_sign_with_only_a_public_key() {
    let public = rotated_test_keys().verify_key_file.clone();

    let (succeeded, stdout, stderr) = token_command(
        &["dave"],
        &[("BET_MAKER_JWT_PUBLIC_KEY_FILE", public.as_os_str())],
    );

    assert!(!succeeded, "it printed {stdout}");
    assert!(
        stderr.contains("--jwt-secret <BET_MAKER_JWT_SECRET>"),
        "the secret is what it needs: {stderr}"
    );
    assert!(!stdout.contains("eyJ"), "no token on stdout: {stdout}");
}

#[test]
fn the_token_command_outside_the_repository_needs_only_the_secret() {
    let dir = std::env::temp_dir().join(format!("token-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));

    let (signed, token, stderr) = token_command_in(
        &dir,
        &["alice"],
        &[("BET_MAKER_JWT_SECRET", JWT_SECRET.as_ref())],
    );
    let (unsigned, nothing, refusal) = token_command_in(&dir, &["alice"], &[]);
    let _ = std::fs::remove_dir_all(&dir);

    assert!(signed.success(), "{stderr}");
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");
    assert_eq!(unsigned.code(), Some(2), "a missing setting: {refusal}");
    assert!(nothing.is_empty(), "nothing on stdout: {nothing}");
    assert!(refusal.contains("BET_MAKER_JWT_SECRET"), "{refusal}");
    assert!(
        !refusal.contains("verify-key-files") && !refusal.contains("LINE_EVENTS"),
        "nothing a token does not need: {refusal}"
    );
    let looked_in = format!(
        "no .env was found in {} or any directory above it",
        dir.display()
    );
    assert!(refusal.contains(&looked_in), "{refusal}");
}

#[test]
fn the_token_command_refuses_a_ttl_longer_than_the_max_lifetime() {
    let secret = ("BET_MAKER_JWT_SECRET", JWT_SECRET.as_ref());

    let (succeeded, stdout, stderr) = token_command(&["dave", "--ttl", "2d"], &[secret]);
    assert!(!succeeded, "it printed {stdout}");
    assert!(
        stderr.contains("BET_MAKER_JWT_MAX_LIFETIME_SECS"),
        "{stderr}"
    );
    assert!(!stdout.contains("eyJ"), "no token on stdout: {stdout}");

    let longer = ("BET_MAKER_JWT_MAX_LIFETIME_SECS", "172800".as_ref());
    let (succeeded, _, stderr) = token_command(&["dave", "--ttl", "2d"], &[secret, longer]);
    assert!(succeeded, "with a max of two days: {stderr}");
}

#[test]
fn the_token_command_refuses_an_id_that_is_not_a_bettors() {
    let too_long = "a".repeat(65);

    let (succeeded, _, stderr) = token_command(
        &[&too_long],
        &[("BET_MAKER_JWT_SECRET", JWT_SECRET.as_ref())],
    );

    assert!(!succeeded);
    assert!(stderr.contains("at most 64 characters"), "{stderr}");
}
