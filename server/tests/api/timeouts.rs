use http::StatusCode;
use time::Duration;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_idle_session_expires_with_reason_idle() {
    let app = spawn_app().await;
    let cookie = app.browser_session().await;
    app.advance(Duration::minutes(30));
    let problem = app
        .with_cookie("/api/auth/session-info", &cookie)
        .await
        .assert_problem(401, "session_expired");
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Idle));
    assert_eq!(problem.session_timeout, Some(1800));
    // The verdict is remembered: still expired, not revoked or unknown.
    app.with_cookie("/api/auth/refresh", &cookie)
        .await
        .assert_problem(401, "session_expired");
}

#[tokio::test]
async fn polling_session_info_never_moves_the_deadline() {
    let app = spawn_app().await;
    let cookie = app.browser_session().await;
    let first = app.with_cookie("/api/auth/session-info", &cookie).await;
    for _ in 0..5 {
        app.advance(Duration::minutes(5));
        let polled = app.with_cookie("/api/auth/session-info", &cookie).await;
        assert_eq!(polled.status, StatusCode::OK);
        assert_eq!(
            polled.time("idle_expires_at"),
            first.time("idle_expires_at")
        );
        let me = app.with_cookie("/api/auth/me", &cookie).await;
        assert_eq!(me.status, StatusCode::OK);
    }
    app.advance(Duration::minutes(5));
    app.with_cookie("/api/auth/session-info", &cookie)
        .await
        .assert_problem(401, "session_expired");
}

#[tokio::test]
async fn activity_cannot_outlive_the_absolute_lifetime() {
    let app = spawn_app().await;
    let mut cookie = app.browser_session().await;
    for _ in 0..23 {
        app.advance(Duration::minutes(20));
        let response = app.with_cookie("/api/auth/refresh", &cookie).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert!(response.time("idle_expires_at") <= response.time("absolute_expires_at"));
        cookie = response.session_cookie().expect("rotated");
    }
    app.advance(Duration::minutes(21));
    let problem = app
        .with_cookie("/api/auth/refresh", &cookie)
        .await
        .assert_problem(401, "session_expired");
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Absolute));
    assert_eq!(problem.session_timeout, Some(8 * 3600));
}
