//! Defects a security review found, each pinned by the behaviour a client can observe.

use std::time::Duration as StdDuration;

use axum::body::Body;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{Request, StatusCode};
use serde_json::json;
use time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    spawn_app, spawn_app_with, spawn_production_app, test_settings, user_add_command,
    RequestHelper, TestResponse, USERNAME,
};

fn set_cookies(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

fn clears_the_cookie(response: &TestResponse) -> bool {
    set_cookies(response).iter().any(|c| {
        c.starts_with("__Host-vigil-session=;")
            && c.contains("Max-Age=0")
            && c.contains("Secure")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Strict")
            && c.contains("Path=/")
    })
}

#[tokio::test]
async fn signing_out_of_an_ended_session_still_removes_the_cookie() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    app.advance(Duration::minutes(31));
    let response = browser.logout().await;
    response.assert_problem(401, "session_expired");
    assert!(clears_the_cookie(&response), "{:?}", set_cookies(&response));
    assert_eq!(response.header("clear-site-data"), Some("\"cookies\""));
    // Garbage and revoked sessions too.
    let garbage = app
        .with_cookie("/api/auth/logout", "__Host-vigil-session=not.a.jwt")
        .await;
    garbage.assert_problem(401, "session_invalid");
    assert!(clears_the_cookie(&garbage));
}

#[tokio::test]
async fn a_token_past_its_own_expiry_still_signs_out() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    // Saving work keeps the session alive without a new token, so the token runs out before
    // the session does.
    browser.outlive_token().await;
    browser.assert_session_refused("token_expired").await;
    // Nobody should have to refresh in order to sign out.
    let out = browser.logout().await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(clears_the_cookie(&out));
    browser
        .refresh()
        .await
        .assert_problem(401, "session_revoked");
}

#[tokio::test]
async fn state_changing_requests_must_be_json() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let request = Request::post("/api/auth/login")
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(
                json!({"username": USERNAME, "password": "x"}).to_string(),
            ))
            .expect("request");
        let problem = app
            .request(request)
            .await
            .assert_problem(415, "unsupported_media_type");
        assert!(
            problem.detail.contains("application/json"),
            "{}",
            problem.detail
        );
    }
    // A body without any type is refused too; so is a protected endpoint's.
    let untyped = Request::post("/api/auth/refresh")
        .header(COOKIE, &browser.cookie)
        .header("content-length", "2")
        .body(Body::from("{}"))
        .expect("request");
    app.request(untyped)
        .await
        .assert_problem(415, "unsupported_media_type");
    // An empty POST needs no type (curl -X POST), and JSON with a charset is JSON.
    let empty = Request::post("/api/auth/session-info")
        .header(COOKIE, &browser.cookie)
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.request(empty).await.status, StatusCode::OK);
    let charset = Request::post("/api/auth/session-info")
        .header(COOKIE, &browser.cookie)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from("{}"))
        .expect("request");
    assert_eq!(app.request(charset).await.status, StatusCode::OK);
}

#[tokio::test]
async fn api_answers_are_never_redirects() {
    let app = spawn_app().await;
    let html_form = [
        ("accept", "text/html,application/xhtml+xml"),
        ("referer", "https://vigil.test/login"),
    ];
    let wrong = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": "wrong password"}),
            &html_form,
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
    assert!(!wrong.headers.contains_key("location"));
    let right = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": crate::helpers::PASSWORD}),
            &html_form,
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    assert!(!right.headers.contains_key("location"));
    assert_eq!(right.body["user"]["username"], USERNAME);
}

#[tokio::test]
async fn every_response_carries_the_protective_headers() {
    let app = spawn_app().await;
    let api = app.login().await;
    let page = app
        .request(Request::get("/login").body(Body::empty()).expect("request"))
        .await;
    let problem = app.post("/api/auth/me", json!({}), &[]).await;
    for (what, response) in [("api", &api), ("page", &page), ("problem", &problem)] {
        let header = |name: &str| response.header(name).unwrap_or_default().to_owned();
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
        assert!(
            header("content-security-policy").contains("frame-ancestors 'none'"),
            "{what}: {}",
            header("content-security-policy")
        );
        // Development serves plain HTTP on localhost: no HSTS there.
        assert!(
            !response.headers.contains_key("strict-transport-security"),
            "{what}"
        );
    }
    // The page's policy admits its own hydration script by nonce, and nothing inline else.
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the page policy");
    let html = page.body.as_str().unwrap_or_default();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the inline scripts carry it"
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn pages_go_compressed_to_browsers_that_accept_it_and_state_the_policy() {
    use std::io::Read;
    use tower::ServiceExt;

    let app = spawn_app().await;
    let page = |encoding: Option<&'static str>| {
        let router = app.router.clone();
        async move {
            let mut request = Request::get("/login");
            if let Some(encoding) = encoding {
                request = request.header("accept-encoding", encoding);
            }
            let response = router
                .oneshot(request.body(Body::empty()).expect("request"))
                .await
                .expect("the router never fails");
            let headers = response.headers().clone();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            (headers, bytes)
        }
    };
    let header = |headers: &http::HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    // Brotli when the browser takes it, gzip when it takes only that.
    let (headers, compressed) = page(Some("gzip, deflate, br, zstd")).await;
    assert_eq!(header(&headers, "content-encoding"), "br");
    assert!(header(&headers, "vary").contains("accept-encoding"));
    let mut html = String::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_string(&mut html)
        .expect("a Brotli stream");
    assert!(
        compressed.len() * 2 < html.len(),
        "{} of {}",
        compressed.len(),
        html.len()
    );
    let (headers, gzipped) = page(Some("gzip, deflate")).await;
    assert_eq!(header(&headers, "content-encoding"), "gzip");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut unzipped)
        .expect("a gzip stream");
    assert!(unzipped.contains("id=\"timeout-disclosure\""));

    // The policy the server enforces is in the page for the browser to read back, and stated
    // in the sign-in page's own words.
    let policy = app::page_meta::encode_policy(&app::api::AuthBackend::policy(&*app.state.backend));
    assert!(
        html.contains(&format!("<meta name=\"vigil-policy\" content=\"{policy}\"")),
        "{policy}"
    );
    assert!(html.contains("id=\"timeout-disclosure\""));
    assert!(html.contains("For your security you are signed out after"));

    // Without either in Accept-Encoding (or refused with q=0), the page goes as it is.
    for encoding in [None, Some("identity"), Some("gzip;q=0, br;q=0, identity")] {
        let (headers, plain) = page(encoding).await;
        assert!(!headers.contains_key("content-encoding"), "{encoding:?}");
        assert!(header(&headers, "vary").contains("accept-encoding"));
        assert!(String::from_utf8_lossy(&plain).contains("id=\"timeout-disclosure\""));
    }

    // API answers are never compressed.
    let api = app
        .post(
            "/api/auth/policy",
            json!({}),
            &[("accept-encoding", "gzip")],
        )
        .await;
    assert_eq!(api.status, 200);
    assert!(!api.headers.contains_key("content-encoding"));
}

#[tokio::test]
async fn production_adds_strict_transport_security() {
    let app = spawn_production_app().await;
    let response = app.login().await;
    assert!(response
        .header("strict-transport-security")
        .is_some_and(|v| v.starts_with("max-age=")));
}

#[tokio::test]
async fn production_refuses_a_guessable_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(
        dir.path(),
        &[
            ("VIGIL_ENV", "production"),
            ("VIGIL_JWT_SECRET", &"a".repeat(32)),
        ],
    );
    crate::helpers::create_database(&settings).await;
    let built =
        vigil_server::startup::build_state(settings, crate::helpers::leptos_options(), None).await;
    let message = built.map(|_| ()).map_err(|e| e.to_string());
    assert!(
        matches!(&message, Err(m) if m.contains("guessable")),
        "{message:?}"
    );
}

#[tokio::test]
async fn a_client_chosen_request_id_is_kept_only_when_safe() {
    let app = spawn_app().await;
    let kept = app
        .post(
            "/api/auth/me",
            json!({}),
            &[("x-request-id", "client-42.a_b")],
        )
        .await;
    assert_eq!(kept.headers["x-request-id"], "client-42.a_b");
    assert_eq!(kept.problem().request_id.as_deref(), Some("client-42.a_b"));
    for hostile in [
        "<script>alert(1)</script>",
        "a b\" forged=1",
        &"x".repeat(200),
    ] {
        let replaced = app
            .post("/api/auth/me", json!({}), &[("x-request-id", hostile)])
            .await;
        let id = replaced.headers["x-request-id"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
        assert_eq!(replaced.problem().request_id.as_deref(), Some(id.as_str()));
    }
}

#[tokio::test]
async fn a_huge_test_clock_advance_is_refused_and_nothing_breaks() {
    let app = spawn_app_with(&[("VIGIL_TEST_CLOCK", "1")]).await;
    let browser = app.browser().await;
    let refused = app
        .post("/__test__/clock/advance", json!({"seconds": i64::MAX}), &[])
        .await;
    let problem = refused.assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("seconds"));
    app.post("/__test__/clock/advance", json!({"seconds": -5}), &[])
        .await
        .assert_problem(422, "validation_failed");
    app.post_raw("/__test__/clock/advance", "{\"seconds\": \"soon\"}", &[])
        .await
        .assert_problem(400, "validation_failed");
    // Every later request still works (once, they all panicked).
    assert_eq!(browser.session_info().await.status, StatusCode::OK);
    let moved = app
        .post("/__test__/clock/advance", json!({"seconds": 60}), &[])
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["offset_seconds"], 60);
}

#[tokio::test]
async fn a_password_reset_from_the_command_line_ends_every_session_of_the_user() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let api = app.api_client().await;
    let settings = test_settings(app._dir.path(), &[]);
    let message = user_add_command(&settings, USERNAME, true, None, "a brand new password\n")
        .await
        .expect("reset");
    assert!(message.contains("ended its 2 session(s)"), "{message}");
    browser.assert_session_refused("session_revoked").await;
    api.assert_session_refused("session_revoked").await;
    // The new password works; the old one does not.
    app.login().await.assert_problem(401, "invalid_credentials");
    let again = app.login_as(USERNAME, "a brand new password").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

/// A session ended long before its absolute deadline, then the deadline passes: a token that
/// still verifies (within the leeway) must hear why the session is gone, after a sweep and a
/// restart, never "not found".
#[tokio::test]
async fn tombstones_outlive_every_token_through_sweeps_and_restarts() {
    let app = spawn_app_with(&[("VIGIL_ABSOLUTE_TIMEOUT", "1h")]).await;
    // Activity keeps it alive to near the absolute deadline; the last token runs to it.
    let mut current = app.browser().await;
    for _ in 0..3 {
        app.advance(Duration::minutes(15));
        let refreshed = current.refresh().await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        current.cookie = refreshed.session_cookie().expect("cookie");
    }
    current.logout().await;
    // Just past the absolute deadline, inside the token's leeway.
    app.advance(Duration::minutes(15) + Duration::seconds(2));
    app.sweeper().sweep().await.expect("sweep");
    current.assert_session_refused("session_revoked").await;
    let current = current.cookie;
    let restarted = app.restart(&[("VIGIL_ABSOLUTE_TIMEOUT", "1h")]).await;
    let current = restarted.browser_with(current);
    current.assert_session_refused("session_revoked").await;
    // Long after: the record is swept, and a genuine but expired token hears that its
    // session's lifetime ran out, not that it never existed.
    restarted.advance(Duration::hours(2));
    restarted.sweeper().sweep().await.expect("sweep");
    let problem = current.assert_session_refused("session_expired").await;
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Absolute));
}

#[tokio::test]
async fn an_idle_expiry_is_remembered_past_the_absolute_deadline() {
    let app = spawn_app_with(&[("VIGIL_ABSOLUTE_TIMEOUT", "1h")]).await;
    let browser = app.browser().await;
    app.advance(Duration::minutes(31));
    browser.assert_session_refused("session_expired").await;
    app.advance(Duration::minutes(29) + Duration::seconds(1));
    app.sweeper().sweep().await.expect("sweep");
    let problem = browser
        .refresh()
        .await
        .assert_problem(401, "session_expired");
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Idle));
}

async fn serve(
    extra: &[(&str, &str)],
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(dir.path(), extra);
    crate::helpers::create_database(&settings).await;
    let mut options = crate::helpers::leptos_options();
    options.site_addr = "127.0.0.1:0".parse().expect("addr");
    let app = vigil_server::startup::Application::build(settings, options)
        .await
        .expect("builds");
    let addr = app.local_addr().expect("bound");
    let task = tokio::spawn(app.run_until(std::future::pending()));
    (addr, task, dir)
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    within: StdDuration,
) -> Option<String> {
    let mut received = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (addr, server, _dir) = serve(&[("VIGIL_HEADER_READ_TIMEOUT", "1s")]).await;
    // A complete request is answered.
    let mut ok = tokio::net::TcpStream::connect(addr).await.expect("connect");
    ok.write_all(b"GET /health HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut ok, StdDuration::from_secs(10))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    // One that stops halfway is cut off after the header read timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /login HTTP/1.1\r\nHost: vig")
        .await
        .expect("write");
    let closed = read_until_closed(&mut slow, StdDuration::from_secs(10)).await;
    assert!(closed.is_some(), "the connection was still open after 10 s");
    server.abort();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_body_gets_an_answer() {
    let (addr, server, _dir) = serve(&[("VIGIL_BODY_READ_TIMEOUT", "1s")]).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .expect("write");
    let answer = read_until_closed(&mut slow, StdDuration::from_secs(10))
        .await
        .expect("the connection was still open after 10 s");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
    server.abort();
}
