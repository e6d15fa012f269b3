//! The OpenAPI document against the router: every API route the router has is documented
//! with exactly the methods it answers, and every documented operation is routed.

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use serde_json::Value;
use vigil_server::startup::api_paths;

use crate::helpers::*;

/// The paths of the API namespace: what the document must cover. Pages, files and the
/// test hooks are not API.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/health/") || path == "/metrics"
}

/// Every API path the server routes, as the router is made from them.
fn routed_paths(app: &TestApp) -> BTreeSet<String> {
    api_paths(&app.state.settings)
        .into_iter()
        .filter(|path| is_api(path))
        .collect()
}

/// The document's operations: path → methods.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(method, _)| method.to_ascii_uppercase())
                .filter(|m| ["GET", "PUT", "POST", "DELETE", "PATCH"].contains(&m.as_str()))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// A concrete path for a template (the draft-id pattern for `{id}`).
fn concrete(path: &str) -> String {
    path.replace("{id}", "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b")
}

#[tokio::test]
async fn every_route_is_documented_with_the_methods_it_answers() {
    let app = spawn_app().await;
    let doc = app.send(Method::GET, "/api/openapi.json", None, &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let documented = documented(&doc.body);

    let routed = routed_paths(&app);
    let paths: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        routed, paths,
        "routed paths (left) and documented paths (right) differ"
    );

    // The methods of each path, as the router states them when asked with one it does not
    // answer: 405 with `Allow` (signed in, so the session layer lets the request reach it).
    let token = app.login().await.session_cookie().expect("signed in");
    for (path, methods) in &documented {
        let probe = Method::from_bytes(b"PROBE").expect("a method");
        let answer = app
            .send(probe, &concrete(path), None, &[("cookie", token.as_str())])
            .await;
        assert_eq!(answer.status, 405, "{path}: {}", answer.body);
        let allowed: BTreeSet<String> = answer
            .header(http::header::ALLOW)
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        assert_eq!(
            &allowed, methods,
            "{path}: routed (left), documented (right)"
        );
    }
}

#[tokio::test]
async fn the_browser_paths_and_every_problem_are_in_the_document() {
    let app = spawn_app().await;
    let doc = app.send(Method::GET, "/api/openapi.json", None, &[]).await;
    let documented = documented(&doc.body);
    for path in [
        vigil::work::DRAFTS_PATH,
        vigil::work::SETTINGS_PATH,
        vigil::sessions::SESSIONS_PATH,
        vigil::sessions::REVOKE_OTHERS_PATH,
        vigil::sessions::PASSWORD_PATH,
    ] {
        assert!(documented.contains_key(path), "{path} is not documented");
    }
    // Every code the server sends appears in some documented answer.
    let text = doc.body.to_string();
    for code in vigil::ErrorCode::ALL {
        let sent_only_by_fallbacks = matches!(
            code,
            vigil::ErrorCode::NetworkError
                | vigil::ErrorCode::InternalError
                | vigil::ErrorCode::MethodNotAllowed
                | vigil::ErrorCode::NotFound
        );
        if !sent_only_by_fallbacks {
            assert!(
                text.contains(&format!("\"{}\"", code.as_str())),
                "{code} is in no documented answer"
            );
        }
    }
    // Secured operations name both schemes; sign-in does not.
    let security = |path: &str| doc.body["paths"][path]["post"]["security"].clone();
    assert_eq!(
        security("/api/auth/session-info"),
        serde_json::json!([{"session_cookie": []}, {"bearer": []}])
    );
    assert!(security("/api/auth/login").is_null());
    // Problems are problem+json, narrowed to their codes.
    let expired =
        &doc.body["paths"]["/api/auth/session-info"]["post"]["responses"]["401"]["content"];
    let codes = &expired["application/problem+json"]["schema"]["allOf"][1]["properties"]
        ["error_code"]["enum"];
    assert!(codes
        .as_array()
        .is_some_and(|c| c.contains(&"session_expired".into())));
}

/// Every `$ref` in `value`, wherever it stands.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (name.as_str(), member) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_document_resolves() {
    let app = spawn_app().await;
    let doc = app
        .send(Method::GET, "/api/openapi.json", None, &[])
        .await
        .body;
    let mut found = Vec::new();
    references(&doc, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let path = target.trim_start_matches("#/");
        let resolved = path.split('/').try_fold(&doc, |node, step| node.get(step));
        assert!(resolved.is_some(), "`{target}` resolves to nothing");
    }
}
