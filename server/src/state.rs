//! What every handler and layer can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use vigil::clock::OffsetClock;
use vigil::Clock;

use crate::configuration::Settings;
use crate::identity::users::UserRepository;
use crate::session::SessionService;

/// Cloned for every layer of every request, so it is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Components>);

impl AppState {
    pub fn new(components: Components) -> Self {
        Self(Arc::new(components))
    }
}

impl std::ops::Deref for AppState {
    type Target = Components;

    fn deref(&self) -> &Components {
        &self.0
    }
}

pub struct Components {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    /// Present only when the end-to-end suite may move the server clock.
    pub test_clock: Option<OffsetClock>,
    /// The database of users, work and audit rows (and of sessions with the embedded store).
    pub db: crate::db::Database,
    pub users: UserRepository,
    pub sessions: SessionService,
    pub work: crate::work::WorkStore,
    /// Signing in (with a password or a passkey) and the session endpoints behind the
    /// server functions.
    pub backend: Arc<crate::http::auth_api::VigilBackend>,
    pub passkeys: crate::passkeys::Passkeys,
    /// The open event streams of this instance (`GET /api/events`).
    pub events: crate::events::Hub,
    /// The sign-in failure limits (a wrong current password counts like a failed sign-in).
    pub throttle: Arc<crate::identity::throttle::SignInThrottle>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
