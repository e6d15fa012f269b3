//! The RFC 3339 reader every wire type uses (deadlines in answers and headers, times in the
//! local copy): whatever it accepts is written back as text it reads to the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::timestamp::{format, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(at) = parse(text) {
        let written = format(at);
        assert!(written.is_some(), "{text} was read but cannot be written");
        assert_eq!(written.as_deref().and_then(parse), Some(at), "{text}");
    }
});
