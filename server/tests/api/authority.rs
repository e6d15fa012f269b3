//! The authority's guarantees of SPEC §9.1, one example each, as an outside probe found
//! them broken: rotation that rotates, copies in memory that decide nothing stale, signing
//! in again in place that replaces, step-up on every way to end another session, input
//! that is never a store failure, and the contract's edges. On every store (and in
//! `make test-shared` on Redis, Postgres and a Redis Cluster); the model checker
//! (`model.rs`) tries the same rules on random histories.

use http::header::{AUTHORIZATION, COOKIE};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

use crate::helpers::{
    spawn_app, spawn_app_with, user_add_command, ApiClient, RequestHelper, TestApp, TestResponse,
    PASSWORD, USERNAME,
};

fn credentials() -> Value {
    json!({"username": USERNAME, "password": PASSWORD})
}

/// Refreshes with a bearer token: the answer, and the token it hands back.
async fn refresh_bearer(api: &ApiClient<'_>) -> (TestResponse, Option<String>) {
    let response = api.refresh().await;
    let next = response.body["access_token"].as_str().map(str::to_owned);
    (response, next)
}

/// The generation a token names.
fn generation(token: &str) -> u64 {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("json");
    claims["gen"].as_u64().expect("gen")
}

async fn drafts_with(app: &TestApp, cookie: &str) -> TestResponse {
    app.browser_with(cookie.to_owned()).get("/api/drafts").await
}

#[tokio::test]
async fn a_refresh_never_hands_out_a_second_token_of_one_generation() {
    let app = spawn_app().await;
    let first = app.api_client().await;
    // At once: inside the coalescing window nothing is written, and nothing new is issued.
    let (at_once, same) = refresh_bearer(&first).await;
    assert_eq!(at_once.status, StatusCode::OK, "{}", at_once.body);
    assert_eq!(
        same.as_deref(),
        Some(first.token.as_str()),
        "the current token, unchanged"
    );
    app.advance(Duration::seconds(12));
    let (later, still) = refresh_bearer(&first).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    assert_eq!(still.as_deref(), Some(first.token.as_str()));

    // Past the window a refresh rotates: a new generation, written.
    app.advance(Duration::minutes(2));
    let (rotated, second) = refresh_bearer(&first).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = second.expect("a new token");
    assert_eq!(generation(&second), generation(&first.token) + 1);
    // The superseded token, past the grace window, is reuse: the session ends.
    app.advance(Duration::seconds(12));
    refresh_bearer(&first)
        .await
        .0
        .assert_problem(401, "session_revoked");
    app.api_client_with(second)
        .assert_session_refused("session_revoked")
        .await;
}

#[tokio::test]
async fn a_browser_refresh_inside_the_window_keeps_its_cookie() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let refreshed = cookie.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(
        refreshed.session_cookie(),
        None,
        "no second token of this generation"
    );
    app.advance(Duration::minutes(2));
    let rotated = cookie.refresh().await;
    let next = rotated.session_cookie().expect("a rotated cookie");
    assert_ne!(next, cookie.cookie);
}

/// Two instances on one store (two processes on one SQLite file, each with its own memory,
/// in the default pass): one keeps the user active, the other never decides on its old copy.
#[tokio::test]
async fn activity_on_one_instance_keeps_the_session_alive_on_another() {
    let apps = TestApp::builder()
        .settings(&[
            ("VIGIL_IDLE_TIMEOUT", "3m"),
            ("VIGIL_WARNING_BEFORE", "30s"),
        ])
        .instances(2)
        .await;
    let (a, b) = (&apps[0], &apps[1]);
    let mut cookie = a.browser().await.cookie;
    // B takes its copy now.
    assert_eq!(
        b.with_cookie("/api/auth/session-info", &cookie)
            .await
            .status,
        StatusCode::OK
    );
    // Active through A for longer than the idle timeout, refreshing every 20 s.
    for _ in 0..15 {
        a.advance(Duration::seconds(20));
        let refreshed = a.with_cookie("/api/auth/refresh", &cookie).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        cookie = refreshed.session_cookie().unwrap_or(cookie);
    }
    let seen = b.with_cookie("/api/auth/session-info", &cookie).await;
    assert_eq!(
        seen.status,
        StatusCode::OK,
        "never a false expiry: {}",
        seen.body
    );
    let still = a.with_cookie("/api/auth/session-info", &cookie).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.body);
}

#[tokio::test]
async fn a_token_superseded_on_one_instance_is_refused_on_another() {
    let apps = TestApp::builder().instances(2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let old = a.browser().await.cookie;
    assert_eq!(drafts_with(b, &old).await.status, StatusCode::OK);
    a.advance(Duration::minutes(2));
    let rotated = a.with_cookie("/api/auth/refresh", &old).await;
    assert!(rotated.session_cookie().is_some(), "{}", rotated.body);
    a.advance(Duration::seconds(11));
    drafts_with(b, &old)
        .await
        .assert_problem(401, "session_revoked");
}

/// Step-up at the session limit: signing in again in place replaces this browser's session,
/// so the limit never stands in the way, and no other device pays for it.
#[tokio::test]
async fn signing_in_again_in_place_is_never_refused_by_the_limit() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "1"),
        ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
    ])
    .await;
    let old = app.browser().await;
    app.advance(Duration::minutes(6));
    old.post("/api/sessions/revoke-others", json!({}))
        .await
        .assert_problem(403, "reauthentication_required");
    let again = old.post("/api/auth/login", credentials()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let fresh = app.browser_with(again.session_cookie().expect("cookie"));
    let done = fresh.post("/api/sessions/revoke-others", json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    old.assert_session_refused("session_revoked").await;
    // A second browser is still refused: the limit holds.
    app.login()
        .await
        .assert_problem(409, "session_limit_reached");
}

#[tokio::test]
async fn signing_in_again_in_place_evicts_no_other_device() {
    let app = spawn_app_with(&[("VIGIL_MAX_SESSIONS_PER_USER", "2")]).await;
    let laptop = app.browser().await;
    app.advance(Duration::minutes(1));
    let phone = app.browser().await;
    app.advance(Duration::minutes(1));
    let again = laptop.post("/api/auth/login", credentials()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let laptop_now = app.browser_with(again.session_cookie().expect("cookie"));
    let phone_seen = phone.session_info().await;
    assert_eq!(phone_seen.status, StatusCode::OK, "{}", phone_seen.body);
    laptop.assert_session_refused("session_revoked").await;
    // Both deadlines start again at the re-authentication.
    let info = laptop_now.session_info().await;
    assert_eq!(info.time("created_at"), info.time("server_now"));
    let listed = laptop_now
        .send(Method::GET, "/api/sessions", None, &[])
        .await;
    assert_eq!(listed.body["sessions"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn ending_another_session_one_by_one_needs_step_up_too() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let phone = app.browser().await;
    let phone_id = phone.session_info().await.body["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let laptop_id = laptop.session_info().await.body["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(Duration::minutes(6));
    laptop
        .end_session(&phone_id)
        .await
        .assert_problem(403, "reauthentication_required");
    let phone_seen = phone.session_info().await;
    assert_eq!(phone_seen.status, StatusCode::OK, "{}", phone_seen.body);
    // Its own session is signing out: no step-up.
    let own = laptop.end_session(&laptop_id).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

#[tokio::test]
async fn text_no_store_can_hold_is_a_validation_failure_naming_the_field() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    for (field, body) in [
        ("body", json!({"title": "Letter", "body": "a\u{0}b"})),
        ("title", json!({"title": "Let\u{0}ter", "body": "ab"})),
    ] {
        let refused = cookie
            .send(
                Method::PUT,
                "/api/drafts/0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b",
                Some(body),
                &[("if-none-match", "*")],
            )
            .await;
        let problem = refused.assert_problem(422, "validation_failed");
        assert_eq!(problem.field.as_deref(), Some(field));
        assert!(!refused.headers.contains_key(http::header::RETRY_AFTER));
    }
    let problem = app
        .post(
            "/api/auth/login",
            json!({"username": "a\u{0}da", "password": "x"}),
            &[],
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("username"));
}

#[tokio::test]
async fn signing_out_with_a_token_that_does_not_verify_is_session_invalid() {
    let app = spawn_app().await;
    let refused = app.with_bearer("/api/auth/logout", "garbage").await;
    refused.assert_problem(401, "session_invalid");
    let refused = app
        .post(
            "/api/auth/logout",
            json!({}),
            &[(AUTHORIZATION.as_str(), "garbage")],
        )
        .await;
    refused.assert_problem(401, "session_invalid");
    let cookie = app
        .post(
            "/api/auth/logout",
            json!({}),
            &[(COOKIE.as_str(), "__Host-vigil-session=garbage")],
        )
        .await;
    cookie.assert_problem(401, "session_invalid");
    assert!(
        cookie.headers.contains_key(http::header::SET_COOKIE),
        "the cookie is cleared"
    );
}

#[tokio::test]
async fn a_body_that_is_json_but_not_an_object_is_refused_on_every_endpoint() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    for path in [
        "/api/auth/policy",
        "/api/auth/login",
        "/api/auth/session-info",
        "/api/auth/refresh",
        "/api/sessions/revoke-others",
        "/api/account/password",
    ] {
        for body in ["[]", "\"text\"", "1", "null"] {
            let refused = app
                .post_raw(path, body, &[(COOKIE.as_str(), &cookie.cookie)])
                .await;
            let problem = refused.assert_problem(422, "validation_failed");
            assert_eq!(problem.field.as_deref(), Some("body"), "{path} {body}");
        }
    }
    // Still alive: nothing was done.
    let info = cookie.session_info().await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
}

#[tokio::test]
async fn submitting_needs_if_match_on_every_path() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let id = "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b";
    cookie.create_draft(id, "t", "b").await;
    for (body, key) in [(None, None), (Some(json!({})), None), (None, Some("k-1"))] {
        let headers: Vec<_> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        let path = format!("/api/drafts/{id}/submit");
        cookie
            .send(Method::POST, &path, body, &headers)
            .await
            .assert_problem(428, "validation_failed");
    }
    let listed = cookie.get("/api/drafts").await;
    assert!(
        listed.body["drafts"][0]["submitted_at"].is_null(),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn counting_live_sessions_reads_an_index() {
    use vigil_server::db::Backend;
    let app = spawn_app().await;
    let db = &app.state.db;
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name = 'session_records_live_until'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'session_records_live_until'"
        }
    };
    let found: i64 = sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .expect("the catalogue answers");
    assert_eq!(found, 1);
}

#[tokio::test]
async fn a_wrong_current_password_is_audited() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let refused = cookie
        .post(
            "/api/account/password",
            json!({"current_password": "not it at all", "new_password": "a completely new one"}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    let rows = app.audit_log(100).await;
    assert!(
        rows.iter().any(|r| r.event == "password_change_failed"),
        "{:?}",
        rows.iter().map(|r| &r.event).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn idempotency_answers_keep_no_copy_of_the_text_and_are_bounded_per_user() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let id = "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b";
    let big = "x".repeat(200 * 1024);
    let put = |key: String| {
        let body = json!({"title": "Long", "body": big});
        let cookie = &cookie;
        async move {
            cookie
                .send(
                    Method::PUT,
                    &format!("/api/drafts/{id}"),
                    Some(body),
                    &[("if-none-match", "*"), ("idempotency-key", key.as_str())],
                )
                .await
        }
    };
    let created = put("big-1".into()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let replayed = put("big-1".into()).await;
    assert_eq!(replayed.status, StatusCode::CREATED);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(replayed.body, created.body, "the same answer, read again");
    let kept: i64 = sqlx::query_scalar("SELECT MAX(LENGTH(outcome)) FROM idempotency_keys")
        .fetch_one(app.state.db.pool())
        .await
        .expect("the keys answer");
    assert!(kept < 1024, "an answer keeps {kept} bytes");

    // 1,000 answers at most: the oldest go first.
    for k in 0..1_001 {
        let saved = cookie
            .send(
                Method::PUT,
                "/api/settings",
                Some(json!({"theme": "dark", "text_size": "large"})),
                &[("idempotency-key", &format!("settings-{k:04}"))],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(app.state.db.pool())
        .await
        .expect("the keys answer");
    assert_eq!(rows, 1_000);
    let again = put("big-1".into()).await;
    assert!(
        again.headers.get("idempotent-replayed").is_none(),
        "the oldest answer was dropped: {}",
        again.status
    );
}

#[tokio::test]
async fn signing_in_again_in_place_at_a_full_limit_replaces() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "3"),
        ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
    ])
    .await;
    let _a = app.browser().await;
    let b = app.browser().await;
    let _c = app.browser().await;
    let again = b.post("/api/auth/login", credentials()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test]
async fn a_password_change_moves_the_local_copy_key_on_keeping_the_one_before() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let before = cookie.session_info().await.body["local_key"].clone();
    assert_eq!(before["version"], 1);
    assert!(before.get("retired").is_none(), "{before}");
    let changed = cookie
        .post(
            "/api/account/password",
            json!({"current_password": PASSWORD, "new_password": "a completely new one"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // This session goes on under the new key, the old one offered for reading.
    let after = cookie.session_info().await.body["local_key"].clone();
    assert_eq!(after["version"], 2);
    assert_ne!(after["key"], before["key"]);
    assert_eq!(after["retired"]["version"], 1);
    assert_eq!(after["retired"]["key"], before["key"]);
    // So does every new sign-in.
    let again = app.login_as(USERNAME, "a completely new one").await;
    assert_eq!(again.body["local_key"], after, "{}", again.body);
    // Another user's key is untouched.
    let grace = app.sign_in_grace().await;
    let hers = grace.session_info().await.body["local_key"].clone();
    assert_eq!(hers["version"], 1);
}

#[tokio::test]
async fn a_password_reset_from_the_command_line_moves_the_key_on_too() {
    let app = spawn_app().await;
    user_add_command(
        &app.state.settings,
        USERNAME,
        true,
        None,
        "a reset passphrase",
    )
    .await
    .expect("reset");
    let signed = app.login_as(USERNAME, "a reset passphrase").await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(signed.body["local_key"]["version"], 2);
    assert_eq!(signed.body["local_key"]["retired"]["version"], 1);
}
