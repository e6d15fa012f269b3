//! Passkeys (SPEC §9.2) against the real router and stores, with webauthn-authenticator-rs'
//! software authenticator answering as a browser's would.
//!
//! `SoftPasskey` keeps no resident credentials: [`Authenticator`] keeps, for each credential
//! it made, the user handle a resident key stores beside it, and answers a usernameless
//! request with them, as a platform authenticator does. Everything it sends is signed by the
//! software key; nothing on the server is stubbed.

use http::header::COOKIE;
use http::StatusCode;
use serde_json::{json, Value};
use time::Duration;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::helpers::*;

/// A passkey authenticator on one device: its credentials, each with its user handle.
struct Authenticator {
    soft: SoftPasskey,
    origin: Url,
    held: Vec<(String, String)>,
}

impl Authenticator {
    /// An authenticator that verifies its user (as a platform authenticator's biometrics do).
    fn new() -> Self {
        Self::at("http://localhost:3000")
    }

    fn at(origin: &str) -> Self {
        Self {
            soft: SoftPasskey::new(true),
            origin: Url::parse(origin).unwrap(),
            held: Vec::new(),
        }
    }

    /// `navigator.credentials.create` with the server's options: the new credential's JSON.
    fn create(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        let public_key = &mut options["publicKey"];
        assert_eq!(
            public_key["authenticatorSelection"]["residentKey"], "required",
            "a passkey must be discoverable"
        );
        assert_eq!(
            public_key["authenticatorSelection"]["userVerification"],
            "required"
        );
        let handle = public_key["user"]["id"].as_str().unwrap().to_owned();
        // The residency is this harness's (see the module comment).
        public_key["authenticatorSelection"]["requireResidentKey"] = false.into();
        public_key["authenticatorSelection"]["residentKey"] = "discouraged".into();
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .soft
            .do_registration(self.origin.clone(), options)
            .unwrap();
        let credential = serde_json::to_value(credential).unwrap();
        self.held
            .push((credential["rawId"].as_str().unwrap().to_owned(), handle));
        credential
    }

    /// `navigator.credentials.get` with the server's options, answered with credential `n`.
    fn get_with(&mut self, n: usize, options: &Value) -> Value {
        let (id, handle) = self.held[n].clone();
        let mut options = options.clone();
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "usernameless"
        );
        options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion = self
            .soft
            .do_authentication(self.origin.clone(), options)
            .unwrap();
        let mut assertion = serde_json::to_value(assertion).unwrap();
        assertion["response"]["userHandle"] = handle.into();
        assertion
    }

    /// `navigator.credentials.get`, answered with the newest credential.
    fn get(&mut self, options: &Value) -> Value {
        self.get_with(self.held.len() - 1, options)
    }
}

/// Registers a new passkey of `authenticator` on the browser's account: the answer.
async fn register(
    browser: &Browser<'_>,
    authenticator: &mut Authenticator,
    name: &str,
) -> TestResponse {
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let credential = authenticator.create(&options.body["options"]);
    finish_registration(browser, &options.body, name, &credential).await
}

/// A sign-in ceremony's options, asked for by a visitor with no session.
async fn sign_in_options(app: &TestApp) -> Value {
    let options = app.post("/api/auth/passkey/options", json!({}), &[]).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    assert!(options.body["ceremony"].as_str().unwrap().len() >= 43);
    options.body
}

/// Answers the sign-in ceremony of `options` with `credential`.
async fn answer(app: &TestApp, options: &Value, credential: Value) -> TestResponse {
    app.post(
        "/api/auth/passkey",
        json!({"ceremony": options["ceremony"], "credential": credential}),
        &[],
    )
    .await
}

/// Answers the registration ceremony of `options` (an options answer's body).
async fn finish_registration(
    browser: &Browser<'_>,
    options: &Value,
    name: &str,
    credential: &Value,
) -> TestResponse {
    browser
        .post(
            "/api/account/passkeys",
            json!({"ceremony": options["ceremony"], "name": name, "credential": credential}),
        )
        .await
}

/// Signs in with the authenticator's newest passkey; `extra` joins the body.
async fn passkey_sign_in(
    app: &TestApp,
    authenticator: &mut Authenticator,
    extra: Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let options = sign_in_options(app).await;
    let credential = authenticator.get(&options["options"]);
    let mut body = json!({"ceremony": options["ceremony"], "credential": credential});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    app.post("/api/auth/passkey", body, headers).await
}

#[tokio::test]
async fn a_registered_passkey_signs_in_without_a_username_or_password() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let mut laptop = Authenticator::new();

    let registered = register(&browser, &mut laptop, "  Laptop ").await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert_eq!(registered.body["name"], "Laptop");
    assert!(registered.body["last_used_at"].is_null());
    let listed = browser.get("/api/account/passkeys").await;
    assert_eq!(listed.body["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["passkeys"][0]["id"], registered.body["id"]);

    app.advance(Duration::minutes(3));
    let signed_in = passkey_sign_in(&app, &mut laptop, json!({}), &[]).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.body["user"]["username"], USERNAME);
    let cookie = signed_in
        .session_cookie()
        .expect("the session cookie is set");
    let me = app.browser_with(cookie).me().await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    let listed = browser.get("/api/account/passkeys").await;
    let used = listed.body["passkeys"][0]["last_used_at"].as_str().unwrap();
    let used = vigil::timestamp::parse(used).unwrap();
    assert_eq!(
        used.unix_timestamp(),
        vigil::Clock::now(&app.clock).unix_timestamp()
    );

    let events: Vec<(String, Option<String>)> = app
        .audit_log(10)
        .await
        .into_iter()
        .map(|row| (row.event, row.reason))
        .collect();
    assert!(events.contains(&("passkey_registered".into(), Some("Laptop".into()))));
    assert!(events.contains(&("sign_in".into(), Some("passkey".into()))));
}

#[tokio::test]
async fn an_api_client_gets_a_bearer_token() {
    let app = spawn_app().await;
    let mut phone = Authenticator::new();
    register(&app.browser().await, &mut phone, "Phone").await;

    let answer = passkey_sign_in(&app, &mut phone, json!({"token": true}), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.session_cookie().is_none(),
        "a token client gets no cookie"
    );
    assert_eq!(answer.body["token_type"], "Bearer");
    let client = app.api_client_with(answer.body["access_token"].as_str().unwrap().into());
    assert_eq!(client.get("/api/sessions").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_disabled_account_signs_in_with_no_passkey() {
    let app = spawn_app().await;
    let mut phone = Authenticator::new();
    register(&app.browser().await, &mut phone, "Phone").await;
    let settings = crate::helpers::test_settings(app._dir.path(), &[]);
    let disable = vigil_server::cli::UserCommand::Disable {
        name: USERNAME.into(),
    };
    vigil_server::cli::run_user_command(&settings, disable, "")
        .await
        .expect("disabled");
    passkey_sign_in(&app, &mut phone, json!({}), &[])
        .await
        .assert_problem(401, "passkey_rejected");
}

#[tokio::test]
async fn a_ceremony_is_answered_once_and_within_five_minutes() {
    let app = spawn_app().await;
    let mut key = Authenticator::new();
    register(&app.browser().await, &mut key, "Key").await;

    // The same answer twice: the second finds its ceremony spent.
    let options = sign_in_options(&app).await;
    let credential = key.get(&options["options"]);
    let body = json!({"ceremony": options["ceremony"], "credential": credential});
    let first = app.post("/api/auth/passkey", body.clone(), &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    app.post("/api/auth/passkey", body, &[])
        .await
        .assert_problem(400, "passkey_ceremony_expired");

    // An answer after five minutes.
    let options = sign_in_options(&app).await;
    let credential = key.get(&options["options"]);
    app.advance(Duration::minutes(5));
    answer(&app, &options, credential)
        .await
        .assert_problem(400, "passkey_ceremony_expired");

    // A ceremony nobody issued.
    let options = sign_in_options(&app).await;
    let credential = key.get(&options["options"]);
    app.post(
        "/api/auth/passkey",
        json!({"ceremony": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "credential": credential}),
        &[],
    )
    .await
    .assert_problem(400, "passkey_ceremony_expired");
}

#[tokio::test]
async fn a_registration_ceremony_belongs_to_its_user_and_a_wrong_answer_spends_it() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace = app.sign_in_grace().await;
    let mut key = Authenticator::new();

    // Ada's registration options answered from Grace's session.
    let options = ada.post("/api/account/passkeys/options", json!({})).await;
    let credential = key.create(&options.body["options"]);
    finish_registration(&grace, &options.body, "Mine", &credential)
        .await
        .assert_problem(400, "passkey_ceremony_expired");
    // …and it was spent there.
    finish_registration(&ada, &options.body, "Mine", &credential)
        .await
        .assert_problem(400, "passkey_ceremony_expired");
}

#[tokio::test]
async fn adding_and_removing_need_a_recent_sign_in() {
    let app = spawn_app_with(&[("VIGIL_REAUTH_WITHIN", "1m")]).await;
    let browser = app.browser().await;
    let mut key = Authenticator::new();
    let added = register(&browser, &mut key, "Key").await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let id = added.body["id"].as_str().unwrap().to_owned();

    app.advance(Duration::minutes(2));
    browser
        .post("/api/account/passkeys/options", json!({}))
        .await
        .assert_problem(403, "reauthentication_required");
    browser
        .delete(&format!("/api/account/passkeys/{id}"), &[])
        .await
        .assert_problem(403, "reauthentication_required");
    // Reading the list is not sensitive.
    assert_eq!(
        browser.get("/api/account/passkeys").await.status,
        StatusCode::OK
    );

    // Signing in again with the passkey is a fresh sign-in: removing goes ahead.
    let again = passkey_sign_in(
        &app,
        &mut key,
        json!({}),
        &[(COOKIE.as_str(), &browser.cookie)],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let confirmed = app.browser_with(again.session_cookie().unwrap());
    let removed = confirmed
        .delete(&format!("/api/account/passkeys/{id}"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        confirmed.get("/api/account/passkeys").await.body["passkeys"],
        json!([])
    );
    let audit = app.audit_log(10).await;
    assert!(audit
        .iter()
        .any(|row| row.event == "passkey_removed" && row.reason.as_deref() == Some("Key")));

    // A removed passkey signs nobody in.
    passkey_sign_in(&app, &mut key, json!({}), &[])
        .await
        .assert_problem(401, "passkey_rejected");
}

#[tokio::test]
async fn only_the_owner_can_remove_a_passkey() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let mut key = Authenticator::new();
    let id = register(&ada, &mut key, "Key").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grace = app.sign_in_grace().await;
    grace
        .delete(&format!("/api/account/passkeys/{id}"), &[])
        .await
        .assert_problem(404, "not_found");
    grace
        .delete("/api/account/passkeys/nothing-here", &[])
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        ada.get("/api/account/passkeys").await.body["passkeys"][0]["id"],
        id.as_str()
    );
}

#[tokio::test]
async fn signing_in_again_in_place_replaces_the_session_and_keeps_within_the_limit() {
    let app = spawn_app_with(&[
        ("VIGIL_MAX_SESSIONS_PER_USER", "1"),
        ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
    ])
    .await;
    let browser = app.browser().await;
    let mut key = Authenticator::new();
    register(&browser, &mut key, "Key").await;
    let before = session_id_of(&browser.cookie);

    // The timeout modal names the user; the browser still holds its cookie.
    let again = passkey_sign_in(
        &app,
        &mut key,
        json!({"username": "Ada"}),
        &[(COOKIE.as_str(), &browser.cookie)],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let replacement = app.browser_with(again.session_cookie().unwrap());
    assert_ne!(session_id_of(&replacement.cookie), before);
    browser.assert_session_refused("session_revoked").await;
    let sessions = replacement.get("/api/sessions").await;
    assert_eq!(sessions.body["sessions"].as_array().unwrap().len(), 1);

    // Elsewhere, without this browser's cookie, the limit holds.
    passkey_sign_in(&app, &mut key, json!({}), &[])
        .await
        .assert_problem(409, "session_limit_reached");
}

#[tokio::test]
async fn another_users_passkey_never_signs_in_again_in_place() {
    let app = spawn_app().await;
    let grace = app.sign_in_grace().await;
    let mut graces = Authenticator::new();
    register(&grace, &mut graces, "Grace's").await;

    // The modal names Ada; Grace's passkey answers.
    passkey_sign_in(&app, &mut graces, json!({"username": "ada"}), &[])
        .await
        .assert_problem(401, "passkey_rejected");
    let audit = app.audit_log(5).await;
    assert!(audit
        .iter()
        .any(|row| row.event == "sign_in_failed" && row.reason.as_deref() == Some("passkey")));
    // Without a name it is Grace's sign-in, as it should be.
    let own = passkey_sign_in(&app, &mut graces, json!({}), &[]).await;
    assert_eq!(own.body["user"]["username"], "grace", "{}", own.body);
}

#[tokio::test]
async fn refused_passkeys_count_toward_the_sign_in_limits() {
    let app = spawn_app().await;
    // Credentials this server never registered: each is a failed sign-in.
    let mut stranger = Authenticator::new();
    let options = app
        .browser()
        .await
        .post("/api/account/passkeys/options", json!({}))
        .await;
    stranger.create(&options.body["options"]);
    for _ in 0..5 {
        passkey_sign_in(&app, &mut stranger, json!({}), &[])
            .await
            .assert_problem(401, "passkey_rejected");
    }
    let limited = passkey_sign_in(&app, &mut stranger, json!({}), &[]).await;
    limited.assert_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn a_passkey_of_another_site_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    // A look-alike site relays this server's challenge under its own name: the browser
    // scopes the credential to that site, and the server refuses it.
    let mut phished = Authenticator::at("https://vigil.example.net");
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    let mut relayed = options.body["options"].clone();
    relayed["publicKey"]["rp"]["id"] = "vigil.example.net".into();
    let credential = phished.create(&relayed);
    let refused = finish_registration(&browser, &options.body, "X", &credential).await;
    let problem = refused.assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("credential"));
}

#[tokio::test]
async fn malformed_bodies_name_their_field() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let options = sign_in_options(&app).await;
    let problem = app
        .post(
            "/api/auth/passkey",
            json!({"ceremony": options["ceremony"], "credential": {"id": 5}}),
            &[],
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("credential"));

    let mut key = Authenticator::new();
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    let credential = key.create(&options.body["options"]);
    for name in ["", "   ", &"x".repeat(65)] {
        let problem = finish_registration(&browser, &options.body, name, &credential)
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(problem.field.as_deref(), Some("name"));
    }
    // Refusing the name left the ceremony as it was.
    let added = finish_registration(&browser, &options.body, "Key", &credential).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
}

#[tokio::test]
async fn a_ceremony_started_on_one_instance_finishes_on_another() {
    let apps = TestApp::builder().instances(2).await;
    let (first, second) = (&apps[0], &apps[1]);
    let mut key = Authenticator::new();
    let browser = first.browser().await;
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    let credential = key.create(&options.body["options"]);
    let on_second = second.browser_with(browser.cookie.clone());
    let added = finish_registration(&on_second, &options.body, "Key", &credential).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);

    let options = sign_in_options(second).await;
    let credential = key.get(&options["options"]);
    let signed_in = answer(first, &options, credential).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
}

#[tokio::test]
async fn several_passkeys_per_user_each_sign_in() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let mut device = Authenticator::new();
    register(&browser, &mut device, "First").await;
    let second = register(&browser, &mut device, "Second").await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let names: Vec<Value> = browser.get("/api/account/passkeys").await.body["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names.len(), 2);
    for n in 0..2 {
        let options = sign_in_options(&app).await;
        let credential = device.get_with(n, &options["options"]);
        let signed_in = answer(&app, &options, credential).await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    }
    // The second registration's options excluded the first credential.
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    let excluded = options.body["options"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(excluded, 2);
}

#[tokio::test]
async fn signing_in_again_here_with_another_users_passkey_is_refused_without_a_name() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace = app.sign_in_grace().await;
    let mut graces = Authenticator::new();
    register(&grace, &mut graces, "Grace's").await;

    // This browser's cookie names Ada's live session: Grace's passkey does not replace it.
    passkey_sign_in(
        &app,
        &mut graces,
        json!({}),
        &[(COOKIE.as_str(), &ada.cookie)],
    )
    .await
    .assert_problem(401, "passkey_rejected");
    assert_eq!(
        ada.me().await.status,
        StatusCode::OK,
        "Ada's session goes on"
    );
}

#[tokio::test]
async fn an_answer_naming_another_users_handle_is_refused() {
    let app = spawn_app().await;
    let mut key = Authenticator::new();
    register(&app.browser().await, &mut key, "Key").await;
    let grace = app.sign_in_grace().await;
    let mut graces = Authenticator::new();
    register(&grace, &mut graces, "Grace's").await;

    // Ada's credential presented with Grace's user handle.
    let options = sign_in_options(&app).await;
    let mut credential = key.get(&options["options"]);
    credential["response"]["userHandle"] = graces.held[0].1.clone().into();
    answer(&app, &options, credential)
        .await
        .assert_problem(401, "passkey_rejected");
}

#[tokio::test]
async fn a_registration_ceremony_cannot_sign_in_and_a_late_confirmation_is_refused() {
    let app = spawn_app_with(&[("VIGIL_REAUTH_WITHIN", "1m")]).await;
    let browser = app.browser().await;
    let mut key = Authenticator::new();
    let options = browser
        .post("/api/account/passkeys/options", json!({}))
        .await;
    let credential = key.create(&options.body["options"]);

    // The step-up window passes while the authenticator is asked.
    app.advance(Duration::minutes(2));
    finish_registration(&browser, &options.body, "Key", &credential)
        .await
        .assert_problem(403, "reauthentication_required");

    // A sign-in answer sent with a registration's ceremony finds no sign-in ceremony.
    let fresh = app.browser().await;
    register(&fresh, &mut key, "Key").await;
    let registration = fresh.post("/api/account/passkeys/options", json!({})).await;
    let sign_in = sign_in_options(&app).await;
    let credential = key.get(&sign_in["options"]);
    answer(&app, &registration.body, credential)
        .await
        .assert_problem(400, "passkey_ceremony_expired");
}

#[tokio::test]
async fn passwords_and_passkeys_share_the_limits() {
    let app = spawn_app().await;
    let mut key = Authenticator::new();
    register(&app.browser().await, &mut key, "Key").await;
    // Three wrong passwords for Ada, then two refused answers naming her…
    for _ in 0..3 {
        app.login_as(USERNAME, "wrong password")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    for _ in 0..2 {
        let options = sign_in_options(&app).await;
        let mut credential = key.get(&options["options"]);
        credential["response"]["signature"] = "AAAA".into();
        answer(&app, &options, credential)
            .await
            .assert_problem(401, "passkey_rejected");
    }
    // …fill her limit from this address, for the password and the passkey alike.
    app.login().await.assert_problem(429, "rate_limited");
    passkey_sign_in(&app, &mut key, json!({}), &[])
        .await
        .assert_problem(429, "rate_limited");
}

#[tokio::test]
async fn an_address_starts_ceremonies_at_a_bounded_rate() {
    let app = spawn_app_with(&[("VIGIL_SIGNIN_LIMIT_PER_IP", "3")]).await;
    for _ in 0..3 {
        sign_in_options(&app).await;
    }
    let refused = app.post("/api/auth/passkey/options", json!({}), &[]).await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    app.advance(Duration::minutes(1));
    sign_in_options(&app).await;
}

#[tokio::test]
async fn a_malformed_passkey_id_is_not_found_without_reaching_the_store() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    for id in ["%00", "a%20b", &"A".repeat(1_400)] {
        browser
            .delete(&format!("/api/account/passkeys/{id}"), &[])
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn an_account_holds_a_bounded_number_of_passkeys() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let mut device = Authenticator::new();
    for n in 0..vigil::passkeys::MAX_PASSKEYS {
        let added = register(&browser, &mut device, &format!("Key {n}")).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    let problem = browser
        .post("/api/account/passkeys/options", json!({}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("passkeys"));
}
