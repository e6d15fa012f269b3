//! `spawn_app`: the same router production builds, on a fresh database, with a clock the
//! test controls.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::Router;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, Request, StatusCode};
use leptos::config::LeptosOptions;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;
use vigil::{ManualClock, Problem};
use vigil_server::configuration::{SessionStoreChoice, Settings};
use vigil_server::identity::users::Username;
use vigil_server::session::store::{DatabaseSessionStore, InstrumentedStore};
use vigil_server::session::SessionId;
use vigil_server::startup::{build_state, router};
use vigil_server::state::AppState;

pub const USERNAME: &str = "ada";
pub const PASSWORD: &str = "correct horse battery";
pub const GRACE_PASSWORD: &str = "another staple battery";

pub struct TestApp {
    pub router: Router,
    pub clock: ManualClock,
    #[allow(dead_code)]
    pub state: AppState,
    pub _dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn problem(&self) -> Problem {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("not a problem body ({e}): {}", self.body))
    }

    /// Asserts a problem response with this status and code, and its common members.
    pub fn assert_problem(&self, status: u16, code: &str) -> Problem {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert_eq!(self.body["error_code"], code, "body: {}", self.body);
        let problem = self.problem();
        assert_eq!(problem.status, status);
        assert!(problem.type_uri.starts_with("/problems/"));
        assert!(!problem.title.is_empty() && !problem.detail.is_empty());
        assert!(problem.instance.is_some() && problem.timestamp.is_some());
        let request_id = self
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok());
        assert!(request_id.is_some());
        assert_eq!(problem.request_id.as_deref(), request_id);
        if status == 401 {
            assert!(self.headers.contains_key(http::header::WWW_AUTHENTICATE));
        }
        problem
    }

    /// The session cookie set by this response, as a `Cookie` header value.
    pub fn session_cookie(&self) -> Option<String> {
        session_cookie_in(&self.headers)
    }

    pub fn time(&self, field: &str) -> OffsetDateTime {
        let raw = self.body[field].as_str().unwrap_or_default();
        vigil::timestamp::parse(raw)
            .unwrap_or_else(|| panic!("{field} is not RFC 3339: {}", self.body))
    }
}

/// The session cookie among a response's `Set-Cookie` headers, as a `Cookie` header value.
pub fn session_cookie_in(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-vigil-session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

pub fn test_settings(dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let data_dir = dir.to_string_lossy().to_string();
    let mut vars: Vec<(String, String)> = vec![("VIGIL_DATA_DIR".into(), data_dir)];
    vars.extend(shared_stores(dir));
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    // The last setting of a name wins: a test's own settings over the shared stores.
    let lookup = move |name: &str| {
        vars.iter()
            .rfind(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Settings::from_env(&lookup).expect("test settings are valid")
}

/// With `VIGIL_TEST_POSTGRES` and `VIGIL_TEST_REDIS` set (`make test-shared`), each app
/// gets a Postgres database and a Redis key prefix of its own, named after its directory so
/// that a restart, or a second instance on the same directory, finds the same ones. Without
/// them, SQLite in the directory.
fn shared_stores(dir: &std::path::Path) -> Vec<(String, String)> {
    let tag: String = dir
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .unwrap_or_default();
    let mut vars = Vec::new();
    if let Ok(url) = std::env::var("VIGIL_TEST_REDIS") {
        vars.push(("VIGIL_SESSION_STORE".into(), url));
        vars.push(("VIGIL_REDIS_PREFIX".into(), format!("t{tag}")));
    }
    if let Ok(base) = std::env::var("VIGIL_TEST_POSTGRES") {
        vars.push(("VIGIL_DATABASE_URL".into(), format!("{base}/vigil_{tag}")));
    }
    vars
}

/// Creates the Postgres database a test's settings name, once (SQLite creates its own file).
pub async fn create_database(settings: &Settings) {
    let url = &settings.database_url;
    if vigil_server::db::Backend::of(url) != Some(vigil_server::db::Backend::Postgres) {
        return;
    }
    use sqlx::Connection;
    let (server, name) = url.rsplit_once('/').expect("a database name");
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("the test Postgres answers");
    let created = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await;
    match created {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
        Err(e) => panic!("could not create the test database {name}: {e}"),
    }
    let _ = admin.close().await;
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder().output_name("vigil").build()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(dir.path(), extra);
    spawn_app_in(dir, settings, ManualClock::new(OffsetDateTime::now_utc())).await
}

/// Builds the app on an existing directory (used to restart on the same database).
pub async fn spawn_app_in(
    dir: tempfile::TempDir,
    settings: Settings,
    clock: ManualClock,
) -> TestApp {
    create_database(&settings).await;
    let state = build_state(settings, leptos_options(), Some(Arc::new(clock.clone())))
        .await
        .expect("app builds");
    let username = Username::parse(USERNAME).expect("valid");
    let _ = state
        .users
        .add(&username, "Ada Lovelace", PASSWORD, Default::default())
        .await;
    TestApp {
        router: router(state.clone()),
        clock,
        state,
        _dir: dir,
    }
}

impl TestApp {
    /// A real restart on the same database: this instance goes away, its connections
    /// closed, and a new one starts with `extra` settings and the same clock.
    pub async fn restart(self, extra: &[(&str, &str)]) -> TestApp {
        let TestApp {
            router,
            clock,
            state,
            _dir: dir,
        } = self;
        drop(router);
        state.db.close().await;
        drop(state);
        let settings = test_settings(dir.path(), extra);
        spawn_app_in(dir, settings, clock).await
    }

    /// The sweeper of this instance, with its configured retention.
    pub fn sweeper(&self) -> vigil_server::maintenance::Sweeper {
        vigil_server::maintenance::Sweeper::new(
            self.state.sessions.clone(),
            self.state.work.clone(),
            self.state.settings.audit_retention,
        )
    }

    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Any method, an optional JSON body, and extra headers.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.request(builder.body(body).expect("request")).await
    }

    /// POSTs a raw body with the given extra headers.
    pub async fn post_raw(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = Request::post(path).header(CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.request(builder.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    pub async fn post(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
        self.post_raw(path, &body.to_string(), headers).await
    }

    pub async fn login(&self) -> TestResponse {
        self.post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": PASSWORD}),
            &[],
        )
        .await
    }

    /// A second user, Grace (created on first use), signed in as a browser: her cookie.
    pub async fn sign_in_grace(&self) -> String {
        let grace = Username::parse("grace").expect("valid");
        let _ = self
            .state
            .users
            .add(&grace, "Grace Hopper", GRACE_PASSWORD, Default::default())
            .await;
        let response = self
            .post(
                "/api/auth/login",
                json!({"username": "grace", "password": GRACE_PASSWORD}),
                &[],
            )
            .await;
        response.session_cookie().expect("cookie")
    }

    /// Signs in as a browser and returns the `Cookie` header value.
    pub async fn browser_session(&self) -> String {
        let response = self.login().await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.session_cookie().expect("login sets the cookie")
    }

    pub async fn with_cookie(&self, path: &str, cookie: &str) -> TestResponse {
        self.post(path, json!({}), &[(COOKIE.as_str(), cookie)])
            .await
    }

    pub async fn with_bearer(&self, path: &str, token: &str) -> TestResponse {
        let value = format!("Bearer {token}");
        self.post(path, json!({}), &[(AUTHORIZATION.as_str(), &value)])
            .await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// An app whose session store is instrumented; also returns the pool to close it.
pub async fn spawn_instrumented_app(
) -> (TestApp, Arc<InstrumentedStore>, vigil_server::db::Database) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(dir.path(), &[]);
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    create_database(&settings).await;
    let pool = vigil_server::db::connect(
        &settings.database_url,
        settings.store_timeout.unsigned_abs(),
    )
    .await
    .expect("db");
    // Uncached, so that every request reaches the store under test.
    let store = Arc::new(InstrumentedStore::new(match settings.session_store {
        SessionStoreChoice::Database => Arc::new(DatabaseSessionStore::new(&pool, None)),
        SessionStoreChoice::Redis(_) => {
            let redis = vigil_server::startup::redis(&settings).expect("redis");
            vigil_server::startup::session_store(&settings, &pool, redis.as_ref())
        }
    }));
    let state = vigil_server::startup::build_state_with_store(
        settings,
        leptos_options(),
        Some(Arc::new(clock.clone())),
        pool.clone(),
        store.clone(),
    )
    .await
    .expect("app builds");
    let username = Username::parse(USERNAME).expect("valid");
    let _ = state
        .users
        .add(&username, "Ada Lovelace", PASSWORD, Default::default())
        .await;
    let app = TestApp {
        router: router(state.clone()),
        clock,
        state,
        _dir: dir,
    };
    (app, store, pool)
}

/// A JSON POST that arrives from `ip` (as the TCP peer).
pub fn post_from(ip: IpAddr, path: &str, body: Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post(path).header(CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::from(body.to_string())).expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
    request
}

/// `n` instances of the server sharing one set of stores, as behind a load balancer: one
/// SQLite file (or, in `make test-shared`, one Postgres database and one Redis prefix),
/// each instance with its own process memory and all on one clock. `extra` settings apply
/// to every instance.
pub async fn instances(n: usize, extra: &[(&str, &str)]) -> Vec<TestApp> {
    instances_on(n, extra, ManualClock::new(OffsetDateTime::now_utc())).await
}

/// As [`instances`], on `clock`.
pub async fn instances_on(n: usize, extra: &[(&str, &str)], clock: ManualClock) -> Vec<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(dir.path(), extra);
    let first = spawn_app_in(dir, settings, clock.clone()).await;
    let mut apps = Vec::with_capacity(n);
    for _ in 1..n {
        let settings = test_settings(first._dir.path(), extra);
        let unused = tempfile::tempdir().expect("temp dir");
        apps.push(spawn_app_in(unused, settings, clock.clone()).await);
    }
    apps.insert(0, first);
    apps
}

/// The session id inside a session cookie's token.
pub fn session_id_of(cookie: &str) -> SessionId {
    use base64::Engine;
    let token = cookie.trim_start_matches("__Host-vigil-session=");
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    SessionId::parse(claims["sid"].as_str().expect("sid")).expect("valid id")
}
