//! The app's own files under `/pkg` (wasm, JavaScript, CSS): served precompressed when the
//! build left `.br` / `.gz` beside them (`make release`), with `Vary: Accept-Encoding`. A file
//! whose name carries its content hash (cargo-leptos `hash-files`: `vigil.<hash>.wasm`) never
//! changes, so browsers keep it for a year without asking again (`immutable`) and its answer
//! carries neither a validator nor a ranges offer (`Last-Modified`, `Accept-Ranges`: nothing
//! ever revalidates or resumes it, and on HTTP/1.1 the two lines cost a signed-in page's first
//! load about a kilobyte over its fourteen files); any other file is revalidated (`no-cache`
//! with `Last-Modified`: a `304` when unchanged). Pages and API answers keep `no-store`.
//!
//! A compressed copy older than its file (a debug build after a release build) is never
//! sent: the file itself goes, uncompressed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use http::header::{ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, LAST_MODIFIED, VARY};
use http::HeaderValue;
use tower_http::services::ServeDir;

/// `/pkg/*` from `<site_root>/<pkg_dir>`.
pub fn routes<S: Clone + Send + Sync + 'static>(site_root: &str, pkg_dir: &str) -> Router<S> {
    let prefix = format!("/{}", pkg_dir.trim_matches('/'));
    let dir = Path::new(site_root).join(pkg_dir.trim_matches('/'));
    let files = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let site = Arc::new(Site { dir, prefix });
    Router::new()
        .nest_service(&site.prefix.clone(), files)
        .layer(from_fn_with_state(site, negotiate))
}

struct Site {
    dir: PathBuf,
    /// `/pkg`
    prefix: String,
}

impl Site {
    /// Whether every compressed copy of the file at `path` is at least as new as the file.
    fn copies_are_current(&self, path: &str) -> bool {
        let Some(relative) = path
            .strip_prefix(&self.prefix)
            .map(|p| p.trim_start_matches('/'))
            .filter(|p| !p.split('/').any(|part| part == ".." || part.is_empty()))
        else {
            return true;
        };
        let file = self.dir.join(relative);
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let Some(original) = modified(&file) else {
            return true;
        };
        ["br", "gz"].iter().all(|extension| {
            let mut copy = file.clone().into_os_string();
            copy.push(".");
            copy.push(extension);
            modified(Path::new(&copy)).is_none_or(|copied| copied >= original)
        })
    }
}

async fn negotiate(State(site): State<Arc<Site>>, mut request: Request, next: Next) -> Response {
    if request.headers().contains_key(ACCEPT_ENCODING)
        && !site.copies_are_current(request.uri().path())
    {
        request.headers_mut().remove(ACCEPT_ENCODING);
    }
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == http::StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if hashed {
            headers.insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            headers.remove(LAST_MODIFIED);
            headers.remove(ACCEPT_RANGES);
        } else {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
    }
    response
}

/// `…/vigil.wWj-YqrMy9-metRC6Ixzqg.wasm`: a name, a hash of at least 16 URL-safe base64
/// characters, an extension.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    matches!(parts.as_slice(), [stem, hash, extension]
        if !stem.is_empty()
            && !extension.is_empty()
            && hash.len() >= 16
            && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn only_names_with_a_content_hash_are_immutable() {
        assert!(is_content_hashed("/pkg/vigil.wWj-YqrMy9-metRC6Ixzqg.wasm"));
        assert!(is_content_hashed("/pkg/vigil.HikM7b31UYIzuKcNZhCVpg.js"));
        assert!(!is_content_hashed("/pkg/vigil.wasm"));
        assert!(!is_content_hashed("/pkg/vigil_bg.wasm.d.ts"));
        assert!(!is_content_hashed(
            "/pkg/snippets/app-0cd1cead3f0174fd/inline0.js"
        ));
        assert!(!is_content_hashed("/pkg/vigil.short.js"));
    }
}
