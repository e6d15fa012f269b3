//! The usual idle-timeout pattern: tower-sessions with its SQLite store, the session expiring
//! after 30 minutes of inactivity, every request reading the user from the session and
//! writing the last activity back (one store write per request).

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::cookie::time::Duration;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::sqlx::SqlitePool;
use tower_sessions_sqlx_store::SqliteStore;

const USER: &str = "user";
const LAST_ACTIVITY: &str = "last_activity";

#[derive(Clone, Serialize, Deserialize)]
struct User {
    id: i64,
    username: String,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
}

#[derive(Serialize)]
struct Info {
    user: User,
    last_activity_unix: i64,
    idle_expires_unix: i64,
}

async fn login(session: Session, Json(credentials): Json<Credentials>) -> StatusCode {
    let user = User {
        id: 1,
        username: credentials.username,
    };
    if session.cycle_id().await.is_err() || session.insert(USER, user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

async fn session_info(session: Session) -> Result<Json<Info>, StatusCode> {
    let user: User = session
        .get(USER)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    session
        .insert(LAST_ACTIVITY, now)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(Info {
        user,
        last_activity_unix: now,
        idle_expires_unix: now + 1800,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::var("PEER_DATABASE").unwrap_or_else(|_| "naive-sessions.db".to_owned());
    let pool = SqlitePool::connect(&format!("sqlite:{file}?mode=rwc")).await?;
    let store = SqliteStore::new(pool);
    store.migrate().await?;
    let layer = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(30)));
    let app = Router::new()
        .route("/api/login", post(login))
        .route("/api/session-info", post(session_info))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(vigil_bench_peers::listen_addr()).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
