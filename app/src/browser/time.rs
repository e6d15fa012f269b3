//! The browser's wall clock. `Date.now()` is what Playwright's `page.clock` controls.

use ::time::OffsetDateTime;

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos((now_ms() * 1_000_000.0) as i128)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// How long ago the page was asked for (`performance.now()`, which counts from then).
pub fn since_page_start_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// A time of day in the user's locale, e.g. "14:05".
pub fn local_time_label(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    date.to_locale_time_string_with_options("default", &options)
        .as_string()
        .unwrap_or_default()
}

/// A date and time in the user's locale, e.g. "30 Nov 2026, 14:05".
pub fn local_date_time_label(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let options = js_sys::Object::new();
    for (name, value) in [
        ("day", "numeric"),
        ("month", "short"),
        ("year", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
    ] {
        let _ = js_sys::Reflect::set(&options, &name.into(), &value.into());
    }
    date.to_locale_string("default", &options)
        .as_string()
        .unwrap_or_default()
}
