//! The sessions people can see and end, step-up, password change, the per-user limit,
//! remember-me, roles, and what operators see (SPEC §8). On every store.

use std::net::{IpAddr, Ipv4Addr};

use http::header::{SET_COOKIE, USER_AGENT};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;
use vigil::{Clock, Role};
use vigil_server::cli::{run_session_command, SessionCommand};
use vigil_server::identity::users::Username;

use crate::helpers::{
    post_from, spawn_app, spawn_app_with, spawn_production_app, test_settings, user_add_command,
    Browser, RequestHelper, TestApp, TestResponse, PASSWORD, USERNAME,
};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
                      AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 \
                      Safari/604.1";

/// Signs in as a browser with this user agent from this address.
async fn sign_in_from<'a>(app: &'a TestApp, agent: &str, ip: [u8; 4], body: Value) -> Browser<'a> {
    let mut request = post_from(IpAddr::V4(Ipv4Addr::from(ip)), "/api/auth/login", body, &[]);
    request
        .headers_mut()
        .insert(USER_AGENT, agent.parse().expect("header"));
    let response = app.request(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    app.browser_with(response.session_cookie().expect("cookie"))
}

fn credentials() -> Value {
    json!({"username": USERNAME, "password": PASSWORD})
}

async fn sessions(user: &Browser<'_>) -> TestResponse {
    user.get("/api/sessions").await
}

/// The public id of this browser's session, from its own answer.
async fn public_id(user: &Browser<'_>) -> String {
    let info = user.session_info().await;
    info.body["session_id"]
        .as_str()
        .expect("session id")
        .to_owned()
}

#[tokio::test]
async fn the_sessions_page_lists_every_device_with_this_one_marked() {
    let app = spawn_app().await;
    let laptop = sign_in_from(&app, FIREFOX, [203, 0, 113, 77], credentials()).await;
    app.advance(Duration::minutes(1));
    let phone = sign_in_from(&app, IPHONE, [198, 51, 100, 9], credentials()).await;
    app.advance(Duration::minutes(2));

    let listed = sessions(&laptop).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let rows = listed.body["sessions"].as_array().expect("sessions");
    assert_eq!(rows.len(), 2, "{}", listed.body);
    // Most recently active first: the phone signed in last.
    assert_eq!(rows[0]["device"], "Safari 17 on iPhone");
    assert_eq!(rows[0]["address"], "198.51.100.x");
    assert_eq!(rows[0]["current"], false);
    assert_eq!(rows[1]["device"], "Firefox 133 on Linux");
    assert_eq!(rows[1]["address"], "203.0.113.x");
    assert_eq!(rows[1]["current"], true);
    assert_eq!(rows[1]["id"], public_id(&laptop).await.as_str());
    for row in rows {
        let text = row.to_string();
        // The whole addresses (fragments such as ".77" can occur in a timestamp's fraction).
        assert!(
            !text.contains("203.0.113.77") && !text.contains("198.51.100.9"),
            "{text}"
        );
        assert!(row["created_at"].is_string() && row["last_active_at"].is_string());
    }
    // Listing is passive: it never moves the idle deadline.
    let before = phone.session_info().await;
    app.advance(Duration::minutes(3));
    sessions(&phone).await;
    let after = phone.session_info().await;
    assert_eq!(
        before.time("idle_expires_at"),
        after.time("idle_expires_at")
    );
    // Without a session: 401, as every protected endpoint.
    app.send(Method::GET, "/api/sessions", None, &[])
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn ending_a_session_from_another_device_refuses_it_at_once() {
    let app = spawn_app().await;
    let laptop = sign_in_from(&app, FIREFOX, [203, 0, 113, 1], credentials()).await;
    let phone = sign_in_from(&app, IPHONE, [203, 0, 113, 2], credentials()).await;
    let phone_id = public_id(&phone).await;

    let ended = laptop.end_session(&phone_id).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["ended"], 1);
    phone.assert_session_refused("session_revoked").await;
    phone.refresh().await.assert_problem(401, "session_revoked");
    // Gone from the list; ending it again, or a made-up id, is 404.
    let rows = sessions(&laptop).await.body["sessions"].clone();
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    laptop
        .end_session(&phone_id)
        .await
        .assert_problem(404, "not_found");
    laptop
        .end_session("000000000000000000000000")
        .await
        .assert_problem(404, "not_found");
    // The laptop is untouched.
    let info = laptop.session_info().await;
    assert_eq!(info.status, StatusCode::OK);
}

#[tokio::test]
async fn another_users_session_is_not_found_and_stays_alive() {
    let app = spawn_app().await;
    let hers = app.sign_in_grace().await;
    let ada = app.browser().await;
    let her_id = public_id(&hers).await;
    ada.end_session(&her_id)
        .await
        .assert_problem(404, "not_found");
    let listed = sessions(&ada).await;
    assert!(!listed.body.to_string().contains(&her_id));
    let info = hers.session_info().await;
    assert_eq!(info.status, StatusCode::OK);
}

#[tokio::test]
async fn ending_this_session_signs_it_out_and_clears_the_cookie() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    let id = public_id(&cookie).await;
    let ended = cookie.end_session(&id).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let cleared = ended
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("__Host-vigil-session=;") && v.contains("Max-Age=0"));
    assert!(cleared, "{:?}", ended.headers);
    cookie.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn signing_out_everywhere_else_needs_a_recent_sign_in() {
    let app = spawn_app().await;
    let laptop = sign_in_from(&app, FIREFOX, [203, 0, 113, 1], credentials()).await;
    let phone = sign_in_from(&app, IPHONE, [203, 0, 113, 2], credentials()).await;
    let tablet = app.browser().await;
    app.advance(Duration::minutes(6));

    let refused = laptop.revoke_others().await;
    refused.assert_problem(403, "reauthentication_required");
    // Refused means nothing changed, and the laptop's own session is not harmed.
    for cookie in [&laptop, &phone, &tablet] {
        let info = cookie.session_info().await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    }

    // Signing in again from the laptop replaces its session with a fresh one.
    let again = laptop.post("/api/auth/login", credentials()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let fresh = app.browser_with(again.session_cookie().expect("cookie"));
    laptop.assert_session_refused("session_revoked").await;
    let done = fresh.revoke_others().await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["ended"], 2);
    for cookie in [&phone, &tablet] {
        cookie.assert_session_refused("session_revoked").await;
    }
    let listed = sessions(&fresh).await;
    assert_eq!(listed.body["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed.body["sessions"][0]["current"], true);
}

#[tokio::test]
async fn the_step_up_window_is_configurable() {
    let app = spawn_app_with(&[("VIGIL_REAUTH_WITHIN", "30s")]).await;
    let cookie = app.browser().await;
    app.advance(Duration::seconds(29));
    assert_eq!(cookie.revoke_others().await.status, StatusCode::OK);
    app.advance(Duration::seconds(2));
    cookie
        .revoke_others()
        .await
        .assert_problem(403, "reauthentication_required");
    cookie
        .change_password(PASSWORD, "a completely new one")
        .await
        .assert_problem(403, "reauthentication_required");
}

#[tokio::test]
async fn changing_the_password_checks_it_and_ends_every_other_session() {
    let app = spawn_app().await;
    let other = app.browser().await;
    let api = app.api_client().await;
    let cookie = app.browser().await;

    let problem = cookie
        .change_password(PASSWORD, "short")
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("new_password"));
    let problem = cookie
        .change_password(PASSWORD, USERNAME)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("new_password"));
    let problem = cookie
        .change_password(PASSWORD, PASSWORD)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("new_password"));
    let problem = cookie
        .change_password("not my password", "a completely new one")
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("current_password"));
    cookie
        .post(
            "/api/account/password",
            json!({"new_password": "a completely new one"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    // Nothing so far changed anything.
    assert_eq!(other.session_info().await.status, StatusCode::OK);

    let changed = cookie
        .change_password(PASSWORD, "a completely new one")
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["sessions_ended"], 2);
    other.assert_session_refused("session_revoked").await;
    api.assert_session_refused("session_revoked").await;
    let mine = cookie.session_info().await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    app.login().await.assert_problem(401, "invalid_credentials");
    let new = app.login_as(USERNAME, "a completely new one").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
}

#[tokio::test]
async fn guessing_the_current_password_meets_the_sign_in_limits() {
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_ACCOUNT", "3")]).await;
    let cookie = app.browser().await;
    for _ in 0..3 {
        cookie
            .change_password("a wrong guess", "a completely new one")
            .await
            .assert_problem(422, "validation_failed");
    }
    let problem = cookie
        .change_password(PASSWORD, "a completely new one")
        .await
        .assert_problem(429, "rate_limited");
    assert!(problem.retry_after.is_some());
}

#[tokio::test]
async fn remember_me_lengthens_the_lifetime_and_persists_the_cookie() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let plain = app.login().await;
    let cookie = plain.header(SET_COOKIE).expect("cookie");
    assert!(
        !cookie.contains("Max-Age"),
        "a browser-session cookie: {cookie}"
    );
    assert_eq!(plain.time("absolute_expires_at"), now + Duration::hours(8));

    let remembered = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": PASSWORD, "remember": true}),
            &[],
        )
        .await;
    assert_eq!(remembered.status, StatusCode::OK, "{}", remembered.body);
    let cookie = remembered.header(SET_COOKIE).expect("cookie");
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("a persistent cookie");
    assert!(max_age >= Duration::days(30).whole_seconds(), "{cookie}");
    assert_eq!(
        remembered.time("absolute_expires_at"),
        now + Duration::days(30)
    );
    assert_eq!(
        remembered.body["policy"]["absolute_timeout_secs"],
        30 * 86_400
    );
    // The idle timeout applies all the same.
    assert_eq!(
        remembered.time("idle_expires_at"),
        now + Duration::minutes(30)
    );
    let session = app.browser_with(remembered.session_cookie().expect("cookie"));
    app.advance(Duration::minutes(31));
    session.assert_session_refused("session_expired").await;
    // The sign-in page states the remembered lifetime.
    let policy = app.post("/api/auth/policy", json!({}), &[]).await;
    assert_eq!(policy.body["remember_absolute_secs"], 30 * 86_400);
}

#[tokio::test]
async fn a_remembered_session_outlives_the_ordinary_lifetime_while_active() {
    let app = spawn_app_with(&[("VIGIL_REMEMBER_ABSOLUTE", "2d")]).await;
    let cookie = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": PASSWORD, "remember": true}),
            &[],
        )
        .await
        .session_cookie()
        .expect("cookie");
    let mut cookie = app.browser_with(cookie);
    // Active for nine hours: past the ordinary eight-hour lifetime.
    for _ in 0..(9 * 4) {
        app.advance(Duration::minutes(15));
        let refreshed = cookie.refresh().await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        cookie.cookie = refreshed.session_cookie().unwrap_or(cookie.cookie);
    }
}

#[tokio::test]
async fn administrators_get_the_shorter_idle_timeout() {
    let app = spawn_app_with(&[("VIGIL_ADMIN_IDLE_TIMEOUT", "10m")]).await;
    let root = Username::parse("root").expect("valid");
    app.state
        .users
        .add(&root, "Operator", "an admin password", Role::Admin)
        .await
        .expect("admin");
    let now = app.clock.now();
    let admin = app.login_as("root", "an admin password").await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
    assert_eq!(admin.body["user"]["role"], "admin");
    assert_eq!(admin.body["policy"]["idle_timeout_secs"], 600);
    assert_eq!(admin.time("idle_expires_at"), now + Duration::minutes(10));
    let user = app.login().await;
    assert_eq!(user.body["user"]["role"], "user");
    assert_eq!(user.body["policy"]["idle_timeout_secs"], 1800);
    // The public policy is the ordinary one.
    let policy = app.post("/api/auth/policy", json!({}), &[]).await;
    assert_eq!(policy.body["idle_timeout_secs"], 1800);

    let admin = app.browser_with(admin.session_cookie().expect("cookie"));
    let user = app.browser_with(user.session_cookie().expect("cookie"));
    app.advance(Duration::minutes(10));
    let problem = admin.assert_session_refused("session_expired").await;
    assert_eq!(problem.reason, Some(vigil::ExpiryReason::Idle));
    assert_eq!(user.session_info().await.status, StatusCode::OK);
}

#[tokio::test]
async fn beyond_the_limit_the_least_recently_active_session_ends() {
    let app = spawn_app_with(&[("VIGIL_MAX_SESSIONS_PER_USER", "2")]).await;
    let first = app.browser().await;
    app.advance(Duration::minutes(1));
    let second = app.browser().await;
    app.advance(Duration::minutes(1));
    // The first is used (made active) after the second: the second is now the oldest.
    let refreshed = first.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let first = app.browser_with(refreshed.session_cookie().unwrap_or(first.cookie));
    app.advance(Duration::minutes(1));
    let third = app.browser().await;

    second.assert_session_refused("session_revoked").await;
    for cookie in [&first, &third] {
        let info = cookie.session_info().await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    }
    let listed = sessions(&third).await;
    assert_eq!(listed.body["sessions"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn with_the_refuse_policy_a_sign_in_beyond_the_limit_is_refused() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "2"),
        ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
    ])
    .await;
    let first = app.browser().await;
    let _second = app.browser().await;
    let refused = app.login().await;
    let problem = refused.assert_problem(409, "session_limit_reached");
    assert!(problem.detail.contains("Sign out"), "{}", problem.detail);
    assert!(refused.session_cookie().is_none());
    // Bearer sign-ins count the same.
    app.post("/api/auth/token", credentials(), &[])
        .await
        .assert_problem(409, "session_limit_reached");
    // Signing out one device makes room; so does a session timing out.
    first.logout().await;
    let third = app.login().await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    app.advance(Duration::minutes(31));
    assert_eq!(app.login().await.status, StatusCode::OK);
}

async fn concurrent_sign_ins(app: &TestApp, n: usize) -> Vec<TestResponse> {
    let attempts = (0..n).map(|_| app.login());
    futures_util::future::join_all(attempts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_never_exceed_the_limit() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "3"),
        ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
    ])
    .await;
    let answers = concurrent_sign_ins(&app, 6).await;
    let admitted: Vec<_> = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!((admitted.len(), refused), (3, 3), "{answers:?}");
    let cookie = app.browser_with(admitted[0].session_cookie().expect("cookie"));
    let listed = sessions(&cookie).await;
    assert_eq!(listed.body["sessions"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_evicting_the_oldest_leave_exactly_the_limit() {
    let app = spawn_app_with(&[("VIGIL_MAX_SESSIONS_PER_USER", "3")]).await;
    let answers = concurrent_sign_ins(&app, 6).await;
    assert!(
        answers.iter().all(|r| r.status == StatusCode::OK),
        "{answers:?}"
    );
    let live = {
        let mut live = 0;
        for answer in &answers {
            let cookie = app.browser_with(answer.session_cookie().expect("cookie"));
            if cookie.session_info().await.status == StatusCode::OK {
                live += 1;
            }
        }
        live
    };
    assert_eq!(live, 3);
}

#[tokio::test]
async fn operators_list_and_end_sessions_from_the_command_line() {
    let app = spawn_app().await;
    let laptop = sign_in_from(&app, FIREFOX, [203, 0, 113, 5], credentials()).await;
    let phone = sign_in_from(&app, IPHONE, [203, 0, 113, 6], credentials()).await;
    let settings = test_settings(app._dir.path(), &[]);
    let listing = run_session_command(
        &settings,
        SessionCommand::List {
            user: USERNAME.into(),
        },
    )
    .await
    .expect("list");
    assert!(listing.starts_with("2 live session(s)"), "{listing}");
    assert!(listing.contains("Firefox 133 on Linux") && listing.contains("203.0.113.x"));
    let phone_id = public_id(&phone).await;
    assert!(listing.contains(&phone_id), "{listing}");

    let ended = run_session_command(
        &settings,
        SessionCommand::Revoke {
            user: USERNAME.into(),
            all: false,
            id: Some(phone_id.clone()),
        },
    )
    .await
    .expect("revoke one");
    assert!(ended.contains("ended 1 session(s)"), "{ended}");
    phone.assert_session_refused("session_revoked").await;
    assert!(run_session_command(
        &settings,
        SessionCommand::Revoke {
            user: USERNAME.into(),
            all: false,
            id: Some(phone_id),
        },
    )
    .await
    .is_err());
    assert!(run_session_command(
        &settings,
        SessionCommand::List {
            user: "nobody".into()
        }
    )
    .await
    .is_err());

    let ended = run_session_command(
        &settings,
        SessionCommand::Revoke {
            user: USERNAME.into(),
            all: true,
            id: None,
        },
    )
    .await
    .expect("revoke all");
    assert!(ended.contains("ended 1 session(s)"), "{ended}");
    laptop.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn the_command_line_makes_administrators() {
    let app = spawn_app_with(&[("VIGIL_ADMIN_IDLE_TIMEOUT", "10m")]).await;
    let settings = test_settings(app._dir.path(), &[("VIGIL_ADMIN_IDLE_TIMEOUT", "10m")]);
    let created = user_add_command(
        &settings,
        "root",
        false,
        Some(Role::Admin),
        "an admin password\n",
    )
    .await
    .expect("created");
    assert!(created.starts_with("created admin `root`"), "{created}");
    // Promoting an existing account takes effect at its next sign-in (its sessions end).
    let before = app.browser().await;
    let promoted = user_add_command(
        &settings,
        USERNAME,
        true,
        Some(Role::Admin),
        "a brand new password\n",
    )
    .await
    .expect("promoted");
    assert!(promoted.contains("ended its 1 session(s)"), "{promoted}");
    before.assert_session_refused("session_revoked").await;
    let signed_in = app.login_as(USERNAME, "a brand new password").await;
    assert_eq!(signed_in.body["user"]["role"], "admin");
    assert_eq!(signed_in.body["policy"]["idle_timeout_secs"], 600);
}

#[tokio::test]
async fn metrics_count_what_happens_to_sessions() {
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_ACCOUNT", "1")]).await;
    let first = app.browser().await;
    let second = app.browser().await;
    first.logout().await;
    app.advance(Duration::minutes(2));
    second.refresh().await;
    app.login_as(USERNAME, "wrong").await;
    app.login_as(USERNAME, "wrong")
        .await
        .assert_problem(429, "rate_limited");

    let scraped = app.send(Method::GET, "/metrics", None, &[]).await;
    assert_eq!(scraped.status, StatusCode::OK);
    let text = scraped.body.as_str().expect("text").to_owned();
    for line in [
        "vigil_sessions_started_total 2",
        "vigil_sessions_ended_total{reason=\"logout\"} 1",
        "vigil_token_refreshes_total 1",
        "vigil_sign_ins_throttled_total 1",
        "vigil_active_sessions 1",
        "vigil_store_latency_seconds_count{operation=\"create\"} 2",
        "# HELP vigil_unavailable_responses",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}

#[tokio::test]
async fn metrics_move_to_their_own_address_when_configured() {
    let app = spawn_app_with(&[("VIGIL_METRICS_ADDR", "127.0.0.1:0")]).await;
    let scraped = app.send(Method::GET, "/metrics", None, &[]).await;
    assert_eq!(scraped.status, StatusCode::NOT_FOUND);
    assert!(!scraped.body.to_string().contains("vigil_sessions_started"));
}

async fn drafts_of(user: &Browser<'_>, method: Method) -> TestResponse {
    user.send(method, "/api/drafts", None, &[]).await
}

#[tokio::test]
async fn deleting_all_drafts_needs_a_recent_sign_in_and_keeps_submitted_ones() {
    let app = spawn_app().await;
    let cookie = app.browser().await;
    for n in 1..=3 {
        let id = format!("00000000-0000-4000-8000-00000000000{n}");
        cookie.create_draft(&id, "T", "B").await;
    }
    let submitted = cookie
        .send(
            Method::POST,
            "/api/drafts/00000000-0000-4000-8000-000000000003/submit",
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    // Someone else's drafts are never touched.
    let hers = app.sign_in_grace().await;
    hers.create_draft("00000000-0000-4000-8000-00000000000a", "T", "B")
        .await;

    app.advance(Duration::minutes(6));
    drafts_of(&cookie, Method::DELETE)
        .await
        .assert_problem(403, "reauthentication_required");
    assert_eq!(
        drafts_of(&cookie, Method::GET).await.body["drafts"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "a refusal deletes nothing"
    );
    let fresh = cookie.post("/api/auth/login", credentials()).await;
    let fresh = app.browser_with(fresh.session_cookie().expect("cookie"));
    let done = drafts_of(&fresh, Method::DELETE).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["deleted"], 2);
    let left = drafts_of(&fresh, Method::GET).await;
    let drafts = left.body["drafts"].as_array().expect("drafts");
    assert_eq!(drafts.len(), 1);
    assert!(drafts[0]["submitted_at"].is_string());
    let theirs = drafts_of(&hers, Method::GET).await;
    assert_eq!(theirs.body["drafts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn production_serves_metrics_only_on_their_own_address() {
    let app = spawn_production_app().await;
    let scraped = app.send(Method::GET, "/metrics", None, &[]).await;
    assert_eq!(scraped.status, StatusCode::NOT_FOUND);
    assert!(!scraped.body.to_string().contains("vigil_sessions_started"));
}
