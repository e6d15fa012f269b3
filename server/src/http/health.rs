//! `/health/live` and `/health/ready` for load balancers and orchestrators (SPEC §3).
//!
//! Live answers as long as the process serves HTTP: restarting it would not help when only
//! a store is down. Ready asks the database and the session store, each within the store
//! timeout, and answers `503 store_unavailable` naming what does not answer, so a balancer
//! sends no new users to an instance that could only refuse them.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderMap, Uri};
use serde_json::json;

use crate::http::problem::{problem_response, ProblemContext, REQUEST_ID_HEADER};
use crate::session::service::store_unavailable;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Response {
    Json(json!({ "status": "live" })).into_response()
}

async fn ready(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (database, sessions) = tokio::join!(state.db.check(), state.sessions.store().check());
    let word = |ok: bool| if ok { "up" } else { "down" };
    let checks = json!({
        "database": word(database.is_ok()),
        "session_store": word(sessions.is_ok()),
    });
    if database.is_ok() && sessions.is_ok() {
        return Json(json!({ "status": "ready", "checks": checks })).into_response();
    }
    if let Err(err) = &database {
        tracing::warn!(error = %err, "not ready: the database does not answer");
    }
    if let Err(err) = &sessions {
        tracing::warn!(error = %err, "not ready: the session store does not answer");
    }
    let mut problem = store_unavailable();
    problem.detail = match (database.is_ok(), sessions.is_ok()) {
        (false, false) => "Neither the database nor the session store answers.",
        (false, true) => "The database does not answer.",
        _ => "The session store does not answer.",
    }
    .to_owned();
    let context = ProblemContext {
        uri,
        request_id: headers.get(REQUEST_ID_HEADER).cloned(),
    };
    problem_response(problem, &context)
}
