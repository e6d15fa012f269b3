//! Store writes per active session: many busy sessions on the real Router and SQLite store,
//! driven by a manual clock through several heartbeat intervals. Two kinds of busy: a user
//! whose tabs poll and refresh, and a user typing continuously (an autosave every two
//! seconds). Prints the figures; the session record may be written at most once per
//! heartbeat interval either way.

// A benchmark that cannot set up stops with the reason: `expect` says it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::Request;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;
use vigil::{Clock, ManualClock};
use vigil_server::configuration::Settings;
use vigil_server::identity::users::Username;
use vigil_server::session::store::{DatabaseSessionStore, InstrumentedStore};
use vigil_server::startup::{build_state_with_store, router};

const SESSIONS: usize = 50;
const INTERVALS: i64 = 10;
/// Each session makes a request every this many seconds (a very busy user).
const EVERY_SECS: i64 = 5;
/// A typing user's autosave cadence.
const AUTOSAVE_SECS: i64 = 2;

fn post(path: &str, body: String, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::post(path).header(CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie);
    }
    builder.body(Body::from(body)).unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_string_lossy().to_string();
    let env = move |name: &str| match name {
        "VIGIL_DATA_DIR" => Some(data_dir.clone()),
        "VIGIL_SIGNIN_LIMIT_PER_ACCOUNT" | "VIGIL_SIGNIN_LIMIT_PER_IP" => Some("100000".into()),
        _ => None,
    };
    let settings = Settings::from_env(&env).expect("settings");
    let heartbeat = settings.sessions.policy.heartbeat_interval();
    let pool = vigil_server::db::connect(
        &settings.storage.database_url,
        settings.storage.store_timeout.unsigned_abs(),
    )
    .await
    .expect("db");
    let store = Arc::new(InstrumentedStore::new(Arc::new(DatabaseSessionStore::new(
        &pool, None,
    ))));
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let options = leptos::config::LeptosOptions::builder()
        .output_name("vigil")
        .build();
    let state = build_state_with_store(
        settings,
        options,
        Some(Arc::new(clock.clone())),
        pool,
        store.clone(),
    )
    .await
    .expect("state");
    let username = Username::parse("bench").expect("name");
    state
        .users
        .add(&username, "Bench", "bench password", Default::default())
        .await
        .expect("user");
    let app = router(state);

    let mut cookies = Vec::new();
    for _ in 0..SESSIONS {
        let body = r#"{"username":"bench","password":"bench password"}"#.to_owned();
        let response = app
            .clone()
            .oneshot(post("/api/auth/login", body, None))
            .await
            .expect("login");
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("cookie")
            .to_owned();
        cookies.push(cookie);
    }
    let after_sign_in = store.writes();
    let start = clock.now();
    let mut requests = 0u64;
    while clock.now() - start < heartbeat * INTERVALS as i32 {
        clock.advance(Duration::seconds(EVERY_SECS));
        for cookie in cookies.iter_mut() {
            for path in [
                "/api/auth/session-info",
                "/api/auth/refresh",
                "/api/auth/me",
            ] {
                let response = app
                    .clone()
                    .oneshot(post(path, "{}".into(), Some(cookie)))
                    .await
                    .expect("request");
                assert!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                if let Some(set) = response
                    .headers()
                    .get(SET_COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(';').next())
                {
                    *cookie = set.to_owned();
                }
                requests += 1;
            }
        }
    }
    let writes = store.writes() - after_sign_in;
    let per_session_interval = writes as f64 / (SESSIONS as f64 * INTERVALS as f64);
    println!("store writes per active session (polling and refreshing)");
    println!("  sessions                  {SESSIONS}");
    println!(
        "  heartbeat intervals       {INTERVALS} x {}s",
        heartbeat.whole_seconds()
    );
    println!(
        "  requests                  {requests} ({} per session per interval)",
        requests / (SESSIONS as u64 * INTERVALS as u64)
    );
    println!("  store writes              {writes}");
    println!("  writes/session/interval   {per_session_interval:.2}  (target <= 1)");
    let typing = typing_continuously(&app, &clock, &store, &cookies, heartbeat).await;
    if per_session_interval > 1.0 || typing > 1.0 {
        eprintln!("FAIL: more than one store write per heartbeat interval per session");
        std::process::exit(1);
    }
}

/// Every session saves its draft every two seconds for the intervals: the drafts are
/// written each time, the session record at most once per heartbeat interval.
async fn typing_continuously(
    app: &axum::Router,
    clock: &ManualClock,
    store: &InstrumentedStore,
    cookies: &[String],
    heartbeat: Duration,
) -> f64 {
    let before = store.writes();
    let start = clock.now();
    let mut versions = vec![0u64; cookies.len()];
    let mut saves = 0u64;
    let mut round = 0u64;
    while clock.now() - start < heartbeat * INTERVALS as i32 {
        clock.advance(Duration::seconds(AUTOSAVE_SECS));
        round += 1;
        for (i, cookie) in cookies.iter().enumerate() {
            let id = format!("00000000-0000-4000-8000-{i:012x}");
            let condition = match versions[i] {
                0 => ("if-none-match", "*".to_owned()),
                v => ("if-match", format!("\"{v}\"")),
            };
            let request = Request::put(format!("/api/drafts/{id}"))
                .header(CONTENT_TYPE, "application/json")
                .header(COOKIE, cookie)
                .header(condition.0, condition.1)
                .body(Body::from(format!(
                    r#"{{"title":"Typing","body":"{}"}}"#,
                    "x".repeat(round as usize)
                )))
                .unwrap_or_default();
            let response = app.clone().oneshot(request).await.expect("request");
            assert!(response.status().is_success(), "{}", response.status());
            versions[i] = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .and_then(vigil::work::parse_etag)
                .expect("etag");
            saves += 1;
        }
    }
    let writes = store.writes() - before;
    let per_session_interval = writes as f64 / (cookies.len() as f64 * INTERVALS as f64);
    println!("store writes per active session (typing continuously)");
    println!("  sessions                  {}", cookies.len());
    println!("  draft saves               {saves} (one every {AUTOSAVE_SECS}s per session)");
    println!("  session record writes     {writes}");
    println!("  writes/session/interval   {per_session_interval:.2}  (target <= 1)");
    per_session_interval
}
