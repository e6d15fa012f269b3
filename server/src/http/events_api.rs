//! `GET /api/events` (SPEC §9.3): the news of this session, pushed as Server-Sent Events.
//!
//! Authenticated by the one layer like any request, and passive like any read: opening or
//! holding the stream extends nothing and rotates nothing. The first event is `ready` (or
//! `session_ended`, if the session ended while the stream opened); then `session_ended`
//! (after which the stream closes) and `sessions_changed`, as they happen.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::{ErrorCode, Problem};

use crate::events::Refused;
use crate::http::auth::CurrentSession;
use crate::http::problem::ApiProblem;
use crate::state::AppState;

/// A comment this often keeps proxies from closing a quiet stream, and finds pages gone.
const KEEP_ALIVE: Duration = Duration::from_secs(20);
/// When an instance is full, how long a page waits before opening its stream again.
const FULL_RETRY_AFTER: u64 = 30;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[utoipa::path(get, path = "/api/events", tag = "sessions", responses(
    (status = 200, content_type = "text/event-stream", body = String,
        description = "Server-Sent Events: `ready`; `session_ended` with \
            `{\"reason\": …}` (`signed_out`, `signed_out_elsewhere`, `password_changed`, \
            `operator`, `session_limit`, `token_reuse`, `expired`), after which the stream \
            closes; `sessions_changed` when a session of the user starts or ends. Never \
            extends the session.")))]
async fn events(State(state): State<AppState>, CurrentSession(auth): CurrentSession) -> Answer {
    let subscription = state.events.open(&auth.record).await.map_err(|refused| {
        let Refused::Full(_) = refused;
        ApiProblem::caused_by(
            Problem::new(
                ErrorCode::Overloaded,
                "This server holds as many open pages as it may. The page tries again shortly.",
            )
            .with_retry_after(FULL_RETRY_AFTER),
            refused,
        )
    })?;
    let stream = futures_util::stream::unfold(subscription, |mut subscription| async move {
        let event = subscription.events.recv().await?;
        let sent = Event::default().event(event.name()).data(event.data());
        Some((Ok::<_, Infallible>(sent), subscription))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // nginx would otherwise hold the events back in its buffer.
    response.headers_mut().insert(
        http::HeaderName::from_static("x-accel-buffering"),
        http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

type Answer = Result<Response, ApiProblem>;
