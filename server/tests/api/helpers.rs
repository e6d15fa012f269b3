//! The test harness: `TestApp::builder()` builds the same router production builds, on a
//! fresh database (or a given one, for restarts), with a clock the test controls; `Browser`
//! and `ApiClient` are signed-in users whose requests carry their credential
//! (`RequestHelper`).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::Router;
use http::header::{AsHeaderName, AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, Method, Request, StatusCode};
use leptos::config::LeptosOptions;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;
use vigil::{ManualClock, Problem, Role};
use vigil_server::audit::AuditRow;
use vigil_server::cli::{run_user_command, CliError, UserCommand};
use vigil_server::configuration::{SessionStoreChoice, Settings};
use vigil_server::identity::users::{UserError, Username};
use vigil_server::session::store::{DatabaseSessionStore, InstrumentedStore};
use vigil_server::session::{SessionId, SessionRecord};
use vigil_server::startup::{build_state, build_state_with_store, router};
use vigil_server::state::AppState;

pub const USERNAME: &str = "ada";
pub const PASSWORD: &str = "correct horse battery";
pub const GRACE_PASSWORD: &str = "another staple battery";
/// The administrator's, Linus (`role: admin`, created by [`TestApp::sign_in_admin`]).
pub const ADMIN: &str = "linus";
pub const ADMIN_PASSWORD: &str = "an administrator's staple";

pub struct TestApp {
    pub router: Router,
    pub clock: ManualClock,
    pub state: AppState,
    /// The uncached store under the sessions, when built `.instrumented()`.
    pub instrumented: Option<Arc<InstrumentedStore>>,
    pub _dir: tempfile::TempDir,
}

/// The default app: `TestApp::builder().build()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().build().await
}

/// An app with these `VIGIL_…` settings and nothing else changed.
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::builder().settings(settings).build().await
}

/// The JWT secret of `spawn_production_app`: production refuses to start without one.
pub const PRODUCTION_SECRET: &str =
    "4f1c2a9e7b3d5f60c8e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

/// An app configured as in production (`VIGIL_ENV=production`).
pub async fn spawn_production_app() -> TestApp {
    spawn_app_with(&[
        ("VIGIL_ENV", "production"),
        ("VIGIL_JWT_SECRET", PRODUCTION_SECRET),
    ])
    .await
}

/// How a `TestApp` is made: its settings, clock, directory and store.
#[derive(Default)]
pub struct TestAppBuilder {
    settings: Vec<(String, String)>,
    clock: Option<ManualClock>,
    dir: Option<tempfile::TempDir>,
    instrumented: bool,
}

impl TestAppBuilder {
    /// One `VIGIL_…` setting; a later setting of the same name wins.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn settings(self, settings: &[(&str, &str)]) -> Self {
        settings
            .iter()
            .fold(self, |builder, (name, value)| builder.setting(name, value))
    }

    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds on an existing directory: a restart finds the same database there.
    pub fn in_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Puts an `InstrumentedStore` under the sessions, uncached so that every request
    /// reaches it; the test reads it through `TestApp::store_probe`.
    pub fn instrumented(mut self) -> Self {
        self.instrumented = true;
        self
    }

    pub async fn build(mut self) -> TestApp {
        let dir = self.take_dir();
        let clock = self.take_clock();
        let data = dir.path().to_owned();
        self.start(&data, dir, clock).await
    }

    /// `n` instances of the server sharing one set of stores, as behind a load balancer:
    /// one SQLite file (or, in `make test-shared`, one Postgres database and one Redis
    /// prefix), each instance with its own process memory and all on one clock.
    pub async fn instances(mut self, n: usize) -> Vec<TestApp> {
        let dir = self.take_dir();
        let clock = self.take_clock();
        let data = dir.path().to_owned();
        let mut apps = Vec::with_capacity(n);
        apps.push(self.start(&data, dir, clock.clone()).await);
        for _ in 1..n {
            let unused = tempfile::tempdir().expect("temp dir");
            apps.push(self.start(&data, unused, clock.clone()).await);
        }
        apps
    }

    fn take_dir(&mut self) -> tempfile::TempDir {
        self.dir
            .take()
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"))
    }

    fn take_clock(&mut self) -> ManualClock {
        self.clock
            .take()
            .unwrap_or_else(|| ManualClock::new(OffsetDateTime::now_utc()))
    }

    /// One instance on the stores of `data`; `dir` is what the app keeps alive.
    async fn start(&self, data: &Path, dir: tempfile::TempDir, clock: ManualClock) -> TestApp {
        let extra: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let settings = test_settings(data, &extra);
        create_database(&settings).await;
        let shared_clock = Some(Arc::new(clock.clone()) as Arc<dyn vigil::Clock>);
        let (state, instrumented) = if self.instrumented {
            let pool = vigil_server::db::connect(
                &settings.storage.database_url,
                settings.storage.store_timeout.unsigned_abs(),
            )
            .await
            .expect("db");
            let store = Arc::new(InstrumentedStore::new(
                match settings.storage.session_store {
                    SessionStoreChoice::Database => {
                        Arc::new(DatabaseSessionStore::new(&pool, None))
                    }
                    SessionStoreChoice::Redis(_) => {
                        let redis = vigil_server::startup::redis(&settings).expect("redis");
                        vigil_server::startup::session_store(&settings, &pool, redis.as_ref())
                    }
                },
            ));
            let state = build_state_with_store(
                settings,
                leptos_options(),
                shared_clock,
                pool,
                store.clone(),
            )
            .await
            .expect("app builds");
            (state, Some(store))
        } else {
            let state = build_state(settings, leptos_options(), shared_clock)
                .await
                .expect("app builds");
            (state, None)
        };
        seed_user(&state, USERNAME, "Ada Lovelace", PASSWORD).await;
        TestApp {
            router: router(state.clone()),
            clock,
            state,
            instrumented,
            _dir: dir,
        }
    }
}

/// Adds a user, or finds it there already (after a restart on the same database); any
/// other failure stops the test here rather than at a confusing sign-in later.
async fn seed_user(state: &AppState, name: &str, display_name: &str, password: &str) {
    seed_user_as(state, name, display_name, password, Default::default()).await;
}

async fn seed_user_as(
    state: &AppState,
    name: &str,
    display_name: &str,
    password: &str,
    role: vigil::Role,
) {
    let username = Username::parse(name).expect("a valid username");
    let added = state
        .users
        .add(&username, display_name, password, role)
        .await;
    match added {
        Ok(_) | Err(UserError::Exists(_)) => {}
        Err(e) => panic!("could not seed the user `{name}`: {e}"),
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// A real restart on the same database: this instance goes away, its connections
    /// closed, and a new one starts with `extra` settings and the same clock.
    pub async fn restart(self, extra: &[(&str, &str)]) -> TestApp {
        let TestApp {
            router,
            clock,
            state,
            instrumented,
            _dir: dir,
        } = self;
        drop((router, instrumented));
        state.db.close().await;
        drop(state);
        TestApp::builder()
            .settings(extra)
            .clock(clock)
            .in_dir(dir)
            .build()
            .await
    }

    /// The instrumented session store (writes, sweeps, failures on demand).
    pub fn store_probe(&self) -> &InstrumentedStore {
        self.instrumented
            .as_deref()
            .expect("store_probe needs an app built with TestApp::builder().instrumented()")
    }

    /// The sweeper of this instance, with its configured retention.
    pub fn sweeper(&self) -> vigil_server::maintenance::Sweeper {
        vigil_server::maintenance::Sweeper::new(
            self.state.sessions.clone(),
            self.state.work.clone(),
            self.state.passkeys.ceremonies().clone(),
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

    /// Any method, an optional body sent as JSON exactly as given, and extra headers.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        self.request(builder.body(body).expect("request")).await
    }

    /// POSTs a raw body with the given extra headers.
    pub async fn post_raw(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send_raw(Method::POST, path, Some(body), headers).await
    }

    pub async fn post(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
        self.post_raw(path, &body.to_string(), headers).await
    }

    /// Signs in as `username` with `password` (the answer, whatever it is).
    pub async fn login_as(&self, username: &str, password: &str) -> TestResponse {
        self.post(
            "/api/auth/login",
            json!({"username": username, "password": password}),
            &[],
        )
        .await
    }

    pub async fn login(&self) -> TestResponse {
        self.login_as(USERNAME, PASSWORD).await
    }

    /// A browser signed in as the default user.
    pub async fn browser(&self) -> Browser<'_> {
        let response = self.login().await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        self.browser_with(response.session_cookie().expect("login sets the cookie"))
    }

    /// A browser holding `cookie` (a `Cookie` header value), e.g. one a response set.
    pub fn browser_with(&self, cookie: String) -> Browser<'_> {
        Browser { app: self, cookie }
    }

    /// A second user, Grace (created on first use), signed in as a browser.
    pub async fn sign_in_grace(&self) -> Browser<'_> {
        seed_user(&self.state, "grace", "Grace Hopper", GRACE_PASSWORD).await;
        let response = self.login_as("grace", GRACE_PASSWORD).await;
        self.browser_with(response.session_cookie().expect("cookie"))
    }

    /// An administrator, Linus (created on first use), signed in as a browser.
    pub async fn sign_in_admin(&self) -> Browser<'_> {
        seed_user_as(
            &self.state,
            ADMIN,
            "Linus",
            ADMIN_PASSWORD,
            vigil::Role::Admin,
        )
        .await;
        let response = self.login_as(ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        self.browser_with(response.session_cookie().expect("cookie"))
    }

    /// An API client signed in as the default user through `/api/auth/token`.
    pub async fn api_client(&self) -> ApiClient<'_> {
        let response = self
            .post(
                "/api/auth/token",
                json!({"username": USERNAME, "password": PASSWORD}),
                &[],
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        let token = response.body["access_token"].as_str().expect("a token");
        self.api_client_with(token.to_owned())
    }

    /// An API client holding `token`.
    pub fn api_client_with(&self, token: String) -> ApiClient<'_> {
        ApiClient {
            app: self,
            authorization: format!("Bearer {token}"),
            token,
        }
    }

    /// POSTs `{}` with this raw `Cookie` header value (any cookie, however made).
    pub async fn with_cookie(&self, path: &str, cookie: &str) -> TestResponse {
        self.post(path, json!({}), &[(COOKIE.as_str(), cookie)])
            .await
    }

    /// POSTs `{}` with this raw bearer token.
    pub async fn with_bearer(&self, path: &str, token: &str) -> TestResponse {
        let value = format!("Bearer {token}");
        self.post(path, json!({}), &[(AUTHORIZATION.as_str(), &value)])
            .await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The newest `limit` audit rows, after writing out what is still buffered.
    pub async fn audit_log(&self, limit: i64) -> Vec<AuditRow> {
        let audit = self.state.sessions.audit();
        audit.flush().await.expect("flush");
        audit.recent(limit).await.expect("audit rows")
    }

    /// The stored record of the default user's session behind `cookie`.
    pub async fn session_record(&self, cookie: &str) -> SessionRecord {
        self.state
            .sessions
            .store()
            .load(1, &session_id_of(cookie))
            .await
            .expect("store")
            .expect("record")
    }
}

/// `n` refreshes of one `cookie` at once, spread over `apps` in turn, as tasks on the
/// runtime so that they race; every answer must be a 200 with a usable cookie, which this
/// returns in order.
pub async fn refresh_concurrently(apps: &[TestApp], cookie: &str, n: usize) -> Vec<String> {
    let requests: Vec<_> = (0..n)
        .map(|i| {
            let router = apps[i % apps.len()].router.clone();
            let cookie = cookie.to_owned();
            tokio::spawn(async move {
                let request = Request::post("/api/auth/refresh")
                    .header(CONTENT_TYPE, "application/json")
                    .header(COOKIE, cookie)
                    .body(Body::from("{}"))
                    .expect("request");
                router.oneshot(request).await.expect("infallible")
            })
        })
        .collect();
    let mut cookies = Vec::new();
    for request in requests {
        let response = request.await.expect("task");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "never a 5xx, never refused"
        );
        let set =
            session_cookie_in(response.headers()).expect("every answer carries a usable cookie");
        cookies.push(set);
    }
    cookies
}

/// Adds or updates `name` through the `vigil user add` command, the password on stdin.
pub async fn user_add_command(
    settings: &Settings,
    name: &str,
    update: bool,
    role: Option<Role>,
    password: &str,
) -> Result<String, CliError> {
    let command = UserCommand::Add {
        name: name.into(),
        password_stdin: true,
        display_name: String::new(),
        update,
        role,
    };
    run_user_command(settings, command, password).await
}

/// Requests as one caller: a signed-in user carrying its credential, whichever kind it
/// is, or the `TestApp` itself carrying none.
#[allow(async_fn_in_trait)]
pub trait RequestHelper {
    /// The app, and the header that carries the credential (its name and value), if any.
    fn signed_in(&self) -> (&TestApp, Option<(&str, &str)>);

    /// Any method, an optional JSON body, and extra headers after the credential.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let (app, credential) = self.signed_in();
        let mut all: Vec<_> = credential.into_iter().collect();
        all.extend_from_slice(headers);
        let body = body.map(|b| b.to_string());
        app.send_raw(method, path, body.as_deref(), &all).await
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    async fn put(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
        self.send(Method::PUT, path, Some(body), headers).await
    }

    async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send(Method::DELETE, path, None, headers).await
    }

    async fn session_info(&self) -> TestResponse {
        self.post("/api/auth/session-info", json!({})).await
    }

    /// Asserts session-info refuses this credential with a 401 of `code`.
    async fn assert_session_refused(&self, code: &str) -> Problem {
        self.session_info().await.assert_problem(401, code)
    }

    async fn refresh(&self) -> TestResponse {
        self.post("/api/auth/refresh", json!({})).await
    }

    async fn logout(&self) -> TestResponse {
        self.post("/api/auth/logout", json!({})).await
    }

    async fn me(&self) -> TestResponse {
        self.post("/api/auth/me", json!({})).await
    }

    /// Opens `GET /api/events`: the answer's head, and its events as they come.
    async fn events(&self) -> EventStream {
        let (app, credential) = self.signed_in();
        let mut request = Request::builder().uri(vigil::events::EVENTS_PATH);
        if let Some((name, value)) = credential {
            request = request.header(name, value);
        }
        let response = app
            .router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("the router never fails");
        EventStream {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.into_body().into_data_stream(),
            buffer: String::new(),
        }
    }
}

/// How long a test waits for an event it expects (the stream's news is immediate; the
/// checks of the embedded database run every second).
pub const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An open event stream (`RequestHelper::events`).
pub struct EventStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: axum::body::BodyDataStream,
    buffer: String,
}

impl EventStream {
    /// The next event, as (name, data), skipping keep-alive comments; `None` once the
    /// stream has ended. Panics if nothing comes within [`EVENT_WAIT`].
    pub async fn next(&mut self) -> Option<(String, String)> {
        use futures_util::StreamExt;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    frame
                        .lines()
                        .find_map(|line| line.strip_prefix(name))
                        .map(|value| value.trim_start().to_owned())
                };
                match (field("event:"), field("data:")) {
                    (Some(event), data) => return Some((event, data.unwrap_or_default())),
                    _ => continue,
                }
            }
            let chunk = tokio::time::timeout(EVENT_WAIT, self.body.next())
                .await
                .expect("an event (or the stream's end) within the wait")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.expect("the stream reads")));
        }
    }

    /// The next event's name, and its `reason` if it has one.
    pub async fn next_told(&mut self) -> Option<(String, Option<String>)> {
        let (event, data) = self.next().await?;
        let reason = serde_json::from_str::<Value>(&data)
            .ok()
            .and_then(|data| data["reason"].as_str().map(str::to_owned));
        Some((event, reason))
    }

    /// Asserts the stream opened and said `ready`.
    pub async fn assert_ready(&mut self) {
        assert_eq!(self.status, StatusCode::OK);
        assert_eq!(self.next_told().await, Some(("ready".into(), None)));
    }

    /// Asserts the next event tells that the session ended for `reason`, and that the
    /// stream then ends.
    pub async fn assert_ended(&mut self, reason: &str) {
        assert_eq!(
            self.next_told().await,
            Some(("session_ended".into(), Some(reason.into())))
        );
        assert_eq!(self.next().await, None, "the stream ends after the ending");
    }

    /// As [`assert_ended`](Self::assert_ended), after any number of `sessions_changed`
    /// (news of other sessions, which only some stores carry across instances).
    pub async fn assert_ended_after_news(&mut self, reason: &str) {
        let told = loop {
            match self.next_told().await {
                Some((event, _)) if event == "sessions_changed" => continue,
                told => break told,
            }
        };
        assert_eq!(told, Some(("session_ended".into(), Some(reason.into()))));
        assert_eq!(self.next().await, None, "the stream ends after the ending");
    }
}

/// A signed-in browser: the app, and the session cookie it sends.
#[derive(Clone)]
pub struct Browser<'a> {
    app: &'a TestApp,
    /// The `Cookie` header value.
    pub cookie: String,
}

impl Browser<'_> {
    /// Creates the draft `id` (`If-None-Match: *`), which must succeed.
    pub async fn create_draft(&self, id: &str, title: &str, body: &str) {
        let created = self
            .put(
                &format!("/api/drafts/{id}"),
                json!({"title": title, "body": body}),
                &[("if-none-match", "*")],
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }

    /// Ends one of the user's sessions by its public id (`DELETE /api/sessions/{id}`).
    pub async fn end_session(&self, id: &str) -> TestResponse {
        self.delete(&format!("/api/sessions/{id}"), &[]).await
    }

    /// Signs out everywhere else.
    pub async fn revoke_others(&self) -> TestResponse {
        self.post("/api/sessions/revoke-others", json!({})).await
    }

    pub async fn change_password(&self, current: &str, new: &str) -> TestResponse {
        let body = json!({"current_password": current, "new_password": new});
        self.post("/api/account/password", body).await
    }

    /// Saves work 20 minutes in (which keeps the session alive without a new token), then
    /// lets 11 more pass: the token has run out, the session has not.
    pub async fn outlive_token(&self) {
        self.app.advance(Duration::minutes(20));
        self.create_draft("0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b", "t", "b")
            .await;
        self.app.advance(Duration::minutes(11));
    }
}

impl RequestHelper for Browser<'_> {
    fn signed_in(&self) -> (&TestApp, Option<(&str, &str)>) {
        (self.app, Some((COOKIE.as_str(), &self.cookie)))
    }
}

/// A signed-in API client: the app, and the bearer token it sends.
#[derive(Clone)]
pub struct ApiClient<'a> {
    app: &'a TestApp,
    pub token: String,
    authorization: String,
}

impl RequestHelper for ApiClient<'_> {
    fn signed_in(&self) -> (&TestApp, Option<(&str, &str)>) {
        (
            self.app,
            Some((AUTHORIZATION.as_str(), &self.authorization)),
        )
    }
}

/// The app's own requests carry no credential; its inherent `post` (with headers) stays
/// the one `app.post(…)` calls.
impl RequestHelper for TestApp {
    fn signed_in(&self) -> (&TestApp, Option<(&str, &str)>) {
        (self, None)
    }
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
        assert_eq!(self.header(CONTENT_TYPE), Some("application/problem+json"));
        assert_eq!(self.body["error_code"], code, "body: {}", self.body);
        let problem = self.problem();
        assert_eq!(problem.status, status);
        assert!(problem.type_uri.starts_with("/problems/"));
        assert!(!problem.title.is_empty() && !problem.detail.is_empty());
        assert!(problem.instance.is_some() && problem.timestamp.is_some());
        let request_id = self.header("x-request-id");
        assert!(request_id.is_some());
        assert_eq!(problem.request_id.as_deref(), request_id);
        if status == 401 {
            assert!(self.headers.contains_key(http::header::WWW_AUTHENTICATE));
        }
        problem
    }

    /// The header `name` as text (the first, if repeated); `None` if absent or not text.
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
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
    let url = &settings.storage.database_url;
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
