use http::header::COOKIE;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD, USERNAME};

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    let wrong = app.login_as(USERNAME, "not it at all").await;
    let wrong = wrong.assert_problem(401, "invalid_credentials");
    let unknown = app.login_as("nobody", PASSWORD).await;
    let unknown = unknown.assert_problem(401, "invalid_credentials");
    assert_eq!(wrong.detail, unknown.detail);
    assert_eq!(wrong.title, unknown.title);
    let token = app
        .post(
            "/api/auth/token",
            json!({"username": USERNAME, "password": "nope nope"}),
            &[],
        )
        .await;
    token.assert_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn no_credentials_is_unauthenticated() {
    let app = spawn_app().await;
    for path in [
        "/api/auth/session-info",
        "/api/auth/me",
        "/api/auth/refresh",
        "/api/auth/logout",
    ] {
        let response = app.post(path, json!({}), &[]).await;
        response.assert_problem(401, "unauthenticated");
        assert_eq!(
            response.headers["www-authenticate"].to_str().ok(),
            Some(r#"Bearer realm="vigil""#)
        );
    }
}

#[tokio::test]
async fn garbage_tokens_are_session_invalid() {
    let app = spawn_app().await;
    app.with_cookie("/api/auth/session-info", "__Host-vigil-session=not.a.jwt")
        .await
        .assert_problem(401, "session_invalid");
    app.with_bearer("/api/auth/session-info", "eyJhbGciOiJub25lIn0.e30.")
        .await
        .assert_problem(401, "session_invalid");
    app.post(
        "/api/auth/me",
        json!({}),
        &[("authorization", "Basic YWRhOnB3")],
    )
    .await
    .assert_problem(401, "session_invalid");
}

#[tokio::test]
async fn malformed_json_is_a_validation_problem() {
    let app = spawn_app().await;
    let problem = app
        .post_raw("/api/auth/login", "{\"username\": ", &[])
        .await
        .assert_problem(400, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("body"));
}

#[tokio::test]
async fn a_missing_field_is_named() {
    let app = spawn_app().await;
    let problem = app
        .post("/api/auth/login", json!({"username": USERNAME}), &[])
        .await
        .assert_problem(400, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("password"));
    let problem = app
        .login_as("", "x")
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("username"));
    let problem = app
        .post(
            "/api/auth/token",
            json!({"username": USERNAME, "password": ""}),
            &[],
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("password"));
}

#[tokio::test]
async fn state_changing_endpoints_are_not_reachable_by_get() {
    let app = spawn_app().await;
    let request = http::Request::get("/api/auth/login")
        .body(axum::body::Body::empty())
        .expect("request");
    app.request(request)
        .await
        .assert_problem(405, "method_not_allowed");
}

#[tokio::test]
async fn unknown_endpoints_fail_closed_then_answer_not_found() {
    let app = spawn_app().await;
    app.post("/api/nothing-here", json!({}), &[])
        .await
        .assert_problem(401, "unauthenticated");
    let cookie = app.browser().await.cookie;
    app.post(
        "/api/nothing-here",
        json!({}),
        &[(COOKIE.as_str(), &cookie)],
    )
    .await
    .assert_problem(404, "not_found");
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = spawn_app().await;
    let response = app.login().await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.headers.contains_key("x-request-id"));
}
