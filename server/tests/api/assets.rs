//! The app's files under `/pkg`: precompressed when the build left `.br` / `.gz` beside them,
//! negotiated by `Accept-Encoding`, and revalidated rather than stored forever.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, IF_MODIFIED_SINCE,
    LAST_MODIFIED, VARY,
};
use http::{HeaderMap, Request, StatusCode};
use leptos::config::LeptosOptions;
use time::OffsetDateTime;
use tower::ServiceExt;
use vigil::ManualClock;
use vigil_server::startup::{build_state, router};

use crate::helpers::{create_database, test_settings};

async fn get(
    app: &axum::Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("the router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, headers, body.to_vec())
}

/// The real router serving `<dir>/site/pkg` (create its files first).
async fn app_serving(dir: &std::path::Path) -> axum::Router {
    let settings = test_settings(dir, &[]);
    create_database(&settings).await;
    let options = LeptosOptions::builder()
        .output_name("vigil")
        .site_root(dir.join("site").to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let state = build_state(settings, options, Some(Arc::new(clock)))
        .await
        .expect("app builds");
    router(state)
}

/// `<dir>/site/pkg`, made.
fn pkg_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let pkg = dir.join("site").join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    pkg
}

#[tokio::test]
async fn app_files_are_served_precompressed_and_revalidated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pkg = pkg_dir(dir.path());
    std::fs::write(pkg.join("vigil.js"), "export const raw = true;").expect("js");
    std::fs::write(pkg.join("vigil.js.br"), "brotli bytes").expect("br");
    std::fs::write(pkg.join("vigil.js.gz"), "gzip bytes").expect("gz");
    std::fs::write(pkg.join("vigil.css"), "body{}").expect("css");
    let app = app_serving(dir.path()).await;

    let (status, headers, body) = get(
        &app,
        "/pkg/vigil.js",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_ENCODING], "br");
    assert_eq!(body, b"brotli bytes");
    assert_eq!(headers[VARY], "accept-encoding");
    assert_eq!(headers[CACHE_CONTROL], "no-cache");
    assert!(headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .contains("javascript"));

    let (_, headers, body) =
        get(&app, "/pkg/vigil.js", &[(ACCEPT_ENCODING.as_str(), "gzip")]).await;
    assert_eq!(headers[CONTENT_ENCODING], "gzip");
    assert_eq!(body, b"gzip bytes");

    let (_, headers, body) = get(&app, "/pkg/vigil.js", &[]).await;
    assert!(!headers.contains_key(CONTENT_ENCODING));
    assert_eq!(body, b"export const raw = true;");

    // A file without compressed copies is sent as it is, whatever the client accepts.
    let (status, headers, body) = get(&app, "/pkg/vigil.css", &[("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers.contains_key(CONTENT_ENCODING));
    assert_eq!(body, b"body{}");

    // Revalidation: unchanged since the copy the browser holds.
    let modified = headers[LAST_MODIFIED].to_str().expect("date").to_owned();
    let (status, headers, body) = get(
        &app,
        "/pkg/vigil.css",
        &[(IF_MODIFIED_SINCE.as_str(), &modified)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[CACHE_CONTROL], "no-cache");

    let (status, _, _) = get(&app, "/pkg/missing.js", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A name with its content hash never changes: kept for a year, never asked again, so its
    // answer offers nothing to revalidate or resume with.
    std::fs::write(pkg.join("vigil.HikM7b31UYIzuKcNZhCVpg.js"), "hashed").expect("hashed js");
    let (status, headers, body) = get(&app, "/pkg/vigil.HikM7b31UYIzuKcNZhCVpg.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"hashed");
    assert_eq!(
        headers[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(!headers.contains_key(LAST_MODIFIED));
    assert!(!headers.contains_key(ACCEPT_RANGES));
}

#[tokio::test]
async fn a_compressed_copy_older_than_its_file_is_never_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pkg = pkg_dir(dir.path());
    // A release build left its copies; a debug build then replaced the file itself.
    std::fs::write(pkg.join("vigil.wasm.br"), "release brotli").expect("br");
    std::fs::write(pkg.join("vigil.wasm.gz"), "release gzip").expect("gz");
    let older = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for copy in ["vigil.wasm.br", "vigil.wasm.gz"] {
        std::fs::File::options()
            .write(true)
            .open(pkg.join(copy))
            .and_then(|f| f.set_modified(older))
            .expect("mtime");
    }
    std::fs::write(pkg.join("vigil.wasm"), "debug build").expect("wasm");
    let app = app_serving(dir.path()).await;
    let (status, headers, body) =
        get(&app, "/pkg/vigil.wasm", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers.contains_key(CONTENT_ENCODING), "{headers:?}");
    assert_eq!(body, b"debug build");
}
