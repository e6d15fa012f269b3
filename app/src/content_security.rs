//! The Content-Security-Policy of Vigil's responses, in one place: pages get one that allows
//! only the app's own script, wasm and stylesheet (and the inline hydration script carrying
//! the page's nonce); every other answer gets one that allows nothing.

/// For answers that are not pages (JSON, assets): nothing may load, nothing may frame them.
pub const LOCKED_DOWN: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of a page whose inline scripts carry `nonce`. `'wasm-unsafe-eval'` lets the
/// wasm compile; no other evaluation is allowed. `reload_port` is the development server's
/// live-reload socket (`cargo leptos watch`).
pub fn page_policy(nonce: &str, reload_port: Option<u32>) -> String {
    let connect = match reload_port {
        Some(port) => format!("'self' ws://localhost:{port} ws://127.0.0.1:{port}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_allow_only_the_apps_own_code() {
        let policy = page_policy("n0nce", None);
        assert!(policy.contains("script-src 'self' 'nonce-n0nce' 'wasm-unsafe-eval'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"));
        assert!(page_policy("n", Some(3001)).contains("ws://127.0.0.1:3001"));
        assert!(LOCKED_DOWN.contains("frame-ancestors 'none'"));
    }
}
