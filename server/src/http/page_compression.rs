//! Pages go out gzip-compressed to browsers that accept it (the sign-in page's 4.5 KB of
//! HTML, about 1.7 KB on the wire). The app's files are compressed once, at build time
//! (`assets`); API answers are not compressed at all: they are small, and compressing them
//! would cost every request of the hot path.
//!
//! Compressing a page is safe from BREACH-style guessing: a page holds no secret that an
//! attacker's input could be compressed against (the session travels only in an `HttpOnly`
//! cookie, the work only in API answers), and its script nonce is new in every response.

use std::io::Write;

use axum::body::Body;
use axum::response::Response;
use flate2::write::GzEncoder;
use flate2::Compression;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::{HeaderMap, HeaderValue};

/// Pages are a few kilobytes; anything much larger is passed on as it is, unread.
const LARGEST_PAGE: usize = 1 << 20;

/// Whether the request's `Accept-Encoding` allows gzip (a `q=0` refuses it).
pub fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The page, gzip-compressed when `gzip` is allowed; always marked as varying with
/// `Accept-Encoding`, so a cache never hands one browser's answer to another.
pub async fn compress_page(response: Response, gzip: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(VARY, HeaderValue::from_static("accept-encoding"));
    if !gzip || parts.headers.contains_key(CONTENT_ENCODING) {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, LARGEST_PAGE).await {
        Ok(bytes) => bytes,
        Err(err) => {
            // Over the limit or cut short while rendering: nothing sensible can follow.
            tracing::warn!(error = %err, "page body could not be read for compression");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::best());
    match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(compressed) => {
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(compressed))
        }
        // Writing into memory does not fail; should it, the page goes as it is.
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_used_only_when_the_browser_accepts_it() {
        assert!(accepts_gzip(&accepting("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&accepting("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accepting("*")));
        assert!(!accepts_gzip(&accepting("br, zstd")));
        assert!(!accepts_gzip(&accepting("gzip;q=0, br")));
        assert!(!accepts_gzip(&accepting("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
