//! Refuses cross-site state-changing requests (`csrf_rejected`).
//!
//! Browsers say where a request comes from in `Sec-Fetch-Site`; older ones only in
//! `Origin`. A request with neither is not from a browser page (curl, scripts) and carries
//! no ambient credentials worth forging, so it passes. SameSite=Strict on the cookie is the
//! second line of defence.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName};
use vigil::{ErrorCode, Problem};

use crate::audit::{AuditEvent, AuditKind};
use crate::http::problem::{is_state_changing, problem_response, ProblemContext};
use crate::session::ClientRequest;
use crate::state::AppState;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Why a request counts as cross-site, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossSite {
    FetchMetadata,
    Origin,
}

/// Decides from the request headers alone.
pub fn cross_site(headers: &HeaderMap) -> Option<CrossSite> {
    if let Some(site) = headers.get(SEC_FETCH_SITE).and_then(|v| v.to_str().ok()) {
        return match site.trim().to_ascii_lowercase().as_str() {
            "same-origin" | "none" => None,
            _ => Some(CrossSite::FetchMetadata),
        };
    }
    let origin = headers.get(ORIGIN)?.to_str().ok()?.trim();
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
        Some(CrossSite::Origin)
    } else {
        None
    }
}

pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !is_state_changing(request.method()) {
        return next.run(request).await;
    }
    match cross_site(request.headers()) {
        None => next.run(request).await,
        Some(why) => {
            let client = ClientRequest {
                headers: request.headers(),
                extensions: request.extensions(),
            }
            .summary();
            let reason = match why {
                CrossSite::FetchMetadata => "sec-fetch-site",
                CrossSite::Origin => "origin",
            };
            state
                .sessions
                .audit_now(
                    AuditEvent::new(AuditKind::CsrfRejected)
                        .reason(reason)
                        .client(&client),
                )
                .await;
            let context = ProblemContext::of(&request);
            problem_response(
                Problem::new(
                    ErrorCode::CsrfRejected,
                    "State-changing requests are only accepted from Vigil's own pages.",
                ),
                &context,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_first() {
        assert_eq!(
            cross_site(&headers(&[("sec-fetch-site", "same-origin")])),
            None
        );
        assert_eq!(cross_site(&headers(&[("sec-fetch-site", "none")])), None);
        for site in ["cross-site", "same-site", "garbage"] {
            let h = HeaderMap::from_iter([(SEC_FETCH_SITE, HeaderValue::from_static(site))]);
            assert_eq!(cross_site(&h), Some(CrossSite::FetchMetadata), "{site}");
        }
    }

    #[test]
    fn origin_is_the_fallback() {
        assert_eq!(
            cross_site(&headers(&[
                ("origin", "http://vigil.test"),
                ("host", "vigil.test")
            ])),
            None
        );
        assert_eq!(
            cross_site(&headers(&[
                ("origin", "https://evil.test"),
                ("host", "vigil.test")
            ])),
            Some(CrossSite::Origin)
        );
        assert_eq!(
            cross_site(&headers(&[("origin", "null"), ("host", "vigil.test")])),
            Some(CrossSite::Origin)
        );
        assert_eq!(cross_site(&headers(&[("host", "vigil.test")])), None);
    }
}
