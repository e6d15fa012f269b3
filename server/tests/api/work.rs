//! The user's work in the account (SPEC §3): drafts with versions and preconditions,
//! exactly-once changes per `Idempotency-Key`, conflicts that carry the current draft,
//! limits, other users, and the idle deadline moving on changes but not on reads.

use http::StatusCode;
use serde_json::{json, Value};
use time::Duration;
use vigil_server::identity::users::Username;

use crate::helpers::{spawn_app, RequestHelper, TestApp, TestResponse};

const DRAFT: &str = "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b";
const OTHER: &str = "5b7c1e2a-9d3f-4a6b-8c2e-1f0a9b8c7d6e";

/// The preconditions of a creation and of changes based on versions 1 and 2.
const CREATE: &[(&str, &str)] = &[("if-none-match", "*")];
const IF_1: &[(&str, &str)] = &[("if-match", "\"1\"")];
const IF_2: &[(&str, &str)] = &[("if-match", "\"2\"")];

fn path(id: &str) -> String {
    format!("/api/drafts/{id}")
}

fn draft(title: &str, body: &str) -> Value {
    json!({"title": title, "body": body})
}

/// Puts the draft `id` as `user`, with extra headers (the precondition, a key).
async fn put(
    user: &impl RequestHelper,
    id: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> TestResponse {
    user.put(&path(id), body, extra).await
}

async fn submit(user: &impl RequestHelper, id: &str, extra: &[(&str, &str)]) -> TestResponse {
    let path = format!("{}/submit", path(id));
    user.send(http::Method::POST, &path, None, extra).await
}

async fn list(user: &impl RequestHelper) -> Value {
    let response = user.get("/api/drafts").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

fn etag(response: &TestResponse) -> String {
    response.headers["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn drafts_are_created_updated_and_deleted_with_versions() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let created = put(&ada, DRAFT, draft("Letter", "Dear Ada"), CREATE).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(etag(&created), "\"1\"");
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["id"], DRAFT);
    assert!(created.body["submitted_at"].is_null());

    let listed = list(&ada).await;
    assert_eq!(listed["drafts"][0]["title"], "Letter");
    assert_eq!(listed["settings"]["theme"], "system");

    let updated = put(&ada, DRAFT, draft("Letter", "Dear Ada, hello"), IF_1).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(etag(&updated), "\"2\"");

    let deleted = ada.delete(&path(DRAFT), IF_2).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(list(&ada).await["drafts"], json!([]));
    ada.delete(&path(DRAFT), IF_2)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_carrying_the_current_draft_and_overwrites_nothing() {
    let app = spawn_app().await;
    let phone = app.browser().await;
    let laptop = app.browser().await;
    put(&phone, DRAFT, draft("T", "v1"), CREATE).await;
    put(&phone, DRAFT, draft("T", "from the phone"), IF_1).await;
    let conflict = put(&laptop, DRAFT, draft("T", "from the laptop"), IF_1).await;
    let problem = conflict.assert_problem(412, "edit_conflict");
    let current = problem.current.expect("the current draft");
    assert_eq!(current.version, 2);
    assert_eq!(current.body, "from the phone");
    assert_eq!(list(&laptop).await["drafts"][0]["body"], "from the phone");
    // Creating what exists is a conflict too, never an overwrite.
    put(&laptop, DRAFT, draft("T", "again"), CREATE)
        .await
        .assert_problem(412, "edit_conflict");
}

/// Exactly the preconditions the OpenAPI document states: one of If-None-Match: * and
/// If-Match, a version without padding or leading zeros; anything else is refused, never
/// taken for something else.
#[tokio::test]
async fn preconditions_are_read_exactly_as_documented() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let body = draft("T", "b");
    for (headers, field) in [
        (
            vec![("if-none-match", "*"), ("if-match", "\"1\"")],
            "If-None-Match",
        ),
        (vec![("if-none-match", "\"1\"")], "If-None-Match"),
        (vec![("if-match", "\"01\"")], "If-Match"),
        (vec![("if-match", "\"18446744073709551615\"")], "If-Match"),
    ] {
        let problem = put(&ada, DRAFT, body.clone(), &headers)
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(problem.field.as_deref(), Some(field), "{headers:?}");
    }
    // Nothing was created by any of them.
    let created = put(&ada, DRAFT, body, CREATE).await;
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test]
async fn a_change_must_say_which_version_it_is_based_on() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let problem = put(&ada, DRAFT, draft("T", "b"), &[])
        .await
        .assert_problem(428, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("If-Match"));
    let three = [("if-match", "three")];
    let problem = put(&ada, DRAFT, draft("T", "b"), &three)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("If-Match"));
    let problem = put(&ada, "not-a-uuid", draft("T", "b"), CREATE)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("id"));
}

#[tokio::test]
async fn a_repeated_idempotency_key_gets_the_first_answer_and_applies_once() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let body = draft("Once", "only once");
    let op_1 = [("if-none-match", "*"), ("idempotency-key", "op-1")];
    let first = put(&ada, DRAFT, body.clone(), &op_1).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = put(&ada, DRAFT, body.clone(), &op_1).await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "the first answer, not a conflict"
    );
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    let edit = draft("Once", "edited");
    let op_2 = [("if-match", "\"1\""), ("idempotency-key", "op-2")];
    let updated = put(&ada, DRAFT, edit.clone(), &op_2).await;
    assert_eq!(updated.body["version"], 2);
    for _ in 0..3 {
        let replay = put(&ada, DRAFT, edit.clone(), &op_2).await;
        assert_eq!(replay.status, StatusCode::OK);
        assert_eq!(replay.body["version"], 2);
    }
    assert_eq!(list(&ada).await["drafts"][0]["version"], 2, "applied once");

    // The same key for a different change is refused clearly.
    let problem = put(&ada, DRAFT, draft("Once", "something else"), &op_2)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("Idempotency-Key"));
    put(
        &ada,
        DRAFT,
        edit,
        &[("if-match", "\"2\""), ("idempotency-key", "has space")],
    )
    .await
    .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace = app.sign_in_grace().await;
    let key = [("if-none-match", "*"), ("idempotency-key", "shared-key")];
    let a = put(&ada, DRAFT, draft("Ada", ""), &key).await;
    let g = put(&grace, OTHER, draft("Grace", ""), &key).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    assert!(!g.headers.contains_key("idempotent-replayed"));
}

#[tokio::test]
async fn another_users_draft_is_not_found_and_never_listed() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let grace = app.sign_in_grace().await;
    put(&ada, DRAFT, draft("Ada's", "private"), CREATE).await;
    put(&grace, DRAFT, draft("Mine?", "no"), IF_1)
        .await
        .assert_problem(404, "not_found");
    grace
        .delete(&path(DRAFT), IF_1)
        .await
        .assert_problem(404, "not_found");
    submit(&grace, DRAFT, IF_1)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(list(&grace).await["drafts"], json!([]));
    assert_eq!(list(&ada).await["drafts"][0]["body"], "private");
}

#[tokio::test]
async fn a_submitted_draft_is_read_only_and_listed_as_submitted() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    put(&ada, DRAFT, draft("Report", "done"), CREATE).await;
    let once = [("if-match", "\"1\""), ("idempotency-key", "submit-1")];
    let submitted = submit(&ada, DRAFT, &once).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert!(submitted.body["submitted_at"].is_string());
    assert_eq!(submitted.body["version"], 2);
    // Pressed again with the same key (a replay after signing in again): once.
    let replayed = submit(&ada, DRAFT, &once).await;
    assert_eq!(replayed.body, submitted.body);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    let listed = list(&ada).await;
    assert_eq!(listed["drafts"][0]["version"], 2);
    assert!(listed["drafts"][0]["submitted_at"].is_string());
    let problem = put(&ada, DRAFT, draft("Report", "changed"), IF_2)
        .await
        .assert_problem(409, "draft_submitted");
    assert!(problem.current.is_some_and(|c| c.submitted_at.is_some()));
}

#[tokio::test]
async fn limits_are_enforced_and_name_the_field() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let problem = put(&ada, DRAFT, draft(&"t".repeat(201), ""), CREATE)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("title"));
    let problem = put(&ada, DRAFT, draft("", &"b".repeat(256 * 1024 + 1)), CREATE)
        .await
        .assert_problem(413, "payload_too_large");
    assert_eq!(problem.field.as_deref(), Some("body"));
    let longest = draft(&"t".repeat(200), &"b".repeat(256 * 1024));
    let ok = put(&ada, DRAFT, longest, CREATE).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let problem = put(&ada, OTHER, json!({"title": 5, "body": ""}), CREATE)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("title"));
    let problem = put(&ada, OTHER, json!({"title": "x"}), CREATE)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("body"));

    // At most 1000 drafts an account.
    let user = app
        .state
        .users
        .id_of(&Username::parse("ada").expect("valid"))
        .await
        .expect("db")
        .expect("ada");
    for i in 1..1000 {
        let id = format!("00000000-0000-4000-8000-{i:012x}");
        app.state
            .work
            .apply(
                user,
                vigil_server::work::Operation::PutDraft {
                    id,
                    input: vigil::work::DraftInput {
                        title: String::new(),
                        body: String::new(),
                    },
                    precondition: vigil::work::Precondition::Absent,
                },
                None,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .expect("stored");
    }
    let problem = put(&ada, OTHER, draft("one too many", ""), CREATE)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("drafts"));
}

#[tokio::test]
async fn bodies_must_be_json() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let request = http::Request::put(path(DRAFT))
        .header("cookie", &ada.cookie)
        .header("if-none-match", "*")
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(r#"{"title":"t","body":"b"}"#))
        .expect("request");
    app.request(request)
        .await
        .assert_problem(415, "unsupported_media_type");
    let request = http::Request::put(path(DRAFT))
        .header("cookie", &ada.cookie)
        .header("if-none-match", "*")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"title": "#))
        .expect("request");
    let problem = app
        .request(request)
        .await
        .assert_problem(400, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("body"));
}

#[tokio::test]
async fn settings_are_saved_to_the_account() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let saved = ada
        .put(
            "/api/settings",
            json!({"theme": "dark", "text_size": "large"}),
            &[],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let elsewhere = app.browser().await;
    assert_eq!(
        list(&elsewhere).await["settings"],
        json!({"theme": "dark", "text_size": "large"})
    );
    let problem = ada
        .put(
            "/api/settings",
            json!({"theme": "pink", "text_size": "large"}),
            &[],
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(problem.field.as_deref(), Some("theme"));
}

#[tokio::test]
async fn api_clients_with_a_bearer_token_can_do_all_of_it() {
    let app = spawn_app().await;
    let curl = app.api_client().await;
    let created = put(&curl, DRAFT, draft("API", "by curl"), CREATE).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let listed = curl.get("/api/drafts").await;
    assert_eq!(listed.body["drafts"][0]["title"], "API");
    let submitted = submit(&curl, DRAFT, IF_1).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
}

#[tokio::test]
async fn a_cross_site_change_is_refused() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let cross_site = [("if-none-match", "*"), ("sec-fetch-site", "cross-site")];
    put(&ada, DRAFT, draft("t", "b"), &cross_site)
        .await
        .assert_problem(403, "csrf_rejected");
    assert_eq!(list(&ada).await["drafts"], json!([]));
}

#[tokio::test]
async fn reading_never_moves_the_deadline_and_changes_do() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let deadline = |response: &TestResponse| {
        response.headers["vigil-idle-expires-at"]
            .to_str()
            .unwrap_or_default()
            .to_owned()
    };
    let first = ada.get("/api/drafts").await;
    app.advance(Duration::minutes(5));
    let read = ada.get("/api/drafts").await;
    assert_eq!(deadline(&read), deadline(&first), "a read is not activity");
    let saved = put(&ada, DRAFT, draft("t", "b"), CREATE).await;
    assert_eq!(saved.status, StatusCode::CREATED);
    let info = ada.session_info().await;
    assert_eq!(
        info.time("idle_expires_at"),
        info.time("server_now") + Duration::minutes(30)
    );
    assert_eq!(
        deadline(&saved),
        info.body["idle_expires_at"].as_str().unwrap_or_default()
    );
}

#[tokio::test]
async fn typing_continuously_costs_at_most_one_session_write_per_heartbeat() {
    let app = TestApp::builder().instrumented().build().await;
    let store = app.store_probe();
    let ada = app.browser().await;
    let after_sign_in = store.writes();
    put(&ada, DRAFT, draft("t", ""), CREATE).await;
    // Five heartbeat intervals (60 s) of autosaves every two seconds.
    for (version, i) in (1..).zip(0..150) {
        app.advance(Duration::seconds(2));
        let based_on = format!("\"{version}\"");
        let saved = put(
            &ada,
            DRAFT,
            draft("t", &"x".repeat(i)),
            &[("if-match", &based_on)],
        )
        .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let writes = store.writes() - after_sign_in;
    assert!(
        writes <= 6,
        "{writes} session writes in five heartbeat intervals"
    );
    assert!(writes >= 4, "activity is still recorded ({writes} writes)");
    // The session is alive well past the idle timeout that would have ended it otherwise.
    assert_eq!(ada.session_info().await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_ended_session_stores_nothing() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    put(&ada, DRAFT, draft("t", "kept"), CREATE).await;
    app.advance(Duration::minutes(31));
    let late = [("if-match", "\"1\""), ("idempotency-key", "late")];
    put(&ada, DRAFT, draft("t", "lost?"), &late)
        .await
        .assert_problem(401, "session_expired");
    let revoked = app.browser().await;
    revoked.logout().await;
    put(&revoked, DRAFT, draft("t", "lost?"), IF_1)
        .await
        .assert_problem(401, "session_revoked");
    let fresh = app.browser().await;
    assert_eq!(list(&fresh).await["drafts"][0]["body"], "kept");
    // The refused change, replayed with its key after signing in again, applies once.
    let replay = put(&fresh, DRAFT, draft("t", "lost?"), &late).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    assert!(!replay.headers.contains_key("idempotent-replayed"));
    assert_eq!(list(&fresh).await["drafts"][0]["body"], "lost?");
}

#[tokio::test]
async fn drafts_come_in_pages_newest_first_with_the_settings_on_the_first() {
    let app = spawn_app().await;
    let ada = app.browser().await;
    let id = |k: usize| format!("0f8e6a2c-4b1d-4e8f-9a3b-{k:012}");
    for k in 0..7 {
        app.advance(Duration::seconds(1));
        let created = put(&ada, &id(k), draft(&format!("Draft {k}"), "text"), CREATE).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let page = |query: String| {
        let ada = &ada;
        async move { ada.get(&format!("/api/drafts{query}")).await }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["drafts"]
            .as_array()
            .map(|drafts| {
                drafts
                    .iter()
                    .filter_map(|d| d["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let first = page("?limit=3".into()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(ids(&first.body), vec![id(6), id(5), id(4)]);
    assert!(first.body["settings"].is_object(), "{}", first.body);
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("more follow")
        .to_owned();
    // A draft changed between pages neither moves nor repeats.
    put(&ada, &id(5), draft("changed", "text"), IF_1).await;
    let second = page(format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(ids(&second.body), vec![id(3), id(2), id(1)]);
    assert!(second.body.get("settings").is_none(), "{}", second.body);
    let cursor = second.body["next_cursor"]
        .as_str()
        .expect("more follow")
        .to_owned();
    let last = page(format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(ids(&last.body), vec![id(0)]);
    assert!(last.body.get("next_cursor").is_none(), "{}", last.body);
    // Without a limit: up to 50.
    let all = page(String::new()).await;
    assert_eq!(ids(&all.body).len(), 7);
    assert!(all.body.get("next_cursor").is_none());
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=many", "limit"),
        ("?cursor=zz", "cursor"),
        ("?cursor=3a", "cursor"),
    ] {
        let refused = page(query.into()).await;
        let problem = refused.assert_problem(422, "validation_failed");
        assert_eq!(problem.field.as_deref(), Some(field), "{query}");
    }
}
