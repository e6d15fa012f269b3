//! `POST /__test__/clock/advance {"seconds": N}`: moves the server clock forward so the
//! end-to-end suite can fast-forward browser and server together. Mounted only when
//! `VIGIL_TEST_CLOCK` is set, which production refuses.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Advance {
    pub seconds: i64,
}

#[derive(Debug, Serialize)]
pub struct ClockState {
    pub offset_seconds: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub now: time::OffsetDateTime,
}

async fn advance(State(state): State<AppState>, Json(body): Json<Advance>) -> Json<ClockState> {
    if let Some(clock) = &state.test_clock {
        clock.advance(Duration::seconds(body.seconds.max(0)));
    }
    Json(ClockState {
        offset_seconds: state
            .test_clock
            .as_ref()
            .map(|c| c.offset().whole_seconds())
            .unwrap_or(0),
        now: state.clock.now(),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/__test__/clock/advance", post(advance))
}
