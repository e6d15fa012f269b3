use http::StatusCode;
use time::Duration;

use crate::helpers::{spawn_app, RequestHelper};

#[tokio::test]
async fn an_idle_session_expires_with_reason_idle() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    app.advance(Duration::minutes(30));
    let problem = browser.assert_session_refused("session_expired").await;
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Idle));
    assert_eq!(problem.session_timeout, Some(1800));
    // The verdict is remembered: still expired, not revoked or unknown.
    browser
        .refresh()
        .await
        .assert_problem(401, "session_expired");
}

#[tokio::test]
async fn polling_session_info_never_moves_the_deadline() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let first = browser.session_info().await;
    for _ in 0..5 {
        app.advance(Duration::minutes(5));
        let polled = browser.session_info().await;
        assert_eq!(polled.status, StatusCode::OK);
        assert_eq!(
            polled.time("idle_expires_at"),
            first.time("idle_expires_at")
        );
        let me = browser.me().await;
        assert_eq!(me.status, StatusCode::OK);
    }
    app.advance(Duration::minutes(5));
    browser.assert_session_refused("session_expired").await;
}

#[tokio::test]
async fn activity_cannot_outlive_the_absolute_lifetime() {
    let app = spawn_app().await;
    let mut browser = app.browser().await;
    for _ in 0..23 {
        app.advance(Duration::minutes(20));
        let response = browser.refresh().await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert!(response.time("idle_expires_at") <= response.time("absolute_expires_at"));
        browser.cookie = response.session_cookie().expect("rotated");
    }
    app.advance(Duration::minutes(21));
    let problem = browser
        .refresh()
        .await
        .assert_problem(401, "session_expired");
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Absolute));
    assert_eq!(problem.session_timeout, Some(8 * 3600));
}
