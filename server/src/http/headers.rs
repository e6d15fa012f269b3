//! Headers every response carries, and the request id every request gets.
//!
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and
//!   `Strict-Transport-Security` in production;
//! - a `Content-Security-Policy` with `frame-ancestors 'none'`: pages set their own, with the
//!   nonce of their inline hydration script (`app::content_security`); everything else gets
//!   one that allows nothing at all;
//! - `Cache-Control: no-store` on pages, which may show who is signed in; pages are also
//!   compressed here (`page_compression`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use http::HeaderValue;

use crate::configuration::Environment;
use crate::http::page_compression::{self, PageEncoding};
use crate::http::problem::REQUEST_ID;
use crate::state::AppState;
use app::content_security::LOCKED_DOWN;

pub async fn protective_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let encoding = PageEncoding::for_request(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if state.settings.environment == Environment::Production {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(LOCKED_DOWN),
        );
    }
    let is_page = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_page {
        return response;
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    page_compression::compress_page(response, encoding).await
}

/// The longest client-chosen request id that is kept.
const MAX_REQUEST_ID: usize = 64;

/// A client may name its request (to find it in logs and problems), but only with a short
/// token of safe characters; anything else is dropped and a fresh id is made, so nobody can
/// forge log lines or echo markup through it.
pub fn is_acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Runs before the request id is assigned: removes an unacceptable client-sent one. (A plain
/// map of the request, not a `from_fn` middleware: those box the rest of the stack per request.)
pub fn sanitize_request_id<B>(mut request: http::Request<B>) -> http::Request<B> {
    let unacceptable = request
        .headers()
        .get_all(REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(i, v)| i > 0 || !is_acceptable_request_id(v));
    if unacceptable {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_safe_request_ids_are_kept() {
        for ok in ["abc", "7f3c-11ee_be56.0242:ac120002", &"a".repeat(64)] {
            assert!(
                is_acceptable_request_id(&HeaderValue::from_str(ok).expect("header")),
                "{ok}"
            );
        }
        for bad in [
            "",
            "a b",
            "<script>",
            "x\"y",
            &"a".repeat(65),
            "line\tbreak",
        ] {
            let value = HeaderValue::from_str(bad).expect("header");
            assert!(!is_acceptable_request_id(&value), "{bad}");
        }
    }
}
