//! Hooks for the end-to-end suite, mounted only when `VIGIL_TEST_CLOCK` is set (which
//! production refuses):
//! - `POST /__test__/clock/advance {"seconds": N}` moves the server clock forward, so the
//!   suite fast-forwards browser and server together;
//! - `POST /__test__/clock/freeze {"at": UNIX_SECONDS}` stops the server clock at that
//!   instant (the model checker stops several processes at one instant, then advances them
//!   together);
//! - `POST /__test__/reset` empties every account's work and passkeys and ends every
//!   session, so each test starts clean on the one server the suite shares.

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::Duration;
use vigil::policy::MAX_TIMEOUT;
use vigil::{ErrorCode, Problem};

use crate::http::problem::{problem_response, ProblemContext};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Advance {
    pub seconds: i64,
}

#[derive(Debug, Deserialize)]
pub struct Freeze {
    pub at: i64,
}

#[derive(Debug, Serialize)]
pub struct ClockState {
    pub offset_seconds: i64,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub now: time::OffsetDateTime,
}

/// How far the clock may be moved in one call: as far as any timeout can reach, so the
/// clock can never be pushed off the calendar.
fn bounded(seconds: i64) -> Option<Duration> {
    (0..=MAX_TIMEOUT.whole_seconds())
        .contains(&seconds)
        .then(|| Duration::seconds(seconds))
}

async fn advance(State(state): State<AppState>, request: Request) -> Response {
    let context = ProblemContext::of(&request);
    let body = match <Json<Advance> as FromRequest<AppState>>::from_request(request, &state).await {
        Ok(Json(body)) => body,
        Err(rejection) => {
            let problem = Problem::new(ErrorCode::ValidationFailed, rejection.body_text());
            return problem_response(problem, &context);
        }
    };
    let moved = bounded(body.seconds).and_then(|by| match &state.test_clock {
        Some(clock) => clock.advance(by).ok(),
        None => Some(()),
    });
    if moved.is_none() {
        let problem = Problem::invalid_field(
            "seconds",
            format!(
                "Move the clock forward by 0 to {} seconds.",
                MAX_TIMEOUT.whole_seconds()
            ),
        );
        return problem_response(problem, &context);
    }
    Json(ClockState {
        offset_seconds: state
            .test_clock
            .as_ref()
            .map(|c| c.offset().whole_seconds())
            .unwrap_or(0),
        now: state.clock.now(),
    })
    .into_response()
}

async fn freeze(State(state): State<AppState>, request: Request) -> Response {
    let context = ProblemContext::of(&request);
    let body = match <Json<Freeze> as FromRequest<AppState>>::from_request(request, &state).await {
        Ok(Json(body)) => body,
        Err(rejection) => {
            let problem = Problem::new(ErrorCode::ValidationFailed, rejection.body_text());
            return problem_response(problem, &context);
        }
    };
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(body.at) else {
        let problem = Problem::invalid_field("at", "A unix time in seconds, on the calendar.");
        return problem_response(problem, &context);
    };
    if let Some(clock) = &state.test_clock {
        clock.freeze(at);
    }
    Json(ClockState {
        offset_seconds: 0,
        now: state.clock.now(),
    })
    .into_response()
}

async fn reset(State(state): State<AppState>, request: Request) -> Response {
    let context = ProblemContext::of(&request);
    let failed =
        |detail: String| problem_response(Problem::new(ErrorCode::InternalError, detail), &context);
    if let Err(err) = state.work.forget_everything().await {
        return failed(err.to_string());
    }
    if let Err(err) = state.passkeys.credentials().forget_everything().await {
        return failed(err.to_string());
    }
    if let Err(err) = state.users.enable_everyone().await {
        return failed(err.to_string());
    }
    let users = match state.users.ids().await {
        Ok(users) => users,
        Err(err) => return failed(err.to_string()),
    };
    for user in users {
        let ended = state
            .sessions
            .end_all_for_user(user, None, crate::session::EndReason::Operator)
            .await;
        if let Err(err) = ended {
            return failed(err.to_string());
        }
    }
    http::StatusCode::NO_CONTENT.into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/__test__/clock/advance", post(advance))
        .route("/__test__/clock/freeze", post(freeze))
        .route("/__test__/reset", post(reset))
}
