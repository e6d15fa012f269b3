//! `GET /api/events` (SPEC §9.3): whatever ends a session is told to its open streams, with
//! the reason, without anyone's request; the stream itself extends nothing.

use http::StatusCode;
use serde_json::json;
use time::Duration;
use vigil_server::cli::{run_session_command, SessionCommand};

use crate::helpers::{
    spawn_app, spawn_app_with, test_settings, RequestHelper, TestApp, PASSWORD, USERNAME,
};

#[tokio::test]
async fn a_stream_opens_ready_and_extends_nothing() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let before = app.session_record(&browser.cookie).await;
    app.advance(Duration::minutes(3));

    let mut events = browser.events().await;
    events.assert_ready().await;
    assert_eq!(
        events.headers["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let after = app.session_record(&browser.cookie).await;
    assert_eq!(after.idle_expires_at, before.idle_expires_at);
    assert_eq!(after.last_activity_at, before.last_activity_at);
    assert_eq!(after.generation, before.generation, "nothing rotated");
    assert_eq!(after.version, before.version, "nothing written");
}

#[tokio::test]
async fn a_stream_needs_a_live_session() {
    let app = spawn_app().await;
    let events = app.events().await;
    assert_eq!(events.status, StatusCode::UNAUTHORIZED);

    let browser = app.browser().await;
    browser.logout().await;
    let events = browser.events().await;
    assert_eq!(events.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_out_everywhere_else_is_told_to_every_other_stream() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let phone = app.browser().await;
    let mut on_laptop = laptop.events().await;
    let mut on_phone = phone.events().await;
    on_laptop.assert_ready().await;
    on_phone.assert_ready().await;

    let ended = phone.revoke_others().await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);

    on_laptop.assert_ended("signed_out_elsewhere").await;
    assert_eq!(
        on_phone.next_told().await,
        Some(("sessions_changed".into(), None)),
        "the list of sessions changed for the one that stays"
    );
}

#[tokio::test]
async fn a_password_change_is_told_to_the_sessions_it_ends() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let phone = app.browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;

    let changed = phone
        .change_password(PASSWORD, "a brand new passphrase")
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    on_laptop.assert_ended("password_changed").await;
}

#[tokio::test]
async fn signing_out_and_ending_a_session_from_the_list_are_told() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;
    let mut also_on_laptop = laptop.events().await;
    also_on_laptop.assert_ready().await;
    laptop.logout().await;
    on_laptop.assert_ended("signed_out").await;
    also_on_laptop.assert_ended("signed_out").await;

    let tablet = app.browser().await;
    let phone = app.browser().await;
    let mut on_tablet = tablet.events().await;
    on_tablet.assert_ready().await;
    let listed = phone.get("/api/sessions").await;
    let tablet_id = listed.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] != true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap();
    let ended = phone.end_session(&tablet_id).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    on_tablet.assert_ended("signed_out_elsewhere").await;
}

#[tokio::test]
async fn an_operator_ending_sessions_from_the_command_line_is_told() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let mut events = browser.events().await;
    events.assert_ready().await;

    // The command line is another process with its own store: with the embedded database
    // the server finds the ending on its next check, with Redis it hears it.
    let settings = test_settings(app._dir.path(), &[]);
    run_session_command(
        &settings,
        SessionCommand::Revoke {
            user: USERNAME.into(),
            all: true,
            id: None,
        },
    )
    .await
    .expect("revoke");
    events.assert_ended("operator").await;
}

#[tokio::test]
async fn the_session_limit_tells_the_session_it_ends() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "1"),
        ("VIGIL_SESSION_LIMIT_POLICY", "evict-oldest"),
    ])
    .await;
    let first = app.browser().await;
    let mut events = first.events().await;
    events.assert_ready().await;
    let _second = app.browser().await;
    events.assert_ended("session_limit").await;
}

#[tokio::test]
async fn signing_in_again_in_place_closes_the_old_stream_without_a_word() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let mut events = browser.events().await;
    events.assert_ready().await;

    let again = app
        .post(
            "/api/auth/login",
            json!({"username": USERNAME, "password": PASSWORD}),
            &[("cookie", &browser.cookie)],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    // The browser holds the new session: nothing ended for it, its page reconnects.
    assert_eq!(events.next().await, None);
    let renewed = app.browser_with(again.session_cookie().unwrap());
    renewed.events().await.assert_ready().await;
}

#[tokio::test]
async fn other_users_hear_nothing() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace = app.sign_in_grace().await;
    let mut on_grace = grace.events().await;
    on_grace.assert_ready().await;
    ada.logout().await;
    let _again = app.browser().await;
    // Grace's next event is her own news, not Ada's.
    grace.logout().await;
    on_grace.assert_ended("signed_out").await;
}

#[tokio::test]
async fn an_ending_on_one_instance_reaches_a_stream_on_another() {
    let apps = TestApp::builder().instances(2).await;
    let laptop = apps[0].browser().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;

    // With Redis the sign-in is news on the other instance too; with the embedded
    // database, only endings are found there (by the check every second).
    let phone = apps[1].browser().await;
    let ended = phone.revoke_others().await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    on_laptop
        .assert_ended_after_news("signed_out_elsewhere")
        .await;
}

#[tokio::test]
async fn many_sessions_ended_at_once_each_hear_their_own_ending_through_the_burst_of_news() {
    // Every ending is news to every other stream of the user: twelve at once are more than
    // a stream's queue holds, and each stream must still be told its own ending.
    let app = spawn_app_with(&[
        ("VIGIL_EVENTS_PER_USER", "20"),
        ("VIGIL_MAX_SESSIONS_PER_USER", "20"),
    ])
    .await;
    let mut streams = Vec::new();
    for _ in 0..12 {
        let mut events = app.browser().await.events().await;
        events.assert_ready().await;
        streams.push(events);
    }
    let phone = app.browser().await;
    let ended = phone.revoke_others().await;
    assert_eq!(ended.body["ended"], 12, "{}", ended.body);
    for events in &mut streams {
        events.assert_ended_after_news("signed_out_elsewhere").await;
    }
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_streams_the_oldest_closing_first() {
    let app = spawn_app_with(&[("VIGIL_EVENTS_PER_USER", "2")]).await;
    let browser = app.browser().await;
    let mut first = browser.events().await;
    first.assert_ready().await;
    let mut second = browser.events().await;
    second.assert_ready().await;
    let mut third = browser.events().await;
    third.assert_ready().await;
    assert_eq!(first.next().await, None, "the oldest stream closed");
    assert_eq!(app.state.events.open_streams(), 2);
}

#[tokio::test]
async fn past_the_limit_a_sessions_own_older_stream_closes_before_another_browsers() {
    let app = spawn_app_with(&[("VIGIL_EVENTS_PER_USER", "2")]).await;
    let laptop = app.browser().await;
    let phone = app.browser().await;
    let mut on_phone = phone.events().await;
    on_phone.assert_ready().await;
    let mut on_laptop = laptop.events().await;
    on_laptop.assert_ready().await;
    let mut laptop_again = laptop.events().await;
    laptop_again.assert_ready().await;
    assert_eq!(
        on_laptop.next().await,
        None,
        "the laptop's own older stream"
    );
    // The phone's, the oldest of the user's, stays and still hears its ending.
    let ended = laptop.revoke_others().await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    on_phone.assert_ended("signed_out_elsewhere").await;
}

#[tokio::test]
async fn a_full_instance_refuses_new_streams_with_a_retry_after() {
    let app = spawn_app_with(&[("VIGIL_EVENTS_MAX", "1")]).await;
    let ada = app.browser().await;
    let mut held = ada.events().await;
    held.assert_ready().await;
    let grace = app.sign_in_grace().await;
    let refused = grace.events().await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "30");
    drop(held);
    // A closed stream frees its place.
    let mut events = grace.events().await;
    events.assert_ready().await;
}
