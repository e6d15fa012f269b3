//! The one layer that authenticates every protected request.
//!
//! Each API path is classified in [`access_for`]; anything under `/api/` that is not listed
//! as public requires a session (fail closed). A verified request carries
//! [`Authenticated`] in its extensions for the handler, and its response carries the
//! session's deadline headers.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use vigil::{Deadlines, ErrorCode, Phase, Problem};

use crate::http::problem::{is_state_changing, problem_response, ApiProblem, ProblemContext};
use crate::session::cookies;
use crate::session::ClientRequest;
use crate::session::{AuthError, Authenticated, CredentialKind, Presented};
use crate::state::AppState;

/// The idle deadline of the session, RFC 3339, on every authenticated response.
pub const IDLE_EXPIRES_HEADER: HeaderName = HeaderName::from_static("vigil-idle-expires-at");
/// Present once the deadline is within the warning period: seconds left.
pub const WARNING_HEADER: HeaderName = HeaderName::from_static("vigil-session-warning");
/// The optional client fingerprint a session can be bound to at sign-in.
pub const FINGERPRINT_HEADER: HeaderName = HeaderName::from_static("x-client-fingerprint");

const LOGOUT_PATH: &str = "/api/auth/logout";

/// What a request requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed (sign-in, public policy, pages, assets).
    Public,
    /// A live session. `accepts_expired_token` lets refresh exchange a token past its `exp`.
    Session {
        accepts_expired_token: bool,
        activity: Activity,
    },
}

/// Whether a request counts as the user's activity (SPEC §2, activity classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Reading, polling, background: never moves the idle deadline.
    Passive,
    /// A change the user made (saving, submitting, deleting): a success moves the idle
    /// deadline, coalesced to one store write per heartbeat interval.
    UserDriven,
}

/// The session endpoints decide activity themselves (refresh extends, the rest do not);
/// every other API request is user-driven exactly when it changes state.
pub fn access_for(method: &Method, path: &str) -> Access {
    match path {
        "/api/auth/login"
        | "/api/auth/token"
        | vigil::passkeys::SIGN_IN_PATH
        | vigil::passkeys::SIGN_IN_OPTIONS_PATH
        | "/api/auth/policy"
        | "/api/openapi.json" => Access::Public,
        // Refresh exchanges a token past its own `exp`; sign-out ends the session with one
        // (nobody should have to refresh in order to sign out).
        "/api/auth/refresh" | LOGOUT_PATH => Access::Session {
            accepts_expired_token: true,
            activity: Activity::Passive,
        },
        p if p.starts_with("/api/auth/") => Access::Session {
            accepts_expired_token: false,
            activity: Activity::Passive,
        },
        p if p.starts_with("/api/") => Access::Session {
            accepts_expired_token: false,
            activity: if is_state_changing(method) {
                Activity::UserDriven
            } else {
                Activity::Passive
            },
        },
        _ => Access::Public,
    }
}

/// The presented token: a bearer header wins over the cookie, as API clients never rely on
/// ambient cookies.
pub fn credential(headers: &HeaderMap) -> Result<(&str, CredentialKind), AuthError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(vigil::token::bearer_token)
            .ok_or(AuthError::Invalid)?;
        return Ok((token, CredentialKind::Bearer));
    }
    cookies::session_cookie(headers)
        .map(|token| (token, CredentialKind::Cookie))
        .ok_or(AuthError::Unauthenticated)
}

/// The session cookie a browser's request presents, for the places where only the cookie
/// counts (a page, signing in again over the browser's own session).
pub fn presented_cookie(request: &Parts) -> Option<Presented<'_>> {
    Some(Presented {
        token: cookies::session_cookie(&request.headers)?,
        credential: CredentialKind::Cookie,
        fingerprint: fingerprint(&request.headers),
        client: ClientRequest::of(request),
    })
}

pub fn fingerprint(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(FINGERPRINT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub async fn require_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Access::Session {
        accepts_expired_token,
        activity,
    } = access_for(request.method(), request.uri().path())
    else {
        return next.run(request).await;
    };
    let sessions = &state.sessions;
    let verdict = match credential(request.headers()) {
        Ok((token, kind)) => {
            let presented = Presented {
                token,
                credential: kind,
                fingerprint: fingerprint(request.headers()),
                client: ClientRequest {
                    headers: request.headers(),
                    extensions: request.extensions(),
                },
            };
            sessions
                .authenticate(presented, accepts_expired_token)
                .await
        }
        Err(err) => Err(err),
    };
    match verdict {
        Ok(auth) => {
            let mut record = (activity == Activity::UserDriven).then(|| auth.record.clone());
            let mut deadlines = auth.record.deadlines(sessions.policy_of(&auth.record));
            // Shared, not copied: the server-function layer clones the request parts twice.
            request.extensions_mut().insert(Arc::new(auth));
            let mut response = next.run(request).await;
            if let Some(record) = record.take().filter(|_| response.status().is_success()) {
                // Boxed: only changes write, and its future would enlarge every request's.
                match Box::pin(sessions.record_activity(record)).await {
                    Ok(touched) => deadlines = touched.deadlines(sessions.policy_of(&touched)),
                    // The change itself succeeded; the deadline lags until the next one.
                    Err(err) => tracing::warn!(error = %err, "could not record activity"),
                }
            }
            if !response.headers().contains_key(IDLE_EXPIRES_HEADER) {
                // As of the answer, not the verdict: the handler may have waited on a store.
                deadline_headers(&deadlines, sessions.now(), response.headers_mut());
            }
            response
        }
        Err(err) => {
            if let AuthError::Store(e) = &err {
                tracing::error!(error = %e, "session store unavailable");
            }
            let context = ProblemContext::of(&request);
            let mut response = problem_response(Problem::from(&err), &context);
            // Signing out of a session that has already ended still has to remove the
            // HttpOnly cookie, which page script cannot. (Not on a store outage: the session
            // may still be alive, and the browser keeps trying.)
            if request.uri().path() == LOGOUT_PATH && !matches!(err, AuthError::Store(_)) {
                cookies::end_browser_session(response.headers_mut());
            }
            response
        }
    }
}

/// The session [`require_session`] verified for this request, if it did.
pub fn authenticated(parts: &Parts) -> Option<&Arc<Authenticated>> {
    parts.extensions.get::<Arc<Authenticated>>()
}

/// The verified session of the request, as [`require_session`] left it, for handlers.
pub struct CurrentSession(pub Arc<Authenticated>);

/// Only the signed-in user's id (no copy of the session).
pub struct CurrentUser(pub i64);

/// The session the layer verified; refused (never served) if the router lost the layer.
fn verified(parts: &Parts) -> Result<&Arc<Authenticated>, ApiProblem> {
    authenticated(parts).ok_or_else(|| no_session().into())
}

/// Only reachable if the router lost this layer: refuse, never serve.
pub fn no_session() -> Problem {
    Problem::new(
        ErrorCode::Unauthenticated,
        "This endpoint requires a session.",
    )
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        verified(parts).map(|auth| Self(Arc::clone(auth)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        verified(parts).map(|auth| Self(auth.record.user.id))
    }
}

/// Writes the deadline headers for a session with `deadlines` as of `now`.
pub fn deadline_headers(deadlines: &Deadlines, now: time::OffsetDateTime, headers: &mut HeaderMap) {
    if let Some(value) = vigil::timestamp::format(deadlines.idle_expires_at)
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(IDLE_EXPIRES_HEADER, value);
    }
    if let Phase::Warning { remaining, .. } = deadlines.phase_at(now) {
        headers.insert(
            WARNING_HEADER,
            HeaderValue::from(remaining.whole_seconds().max(0)),
        );
    } else {
        headers.remove(WARNING_HEADER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_api_paths_fail_closed() {
        let post = Method::POST;
        assert_eq!(access_for(&post, "/api/auth/login"), Access::Public);
        assert_eq!(
            access_for(&post, "/api/auth/session-info"),
            Access::Session {
                accepts_expired_token: false,
                activity: Activity::Passive,
            }
        );
        assert_eq!(
            access_for(&post, "/api/whatever"),
            Access::Session {
                accepts_expired_token: false,
                activity: Activity::UserDriven,
            }
        );
        assert_eq!(access_for(&Method::GET, "/login"), Access::Public);
    }

    #[test]
    fn reading_work_is_passive_and_changing_it_is_activity() {
        let activity = |method: Method| match access_for(&method, "/api/drafts") {
            Access::Session { activity, .. } => Some(activity),
            Access::Public => None,
        };
        assert_eq!(activity(Method::GET), Some(Activity::Passive));
        assert_eq!(activity(Method::PUT), Some(Activity::UserDriven));
        assert_eq!(activity(Method::DELETE), Some(Activity::UserDriven));
    }

    #[test]
    fn bearer_wins_and_malformed_headers_are_invalid() {
        let mut headers = HeaderMap::new();
        assert!(matches!(
            credential(&headers),
            Err(AuthError::Unauthenticated)
        ));
        headers.insert(
            http::header::COOKIE,
            HeaderValue::from_static("__Host-vigil-session=c"),
        );
        assert!(matches!(credential(&headers), Ok((t, CredentialKind::Cookie)) if t == "c"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert!(matches!(credential(&headers), Ok((t, CredentialKind::Bearer)) if t == "b"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert!(matches!(credential(&headers), Err(AuthError::Invalid)));
    }
}
