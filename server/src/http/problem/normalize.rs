//! The layer every `/api/*` request crosses: bodies refused before any handler reads them,
//! and every error rewritten into a complete problem response on the way out.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use vigil::problem::PROBLEM_CONTENT_TYPE;
use vigil::{ErrorCode, Problem};

use super::{is_state_changing, log_cause, problem_response, Cause, ProblemContext};

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
