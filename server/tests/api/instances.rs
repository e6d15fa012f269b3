//! Several instances behind a load balancer (round robin, no stickiness): two or three
//! `Router`s on one set of stores, each with its own process memory. In the default pass
//! they share one SQLite file; in `make test-shared`, one Postgres database and one Redis.
//! SPEC §2's guarantees hold across them: an ending is seen everywhere at the next request,
//! rotations race safely, and a store outage is a 503 everywhere that heals by itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use http::header::RETRY_AFTER;
use http::{Method, StatusCode};
use serde_json::json;
use time::Duration;
use vigil_server::configuration::SessionStoreChoice;

use crate::helpers::{post_from, refresh_concurrently, RequestHelper, TestApp, PASSWORD, USERNAME};

#[tokio::test]
async fn sign_out_on_one_instance_is_refused_on_every_other_at_once() {
    let apps = TestApp::builder().instances(3).await;
    let cookie = apps[0].browser().await.cookie;
    for app in &apps {
        let seen = app.with_cookie("/api/auth/session-info", &cookie).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    }
    let out = apps[1].with_cookie("/api/auth/logout", &cookie).await;
    assert_eq!(out.status, StatusCode::OK);
    for app in &apps {
        app.with_cookie("/api/auth/session-info", &cookie)
            .await
            .assert_problem(401, "session_revoked");
    }
}

#[tokio::test]
async fn a_rotation_on_one_instance_is_never_taken_for_theft_on_another() {
    let apps = TestApp::builder().instances(2).await;
    let (a, b) = (&apps[0], &apps[1]);
    let cookie = a.browser().await.cookie;
    // B reads the session first (with the embedded store, its cache keeps this copy)...
    let seen = b.with_cookie("/api/auth/session-info", &cookie).await;
    assert_eq!(seen.status, StatusCode::OK);
    a.advance(Duration::minutes(2));
    // ...A rotates it...
    let rotated = a.with_cookie("/api/auth/refresh", &cookie).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_cookie = rotated.session_cookie().expect("cookie");
    // ...and B, handed the newer token, goes on; long after the grace window too.
    for _ in 0..3 {
        let seen = b.with_cookie("/api/auth/session-info", &new_cookie).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
        a.advance(Duration::seconds(20));
    }
    let refreshed = b.with_cookie("/api/auth/refresh", &new_cookie).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

#[tokio::test]
async fn ten_concurrent_refreshes_spread_over_three_instances_make_one_new_generation() {
    let apps = TestApp::builder().instances(3).await;
    let cookie = apps[0].browser().await.cookie;
    apps[0].advance(Duration::minutes(2));
    let cookies = refresh_concurrently(&apps, &cookie, 10).await;
    let record = apps[2].session_record(&cookie).await;
    assert_eq!(record.generation, 2, "exactly one new generation");
    assert!(record.ended.is_none(), "nobody was signed out");
    for (i, cookie) in cookies.iter().enumerate() {
        let info = apps[(i + 1) % 3]
            .with_cookie("/api/auth/session-info", cookie)
            .await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    }
}

#[tokio::test]
async fn sign_in_failures_count_on_every_instance_sharing_the_limits() {
    let apps = TestApp::builder().instances(3).await;
    async fn attempt(app: &TestApp, password: &str) -> crate::helpers::TestResponse {
        let from = "198.51.100.66".parse().expect("address");
        let body = json!({"username": USERNAME, "password": password});
        app.request(post_from(from, "/api/auth/login", body, &[]))
            .await
    }
    // Five failures, spread over the three instances: two reach the third.
    for i in 0..5 {
        attempt(&apps[i % 3], "guess guess")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    let sixth = attempt(&apps[2], "guess guess").await;
    match apps[0].state.settings.storage.session_store {
        // Shared in Redis: the third instance counts all five.
        SessionStoreChoice::Redis(_) => {
            sixth.assert_problem(429, "rate_limited");
            attempt(&apps[0], PASSWORD)
                .await
                .assert_problem(429, "rate_limited");
        }
        // The embedded setup keeps its limits in each process (docs/operations.md): the third
        // instance has seen two.
        SessionStoreChoice::Database => {
            sixth.assert_problem(401, "invalid_credentials");
        }
    }
}

/// A Redis of the test's own, on a Unix socket in its directory, appending every write to
/// its log before answering: killed with SIGKILL and started again, it has lost nothing.
struct PrivateRedis {
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start(dir: &Path) -> Self {
        let mut redis = Self {
            dir: dir.to_owned(),
            child: None,
        };
        redis.restart().await;
        redis
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--unixsocketperm", "700"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (make stores installs it)");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("url");
        for _ in 0..200 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
                if pong.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the private Redis did not start");
    }

    /// `n` instances on this Redis, whose every call gives up after 500 ms.
    async fn instances(&self, n: usize) -> Vec<TestApp> {
        TestApp::builder()
            .settings(&[
                ("VIGIL_SESSION_STORE", self.url().as_str()),
                ("VIGIL_STORE_TIMEOUT", "500ms"),
            ])
            .instances(n)
            .await
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> crate::helpers::TestResponse {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    app.send(Method::GET, path, None, &headers).await
}

#[tokio::test]
async fn redis_down_is_503_on_every_instance_and_back_up_loses_no_session() {
    let redis_dir = tempfile::tempdir().expect("temp dir");
    let mut redis = PrivateRedis::start(redis_dir.path()).await;
    let apps = redis.instances(2).await;
    let cookie = apps[0].browser().await.cookie;
    let seen = apps[1].with_cookie("/api/auth/session-info", &cookie).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);

    redis.kill();
    for app in &apps {
        let refused = app.with_cookie("/api/auth/session-info", &cookie).await;
        refused.assert_problem(503, "store_unavailable");
        assert!(refused.headers.contains_key(RETRY_AFTER));
        app.login().await.assert_problem(503, "store_unavailable");
        get(app, "/health/ready", None)
            .await
            .assert_problem(503, "store_unavailable");
        let live = get(app, "/health/live", None).await;
        assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    }

    redis.restart().await;
    for app in &apps {
        // The first request after Redis returns works, with the session from before.
        let back = app.with_cookie("/api/auth/session-info", &cookie).await;
        assert_eq!(back.status, StatusCode::OK, "{}", back.body);
        let ready = get(app, "/health/ready", None).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
        assert_eq!(ready.body["checks"]["session_store"], "up");
    }
    apps[1].advance(Duration::minutes(2));
    let refreshed = apps[1].with_cookie("/api/auth/refresh", &cookie).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

#[tokio::test]
async fn an_open_stream_outlives_a_redis_outage_and_still_hears_its_ending() {
    let redis_dir = tempfile::tempdir().expect("temp dir");
    let mut redis = PrivateRedis::start(redis_dir.path()).await;
    let apps = redis.instances(2).await;
    let laptop = apps[0].browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;

    redis.kill();
    redis.restart().await;
    // Whatever the listener of instance 0 missed meanwhile it reads from the store once it
    // is back; what is said after that, it hears.
    let phone = apps[1].browser().await;
    let ended = phone.revoke_others().await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    on_laptop
        .assert_ended_after_news("signed_out_elsewhere")
        .await;
}
