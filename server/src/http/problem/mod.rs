//! Every error on the API leaves as an RFC 9457 `application/problem+json` response.
//!
//! Problems raised before a handler (authentication) are built here directly; problems that
//! a server function returns (or that the framework raises while decoding its input) are
//! rewritten here by [`normalize_api`], so all of them carry the same members and headers.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use time::OffsetDateTime;
use vigil::problem::PROBLEM_CONTENT_TYPE;
use vigil::{ErrorCode, Problem};

mod from;

pub use from::{refusal, store_unavailable, STORE_RETRY_AFTER_SECS};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The same name parsed once: looking a header up by text parses the name on every call.
pub const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Marks a response whose body is a server function's encoded error.
const SERVER_FN_ERROR_HEADER: HeaderName = HeaderName::from_static("serverfnerror");

/// The largest API request body accepted, by endpoint: drafts carry up to 256 KiB of text,
/// which JSON escaping can grow several times; everything else is small.
fn body_limit(path: &str) -> usize {
    if path.starts_with(vigil::work::DRAFTS_PATH) {
        2 * 1024 * 1024
    } else {
        64 * 1024
    }
}

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
        ErrorCode::InvalidCredentials => {
            r#"Bearer realm="vigil", error="invalid_request", error_description="invalid_credentials""#
                .to_owned()
        }
        other => format!(
            r#"Bearer realm="vigil", error="invalid_token", error_description="{}""#,
            other.as_str()
        ),
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer realm="vigil""#))
}

/// Middleware for `/api/*`: refuses state-changing bodies that are not JSON (or JSON that
/// is not an object), gives argument-less endpoints an empty JSON object when the body is
/// empty, bounds the body size, marks every answer `no-store`, and turns every error into a
/// complete problem response. API answers are never redirects: the framework's fallback for plain HTML form
/// posts (a redirect to the `Referer`) is switched off by asking for JSON.
pub async fn normalize_api(mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let context = ProblemContext::of(&request);
    if let Some(problem) = non_json_body(&request) {
        return problem_response(problem, &context);
    }
    request
        .headers_mut()
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    let request = match bounded_body(request).await {
        Ok(request) => request,
        Err(problem) => return problem_response(problem, &context),
    };
    let response = next.run(request).await;
    let mut response = finish(response, &context).await;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A state-changing request must send JSON: the refusal if it does not. A declared
/// `Content-Type` of any other kind is refused, and so is a body without one: `text/plain` is
/// what a cross-site form can send without asking. An empty body needs no type (curl's
/// `-X POST`).
fn non_json_body(request: &Request) -> Option<Problem> {
    if !is_state_changing(request.method()) {
        return None;
    }
    let refuse = |what: &str| {
        Some(Problem::new(
            ErrorCode::UnsupportedMediaType,
            format!("{what}; send the body as JSON with Content-Type: application/json."),
        ))
    };
    match request.headers().get(CONTENT_TYPE) {
        Some(value) => {
            let essence = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase());
            match essence.as_deref() {
                Some("application/json") => None,
                Some(other) if !other.is_empty() => refuse(&format!(
                    "The body was declared as `{}`",
                    truncate(other, 60)
                )),
                _ => refuse("The Content-Type header could not be read"),
            }
        }
        None => {
            let declared_empty = request
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == "0");
            let no_body = !request
                .headers()
                .contains_key(http::header::TRANSFER_ENCODING)
                && (declared_empty || !request.headers().contains_key(CONTENT_LENGTH));
            if no_body {
                None
            } else {
                refuse("The body has no Content-Type")
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// Refuses a body over the endpoint's limit or one that is JSON but not an object, and
/// gives a body-less POST the empty JSON object. The body is read here (bounded); the
/// endpoint then reads it from memory.
async fn bounded_body(request: Request) -> Result<Request, Problem> {
    if !is_state_changing(request.method()) {
        return Ok(request);
    }
    let limit = body_limit(request.uri().path());
    let too_large = || {
        Problem::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than {limit} bytes."),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let is_post = request.method() == Method::POST;
    let (mut parts, body) = request.into_parts();
    let bytes = match declared {
        Some(len) if len > limit => return Err(too_large()),
        Some(0) if !is_post => return Ok(Request::from_parts(parts, body)),
        Some(0) => bytes::Bytes::new(),
        _ => to_bytes(body, limit).await.map_err(|_| too_large())?,
    };
    let bytes = if is_post && bytes.iter().all(u8::is_ascii_whitespace) {
        parts.headers.remove(CONTENT_LENGTH);
        bytes::Bytes::from_static(b"{}")
    } else if let Some(problem) = not_an_object(&bytes) {
        return Err(problem);
    } else {
        bytes
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Every endpoint's body is a JSON object: well-formed JSON of another kind (`[]`, `"x"`,
/// `1`) is refused here, also by endpoints that read no arguments. A body that is not JSON
/// at all is left to the endpoint, which answers `400`.
fn not_an_object(body: &[u8]) -> Option<Problem> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first == b'{' || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return None;
    }
    Some(Problem::invalid_field(
        "body",
        "The request body must be a JSON object, like {}.",
    ))
}

async fn finish(response: Response, context: &ProblemContext) -> Response {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    if let Some(problem) = response
        .extensions()
        .get::<std::sync::Arc<Problem>>()
        .cloned()
    {
        if let Some(Cause(cause)) = response.extensions().get::<Cause>() {
            log_cause(&problem, cause, Some(context.uri.path()));
        }
        let mut rebuilt = problem_response((*problem).clone(), context);
        keep_headers(response.headers(), rebuilt.headers_mut());
        return rebuilt;
    }
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    if is_problem {
        return response;
    }
    let from_server_fn = response.headers().contains_key(SERVER_FN_ERROR_HEADER);
    let (parts, body) = response.into_parts();
    let problem = if from_server_fn {
        let bytes = to_bytes(body, 64 * 1024).await.unwrap_or_default();
        serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| {
            Problem::new(
                ErrorCode::InternalError,
                "The server produced an unreadable error.",
            )
        })
    } else {
        match parts.status {
            StatusCode::NOT_FOUND => {
                Problem::new(ErrorCode::NotFound, "No API endpoint has this path.")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                Problem::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
            }
            StatusCode::METHOD_NOT_ALLOWED => Problem::new(
                ErrorCode::MethodNotAllowed,
                "This endpoint does not accept this method; the Allow header lists those it does.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST => Problem::new(
                ErrorCode::ValidationFailed,
                "The request could not be read.",
            ),
            _ => Problem::new(
                ErrorCode::InternalError,
                "The request could not be completed.",
            ),
        }
    };
    let mut rebuilt = problem_response(problem, context);
    keep_headers(&parts.headers, rebuilt.headers_mut());
    rebuilt
}

/// Keeps headers a handler set on purpose (cookies, deadlines) when a response is rebuilt.
fn keep_headers(from: &HeaderMap, to: &mut HeaderMap) {
    let already_set: Vec<_> = to.keys().cloned().collect();
    for (name, value) in from {
        let replaced = name == CONTENT_TYPE
            || name == CONTENT_LENGTH
            || name == SERVER_FN_ERROR_HEADER
            || already_set.contains(name);
        if !replaced {
            to.append(name.clone(), value.clone());
        }
    }
}
