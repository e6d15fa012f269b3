//! What the server tells the browser in the page's `<head>`, so the browser need not ask:
//! whether the page request came with a session cookie, the public timeout policy the
//! sign-in page states (WCAG 2.2.6), and on a signed-in page the session and the account it
//! was rendered from (`vigil::boot`). All are rendered by the server into the page's shell
//! and read by the browser synchronously, so the page hydrates with exactly what the server
//! rendered, without a request.

use vigil::boot::Boot;
use vigil::PolicyInfo;

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

/// The session and the account this page was rendered from, if the server had them: on the
/// server what the page request carries (`page_access`), in the browser what the server
/// wrote into the page (read once).
pub fn page_boot() -> Option<Boot> {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<std::sync::Arc<Boot>>().cloned())
        .map(|boot| Boot::clone(&boot));
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return {
        thread_local! {
            static BOOT: Option<Boot> = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(vigil::boot::BOOT_ELEMENT_ID))
                .and_then(|element| element.text_content())
                .and_then(|text| Boot::from_script(&text));
        }
        BOOT.with(Clone::clone)
    };
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    None
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
