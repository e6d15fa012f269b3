//! The browser's session cookie: `__Host-` prefixed, Secure, HttpOnly, SameSite=Strict,
//! Path=/. Page scripts can never read it.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};
use time::Duration;

use vigil::token::find_session_cookie;
pub use vigil::token::SESSION_COOKIE;

const ATTRIBUTES: &str = "Path=/; Secure; HttpOnly; SameSite=Strict";

/// Sets the session cookie: persistent for `max_age` when given ("remember me"), otherwise
/// a browser-session cookie that the browser drops when it closes.
pub fn set_session_cookie(headers: &mut HeaderMap, token: &str, max_age: Option<Duration>) {
    let value = match max_age {
        Some(max_age) => format!(
            "{SESSION_COOKIE}={token}; {ATTRIBUTES}; Max-Age={}",
            max_age.whole_seconds().max(0)
        ),
        None => format!("{SESSION_COOKIE}={token}; {ATTRIBUTES}"),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.append(SET_COOKIE, value);
    }
}

/// Removes the cookie, with the same attributes so the browser matches it.
pub fn clear_session_cookie(headers: &mut HeaderMap) {
    headers.append(
        SET_COOKIE,
        HeaderValue::from_static(
            "__Host-vigil-session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
}

/// Ends the browser's copy of a session: removes the cookie and asks the browser to drop
/// every cookie of the site. `"cookies"`, not `"storage"`: the preserved work of other
/// users of this browser lives in storage.
pub fn end_browser_session(headers: &mut HeaderMap) {
    clear_session_cookie(headers);
    headers.insert(
        HeaderName::from_static("clear-site-data"),
        HeaderValue::from_static("\"cookies\""),
    );
}

/// The session token from the request's cookies, if present.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(find_session_cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_clear_carry_the_same_attributes() {
        let mut headers = HeaderMap::new();
        set_session_cookie(&mut headers, "abc", Some(Duration::hours(8)));
        clear_session_cookie(&mut headers);
        let values: Vec<_> = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(values.len(), 2);
        for value in values {
            assert!(value.starts_with("__Host-vigil-session="));
            assert!(value.contains("; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age="));
            assert!(!value.contains("Domain"));
        }
    }

    #[test]
    fn reads_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-vigil-session=tok; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("tok"));
        headers.insert(COOKIE, HeaderValue::from_static("__Host-vigil-session="));
        assert_eq!(session_cookie(&headers), None);
    }
}
