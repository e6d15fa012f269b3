//! The app's own files under `/pkg` (wasm, JavaScript, CSS): served precompressed when the
//! build left `.br` / `.gz` beside them (`make release`), with `Vary: Accept-Encoding`, and
//! revalidated by the browser (`no-cache` with `Last-Modified`: a reload costs a `304`, a new
//! build is picked up at once). Pages and API answers keep `no-store`.

use std::path::Path;

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use http::header::{CACHE_CONTROL, VARY};
use http::HeaderValue;
use tower_http::services::ServeDir;

/// `/pkg/*` from `<site_root>/<pkg_dir>`.
pub fn routes<S: Clone + Send + Sync + 'static>(site_root: &str, pkg_dir: &str) -> Router<S> {
    let dir = Path::new(site_root).join(pkg_dir);
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    Router::new()
        .nest_service(&format!("/{}", pkg_dir.trim_matches('/')), files)
        .layer(from_fn(caching))
}

async fn caching(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == http::StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}
