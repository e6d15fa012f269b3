//! Who is sent where: a page that needs a session, asked for without a session cookie, is
//! answered by the server (`303` to sign in, naming the page to come back to); the public
//! pages render for anyone; with a cookie, the page renders and the browser decides.

use http::header::{CACHE_CONTROL, COOKIE, LOCATION};
use http::{Method, StatusCode};

use crate::helpers::{spawn_app, TestApp, TestResponse};

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.send_raw(Method::GET, path, None, headers).await
}

#[tokio::test]
async fn a_page_that_needs_a_session_sends_a_visitor_without_one_to_sign_in() {
    let app = spawn_app().await;
    for (page, location) in [
        ("/", "/login"),
        ("/sessions", "/login?next=%2Fsessions"),
        ("/account", "/login?next=%2Faccount"),
        ("/sessions?view=all", "/login?next=%2Fsessions%3Fview%3Dall"),
    ] {
        let response = get(&app, page, &[]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(response.header(LOCATION), Some(location), "{page}");
        assert_eq!(response.header(CACHE_CONTROL), Some("no-store"), "{page}");
        // A `HEAD` is answered the same way.
        let head = app.send_raw(Method::HEAD, page, None, &[]).await;
        assert_eq!(head.status, StatusCode::SEE_OTHER, "HEAD {page}");
    }
    // Other cookies are not a session.
    let response = get(&app, "/", &[(COOKIE.as_str(), "theme=dark")]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_page_to_come_back_to_leads_back_after_signing_in() {
    let app = spawn_app().await;
    let response = get(&app, "/account", &[]).await;
    let location = response.header(LOCATION).expect("a redirect");
    let next = location.split_once("next=").expect("names the page").1;
    let decoded = percent_encoding::percent_decode_str(next).decode_utf8_lossy();
    assert_eq!(
        vigil::return_path::after_sign_in(Some(&decoded)),
        "/account"
    );
}

#[tokio::test]
async fn public_pages_render_for_anyone() {
    let app = spawn_app().await;
    for page in [
        "/login",
        "/login?next=%2Fsessions",
        "/problems/session_expired",
    ] {
        let response = get(&app, page, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{page}");
    }
}

#[tokio::test]
async fn with_a_cookie_the_page_renders_even_for_an_ended_session() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    for page in ["/", "/sessions", "/account"] {
        let response = get(&app, page, &[(COOKIE.as_str(), &browser.cookie)]).await;
        assert_eq!(response.status, StatusCode::OK, "{page}");
    }
    // A cookie the server no longer honours still renders: the page's machine finds the
    // session ended and offers signing in again in place, keeping the work.
    let stale = "__Host-vigil-session=not-a-token";
    let response = get(&app, "/", &[(COOKIE.as_str(), stale)]).await;
    assert_eq!(response.status, StatusCode::OK);
}
