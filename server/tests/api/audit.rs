//! The audit log records what happened to whom, and never a secret.

use http::StatusCode;
use serde_json::json;
use time::Duration;

use crate::helpers::{spawn_app, PASSWORD, USERNAME};

#[tokio::test]
async fn security_events_are_audited_without_secrets() {
    let app = spawn_app().await;
    let ua = [("user-agent", "AuditTest/1.0")];

    app.post(
        "/api/auth/login",
        json!({"username": USERNAME, "password": "wrong wrong"}),
        &ua,
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let bound = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": PASSWORD}),
            &[
                ("user-agent", "AuditTest/1.0"),
                ("x-client-fingerprint", "fp-1"),
            ],
        )
        .await;
    let bound_cookie = bound.session_cookie().expect("cookie");
    app.post(
        "/api/auth/me",
        json!({}),
        &[("cookie", &bound_cookie), ("x-client-fingerprint", "fp-2")],
    )
    .await
    .assert_problem(401, "session_invalid");
    app.post(
        "/api/auth/logout",
        json!({}),
        &[("cookie", &bound_cookie), ("sec-fetch-site", "cross-site")],
    )
    .await
    .assert_problem(403, "csrf_rejected");

    let cookie = app.browser_session().await;
    app.advance(Duration::minutes(2));
    let rotated = app.with_cookie("/api/auth/refresh", &cookie).await;
    assert_eq!(rotated.status, StatusCode::OK);
    app.advance(Duration::seconds(20));
    app.with_cookie("/api/auth/me", &cookie)
        .await
        .assert_problem(401, "session_revoked");

    let idle = app.browser_session().await;
    let out = app.browser_session().await;
    assert_eq!(
        app.with_cookie("/api/auth/logout", &out).await.status,
        StatusCode::OK
    );
    app.advance(Duration::minutes(31));
    app.with_cookie("/api/auth/me", &idle)
        .await
        .assert_problem(401, "session_expired");

    let rows = app
        .state
        .sessions
        .audit()
        .recent(100)
        .await
        .expect("audit rows");
    let events: Vec<&str> = rows.iter().rev().map(|r| r.event.as_str()).collect();
    for expected in [
        "sign_in_failed",
        "sign_in",
        "fingerprint_mismatch",
        "csrf_rejected",
        "token_reuse_revoked",
        "sign_out",
        "session_expired",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from {events:?}"
        );
    }
    let failed = rows
        .iter()
        .find(|r| r.event == "sign_in_failed")
        .expect("failure row");
    assert_eq!(failed.username.as_deref(), Some(USERNAME));
    assert_eq!(failed.user_agent.as_deref(), Some("AuditTest/1.0"));
    let expired = rows
        .iter()
        .find(|r| r.event == "session_expired")
        .expect("expiry row");
    assert_eq!(expired.reason.as_deref(), Some("idle"));
    assert!(expired
        .session_hash
        .as_deref()
        .is_some_and(|h| h.len() == 24));
    assert!(expired.at.ends_with('Z'), "UTC: {}", expired.at);

    let tokens = [&bound_cookie, &cookie, &idle, &out]
        .map(|c| c.trim_start_matches("__Host-vigil-session=").to_owned());
    for row in &rows {
        let text = format!("{row:?}");
        assert!(
            !text.contains(PASSWORD) && !text.contains("wrong wrong"),
            "a password in {text}"
        );
        assert!(!text.contains("fp-1"), "a raw fingerprint in {text}");
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "a token in {text}");
        }
    }
}
