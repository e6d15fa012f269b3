//! `/health/live` and `/health/ready` for load balancers and orchestrators, and `/metrics`
//! for Prometheus (SPEC §3).
//!
//! Live answers as long as the process serves HTTP: restarting it would not help when only
//! a store is down. Ready asks the database and the session store, each within the store
//! timeout, and answers `503 store_unavailable` naming what does not answer, so a balancer
//! sends no new users to an instance that could only refuse them.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, Uri};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::problem::store_unavailable;
use crate::http::problem::{problem_response, ProblemContext, REQUEST_ID};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

/// `GET /metrics` alone: on the main address, or on `VIGIL_METRICS_ADDR` when set.
pub fn metrics_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The Prometheus exposition, with the live sessions counted at the scrape.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text)",
        content_type = "application/openmetrics-text", body = String)))]
async fn metrics(State(state): State<AppState>) -> Response {
    let active = match state.sessions.store().count_live(state.clock.now()).await {
        Ok(active) => active,
        Err(err) => {
            tracing::warn!(error = %err, "could not count the live sessions for the metrics");
            None
        }
    };
    crate::metrics::exposition(state.metrics.render(active))
}

#[derive(Debug, Serialize, ToSchema)]
struct Live {
    /// Always `live`.
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
struct Ready {
    /// Always `ready`.
    status: &'static str,
    checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
struct Checks {
    /// `up`
    database: &'static str,
    /// `up`
    session_store: &'static str,
}

#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process serves HTTP", body = Live)))]
async fn live() -> Response {
    Json(Live { status: "live" }).into_response()
}

#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "The database and the session store answer", body = Ready)))]
async fn ready(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let (database, sessions) = tokio::join!(state.db.check(), state.sessions.store().check());
    if database.is_ok() && sessions.is_ok() {
        let checks = Checks {
            database: "up",
            session_store: "up",
        };
        return Json(Ready {
            status: "ready",
            checks,
        })
        .into_response();
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
        request_id: headers.get(REQUEST_ID).cloned(),
    };
    problem_response(problem, &context)
}
