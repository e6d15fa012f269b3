//! Random histories against real servers, every answer checked against the reference model
//! (`model.rs`). A history is one user with three browsers doing what browsers and attackers
//! do — sign in (again in place, or afresh), refresh, read, change, sign out, end sessions,
//! replay any token they ever held — on any instance, while the clock moves to the edges of
//! the rules (the grace window, the coalescing window, the deadlines ±1 s), with refreshes
//! racing on two instances and instances restarting between operations.
//!
//! Topologies: one instance; two and three instances on one store, each with its own
//! memory (one SQLite file in the default pass; Redis and Postgres, then a Redis Cluster, in
//! `make test-shared`). `MODEL_HISTORIES` sets how many histories each runs (`make test`:
//! 200; `make check-model`: 1,000), `MODEL_SEED` replays one. A failing history is cut
//! down to the operations that still fail and printed with its seed; the ones found so far
//! are kept below as regression cases.

use std::fmt;

use http::header::COOKIE;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use vigil::ManualClock;
use vigil_server::identity::users::Username;

use crate::helpers::{session_cookie_in, TestApp, TestResponse};
use crate::model::{Expected, Handed, Model, Policy, Token};
use crate::processes::{self, ServerProcess};

const POLICY: Policy = Policy {
    idle: 120,
    absolute: 600,
    heartbeat: 30,
    reauth: 60,
    limit: Some(3),
};

/// The settings that give the servers the model's policy.
const SETTINGS: &[(&str, &str)] = &[
    ("VIGIL_IDLE_TIMEOUT", "120s"),
    ("VIGIL_WARNING_BEFORE", "30s"),
    ("VIGIL_ABSOLUTE_TIMEOUT", "600s"),
    ("VIGIL_HEARTBEAT_INTERVAL", "30s"),
    ("VIGIL_REAUTH_WITHIN", "60s"),
    ("VIGIL_MAX_SESSIONS_PER_USER", "3"),
    ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
];

const BROWSERS: usize = 3;
const PASSWORD: &str = "a history's own password";

/// Which of a browser's tokens a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Its cookie as it is now.
    Current,
    /// The k-th token it ever held (modulo how many), however old.
    Old(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// Signs in with the browser's cookie, if it has one (signing in again in place).
    SignIn {
        browser: usize,
        instance: usize,
    },
    /// Signs in as a browser without a cookie (a new device) that then holds the session.
    SignInAfresh {
        browser: usize,
        instance: usize,
    },
    Refresh {
        browser: usize,
        pick: Pick,
        instance: usize,
    },
    /// `session-info`: passive, states the idle deadline.
    Read {
        browser: usize,
        pick: Pick,
        instance: usize,
    },
    /// `PUT /api/settings`: the user's activity.
    Change {
        browser: usize,
        pick: Pick,
        instance: usize,
    },
    Logout {
        browser: usize,
        pick: Pick,
        instance: usize,
    },
    RevokeOthers {
        browser: usize,
        instance: usize,
    },
    /// Ends `target`'s current session from `browser`.
    EndOne {
        browser: usize,
        target: usize,
        instance: usize,
    },
    Advance(i64),
    /// Two requests with one token at once, on two instances: two refreshes, or a refresh
    /// and a sign-out.
    Raced {
        browser: usize,
        pick: Pick,
        with_logout: bool,
    },
    /// The first instance stops and starts again on the same stores.
    Restart,
    /// A draft's life: created (with a NUL character in its text when `nul`: refused),
    /// submitted without `If-Match` (refused), submitted, then changed (refused).
    Drafts {
        browser: usize,
        pick: Pick,
        instance: usize,
        nul: bool,
    },
    /// Requests no session can make acceptable: a body that is JSON but not an object, a
    /// sign-out with a token that does not verify.
    Malformed {
        instance: usize,
        array_body: bool,
    },
}

/// A small deterministic generator (xorshift64*), so a seed replays a history exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// Moves of the clock that land on the rules' edges.
fn advances() -> Vec<i64> {
    let p = POLICY;
    let mut steps = vec![1, 2, 4, 5, 6, 9, 10, 11, 12, 20];
    for edge in [p.heartbeat, p.reauth, p.idle] {
        steps.extend([edge - 1, edge, edge + 1]);
    }
    steps
}

fn generate(seed: u64, length: usize, instances: usize) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    let steps = advances();
    (0..length)
        .map(|_| {
            let browser = rng.below(BROWSERS);
            let instance = rng.below(instances);
            let pick = if rng.below(4) == 0 {
                Pick::Old(rng.below(8))
            } else {
                Pick::Current
            };
            match rng.below(20) {
                0..=2 => Op::SignIn { browser, instance },
                3 => Op::SignInAfresh { browser, instance },
                4..=6 => Op::Refresh {
                    browser,
                    pick,
                    instance,
                },
                7..=8 => Op::Read {
                    browser,
                    pick,
                    instance,
                },
                9..=10 => Op::Change {
                    browser,
                    pick,
                    instance,
                },
                11 => Op::Logout {
                    browser,
                    pick,
                    instance,
                },
                12 => Op::RevokeOthers { browser, instance },
                13 => Op::EndOne {
                    browser,
                    target: rng.below(BROWSERS),
                    instance,
                },
                14 if instances > 1 => Op::Raced {
                    browser,
                    pick,
                    with_logout: rng.below(3) == 0,
                },
                16 => Op::Drafts {
                    browser,
                    pick,
                    instance,
                    nul: rng.below(3) == 0,
                },
                17 if rng.below(2) == 0 => Op::Malformed {
                    instance,
                    array_body: rng.below(2) == 0,
                },
                15 if rng.below(3) == 0 => Op::Restart,
                _ => Op::Advance(rng.pick(&steps)),
            }
        })
        .collect()
}

/// The claims of a token that matter to the model.
fn claims(token: &str) -> Token {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    let claims: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Token {
        sid: claims["sid"].as_str().unwrap_or_default().to_owned(),
        generation: claims["gen"].as_u64().unwrap_or_default(),
        exp: claims["exp"].as_i64().unwrap_or_default(),
    }
}

/// What one browser holds.
#[derive(Debug, Clone, Default)]
struct Browser {
    cookie: Option<String>,
    /// Every token it ever held, oldest first.
    held: Vec<String>,
}

impl Browser {
    fn token(&self, pick: Pick) -> Option<&str> {
        match pick {
            Pick::Current => self.cookie.as_deref(),
            Pick::Old(k) if !self.held.is_empty() => Some(&self.held[k % self.held.len()]),
            Pick::Old(_) => None,
        }
    }

    fn hold(&mut self, token: String) {
        self.held.push(token.clone());
        self.cookie = Some(token);
    }
}

const COOKIE_NAME: &str = "__Host-vigil-session=";

fn cookie_header(token: &str) -> String {
    format!("{COOKIE_NAME}{token}")
}

/// The token a response set, if it set one (a cleared cookie sets none).
fn set_token(response: &TestResponse) -> Option<String> {
    session_cookie_in(&response.headers)
        .map(|c| c.trim_start_matches(COOKIE_NAME).to_owned())
        .filter(|t| !t.is_empty())
}

/// One history run: the servers, the model, the browsers.
struct Run<'a> {
    servers: &'a mut Servers,
    model: Model,
    browsers: Vec<Browser>,
    username: String,
    log: Vec<String>,
    /// Drafts made so far, for fresh ids.
    drafts_made: u64,
}

#[derive(Debug)]
struct Divergence(String);

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> Run<'a> {
    async fn send(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> TestResponse {
        let cookie = token.map(cookie_header);
        let headers: Vec<(&str, &str)> = cookie
            .as_deref()
            .map(|c| (COOKIE.as_str(), c))
            .into_iter()
            .collect();
        let body = body.to_string();
        self.servers
            .send(instance, method, path, Some(&body), &headers)
            .await
    }

    /// Compares an answer with the model's; on success, what the browser now holds.
    fn compare(
        &self,
        expected: &Expected,
        response: &TestResponse,
    ) -> Result<Option<String>, Divergence> {
        let code = response.body["error_code"].as_str().unwrap_or_default();
        let handed = set_token(response);
        match expected {
            Expected::Problem(status, want) => {
                if response.status.as_u16() == *status && code == *want {
                    Ok(None)
                } else {
                    Err(Divergence(format!(
                        "expected {status} {want}, got {} {}",
                        response.status, response.body
                    )))
                }
            }
            Expected::Ok(what) => {
                if response.status != StatusCode::OK {
                    return Err(Divergence(format!(
                        "expected 200 ({what:?}), got {} {}",
                        response.status, response.body
                    )));
                }
                match (what, handed) {
                    (Handed::Nothing, None) => Ok(None),
                    (Handed::Nothing, Some(token)) => Err(Divergence(format!(
                        "expected no new token, got one of generation {}",
                        claims(&token).generation
                    ))),
                    (Handed::NewSession, Some(token)) => {
                        let got = claims(&token);
                        if got.generation == 1 {
                            Ok(Some(token))
                        } else {
                            Err(Divergence(format!("not a new session's token: {got:?}")))
                        }
                    }
                    (Handed::Generation(sid, generation), Some(token)) => {
                        let got = claims(&token);
                        if got.sid == *sid && got.generation == *generation {
                            Ok(Some(token))
                        } else {
                            Err(Divergence(format!(
                                "expected generation {generation}, got {}",
                                got.generation
                            )))
                        }
                    }
                    (what, None) => Err(Divergence(format!("expected {what:?}, got no token"))),
                }
            }
        }
    }

    /// The model's answer to `op` for `browser` holding `token`, given the server's answer
    /// (a sign-in's new session id comes from it).
    fn expect(&mut self, op: &Op, token: Option<&Token>, response: &TestResponse) -> Expected {
        let model = &mut self.model;
        // Every request but a sign-in presents a token: `step` sends none without one.
        let presented = |f: &mut dyn FnMut(&Token) -> Expected| {
            token.map_or(Expected::Problem(0, "a request with a token"), f)
        };
        match op {
            Op::SignIn { .. } | Op::SignInAfresh { .. } => {
                let new_sid = set_token(response).map(|t| claims(&t).sid);
                if new_sid
                    .as_ref()
                    .is_some_and(|sid| model.sessions.contains_key(sid))
                {
                    // Never an id seen before: a new session id on every sign-in.
                    return Expected::Problem(0, "a fresh session id");
                }
                model.sign_in(token, new_sid.as_deref())
            }
            Op::Refresh { .. } | Op::Raced { .. } => presented(&mut |t| model.refresh(t)),
            Op::Read { .. } => presented(&mut |t| model.read(t).0),
            Op::Change { .. } => presented(&mut |t| model.change(t)),
            Op::Logout { .. } => presented(&mut |t| model.logout(t)),
            Op::RevokeOthers { .. } => presented(&mut |t| model.revoke_others(t)),
            Op::EndOne { target, .. } => {
                let target = self.browsers[*target]
                    .cookie
                    .as_deref()
                    .map(|t| claims(t).sid)
                    .unwrap_or_default();
                presented(&mut |t| model.end_one(t, &target))
            }
            Op::Advance(_) | Op::Restart | Op::Drafts { .. } | Op::Malformed { .. } => {
                Expected::Ok(Handed::Nothing)
            }
        }
    }

    async fn request(&self, op: &Op, token: Option<&str>) -> TestResponse {
        match *op {
            Op::SignIn { instance, .. } | Op::SignInAfresh { instance, .. } => {
                let body = json!({"username": self.username, "password": PASSWORD});
                self.send(instance, Method::POST, "/api/auth/login", body, token)
                    .await
            }
            Op::Refresh { instance, .. } => {
                self.send(
                    instance,
                    Method::POST,
                    "/api/auth/refresh",
                    json!({}),
                    token,
                )
                .await
            }
            Op::Read { instance, .. } => {
                let path = "/api/auth/session-info";
                self.send(instance, Method::POST, path, json!({}), token)
                    .await
            }
            Op::Change { instance, .. } => {
                let body = json!({"theme": "dark", "text_size": "large"});
                self.send(instance, Method::PUT, "/api/settings", body, token)
                    .await
            }
            Op::Logout { instance, .. } => {
                self.send(instance, Method::POST, "/api/auth/logout", json!({}), token)
                    .await
            }
            Op::RevokeOthers { instance, .. } => {
                let path = "/api/sessions/revoke-others";
                self.send(instance, Method::POST, path, json!({}), token)
                    .await
            }
            Op::EndOne {
                target, instance, ..
            } => {
                let target = self.browsers[target]
                    .cookie
                    .as_deref()
                    .map(|t| public_id(&claims(t).sid))
                    .unwrap_or_else(|| "000000000000000000000000".into());
                let path = format!("/api/sessions/{target}");
                self.send(instance, Method::DELETE, &path, json!({}), token)
                    .await
            }
            Op::Advance(_)
            | Op::Restart
            | Op::Raced { .. }
            | Op::Drafts { .. }
            | Op::Malformed { .. } => {
                unreachable!("not a single request")
            }
        }
    }

    fn token_for(&self, op: &Op) -> Option<String> {
        let (browser, pick) = match *op {
            Op::SignIn { browser, .. }
            | Op::RevokeOthers { browser, .. }
            | Op::EndOne { browser, .. } => (browser, Pick::Current),
            Op::SignInAfresh { .. } | Op::Advance(_) | Op::Restart | Op::Malformed { .. } => {
                return None
            }
            Op::Refresh { browser, pick, .. }
            | Op::Drafts { browser, pick, .. }
            | Op::Read { browser, pick, .. }
            | Op::Change { browser, pick, .. }
            | Op::Logout { browser, pick, .. }
            | Op::Raced { browser, pick, .. } => (browser, pick),
        };
        self.browsers[browser].token(pick).map(str::to_owned)
    }

    fn browser_of(op: &Op) -> Option<usize> {
        match *op {
            Op::SignIn { browser, .. }
            | Op::SignInAfresh { browser, .. }
            | Op::Refresh { browser, .. }
            | Op::Read { browser, .. }
            | Op::Change { browser, .. }
            | Op::Logout { browser, .. }
            | Op::RevokeOthers { browser, .. }
            | Op::EndOne { browser, .. }
            | Op::Raced { browser, .. }
            | Op::Drafts { browser, .. } => Some(browser),
            Op::Advance(_) | Op::Restart | Op::Malformed { .. } => None,
        }
    }

    /// Applies one operation to the servers and to the model; the first divergence ends the
    /// history.
    async fn step(&mut self, op: &Op) -> Result<(), Divergence> {
        match op {
            Op::Advance(seconds) => {
                self.servers.advance(*seconds).await;
                self.model.advance(*seconds);
                return Ok(());
            }
            Op::Restart => {
                self.servers.restart().await;
                return Ok(());
            }
            Op::Raced { .. } => return self.race(op).await,
            Op::Drafts { .. } => return self.drafts(op).await,
            Op::Malformed {
                instance,
                array_body,
            } => {
                let response = if *array_body {
                    let path = "/api/auth/refresh";
                    self.servers
                        .send(*instance, Method::POST, path, Some("[]"), &[])
                        .await
                } else {
                    let garbage = Some("not-a-token");
                    self.send(
                        *instance,
                        Method::POST,
                        "/api/auth/logout",
                        json!({}),
                        garbage,
                    )
                    .await
                };
                let expected = match array_body {
                    true => Expected::Problem(422, "validation_failed"),
                    false => Expected::Problem(401, "session_invalid"),
                };
                return self.compare(&expected, &response).map(drop);
            }
            _ => {}
        }
        let token = self.token_for(op);
        let presented = token.as_deref().map(claims);
        let response = match (op, &token) {
            // Nothing to present: nothing is sent (a request without credentials is covered
            // by the error tests).
            (Op::SignIn { .. } | Op::SignInAfresh { .. }, _) | (_, Some(_)) => {
                self.request(op, token.as_deref()).await
            }
            (_, None) => return Ok(()),
        };
        let expected = self.expect(op, presented.as_ref(), &response);
        let (expected, idle) = match (op, presented.as_ref()) {
            // The model's read already ran in `expect`; the idle deadline is read off the
            // model's session after it.
            (Op::Read { .. }, Some(token)) if matches!(expected, Expected::Ok(_)) => {
                let idle = self.model.sessions.get(&token.sid).map(|s| s.idle_deadline);
                (expected, idle)
            }
            _ => (expected, None),
        };
        let held = self.compare(&expected, &response)?;
        if let Some(idle) = idle {
            let stated = response.time("idle_expires_at").unix_timestamp();
            if stated != idle {
                return Err(Divergence(format!(
                    "the idle deadline is {stated}, the model says {idle}"
                )));
            }
        }
        let browser = Self::browser_of(op).unwrap_or_default();
        if let Some(token) = held {
            self.browsers[browser].hold(token);
        }
        if matches!(op, Op::Logout { .. }) && response.status == StatusCode::OK {
            self.browsers[browser].cookie = None;
        }
        Ok(())
    }

    /// A draft's life; every answer as the model says, the session's verdict first.
    async fn drafts(&mut self, op: &Op) -> Result<(), Divergence> {
        let Op::Drafts { instance, nul, .. } = *op else {
            return Ok(());
        };
        let Some(token) = self.token_for(op) else {
            return Ok(());
        };
        let presented = claims(&token);
        self.drafts_made += 1;
        let id = format!("0f8e6a2c-4b1d-4e8f-9a3b-{:012x}", self.drafts_made);
        let path = format!("/api/drafts/{id}");
        let text = if nul { "a\u{0}b" } else { "ab" };
        let cookie = cookie_header(&token);
        let servers = &*self.servers;
        let send = |method: Method,
                    path: String,
                    body: Option<Value>,
                    extra: Vec<(&'static str, &'static str)>| {
            let mut headers = vec![(COOKIE.as_str(), cookie.as_str())];
            headers.extend(extra);
            async move {
                let body = body.map(|b| b.to_string());
                servers
                    .send(instance, method, &path, body.as_deref(), &headers)
                    .await
            }
        };
        let created = send(
            Method::PUT,
            path.clone(),
            Some(json!({"title": "t", "body": text})),
            vec![("if-none-match", "*")],
        )
        .await;
        let expected = if nul {
            self.model.refused(&presented, 422, "validation_failed")
        } else {
            self.model.change(&presented)
        };
        match expected {
            Expected::Ok(_) if created.status == StatusCode::CREATED => {}
            Expected::Ok(_) => {
                return Err(Divergence(format!(
                    "expected 201, got {} {}",
                    created.status, created.body
                )))
            }
            refused => return self.compare(&refused, &created).map(drop),
        }
        let submit = format!("{path}/submit");
        let bare = send(Method::POST, submit.clone(), None, vec![]).await;
        let expected = self.model.refused(&presented, 428, "validation_failed");
        self.compare(&expected, &bare)?;
        let submitted = send(Method::POST, submit, None, vec![("if-match", "\"1\"")]).await;
        let expected = self.model.change(&presented);
        self.compare(&expected, &submitted)?;
        let changed = send(
            Method::PUT,
            path,
            Some(json!({"title": "t", "body": "changed"})),
            vec![("if-match", "\"2\"")],
        )
        .await;
        let expected = self.model.refused(&presented, 409, "draft_submitted");
        self.compare(&expected, &changed).map(drop)
    }

    /// Two refreshes with one token on two instances at once: the answers must be those of
    /// one order or the other, and the model goes on from that order.
    async fn race(&mut self, op: &Op) -> Result<(), Divergence> {
        let Op::Raced {
            browser,
            with_logout,
            ..
        } = *op
        else {
            return Ok(());
        };
        let Some(token) = self.token_for(op) else {
            return Ok(());
        };
        let presented = claims(&token);
        let other_path = match with_logout {
            true => "/api/auth/logout",
            false => "/api/auth/refresh",
        };
        let (refreshed, other) = {
            let refresh = "/api/auth/refresh";
            let first = self.send(0, Method::POST, refresh, json!({}), Some(&token));
            let second = self.send(1, Method::POST, other_path, json!({}), Some(&token));
            tokio::join!(first, second)
        };
        let second_op = |model: &mut Model| match with_logout {
            true => model.logout(&presented),
            false => model.refresh(&presented),
        };
        let mut failures = Vec::new();
        for refresh_first in [true, false] {
            let before = self.model.clone();
            let (refresh, second) = if refresh_first {
                let refresh = self.model.refresh(&presented);
                (refresh, second_op(&mut self.model))
            } else {
                let second = second_op(&mut self.model);
                (self.model.refresh(&presented), second)
            };
            match (
                self.compare(&refresh, &refreshed),
                self.compare(&second, &other),
            ) {
                (Ok(x), Ok(y)) => {
                    for token in [x, y].into_iter().flatten() {
                        self.browsers[browser].hold(token);
                    }
                    if with_logout && other.status == StatusCode::OK {
                        self.browsers[browser].cookie = None;
                    }
                    return Ok(());
                }
                (x, y) => failures.push(format!("{:?} / {:?}", x.err(), y.err())),
            }
            self.model = before;
        }
        Err(Divergence(format!(
            "raced requests match neither order: {}",
            failures.join("; ")
        )))
    }
}

/// The public id of a session id (the server's `SessionId::public_id`).
fn public_id(sid: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(sid.as_bytes());
    hex::encode(&digest[..12])
}

/// Runs `ops` as a fresh user on `servers`; the index of the failing operation and why.
async fn run(
    servers: &mut Servers,
    user: &str,
    ops: &[Op],
) -> Result<(), (usize, Divergence, Vec<String>)> {
    servers.add_user(user, PASSWORD).await;
    let now = servers.now();
    let mut run = Run {
        servers,
        model: Model::new(POLICY, now),
        browsers: vec![Browser::default(); BROWSERS],
        username: user.to_owned(),
        log: Vec::new(),
        drafts_made: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        run.log.push(format!("{i}: {op:?}"));
        if let Err(divergence) = run.step(op).await {
            return Err((i, divergence, run.log));
        }
    }
    Ok(())
}

/// The servers a history runs on: routers in this process (each with its own memory), or
/// real server processes on one SQLite file.
enum Servers {
    Routers(Vec<TestApp>),
    Processes {
        processes: Vec<ServerProcess>,
        env: Vec<(String, String)>,
        /// Where every process's clock stands (they are stopped and moved together).
        now: i64,
        _dir: tempfile::TempDir,
    },
}

impl Servers {
    /// `n` routers sharing one set of stores, on a clock at a whole second (the model counts
    /// seconds).
    async fn routers(n: usize) -> Self {
        let start = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .expect("a whole second");
        Self::Routers(
            TestApp::builder()
                .settings(SETTINGS)
                .clock(ManualClock::new(start))
                .instances(n)
                .await,
        )
    }

    /// `n` processes of the server binary on one SQLite file, their clocks stopped at one
    /// whole second.
    async fn processes(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = processes::environment(dir.path(), SETTINGS);
        let mut started = Vec::with_capacity(n);
        // One after another: the first creates the database and the development secret.
        for k in 0..n {
            let log = dir.path().join(format!("server-{k}.log"));
            started.push(ServerProcess::start(&env, log).await);
        }
        let mut servers = Self::Processes {
            processes: started,
            env,
            now: OffsetDateTime::now_utc().unix_timestamp(),
            _dir: dir,
        };
        servers.freeze().await;
        servers
    }

    async fn freeze(&mut self) {
        if let Self::Processes { processes, now, .. } = self {
            let body = json!({ "at": *now }).to_string();
            for process in processes.iter() {
                let frozen = process
                    .send(Method::POST, "/__test__/clock/freeze", Some(&body), &[])
                    .await
                    .expect("the test clock answers");
                assert_eq!(frozen.status, StatusCode::OK, "{}", frozen.body);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Routers(apps) => apps.len(),
            Self::Processes { processes, .. } => processes.len(),
        }
    }

    fn now(&self) -> i64 {
        match self {
            Self::Routers(apps) => vigil::Clock::now(&apps[0].clock).unix_timestamp(),
            Self::Processes { now, .. } => *now,
        }
    }

    async fn send(
        &self,
        instance: usize,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let instance = instance % self.len();
        match self {
            Self::Routers(apps) => apps[instance].send_raw(method, path, body, headers).await,
            // Real processes are reached over TCP (see `processes.rs`).
            Self::Processes { processes, .. } => processes[instance]
                .send(method, path, body, headers)
                .await
                .expect("the server process answers"),
        }
    }

    async fn advance(&mut self, seconds: i64) {
        match self {
            Self::Routers(apps) => apps[0].advance(Duration::seconds(seconds)),
            Self::Processes { processes, now, .. } => {
                *now += seconds;
                let body = json!({ "seconds": seconds }).to_string();
                for process in processes.iter() {
                    let moved = process
                        .send(Method::POST, "/__test__/clock/advance", Some(&body), &[])
                        .await
                        .expect("the test clock answers");
                    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
                }
            }
        }
    }

    /// The first instance stops and starts again on the same stores.
    async fn restart(&mut self) {
        match self {
            Self::Routers(apps) => {
                let first = apps.remove(0);
                apps.insert(0, first.restart(SETTINGS).await);
            }
            Self::Processes { processes, .. } => {
                processes[0].restart().await;
                self.freeze().await;
            }
        }
    }

    async fn add_user(&self, user: &str, password: &str) {
        match self {
            Self::Routers(apps) => {
                let username = Username::parse(user).expect("a valid username");
                apps[0]
                    .state
                    .users
                    .add(&username, "History", password, Default::default())
                    .await
                    .expect("the history's user is created");
            }
            Self::Processes { env, .. } => {
                let args = ["user", "add", user, "--password-stdin"];
                processes::command(env, &args, password);
            }
        }
    }
}

/// Cuts a failing history down to the operations that still fail (each run as a new user
/// on the same servers), so the report is short enough to read.
async fn minimise(servers: &mut Servers, mut ops: Vec<Op>, tag: &str) -> Vec<Op> {
    let mut attempt = 0;
    let mut i = 0;
    while i < ops.len() && attempt < 200 {
        let mut fewer = ops.clone();
        fewer.remove(i);
        attempt += 1;
        if run(servers, &format!("{tag}m{attempt}"), &fewer)
            .await
            .is_err()
        {
            ops = fewer;
        } else {
            i += 1;
        }
    }
    ops
}

fn histories() -> usize {
    std::env::var("MODEL_HISTORIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Runs the regression cases and `histories()` random histories (`MODEL_SEED` for one) on
/// `servers`; `label` names the topology in reports.
async fn check(mut servers: Servers, label: &str) {
    let n = servers.len();
    let apps = &mut servers;
    for (k, case) in regressions().into_iter().enumerate() {
        if let Err((i, why, log)) = run(apps, &format!("r{n}x{k}"), &case).await {
            panic!(
                "regression case {k} ({label}) fails at {i}: {why}\n{}",
                log.join("\n")
            );
        }
    }
    let seeds: Vec<u64> = match std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => {
            let base = OffsetDateTime::now_utc().unix_timestamp() as u64;
            (0..histories() as u64)
                .map(|k| base.wrapping_add(k * 7919))
                .collect()
        }
    };
    for seed in seeds {
        let ops = generate(seed, 30, n);
        let user = format!("h{n}s{}", seed % 1_000_000_000);
        if let Err((i, why, _)) = run(apps, &user, &ops).await {
            let minimal = minimise(apps, ops[..=i].to_vec(), &format!("h{n}x")).await;
            let replay = run(apps, &format!("h{n}final"), &minimal).await;
            let detail = match replay {
                Err((_, why, log)) => format!("{why}\n{}", log.join("\n")),
                Ok(()) => format!("(the cut-down history passed)\n{:?}", &ops[..=i]),
            };
            panic!(
                "history of seed {seed} ({label}) diverges from the model at {i}: {why}\n\
                 cut down (MODEL_SEED={seed} replays it):\n{detail}"
            );
        }
    }
}

/// Histories the checker found, cut down; each failed before its fix.
fn regressions() -> Vec<Vec<Op>> {
    use Op::*;
    vec![
        // A refresh inside the coalescing window handed out a second token of generation 1;
        // after the grace window the first one still worked.
        vec![
            SignIn {
                browser: 0,
                instance: 0,
            },
            Refresh {
                browser: 0,
                pick: Pick::Current,
                instance: 0,
            },
            Advance(12),
            Refresh {
                browser: 0,
                pick: Pick::Old(0),
                instance: 0,
            },
        ],
        // Activity written through one instance did not reach another's copy: it stated (and
        // would have enforced) the idle deadline from before.
        vec![
            SignIn {
                browser: 2,
                instance: 1,
            },
            RevokeOthers {
                browser: 2,
                instance: 0,
            },
            Advance(30),
            Change {
                browser: 2,
                pick: Pick::Current,
                instance: 1,
            },
            Read {
                browser: 2,
                pick: Pick::Current,
                instance: 0,
            },
        ],
        vec![
            SignIn {
                browser: 0,
                instance: 1,
            },
            Advance(30),
            EndOne {
                browser: 0,
                target: 2,
                instance: 0,
            },
            Refresh {
                browser: 0,
                pick: Pick::Current,
                instance: 2,
            },
            Read {
                browser: 0,
                pick: Pick::Current,
                instance: 0,
            },
        ],
        // Signing in again in place at a full limit was refused: the replaced session
        // still counted.
        vec![
            SignIn {
                browser: 2,
                instance: 0,
            },
            SignInAfresh {
                browser: 1,
                instance: 0,
            },
            SignInAfresh {
                browser: 2,
                instance: 0,
            },
            SignIn {
                browser: 1,
                instance: 0,
            },
        ],
        // Another session ended one by one without step-up.
        vec![
            SignIn {
                browser: 1,
                instance: 0,
            },
            SignInAfresh {
                browser: 2,
                instance: 0,
            },
            Advance(63),
            EndOne {
                browser: 2,
                target: 1,
                instance: 0,
            },
        ],
    ]
}

#[tokio::test]
async fn histories_on_one_instance_follow_the_model() {
    check(Servers::routers(1).await, "one instance").await;
}

#[tokio::test]
async fn histories_on_two_instances_sharing_a_store_follow_the_model() {
    check(Servers::routers(2).await, "two instances, one store").await;
}

#[tokio::test]
async fn histories_on_three_instances_sharing_a_store_follow_the_model() {
    check(Servers::routers(3).await, "three instances, one store").await;
}

/// Two real processes of the server binary on one SQLite file: what one writes, the other's
/// copies in memory must never outlive. (SQLite only: the shared stores are covered by the
/// instances above in `make test-shared`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_on_two_processes_on_one_sqlite_file_follow_the_model() {
    check(
        Servers::processes(2).await,
        "two processes, one SQLite file",
    )
    .await;
}

#[test]
fn the_generator_replays_a_seed_exactly() {
    assert_eq!(generate(7, 30, 2), generate(7, 30, 2));
    assert_ne!(generate(7, 30, 2), generate(8, 30, 2));
}
