//! The floor: one axum 0.8 JSON route with nothing in front of it.

use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Policy {
    idle_timeout_secs: u64,
    warning_before_secs: u64,
}

async fn policy() -> Json<Policy> {
    Json(Policy {
        idle_timeout_secs: 1800,
        warning_before_secs: 300,
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route("/api/policy", post(policy));
    let listener = tokio::net::TcpListener::bind(vigil_bench_peers::listen_addr()).await?;
    axum::serve(listener, app).await
}
