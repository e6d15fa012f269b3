//! Serves the app's server functions (`app::api`, the auth endpoints of SPEC §3).
//!
//! What leptos_axum's handler does, less its per-request overhead: each function's service is
//! looked up once at startup, not on every request (a lock, a hashed `String` key and a boxed
//! copy each time), and the request's parts reach the function as one shared copy instead
//! of two. The form-post redirect leptos_axum adds is left out: API requests always ask for
//! JSON (`normalize_api`). The two savings are 5.5k of the 17.6k instructions the dispatch
//! cost a public auth request (callgrind; docs/performance.md).

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;
use http::request::Parts;
use leptos::prelude::provide_context;
use leptos::reactive::computed::ScopedFuture;
use leptos::reactive::owner::Owner;
use leptos_axum::ResponseOptions;
use server_fn::middleware::BoxedService;

use app::api::AuthBackend;

/// One server function, ready to run.
type Service = Arc<Mutex<BoxedService<Request<Body>, Response<Body>>>>;

/// The paths leptos_axum must leave alone (`generate_route_list_with_exclusions`).
pub fn paths() -> Vec<String> {
    server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect()
}

/// A route for every registered server function.
pub fn routes<S: Clone + Send + Sync + 'static>(backend: Arc<dyn AuthBackend>) -> Router<S> {
    let mut router = Router::new();
    for (path, method) in server_fn::axum::server_fn_paths() {
        let (Ok(filter), Some(service)) = (
            MethodFilter::try_from(method.clone()),
            server_fn::axum::get_server_fn_service(path, method.clone()),
        ) else {
            tracing::error!(%path, %method, "a server function that cannot be served");
            continue;
        };
        let service: Service = Arc::new(Mutex::new(service));
        let backend = backend.clone();
        router = router.route(
            path,
            on(filter, move |request: Request| {
                run(service.clone(), backend.clone(), request)
            }),
        );
    }
    router
}

/// Runs one call with what the functions read from their context: the backend, the request
/// parts, and the options their answer's headers go to.
async fn run(service: Service, backend: Arc<dyn AuthBackend>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let shared = Arc::new(parts.clone());
    let request = Request::from_parts(parts, body);
    let options = ResponseOptions::default();
    let owner = Owner::new();
    let mut response = owner
        .with(|| {
            let options = options.clone();
            ScopedFuture::new(async move {
                provide_context::<Arc<Parts>>(shared);
                provide_context(options);
                provide_context(backend);
                // The lock only hands out the call's future; the call runs unlocked.
                let call = service
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .run(request);
                call.await
            })
        })
        .await;
    let mut set = options.0.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(status) = set.status {
        *response.status_mut() = status;
    }
    response
        .headers_mut()
        .extend(std::mem::take(&mut set.headers));
    response
}
