//! Every problem `type` is a page of the app that explains the cause and the way out.

use axum::body::{to_bytes, Body};
use http::{Request, StatusCode};
use tower::ServiceExt;
use vigil::ErrorCode;

use crate::helpers::spawn_app;

async fn page(app: &crate::helpers::TestApp, path: &str) -> (StatusCode, String) {
    let response = app
        .router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The text as server rendering escapes it.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

#[tokio::test]
async fn every_problem_type_uri_is_a_page_with_cause_and_resolution() {
    let app = spawn_app().await;
    for code in ErrorCode::ALL {
        let (status, html) = page(&app, &code.type_uri()).await;
        assert_eq!(status, StatusCode::OK, "{}", code.type_uri());
        let (for_people, for_clients) = code.resolution();
        for text in [
            code.title(),
            code.explanation(),
            for_people,
            for_clients,
            code.as_str(),
        ] {
            let escaped = html_escaped(text);
            assert!(
                html.contains(text) || html.contains(&escaped),
                "{} lacks {text:?}",
                code.type_uri()
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_problem_type_is_not_found() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/problems/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Unknown problem type"));
}

#[tokio::test]
async fn the_sign_in_page_states_the_inactivity_limit() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("30 minutes"),
        "the limit is stated before sign-in"
    );
    // Server rendering marks text boundaries with `<!>`; what a reader sees has none.
    let text = html.replace("<!>", "");
    let kept = format!(
        "kept encrypted in this browser for {} ",
        app::session_context::human_duration(vigil::preserved::RETENTION.whole_seconds())
    );
    assert!(
        text.contains(&kept),
        "so is how long drafts are kept: {kept}"
    );
}
