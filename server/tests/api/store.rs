//! The store under pressure: concurrent rotations, coalesced writes, races with sign-out,
//! and a store that fails.

use std::time::Duration as StdDuration;

use http::header::RETRY_AFTER;
use http::StatusCode;
use serde_json::json;
use time::Duration;
use vigil_server::configuration::SessionStoreChoice;
use vigil_server::session::ClientRequest;
use vigil_server::session::{AuthError, CredentialKind, Presented};

use crate::helpers::{refresh_concurrently, spawn_app, RequestHelper, TestApp};

#[tokio::test]
async fn ten_concurrent_refreshes_make_exactly_one_new_generation() {
    let app = spawn_app().await;
    let cookie = app.browser().await.cookie;
    app.advance(Duration::minutes(2));
    let cookies = refresh_concurrently(std::slice::from_ref(&app), &cookie, 10).await;
    let record = app.session_record(&cookie).await;
    assert_eq!(record.generation, 2, "exactly one new generation");
    for cookie in cookies {
        let info = app.browser_with(cookie).session_info().await;
        assert_eq!(info.status, StatusCode::OK, "the user stays signed in");
    }
}

#[tokio::test]
async fn an_active_session_costs_at_most_one_write_per_heartbeat_interval() {
    let app = TestApp::builder().instrumented().build().await;
    let store = app.store_probe();
    let mut browser = app.browser().await;
    let after_sign_in = store.writes();
    assert_eq!(after_sign_in, 1);
    // Five heartbeat intervals (60 s) of a very busy user: 25 rounds of reads and refreshes.
    for _ in 0..25 {
        app.advance(Duration::seconds(12));
        for path in [
            "/api/auth/session-info",
            "/api/auth/me",
            "/api/auth/session-info",
        ] {
            assert_eq!(browser.post(path, json!({})).await.status, StatusCode::OK);
        }
        for _ in 0..3 {
            let refreshed = browser.refresh().await;
            assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
            // A new cookie only when a new generation was written (SPEC §9.1).
            browser.cookie = refreshed.session_cookie().unwrap_or(browser.cookie);
        }
    }
    let writes = store.writes() - after_sign_in;
    assert!(writes <= 5, "{writes} writes in five heartbeat intervals");
    assert!(writes >= 4, "activity is still recorded ({writes} writes)");
}

#[tokio::test]
async fn a_slow_refresh_finishing_after_sign_out_cannot_resurrect_the_session() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    app.advance(Duration::minutes(2));
    let token = browser.cookie.trim_start_matches("__Host-vigil-session=");
    // The slow request has authenticated (read the record) before the sign-out...
    let slow = app
        .state
        .sessions
        .authenticate(
            Presented {
                token,
                credential: CredentialKind::Cookie,
                fingerprint: None,
                client: ClientRequest {
                    headers: &http::HeaderMap::new(),
                    extensions: &http::Extensions::new(),
                },
            },
            true,
        )
        .await
        .expect("authenticated");
    assert_eq!(browser.logout().await.status, StatusCode::OK);
    // ...and tries to write after it.
    let (headers, extensions) = (http::HeaderMap::new(), http::Extensions::new());
    let client = ClientRequest {
        headers: &headers,
        extensions: &extensions,
    };
    let outcome = app.state.sessions.refresh(&slow, client).await;
    assert!(matches!(outcome, Err(AuthError::Revoked(_))), "{outcome:?}");
    browser.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn a_failing_store_answers_503_and_recovers_by_itself() {
    let app = TestApp::builder().instrumented().build().await;
    let store = app.store_probe();
    let browser = app.browser().await;
    store.set_failing(true);
    for path in [
        "/api/auth/session-info",
        "/api/auth/refresh",
        "/api/auth/logout",
    ] {
        let response = browser.post(path, json!({})).await;
        let problem = response.assert_problem(503, "store_unavailable");
        assert_eq!(problem.retry_after, Some(5));
        assert_eq!(response.header(RETRY_AFTER), Some("5"));
    }
    app.login().await.assert_problem(503, "store_unavailable");
    store.set_failing(false);
    assert_eq!(browser.session_info().await.status, StatusCode::OK);
    assert_eq!(app.login().await.status, StatusCode::OK);
    // Operators see each refusal counted.
    let scraped = app.send(http::Method::GET, "/metrics", None, &[]).await;
    let text = scraped.body.as_str().expect("the exposition is text");
    assert!(
        text.contains("vigil_unavailable_responses_total 4"),
        "the four refusals are not counted in\n{text}"
    );
}

#[tokio::test]
async fn an_unreachable_database_answers_503_never_500_and_never_lets_requests_through() {
    let app = TestApp::builder().instrumented().build().await;
    let browser = app.browser().await;
    app.state.db.close().await;
    if app.state.settings.storage.session_store == SessionStoreChoice::Database {
        browser
            .session_info()
            .await
            .assert_problem(503, "store_unavailable");
        browser.me().await.assert_problem(503, "store_unavailable");
    } else {
        // Sessions live in Redis: they are still verified; the work needs the database.
        let info = browser.session_info().await;
        assert_eq!(info.status, 200, "{}", info.body);
        browser
            .get("/api/drafts")
            .await
            .assert_problem(503, "store_unavailable");
    }
    app.login().await.assert_problem(503, "store_unavailable");
}

#[tokio::test]
async fn the_sweeper_survives_transient_store_errors() {
    let app = TestApp::builder().instrumented().build().await;
    let store = app.store_probe();
    store.set_failing(true);
    let sweeper =
        vigil_server::maintenance::spawn_sweeper(app.sweeper(), StdDuration::from_millis(10));
    tokio::time::sleep(StdDuration::from_millis(60)).await;
    assert_eq!(store.sweeps(), 0);
    store.set_failing(false);
    tokio::time::timeout(StdDuration::from_secs(5), async {
        while store.sweeps() < 2 {
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
    })
    .await
    .expect("the sweeper kept going after the failures");
    assert!(!sweeper.is_finished());
    sweeper.abort();
}
