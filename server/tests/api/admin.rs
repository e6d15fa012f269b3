//! Administrators (SPEC §9.3, OWASP ASVS 5.0 7.4.2 and 7.4.5): accounts with their live
//! sessions, ending one or all of them, disabling and enabling an account — only for a
//! role `admin` that holds now, each change behind step-up, audited, and told to the open
//! pages of the sessions it ends.

use http::StatusCode;
use serde_json::Value;
use time::Duration;
use vigil::admin::{user_access_path, user_session_path, user_sessions_path, users_path};
use vigil::events::EndedBecause;

use crate::helpers::{spawn_app, Browser, RequestHelper, TestApp, ADMIN, USERNAME};

/// The accounts the administrator sees for `query`.
async fn listed(admin: &Browser<'_>, query: &str) -> Value {
    let listed = admin.get(&users_path(query)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed.body
}

/// The listed account named `username`.
fn account<'a>(list: &'a Value, username: &str) -> &'a Value {
    list["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|user| user["username"] == username)
        .unwrap_or_else(|| panic!("{username} is listed: {list}"))
}

fn session_ids(user: &Value) -> Vec<String> {
    user["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The newest audit row of `event`, its reason.
async fn audited(app: &TestApp, event: &str) -> Option<String> {
    app.audit_log(50)
        .await
        .into_iter()
        .find(|row| row.event == event)
        .and_then(|row| row.reason)
}

#[tokio::test]
async fn only_an_administrator_now_sees_the_accounts_anyone_else_finds_no_such_endpoint() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace_browser = app.sign_in_grace().await;
    let admin = app.sign_in_admin().await;

    ada.get(&users_path(""))
        .await
        .assert_problem(404, "not_found");
    ada.delete(&user_sessions_path("grace"), &[])
        .await
        .assert_problem(404, "not_found");
    ada.post(&user_access_path("grace", true), serde_json::json!({}))
        .await
        .assert_problem(404, "not_found");
    app.send_raw(http::Method::GET, &users_path(""), None, &[])
        .await
        .assert_problem(401, "unauthenticated");

    let list = listed(&admin, "").await;
    assert_eq!(list["more"], false);
    let names: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "grace", ADMIN], "in username order");
    let ada_row = account(&list, USERNAME);
    assert_eq!(ada_row["role"], "user");
    assert_eq!(ada_row["disabled"], false);
    assert_eq!(session_ids(ada_row).len(), 1);
    assert_eq!(ada_row["sessions"][0]["current"], false);
    let own = account(&list, ADMIN);
    assert_eq!(own["role"], "admin");
    assert_eq!(
        own["sessions"][0]["current"], true,
        "the administrator's own"
    );

    let narrowed = listed(&admin, "GRA").await;
    assert_eq!(narrowed["users"].as_array().unwrap().len(), 1);
    assert_eq!(narrowed["users"][0]["username"], "grace");
    // `%` and `_` are searched for, not wildcards.
    assert!(listed(&admin, "%").await["users"]
        .as_array()
        .unwrap()
        .is_empty());
    let long = "x".repeat(65);
    admin
        .get(&users_path(&long))
        .await
        .assert_problem(422, "validation_failed");
    // Postgres refuses the NUL character: refused here first, never a store failure.
    admin
        .get(&users_path("a\0b"))
        .await
        .assert_problem(422, "validation_failed");

    // A role given counts from the next sign-in (with the administrators' timeouts).
    let grace = vigil_server::identity::users::Username::parse("grace").unwrap();
    app.state
        .users
        .set_role(&grace, vigil::Role::Admin)
        .await
        .expect("role");
    grace_browser
        .get(&users_path(""))
        .await
        .assert_problem(404, "not_found");

    // The role is read at each request: taken away, it counts at once.
    let linus = vigil_server::identity::users::Username::parse(ADMIN).unwrap();
    app.state
        .users
        .set_role(&linus, vigil::Role::User)
        .await
        .expect("role");
    admin
        .get(&users_path(""))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn an_administrator_ends_one_session_and_its_page_is_told_on_another_instance() {
    let apps = TestApp::builder().instances(2).await;
    let laptop = apps[0].browser().await;
    let phone = apps[0].browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;
    // The laptop's own session: the one its list marks current (the phone signed in at
    // the same instant, so the order alone does not say which is which).
    let listed = laptop.get("/api/sessions").await;
    let laptop_id = listed.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_str())
        .expect("the laptop's session")
        .to_owned();

    let admin = apps[1].sign_in_admin().await;
    let ended = admin
        .delete(&user_session_path(USERNAME, &laptop_id), &[])
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["ended"], 1);
    on_laptop.assert_ended_after_news("operator").await;
    let problem = laptop.assert_session_refused("session_revoked").await;
    assert_eq!(problem.ended_because, Some(EndedBecause::Operator));
    assert_eq!(phone.session_info().await.status, StatusCode::OK);

    // Ended once: a second try finds nothing.
    admin
        .delete(&user_session_path(USERNAME, &laptop_id), &[])
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        audited(&apps[1], "session_ended").await.as_deref(),
        Some("by administrator linus")
    );
}

#[tokio::test]
async fn an_administrator_ends_all_of_an_accounts_sessions_but_their_own() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let phone = app.browser().await;
    let mut on_phone = phone.events().await;
    on_phone.assert_ready().await;
    let admin = app.sign_in_admin().await;

    let ended = admin.delete(&user_sessions_path(USERNAME), &[]).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["ended"], 2);
    on_phone.assert_ended_after_news("operator").await;
    laptop.assert_session_refused("session_revoked").await;
    assert!(session_ids(account(&listed(&admin, "ada").await, USERNAME)).is_empty());
    assert_eq!(
        audited(&app, "session_ended").await.as_deref(),
        Some("all 2 ended by administrator linus")
    );

    // Their own account: every other session ends, the one they use stays.
    let elsewhere = app.sign_in_admin().await;
    let own = admin.delete(&user_sessions_path(ADMIN), &[]).await;
    assert_eq!(own.body["ended"], 1, "{}", own.body);
    elsewhere.assert_session_refused("session_revoked").await;
    assert_eq!(admin.session_info().await.status, StatusCode::OK);
    let list = listed(&admin, ADMIN).await;
    let own_id = session_ids(account(&list, ADMIN)).remove(0);
    admin
        .delete(&user_session_path(ADMIN, &own_id), &[])
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn disabling_an_account_from_the_api_ends_its_sessions_until_it_is_enabled() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;
    let grace = app.sign_in_grace().await;
    let admin = app.sign_in_admin().await;

    let disabled = admin
        .post(&user_access_path(USERNAME, true), serde_json::json!({}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(disabled.body["sessions_ended"], 1);
    on_laptop.assert_ended("account_disabled").await;
    app.login().await.assert_problem(401, "invalid_credentials");
    assert_eq!(grace.session_info().await.status, StatusCode::OK);
    let row = listed(&admin, "ada").await;
    assert_eq!(account(&row, USERNAME)["disabled"], true);
    assert_eq!(
        audited(&app, "account_disabled").await.as_deref(),
        Some("by administrator linus")
    );

    let enabled = admin
        .post(&user_access_path(USERNAME, false), serde_json::json!({}))
        .await;
    assert_eq!(enabled.body["disabled"], false, "{}", enabled.body);
    assert_eq!(enabled.body["sessions_ended"], 0);
    assert_eq!(app.login().await.status, StatusCode::OK);
    assert!(audited(&app, "account_enabled").await.is_some());

    // Nobody locks themselves out; an unknown account is not found.
    admin
        .post(&user_access_path(ADMIN, true), serde_json::json!({}))
        .await
        .assert_problem(422, "validation_failed");
    admin
        .post(&user_access_path("nobody", true), serde_json::json!({}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_disabling_whose_endings_failed_is_audited_and_done_again() {
    let app = TestApp::builder().instrumented().build().await;
    let laptop = app.browser().await;
    let admin = app.sign_in_admin().await;
    let ada = vigil_server::identity::users::Username::parse(USERNAME).unwrap();
    let ada_id = app.state.users.id_of(&ada).await.unwrap().expect("ada");
    app.store_probe().set_failing_user(Some(ada_id));

    admin
        .post(&user_access_path(USERNAME, true), serde_json::json!({}))
        .await
        .assert_problem(503, "store_unavailable");
    // The account is disabled all the same, and that is on record.
    assert_eq!(
        audited(&app, "account_disabled").await.as_deref(),
        Some("by administrator linus")
    );
    app.login().await.assert_problem(401, "invalid_credentials");
    assert_eq!(laptop.session_info().await.status, StatusCode::OK);

    // Once the store answers, disabling again ends what is left.
    app.store_probe().set_failing_user(None);
    let again = admin
        .post(&user_access_path(USERNAME, true), serde_json::json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["sessions_ended"], 1);
    laptop.assert_session_refused("session_revoked").await;
}

#[tokio::test]
async fn every_change_needs_a_recent_sign_in_and_a_disabled_administrator_is_nobody() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let admin = app.sign_in_admin().await;
    app.advance(Duration::minutes(6));

    admin
        .delete(&user_sessions_path(USERNAME), &[])
        .await
        .assert_problem(403, "reauthentication_required");
    admin
        .post(&user_access_path(USERNAME, true), serde_json::json!({}))
        .await
        .assert_problem(403, "reauthentication_required");
    assert_eq!(laptop.session_info().await.status, StatusCode::OK);
    // Reading needs no step-up.
    listed(&admin, "").await;

    // An administrator's account disabled (here from the command line) answers nothing.
    let settings = crate::helpers::test_settings(app._dir.path(), &[]);
    vigil_server::cli::run_user_command(
        &settings,
        vigil_server::cli::UserCommand::Disable { name: ADMIN.into() },
        "",
    )
    .await
    .expect("disable");
    admin
        .get(&users_path(""))
        .await
        .assert_problem(401, "session_revoked");
}
