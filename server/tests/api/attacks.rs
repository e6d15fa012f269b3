//! The attack catalogue: forged, altered and replayed credentials. Each case asserts the
//! status and the `error_code`, and that specific codes appear only after the signature
//! verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::Sha256;
use time::Duration;

use crate::helpers::{spawn_app_with, TestApp, PASSWORD, USERNAME};

const SECRET: &str = "an-attack-catalogue-secret-of-more-than-32-bytes";

async fn app() -> TestApp {
    spawn_app_with(&[("VIGIL_JWT_SECRET", SECRET)]).await
}

fn token_of(cookie: &str) -> &str {
    cookie.trim_start_matches("__Host-vigil-session=")
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

fn sign(alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

/// A token with an arbitrary header, signed with HMAC-SHA256 over the known secret.
fn forge(header: Value, claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

async fn signed_in(app: &TestApp) -> (String, Value) {
    let cookie = app.browser().await.cookie;
    let claims = claims_of(token_of(&cookie));
    (cookie, claims)
}

async fn assert_bearer(app: &TestApp, token: &str, status: u16, code: &str) {
    app.with_bearer("/api/auth/session-info", token)
        .await
        .assert_problem(status, code);
}

#[tokio::test]
async fn the_genuine_token_works_as_a_bearer_too() {
    let app = app().await;
    let (cookie, _) = signed_in(&app).await;
    let response = app
        .with_bearer("/api/auth/session-info", token_of(&cookie))
        .await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    let head = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_bearer(&app, &format!("{head}.{body}."), 401, "session_invalid").await;
    assert_bearer(&app, &format!("{head}.{body}"), 401, "session_invalid").await;
}

#[tokio::test]
async fn other_hmac_algorithms_are_refused_even_with_the_right_secret() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    assert_bearer(
        &app,
        &sign(Algorithm::HS384, &claims),
        401,
        "session_invalid",
    )
    .await;
    assert_bearer(
        &app,
        &sign(Algorithm::HS512, &claims),
        401,
        "session_invalid",
    )
    .await;
}

#[tokio::test]
async fn public_key_algorithm_confusion_is_refused() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
        let token = forge(json!({"alg": alg, "typ": "JWT"}), &claims);
        assert_bearer(&app, &token, 401, "session_invalid").await;
    }
}

#[tokio::test]
async fn a_correctly_signed_forgery_with_the_header_alg_hs256_still_needs_its_session() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    // Proof that `forge` signs like the server: the unchanged claims pass.
    let genuine = forge(json!({"alg": "HS256", "typ": "JWT"}), &claims);
    assert_eq!(
        app.with_bearer("/api/auth/session-info", &genuine)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tampering_with_the_payload_breaks_the_signature() {
    let app = app().await;
    let (cookie, _) = signed_in(&app).await;
    let token = token_of(&cookie);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = claims_of(token);
    claims["sub"] = json!("2");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_bearer(&app, &parts.join("."), 401, "session_invalid").await;
    // The signature removed.
    assert_bearer(
        &app,
        &format!("{}.{}.", parts[0], parts[1]),
        401,
        "session_invalid",
    )
    .await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_invalid() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"some-other-secret-that-is-also-long-enough"),
    )
    .expect("signs");
    assert_bearer(&app, &token, 401, "session_invalid").await;
}

#[tokio::test]
async fn every_registered_claim_is_required() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    for missing in [
        "exp", "nbf", "iat", "iss", "aud", "sub", "sid", "typ", "gen", "jti",
    ] {
        let mut altered = claims.clone();
        altered.as_object_mut().expect("object").remove(missing);
        let response = app
            .with_bearer("/api/auth/session-info", &sign(Algorithm::HS256, &altered))
            .await;
        assert_eq!(
            response.status.as_u16(),
            401,
            "without {missing}: {}",
            response.body
        );
        assert_eq!(
            response.body["error_code"], "session_invalid",
            "without {missing}"
        );
    }
}

#[tokio::test]
async fn wrong_issuer_audience_or_type_is_invalid() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    for (claim, value) in [
        ("iss", "someone-else"),
        ("aud", "another-app"),
        ("typ", "refresh"),
    ] {
        let mut altered = claims.clone();
        altered[claim] = json!(value);
        assert_bearer(
            &app,
            &sign(Algorithm::HS256, &altered),
            401,
            "session_invalid",
        )
        .await;
    }
}

#[tokio::test]
async fn a_token_not_yet_valid_is_invalid() {
    let app = app().await;
    let (_, mut claims) = signed_in(&app).await;
    let later = claims["nbf"].as_i64().expect("nbf") + 3600;
    claims["nbf"] = json!(later);
    assert_bearer(
        &app,
        &sign(Algorithm::HS256, &claims),
        401,
        "session_invalid",
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_of_a_live_session_is_token_expired_and_can_be_refreshed() {
    let app = app().await;
    let (_, mut claims) = signed_in(&app).await;
    let now = claims["iat"].as_i64().expect("iat");
    claims["exp"] = json!(now - 60);
    claims["nbf"] = json!(now - 120);
    claims["iat"] = json!(now - 120);
    let expired = sign(Algorithm::HS256, &claims);
    assert_bearer(&app, &expired, 401, "token_expired").await;
    app.with_bearer("/api/auth/me", &expired)
        .await
        .assert_problem(401, "token_expired");
    let refreshed = app.with_bearer("/api/auth/refresh", &expired).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert!(refreshed.body["access_token"].is_string());
}

/// Correctly signed tokens whose claims point elsewhere: only a verified token earns the
/// specific `session_not_found`.
#[tokio::test]
async fn correctly_signed_tokens_with_altered_session_claims() {
    let app = app().await;
    let (_, claims) = signed_in(&app).await;
    let unknown_sid = vigil_server::session::SessionId::generate()
        .as_str()
        .to_owned();
    let cases = [
        ("sid", json!(unknown_sid), "session_not_found"),
        ("sid", json!("../../etc/passwd"), "session_invalid"),
        // Another user's id on this session: it cannot be borrowed (every store looks a
        // session up under its user, and that user has none by this id).
        ("sub", json!("999"), "session_not_found"),
    ];
    for (claim, value, code) in cases {
        let mut altered = claims.clone();
        altered[claim] = value;
        assert_bearer(&app, &sign(Algorithm::HS256, &altered), 401, code).await;
    }
}

#[tokio::test]
async fn specific_codes_only_after_the_signature_verified() {
    let app = app().await;
    let (cookie, claims) = signed_in(&app).await;
    app.with_cookie("/api/auth/logout", &cookie).await;
    // Genuine token of a revoked session: the specific code.
    app.with_cookie("/api/auth/session-info", &cookie)
        .await
        .assert_problem(401, "session_revoked");
    // The same claims under a bad signature: nothing specific.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"not-the-secret-but-long-enough-anyway!!"),
    )
    .expect("signs");
    assert_bearer(&app, &forged, 401, "session_invalid").await;
    // Likewise for an expired session.
    let (cookie, claims) = signed_in(&app).await;
    app.advance(Duration::minutes(31));
    app.with_cookie("/api/auth/session-info", &cookie)
        .await
        .assert_problem(401, "session_expired");
    let forged = forge(json!({"alg": "HS384", "typ": "JWT"}), &claims);
    assert_bearer(&app, &forged, 401, "session_invalid").await;
}

#[tokio::test]
async fn a_superseded_token_replayed_after_the_grace_window_revokes_the_session() {
    let app = app().await;
    let (old, _) = signed_in(&app).await;
    app.advance(Duration::minutes(2));
    let rotated = app.with_cookie("/api/auth/refresh", &old).await;
    let new = rotated.session_cookie().expect("rotated");
    app.advance(Duration::seconds(30));
    app.with_cookie("/api/auth/me", &old)
        .await
        .assert_problem(401, "session_revoked");
    // Theft detected: the legitimate holder is signed out too.
    app.with_cookie("/api/auth/me", &new)
        .await
        .assert_problem(401, "session_revoked");
}

#[tokio::test]
async fn a_fingerprint_given_at_sign_in_is_required_afterwards() {
    let app = app().await;
    let response = app
        .post(
            "/api/auth/token",
            json!({"username": USERNAME, "password": PASSWORD}),
            &[("x-client-fingerprint", "device-a")],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let token = response.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(
        claims_of(&token)["fph"].is_string(),
        "the token carries the hash only"
    );
    assert!(!token.contains("device-a"));
    let bearer = format!("Bearer {token}");
    let with = |fp: &'static str| {
        let bearer = bearer.clone();
        let app = &app;
        async move {
            let mut headers = vec![("authorization", bearer.as_str())];
            if !fp.is_empty() {
                headers.push(("x-client-fingerprint", fp));
            }
            app.post("/api/auth/session-info", json!({}), &headers)
                .await
        }
    };
    assert_eq!(with("device-a").await.status, StatusCode::OK);
    with("device-b")
        .await
        .assert_problem(401, "session_invalid");
    with("").await.assert_problem(401, "session_invalid");
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid() {
    let app = app().await;
    for value in [
        "Bearer",
        "Bearer ",
        "Token abc",
        "bearer",
        "Basic Zm9vOmJhcg==",
    ] {
        app.post(
            "/api/auth/session-info",
            json!({}),
            &[("authorization", value)],
        )
        .await
        .assert_problem(401, "session_invalid");
    }
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = app().await;
    let (cookie, _) = signed_in(&app).await;
    let credentials = json!({"username": USERNAME, "password": PASSWORD});
    // Login CSRF, by fetch metadata and by Origin.
    app.post(
        "/api/auth/login",
        credentials.clone(),
        &[("sec-fetch-site", "cross-site")],
    )
    .await
    .assert_problem(403, "csrf_rejected");
    app.post(
        "/api/auth/login",
        credentials.clone(),
        &[("origin", "https://evil.example"), ("host", "vigil.test")],
    )
    .await
    .assert_problem(403, "csrf_rejected");
    // Forged sign-out and refresh riding on the cookie.
    for path in ["/api/auth/logout", "/api/auth/refresh"] {
        app.post(
            path,
            json!({}),
            &[("cookie", &cookie), ("sec-fetch-site", "same-site")],
        )
        .await
        .assert_problem(403, "csrf_rejected");
    }
    // None of it took effect; same-origin requests pass.
    let ok = app
        .post(
            "/api/auth/session-info",
            json!({}),
            &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}
