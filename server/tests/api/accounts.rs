//! Disabled accounts (SPEC §9.3, OWASP ASVS 5.0 7.4.2 and 7.4.5): `server user disable NAME`
//! ends every session of the account at once, told to its open pages, and the account
//! cannot sign in, answered like wrong credentials, until `server user enable NAME`.

use http::StatusCode;
use serde_json::json;
use vigil_server::cli::{run_user_command, UserCommand};

use crate::helpers::{spawn_app, test_settings, RequestHelper, TestApp, PASSWORD, USERNAME};

async fn disable(app: &TestApp, enable: bool) -> String {
    let settings = test_settings(app._dir.path(), &[]);
    let command = match enable {
        false => UserCommand::Disable {
            name: USERNAME.into(),
        },
        true => UserCommand::Enable {
            name: USERNAME.into(),
        },
    };
    run_user_command(&settings, command, "")
        .await
        .expect("the command runs")
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_refuses_its_sign_ins_like_wrong_credentials() {
    let app = spawn_app().await;
    let laptop = app.browser().await;
    let client = app.api_client().await;
    let mut events = laptop.events().await;
    events.assert_ready().await;

    let said = disable(&app, false).await;
    assert_eq!(
        said,
        format!("disabled `{USERNAME}` and ended its 2 session(s)")
    );
    events.assert_ended_after_news("account_disabled").await;
    for refused in [laptop.session_info().await, client.session_info().await] {
        let problem = refused.assert_problem(401, "session_revoked");
        assert_eq!(
            problem.ended_because,
            Some(vigil::events::EndedBecause::AccountDisabled)
        );
    }
    // The right password and a wrong one get the same answer.
    let right = app.login().await.assert_problem(401, "invalid_credentials");
    let wrong = app
        .login_as(USERNAME, "not the password")
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(right.detail, wrong.detail);
    app.post(
        "/api/auth/token",
        json!({"username": USERNAME, "password": PASSWORD}),
        &[],
    )
    .await
    .assert_problem(401, "invalid_credentials");

    assert_eq!(disable(&app, true).await, format!("enabled `{USERNAME}`"));
    assert_eq!(app.login().await.status, StatusCode::OK);
    let kinds: Vec<String> = app
        .audit_log(20)
        .await
        .into_iter()
        .map(|row| row.event)
        .collect();
    assert!(kinds.contains(&"account_disabled".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"account_enabled".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn an_unknown_account_cannot_be_disabled() {
    let app = spawn_app().await;
    let settings = test_settings(app._dir.path(), &[]);
    let refused = run_user_command(
        &settings,
        UserCommand::Disable {
            name: "nobody".into(),
        },
        "",
    )
    .await;
    assert!(refused.is_err());
}
