//! Pages that need a session, asked for without a session cookie, are answered by the
//! server: `303` to the sign-in page, naming the page to come back to. The server knows
//! there is no session; a page waiting for its script to find that out would show nothing
//! useful until then, and nothing at all if the script never loads.
//!
//! With a cookie, the page is rendered: whether that session is still alive is the browser
//! machine's question to ask (an ended session keeps its work and offers signing in again in
//! place, SPEC §4), not a redirect's.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use vigil::return_path::{needs_session, MAX_LEN, NEXT_PARAM, SIGN_IN_PATH};

use crate::session::cookies;

/// Layered on the page routes only (`startup::routes`).
pub async fn redirect_without_session(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads || !needs_session(path) || cookies::session_cookie(request.headers()).is_some() {
        return next.run(request).await;
    }
    let location = match request.uri().path_and_query().map(|p| p.as_str()) {
        None | Some("/") => SIGN_IN_PATH.to_owned(),
        Some(page) if page.len() > MAX_LEN => SIGN_IN_PATH.to_owned(),
        Some(page) => format!(
            "{SIGN_IN_PATH}?{NEXT_PARAM}={}",
            utf8_percent_encode(page, NON_ALPHANUMERIC)
        ),
    };
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // Percent-encoded text is always a valid header value; render the page otherwise.
        Err(_) => next.run(request).await,
    }
}
