//! The HTTP edge: the layers every request crosses (request ids, protective headers,
//! client address, CSRF, authentication, problem responses), the accept loop, and the
//! endpoints' implementations.

pub mod admin_api;
pub mod assets;
pub mod auth;
pub mod auth_api;
pub mod client_address;
pub mod completion;
pub mod csrf;
pub mod events_api;
pub mod extract;
pub mod headers;
pub mod health;
pub mod openapi;
pub mod page_access;
pub mod page_compression;
pub mod passkeys_api;
pub mod problem;
pub mod serve;
pub mod server_fns;
pub mod sessions_api;
pub mod test_hooks;
pub mod work_api;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::configuration::Settings;
use crate::state::AppState;

/// Every API endpoint that is an axum route, each documented where it is declared (the auth
/// server functions are routed by Leptos). The one list both the router and the OpenAPI
/// document are made from.
pub fn api(settings: &Settings) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(work_api::routes())
        .merge(admin_api::routes())
        .merge(sessions_api::routes())
        .merge(events_api::routes())
        .merge(passkeys_api::routes())
        .merge(health::routes())
        .routes(routes!(openapi::serve_document));
    // In production the metrics are never on the public address: only on
    // `VIGIL_METRICS_ADDR` (they tell how many people are signed in, and what fails).
    let public_metrics = settings.network.metrics_addr.is_none()
        && settings.environment != crate::configuration::Environment::Production;
    if public_metrics {
        api.merge(health::metrics_routes())
    } else {
        api
    }
}
