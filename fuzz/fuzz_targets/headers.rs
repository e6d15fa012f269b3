//! The request headers the server reads before anything else: the session cookie,
//! `Authorization: Bearer`, `If-Match`, `Idempotency-Key`, and the draft id in the path.
//! Each parser takes the whole input; what it accepts must be what it promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::token::{bearer_token, find_session_cookie};
use vigil::work::{etag, is_draft_id, is_idempotency_key, parse_etag};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = find_session_cookie(text) {
        assert!(!token.is_empty() && !token.contains(';') && text.contains(token));
    }
    if let Some(token) = bearer_token(text) {
        assert!(!token.is_empty() && token.trim() == token && text.contains(token));
    }
    if let Some(version) = parse_etag(text) {
        assert!(version > 0);
        assert_eq!(parse_etag(&etag(version)), Some(version));
    }
    if is_idempotency_key(text) {
        assert!(text.bytes().all(|b| b.is_ascii_graphic()));
    }
    if is_draft_id(text) {
        assert_eq!(text.len(), 36);
        assert_eq!(text.to_ascii_lowercase(), text);
    }
});
