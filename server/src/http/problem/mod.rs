//! Every error on the API leaves as an RFC 9457 `application/problem+json` response.
//!
//! Problems raised before a handler (authentication) are built here directly; problems that
//! a server function returns (or that the framework raises while decoding its input) are
//! rewritten here by [`normalize_api`], so all of them carry the same members and headers.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use time::OffsetDateTime;
use vigil::problem::PROBLEM_CONTENT_TYPE;
use vigil::{ErrorCode, Problem};

mod from;
mod normalize;

pub use from::{refusal, store_unavailable, STORE_RETRY_AFTER_SECS};
pub use normalize::normalize_api;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The same name parsed once: looking a header up by text parses the name on every call.
pub const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Whether a request may change state (everything but reading).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// A problem returned by a handler, with the cause behind it for the log. Conversions only
/// describe (see `from.rs`); [`normalize_api`] renders the problem complete (instance,
/// request id, timestamp) and logs the cause, once, as the answer leaves.
#[derive(Debug)]
pub struct ApiProblem {
    problem: Box<Problem>,
    cause: Option<String>,
}

impl ApiProblem {
    /// A problem whose cause the operators should read in the log.
    pub fn caused_by(problem: Problem, cause: impl std::fmt::Display) -> Self {
        Self {
            problem: Box::new(problem),
            cause: Some(cause.to_string()),
        }
    }

    /// The problem, its cause logged: for the server functions, whose errors leave as
    /// encoded problems rather than through [`IntoResponse`].
    pub fn into_logged(self) -> Problem {
        if let Some(cause) = &self.cause {
            log_cause(&self.problem, cause, self.problem.instance.as_deref());
        }
        *self.problem
    }
}

impl From<Problem> for ApiProblem {
    fn from(problem: Problem) -> Self {
        Self {
            problem: Box::new(problem),
            cause: None,
        }
    }
}

/// The cause of a problem response, carried to [`normalize_api`] to be logged.
#[derive(Debug, Clone)]
struct Cause(std::sync::Arc<str>);

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(std::sync::Arc::<Problem>::from(self.problem));
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(Cause(cause.into()));
        }
        response
    }
}

/// The one place causes are logged: errors of the server itself as errors, the rest (an
/// overloaded password check) as warnings.
fn log_cause(problem: &Problem, cause: &str, path: Option<&str>) {
    let code = problem.error_code.as_str();
    if problem.status >= 500 && problem.error_code != ErrorCode::Overloaded {
        tracing::error!(code, path, cause, "request failed");
    } else {
        tracing::warn!(code, path, cause, "request refused");
    }
}

/// Where a problem occurred, for its `instance` and `request_id` members. Holds cheap
/// reference-counted copies; text is made only if a problem is actually rendered.
#[derive(Debug, Clone)]
pub struct ProblemContext {
    pub uri: http::Uri,
    pub request_id: Option<HeaderValue>,
}

impl ProblemContext {
    pub fn of(request: &Request) -> Self {
        Self {
            uri: request.uri().clone(),
            request_id: request.headers().get(REQUEST_ID).cloned(),
        }
    }
}

/// Renders a problem with every member filled in and the headers its code calls for.
pub fn problem_response(mut problem: Problem, context: &ProblemContext) -> Response {
    problem
        .instance
        .get_or_insert_with(|| context.uri.path().to_owned());
    if problem.request_id.is_none() {
        problem.request_id = context
            .request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    }
    if problem.timestamp.is_none() {
        problem.timestamp = vigil::timestamp::format(OffsetDateTime::now_utc());
    }
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(WWW_AUTHENTICATE, www_authenticate(problem.error_code));
    }
    if let Some(seconds) = problem.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The RFC 6750 challenge: no `error` attribute when no credentials were sent at all.
fn www_authenticate(code: ErrorCode) -> HeaderValue {
    let value = match code {
        ErrorCode::Unauthenticated => r#"Bearer realm="vigil""#.to_owned(),
        // A sign-in refused: no token was presented, so none is called invalid.
        ErrorCode::InvalidCredentials | ErrorCode::PasskeyRejected => format!(
            r#"Bearer realm="vigil", error="invalid_request", error_description="{}""#,
            code.as_str()
        ),
        other => format!(
            r#"Bearer realm="vigil", error="invalid_token", error_description="{}""#,
            other.as_str()
        ),
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer realm="vigil""#))
}
