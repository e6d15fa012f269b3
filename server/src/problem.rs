//! Every error on the API leaves as an RFC 9457 `application/problem+json` response.
//!
//! Problems raised before a handler (authentication) are built here directly; problems that
//! a server function returns (or that the framework raises while decoding its input) are
//! rewritten here by [`normalize_api`], so all of them carry the same members and headers.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigil::problem::PROBLEM_CONTENT_TYPE;
use vigil::{ErrorCode, Problem};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Marks a response whose body is a server function's encoded error.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// The largest API request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024;

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
            request_id: request.headers().get(REQUEST_ID_HEADER).cloned(),
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
        problem.timestamp = OffsetDateTime::now_utc().format(&Rfc3339).ok();
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

/// Middleware for `/api/*`: gives argument-less endpoints an empty JSON object when the
/// body is empty, bounds the body size, marks every answer `no-store`, and turns every error
/// into a complete problem response.
pub async fn normalize_api(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let context = ProblemContext::of(&request);
    let request = match default_empty_body(request).await {
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

/// Gives a body-less POST the empty JSON object and refuses an oversized one. A body whose
/// length is declared passes untouched; only one of unknown length is read here.
async fn default_empty_body(request: Request) -> Result<Request, Problem> {
    if request.method() != Method::POST {
        return Ok(request);
    }
    let too_large = || {
        Problem::new(
            ErrorCode::ValidationFailed,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        )
        .with_status(413)
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let (mut parts, body) = request.into_parts();
    let bytes = match declared {
        Some(len) if len > MAX_BODY_BYTES => return Err(too_large()),
        Some(0) => bytes::Bytes::new(),
        Some(_) => return Ok(Request::from_parts(parts, body)),
        None => to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large())?,
    };
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        parts.headers.remove(CONTENT_LENGTH);
        bytes::Bytes::from_static(b"{}")
    } else {
        bytes
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

async fn finish(response: Response, context: &ProblemContext) -> Response {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
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
        let bytes = to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
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
            StatusCode::METHOD_NOT_ALLOWED => Problem::new(
                ErrorCode::MethodNotAllowed,
                "This endpoint only accepts POST with a JSON body.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                ErrorCode::ValidationFailed,
                "The request body is too large.",
            )
            .with_status(413),
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
            || name.as_str() == SERVER_FN_ERROR_HEADER
            || already_set.contains(name);
        if !replaced {
            to.append(name.clone(), value.clone());
        }
    }
}
