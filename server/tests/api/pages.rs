//! Who is sent where: a page that needs a session, asked for without a session cookie, is
//! answered by the server (`303` to sign in, naming the page to come back to); the public
//! pages render for anyone; with a cookie, the page renders, from the session and the
//! account when the session is live (`vigil::boot`), and otherwise for the browser to decide.

use http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use http::{Method, StatusCode};
use time::Duration;
use vigil::boot::{Boot, BOOT_ELEMENT_ID};

use crate::helpers::{spawn_app, RequestHelper, TestApp, TestResponse};

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

/// The record a rendered page carries, if any.
fn boot_of(page: &TestResponse) -> Option<Boot> {
    let html = page.body.as_str().expect("an HTML page");
    let open = format!("<script type=\"application/json\" id=\"{BOOT_ELEMENT_ID}\">");
    let start = html.find(&open)? + open.len();
    let end = start + html[start..].find("</script>").expect("the element ends");
    Some(Boot::from_script(&html[start..end]).expect("a record the browser can read"))
}

const DRAFT: &str = "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b";

#[tokio::test]
async fn a_page_of_a_live_session_is_rendered_with_the_session_and_the_account() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let title = "Letter </script><script>alert(1)</script>";
    browser.create_draft(DRAFT, title, "Dear Ada <!--").await;
    let info = browser.session_info().await;
    for page in ["/", "/sessions", "/account"] {
        let response = get(&app, page, &[(COOKIE.as_str(), &browser.cookie)]).await;
        assert_eq!(response.status, StatusCode::OK, "{page}");
        assert_eq!(response.header(CACHE_CONTROL), Some("no-store"), "{page}");
        let boot = boot_of(&response).unwrap_or_else(|| panic!("{page} carries its record"));
        // What the browser machine would have asked for: the same session, the same account.
        assert_eq!(boot.session.user.username, "ada");
        assert_eq!(boot.session.session_id, info.body["session_id"], "{page}");
        assert_eq!(boot.session.idle_expires_at, info.time("idle_expires_at"));
        assert_eq!(boot.work.drafts.len(), 1);
        assert_eq!(boot.work.drafts[0].title, title);
        assert_eq!(boot.work.drafts[0].body, "Dear Ada <!--");
    }
    // The workspace itself is rendered with the drafts, as text.
    let page = get(&app, "/", &[(COOKIE.as_str(), &browser.cookie)]).await;
    let html = page.body.as_str().unwrap_or_default();
    assert!(html.contains("Letter &lt;/script&gt;"), "{html}");
    assert!(!html.contains("Checking your session"));

    // Several drafts come in the order the machine gathers them: the pages of
    // `GET /api/drafts` (newest first) reversed.
    for (id, title) in [
        ("5b7c1e2a-9d3f-4a6b-8c2e-1f0a9b8c7d6e", "Second"),
        ("8d2f4a6c-1e3b-4c5d-9a7e-2b4c6d8e0f1a", "Third"),
    ] {
        browser.create_draft(id, title, "").await;
        app.advance(Duration::seconds(1));
    }
    let listed = browser.get("/api/drafts").await.body["drafts"]
        .as_array()
        .expect("a page of drafts")
        .iter()
        .rev()
        .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    let page = get(&app, "/", &[(COOKIE.as_str(), &browser.cookie)]).await;
    let booted = boot_of(&page).expect("a record").work.drafts;
    assert_eq!(
        booted.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        listed
    );
}

#[tokio::test]
async fn rendering_a_page_from_the_session_extends_and_rotates_nothing() {
    let app = spawn_app().await;
    let browser = app.browser().await;
    let before = browser.session_info().await.time("idle_expires_at");
    app.advance(Duration::minutes(5));
    let page = get(&app, "/", &[(COOKIE.as_str(), &browser.cookie)]).await;
    assert!(boot_of(&page).is_some());
    assert_eq!(page.header(SET_COOKIE), None);
    let after = browser.session_info().await.time("idle_expires_at");
    assert_eq!(before, after);
}

#[tokio::test]
async fn only_a_live_session_with_an_unexpired_token_renders_a_page_from_it() {
    let app = spawn_app().await;
    // Not a token.
    let stale = "__Host-vigil-session=not-a-token";
    let page = get(&app, "/", &[(COOKIE.as_str(), stale)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(boot_of(&page).is_none());
    assert!(page
        .body
        .as_str()
        .unwrap_or_default()
        .contains("Checking your session"));

    // A token past its own expiry, of a session still alive: the browser refreshes first.
    let browser = app.browser().await;
    browser.outlive_token().await;
    browser.assert_session_refused("token_expired").await;
    let page = get(&app, "/", &[(COOKIE.as_str(), &browser.cookie)]).await;
    assert!(
        boot_of(&page).is_none(),
        "an expired token renders nothing of the account"
    );

    // A session past its idle deadline, and one signed out.
    let idle = app.browser().await;
    app.advance(Duration::hours(2));
    let page = get(&app, "/", &[(COOKIE.as_str(), &idle.cookie)]).await;
    assert!(boot_of(&page).is_none());
    let signed_out = app.browser().await;
    assert_eq!(signed_out.logout().await.status, StatusCode::OK);
    let page = get(&app, "/", &[(COOKIE.as_str(), &signed_out.cookie)]).await;
    assert!(boot_of(&page).is_none());
    assert!(!page.body.as_str().unwrap_or_default().contains("Dear"));
}
