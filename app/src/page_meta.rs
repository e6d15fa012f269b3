//! What the server tells the browser in the page's `<head>`, so the browser need not ask:
//! whether the page request came with a session cookie, the public timeout policy the
//! sign-in page states (WCAG 2.2.6), and on a signed-in page the session and the account it
//! was rendered from (`vigil::boot`). All are rendered by the server into the page's shell
//! and read by the browser synchronously, so the page hydrates with exactly what the server
//! rendered, without a request.

use vigil::boot::Boot;
use vigil::PolicyInfo;

#[cfg(feature = "hydrate")]
use crate::session_context::DraftView;
use crate::session_context::FirstView;

/// `"cookie"` or `"none"`: without a cookie the browser knows it is signed out without
/// asking the server (a request that could only answer 401).
pub const SESSION_META: &str = "vigil-session";

/// The public policy, as [`encode_policy`] writes it.
pub const POLICY_META: &str = "vigil-policy";

/// `idle=1800 warning=300 absolute=28800 heartbeat=60`, then `remember=2592000` when
/// "remember me" is offered: whole seconds.
pub fn encode_policy(policy: &PolicyInfo) -> String {
    let mut text = format!(
        "idle={} warning={} absolute={} heartbeat={}",
        policy.idle_timeout_secs,
        policy.warning_secs,
        policy.absolute_timeout_secs,
        policy.heartbeat_secs
    );
    if let Some(remember) = policy.remember_absolute_secs {
        text.push_str(&format!(" remember={remember}"));
    }
    text
}

/// Reads what [`encode_policy`] wrote; `None` for anything else (every figure but
/// `remember` is required).
pub fn decode_policy(text: &str) -> Option<PolicyInfo> {
    let (mut idle, mut warning, mut absolute, mut heartbeat, mut remember) =
        (None, None, None, None, None);
    for pair in text.split_ascii_whitespace() {
        let (key, value) = pair.split_once('=')?;
        let value = value.parse::<i64>().ok()?;
        let slot = match key {
            "idle" => &mut idle,
            "warning" => &mut warning,
            "absolute" => &mut absolute,
            "heartbeat" => &mut heartbeat,
            "remember" => &mut remember,
            _ => return None,
        };
        *slot = Some(value);
    }
    Some(PolicyInfo {
        idle_timeout_secs: idle?,
        warning_secs: warning?,
        absolute_timeout_secs: absolute?,
        heartbeat_secs: heartbeat?,
        remember_absolute_secs: remember,
    })
}

/// The public policy: on the server the authentication service's own, in the browser what
/// the server wrote into the page.
pub fn page_policy() -> Option<PolicyInfo> {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<std::sync::Arc<dyn crate::api::AuthBackend>>()
        .map(|backend| backend.policy());
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return read(POLICY_META).as_deref().and_then(decode_policy);
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    None
}

/// The session and the account the page request carries (`page_access`), shared: the
/// shell writes it into the page and the frame shows it, neither copies it.
#[cfg(feature = "ssr")]
fn request_boot() -> Option<std::sync::Arc<Boot>> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<std::sync::Arc<Boot>>().cloned())
}

/// The record as the page carries it ([`Boot::to_script`]), if the server has one.
pub fn page_boot_script() -> Option<String> {
    #[cfg(feature = "ssr")]
    return request_boot().map(|boot| boot.to_script());
    #[cfg(not(feature = "ssr"))]
    None
}

/// The record the server wrote into this page, decoded (by the machine, which takes it as
/// its first answers).
#[cfg(feature = "hydrate")]
pub fn page_boot() -> Option<Boot> {
    boot_text().as_deref().and_then(Boot::from_script)
}

/// What the page shows before its machine runs, if the server rendered it from the session:
/// on the server from the request's record, in the browser read from the page (once) with
/// the browser's own JSON parser. Not with serde: its decoders of the record are the
/// machine's, and would otherwise be fetched with every signed-in page before it paints
/// (about 35 KB compressed, measured in the release build).
pub fn page_first_view() -> Option<FirstView> {
    #[cfg(feature = "ssr")]
    return request_boot().map(|boot| FirstView::of(&boot));
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return {
        thread_local! {
            static VIEW: Option<FirstView> = boot_text().as_deref().and_then(read_first_view);
        }
        VIEW.with(Clone::clone)
    };
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    None
}

/// The text of the page's record element.
#[cfg(feature = "hydrate")]
fn boot_text() -> Option<String> {
    web_sys::window()?
        .document()?
        .get_element_by_id(vigil::boot::BOOT_ELEMENT_ID)?
        .text_content()
}

/// [`FirstView::of`] the record `text` holds, read field by field.
#[cfg(feature = "hydrate")]
fn read_first_view(record: &str) -> Option<FirstView> {
    use js_sys::{Array, Reflect, JSON};
    use vigil::work::{Preferences, TextSize, Theme};
    use vigil::{Role, UserSummary};
    use wasm_bindgen::JsValue;

    let get = |v: &JsValue, key: &str| Reflect::get(v, &JsValue::from_str(key)).ok();
    let text = |v: &JsValue, key: &str| get(v, key)?.as_string();
    let number = |v: &JsValue, key: &str| get(v, key)?.as_f64().map(|n| n as i64);
    let time = |v: &JsValue, key: &str| {
        Some(js_sys::Date::parse(&text(v, key)?)).filter(|ms| ms.is_finite())
    };
    let root = JSON::parse(record).ok()?;
    let session = get(&root, "session")?;
    let work = get(&root, "work")?;
    let user = get(&session, "user")?;
    let policy = get(&session, "policy")?;
    let settings = get(&work, "settings")?;
    let mut drafts = Vec::new();
    for draft in Array::from(&get(&work, "drafts")?).iter() {
        drafts.push(DraftView {
            id: text(&draft, "id")?,
            title: text(&draft, "title")?,
            body: text(&draft, "body")?,
            submitted_ms: time(&draft, "submitted_at"),
            submitting: false,
            conflict: None,
            rejected: None,
        });
    }
    let theme = text(&settings, "theme");
    let text_size = text(&settings, "text_size");
    Some(FirstView {
        user: UserSummary {
            id: number(&user, "id")?,
            username: text(&user, "username")?,
            display_name: text(&user, "display_name")?,
            role: text(&user, "role")
                .and_then(|role| Role::parse(&role))
                .unwrap_or_default(),
        },
        policy: PolicyInfo {
            idle_timeout_secs: number(&policy, "idle_timeout_secs")?,
            warning_secs: number(&policy, "warning_secs")?,
            absolute_timeout_secs: number(&policy, "absolute_timeout_secs")?,
            heartbeat_secs: number(&policy, "heartbeat_secs")?,
            remember_absolute_secs: number(&policy, "remember_absolute_secs"),
        },
        drafts,
        settings: Preferences {
            theme: Theme::ALL
                .into_iter()
                .find(|t| theme.as_deref() == Some(t.as_str()))
                .unwrap_or_default(),
            text_size: TextSize::ALL
                .into_iter()
                .find(|t| text_size.as_deref() == Some(t.as_str()))
                .unwrap_or_default(),
        },
        warning_in_ms: (time(&session, "warn_at")? - time(&session, "server_now")?) as i64,
    })
}

/// Whether the page request came with a session cookie (without the tag: assume it did,
/// and let the server say).
#[cfg(feature = "hydrate")]
pub fn page_had_session_cookie() -> bool {
    read(SESSION_META).is_none_or(|content| content != "none")
}

/// The content of `<meta name="{name}">` in this page.
#[cfg(feature = "hydrate")]
fn read(name: &str) -> Option<String> {
    let selector = format!("meta[name=\"{name}\"]");
    web_sys::window()?
        .document()?
        .query_selector(&selector)
        .ok()??
        .get_attribute("content")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(remember: Option<i64>) -> PolicyInfo {
        PolicyInfo {
            idle_timeout_secs: 1800,
            warning_secs: 300,
            absolute_timeout_secs: 28_800,
            heartbeat_secs: 60,
            remember_absolute_secs: remember,
        }
    }

    #[test]
    fn the_policy_reads_back_as_written() {
        for remember in [None, Some(2_592_000)] {
            let written = encode_policy(&policy(remember));
            assert_eq!(decode_policy(&written), Some(policy(remember)));
        }
        assert_eq!(
            encode_policy(&policy(None)),
            "idle=1800 warning=300 absolute=28800 heartbeat=60"
        );
    }

    #[test]
    fn anything_else_is_no_policy() {
        for text in [
            "",
            "idle=1800 warning=300 absolute=28800",
            "idle=1800 warning=300 absolute=28800 heartbeat=sixty",
            "idle=1800 warning=300 absolute=28800 heartbeat=60 colour=blue",
            "idle 1800 warning 300 absolute 28800 heartbeat 60",
        ] {
            assert_eq!(decode_policy(text), None, "{text}");
        }
    }
}
