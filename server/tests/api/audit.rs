//! The audit log records what happened to whom, and never a secret.

use http::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use crate::helpers::{spawn_app, spawn_app_with, RequestHelper, TestApp, PASSWORD, USERNAME};

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
    let bound = app.browser_with(bound.session_cookie().expect("cookie"));
    let other_device = [("x-client-fingerprint", "fp-2")];
    bound
        .send(Method::POST, "/api/auth/me", Some(json!({})), &other_device)
        .await
        .assert_problem(401, "session_invalid");
    let cross_site = [("sec-fetch-site", "cross-site")];
    bound
        .send(
            Method::POST,
            "/api/auth/logout",
            Some(json!({})),
            &cross_site,
        )
        .await
        .assert_problem(403, "csrf_rejected");

    let browser = app.browser().await;
    app.advance(Duration::minutes(2));
    let rotated = browser.refresh().await;
    assert_eq!(rotated.status, StatusCode::OK);
    app.advance(Duration::seconds(20));
    browser.me().await.assert_problem(401, "session_revoked");

    let idle = app.browser().await;
    let out = app.browser().await;
    assert_eq!(out.logout().await.status, StatusCode::OK);
    app.advance(Duration::minutes(31));
    idle.me().await.assert_problem(401, "session_expired");

    let rows = app.audit_log(100).await;
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

    let tokens = [&bound, &browser, &idle, &out].map(|b| {
        b.cookie
            .trim_start_matches("__Host-vigil-session=")
            .to_owned()
    });
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

async fn audit_rows(app: &TestApp, event: &str) -> Vec<vigil_server::audit::AuditRow> {
    app.audit_log(10_000)
        .await
        .into_iter()
        .filter(|r| r.event == event)
        .collect()
}

#[tokio::test]
async fn refused_anonymous_requests_are_counted_not_written_one_by_one() {
    let app = spawn_app().await;
    let from = |ip: &str| ip.parse::<std::net::IpAddr>().expect("ip");
    let cross_site = [("sec-fetch-site", "cross-site")];
    for _ in 0..200 {
        app.request(crate::helpers::post_from(
            from("198.51.100.7"),
            "/api/auth/login",
            json!({"username": "x", "password": "y"}),
            &cross_site,
        ))
        .await
        .assert_problem(403, "csrf_rejected");
    }
    let cross_site_logout = || {
        let request = crate::helpers::post_from(
            from("198.51.100.8"),
            "/api/auth/logout",
            json!({}),
            &cross_site,
        );
        app.request(request)
    };
    for _ in 0..3 {
        cross_site_logout()
            .await
            .assert_problem(403, "csrf_rejected");
    }
    // Nothing is written per request...
    let written_now = app
        .state
        .sessions
        .audit()
        .recent(10_000)
        .await
        .expect("rows");
    assert!(written_now.iter().all(|r| r.event != "csrf_rejected"));
    // ...but one row per address and minute, with the count, when the counts are written.
    let rows = audit_rows(&app, "csrf_rejected").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let count_of = |ip: &str| {
        rows.iter()
            .find(|r| r.ip.as_deref() == Some(ip))
            .map(|r| r.count)
    };
    assert_eq!(count_of("198.51.100.7"), Some(200));
    assert_eq!(count_of("198.51.100.8"), Some(3));
    // The same minute again adds to the same row; the next minute starts a new one.
    cross_site_logout().await;
    let rows = audit_rows(&app, "csrf_rejected").await;
    assert_eq!(rows.len(), 2);
    app.advance(Duration::minutes(1));
    cross_site_logout().await;
    assert_eq!(audit_rows(&app, "csrf_rejected").await.len(), 3);
}

#[tokio::test]
async fn throttled_sign_ins_are_counted_not_written_one_by_one() {
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_ACCOUNT", "1")]).await;
    let from: std::net::IpAddr = "198.51.100.9".parse().expect("ip");
    for _ in 0..50 {
        app.request(crate::helpers::post_from(
            from,
            "/api/auth/login",
            json!({"username": USERNAME, "password": "guess guess"}),
            &[],
        ))
        .await;
    }
    let rows = audit_rows(&app, "sign_in_throttled").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].count, 49);
}

#[tokio::test]
async fn audit_rows_are_deleted_after_the_retention_period() {
    let app = spawn_app_with(&[("VIGIL_AUDIT_RETENTION", "30d")]).await;
    app.login_as(USERNAME, "wrong wrong").await;
    let sweeper = app.sweeper();
    app.advance(Duration::days(29));
    sweeper.sweep().await.expect("sweep");
    assert_eq!(audit_rows(&app, "sign_in_failed").await.len(), 1);
    app.advance(Duration::days(2));
    sweeper.sweep().await.expect("sweep");
    assert_eq!(audit_rows(&app, "sign_in_failed").await.len(), 0);
}
