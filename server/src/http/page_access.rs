//! Pages that need a session, asked for without a session cookie, are answered by the
//! server: `303` to the sign-in page, naming the page to come back to. The server knows
//! there is no session; a page waiting for its script to find that out would show nothing
//! useful until then, and nothing at all if the script never loads.
//!
//! With a cookie, the page is rendered. When the cookie's session is alive and its token
//! unexpired, the page is rendered from it: the session and the account go into the request
//! as its [`Boot`] record, so the workspace paints with the user's drafts before any script
//! runs (and the browser machine starts from the same answers). Anything else (an ended
//! session, a token past its `exp`, a store that does not answer) renders the page as
//! before, and the browser machine asks: an ended session keeps its work and offers signing
//! in again in place (SPEC §4), which a redirect could not. Reading the session here is a
//! read like `session-info`: it extends nothing and rotates nothing.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, LOCATION};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use vigil::boot::Boot;
use vigil::return_path::{needs_session, MAX_LEN, NEXT_PARAM, SIGN_IN_PATH};

use super::auth::presented_cookie;
use crate::session::cookies;
use crate::state::AppState;

/// Layered on the page routes only (`startup::routes`).
pub async fn page_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads || !needs_session(path) {
        return next.run(request).await;
    }
    if cookies::session_cookie(request.headers()).is_some() {
        if request.method() != Method::GET {
            return next.run(request).await;
        }
        let (mut parts, body) = request.into_parts();
        if let Some(boot) = boot(&state, &parts).await {
            parts.extensions.insert(Arc::new(boot));
        }
        return next.run(Request::from_parts(parts, body)).await;
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

/// The page's session and account, if its cookie's session is alive with an unexpired token
/// (`require_session`'s verdict for an API read: no other credential counts on a page).
async fn boot(state: &AppState, request: &Parts) -> Option<Boot> {
    let auth = match state
        .sessions
        .authenticate(presented_cookie(request)?, false)
        .await
    {
        Ok(auth) => auth,
        Err(err) => {
            tracing::debug!(error = %err, "page rendered without its session");
            return None;
        }
    };
    let work = match state.work.snapshot(auth.record.user.id).await {
        Ok(work) => work,
        Err(err) => {
            tracing::warn!(error = %err, "page rendered without the account's work");
            return None;
        }
    };
    // As of now, not the verdict: the answer's instant is when it was read (`session-info`).
    let session = state.sessions.info_at(&auth.record, state.sessions.now());
    Some(Boot { session, work })
}
