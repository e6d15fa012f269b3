use http::header::SET_COOKIE;
use http::StatusCode;
use serde_json::json;
use time::Duration;
use vigil::Clock;

use crate::helpers::{spawn_app, RequestHelper, USERNAME};

#[tokio::test]
async fn sign_in_sets_a_host_cookie_and_returns_the_session() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let response = app.login().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let cookie = response.header(SET_COOKIE).expect("cookie");
    assert!(cookie.starts_with("__Host-vigil-session="));
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert_eq!(response.body["user"]["username"], USERNAME);
    assert_eq!(response.body["user"]["display_name"], "Ada Lovelace");
    assert_eq!(
        response.time("idle_expires_at"),
        now + Duration::minutes(30)
    );
    assert_eq!(response.time("warn_at"), now + Duration::minutes(25));
    assert_eq!(
        response.time("absolute_expires_at"),
        now + Duration::hours(8)
    );
    assert_eq!(response.body["policy"]["idle_timeout_secs"], 1800);
    assert_eq!(response.body["policy"]["heartbeat_secs"], 60);
    assert!(response.body.get("access_token").is_none());
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn session_info_reads_the_session_with_deadline_headers() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let response = browser.session_info().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["user"]["username"], USERNAME);
    assert!(response.headers.contains_key("vigil-idle-expires-at"));
    assert!(!response.headers.contains_key("vigil-session-warning"));

    app.advance(Duration::minutes(26));
    let response = browser.session_info().await;
    assert_eq!(response.status, StatusCode::OK);
    let remaining: i64 = response.headers["vigil-session-warning"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("seconds");
    assert!((239..=240).contains(&remaining), "{remaining}");
}

#[tokio::test]
async fn refresh_extends_the_idle_deadline_and_rotates_the_token() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    app.advance(Duration::minutes(20));
    let now = app.clock.now();
    let response = browser.refresh().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.time("idle_expires_at"),
        now + Duration::minutes(30)
    );
    assert_eq!(response.time("last_activity_at"), now);
    let rotated = app.browser_with(response.session_cookie().expect("a new cookie"));
    assert_ne!(rotated.cookie, browser.cookie);

    // The new token works; the old one only within the grace window, then it is theft.
    let info = rotated.session_info().await;
    assert_eq!(info.status, StatusCode::OK);
    let in_grace = browser.session_info().await;
    assert_eq!(in_grace.status, StatusCode::OK);
    app.advance(Duration::seconds(11));
    browser.assert_session_refused("session_revoked").await;
    rotated.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn sign_out_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let response = browser.logout().await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let cleared = response.header(SET_COOKIE).expect("removal cookie");
    assert!(cleared.starts_with("__Host-vigil-session=;"));
    assert!(cleared.contains("Max-Age=0"));
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cleared.contains(attribute));
    }
    assert_eq!(response.header("clear-site-data"), Some("\"cookies\""));
    browser.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn api_clients_use_bearer_tokens_without_cookies() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/auth/token",
            json!({"username": USERNAME, "password": crate::helpers::PASSWORD}),
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert!(response.headers.get(SET_COOKIE).is_none());
    assert_eq!(response.body["token_type"], "Bearer");
    assert_eq!(response.body["expires_in"], 1800);
    assert_eq!(response.body["session"]["user"]["username"], USERNAME);
    let token = response.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let api = app.api_client_with(token.clone());
    let me = api.me().await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], USERNAME);

    // Inside the coalescing window the token stays current; past it, it rotates.
    app.advance(Duration::minutes(2));
    let refreshed = api.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let new_token = refreshed.body["access_token"]
        .as_str()
        .expect("rotated token");
    assert_ne!(new_token, token);
    assert!(refreshed.headers.get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_policy_is_public() {
    let app = spawn_app().await;
    let response = app.post("/api/auth/policy", json!({}), &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["warning_secs"], 300);
    // An empty body is accepted for endpoints without arguments.
    let response = app.post_raw("/api/auth/policy", "", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_survive_a_restart_on_the_same_database() {
    let app = spawn_app().await;
    let cookie = app.browser().await.cookie;
    let ended = app.browser().await;
    ended.logout().await;
    let ended = ended.cookie;
    let restarted = app.restart(&[]).await;
    let response = restarted
        .with_cookie("/api/auth/session-info", &cookie)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    restarted
        .with_cookie("/api/auth/session-info", &ended)
        .await
        .assert_problem(401, "session_revoked");
}
