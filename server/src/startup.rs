//! Builds the application: state from settings, and the one `Router` that production and
//! the tests both use.

use std::sync::Arc;

use app::api::AuthBackend;
use app::{shell, App};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list_with_exclusions, LeptosRoutes};
use thiserror::Error;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use vigil::clock::OffsetClock;
use vigil::{Clock, SystemClock};

use crate::audit::AuditLog;
use crate::configuration::{Environment, SessionStoreChoice, Settings};
use crate::db::{self, Database, DbError};
use crate::events::{AnnouncingStore, Hub, NewsChannel};
use crate::http::auth::require_session;
use crate::http::auth_api::VigilBackend;
use crate::http::client_address::resolve_client_address;
use crate::http::completion::run_to_completion;
use crate::http::csrf::reject_cross_site;
use crate::http::headers::{protective_headers, sanitize_request_id};
use crate::http::page_access::page_session;
use crate::http::problem::{normalize_api, REQUEST_ID};
use crate::http::{api, assets, health, serve, server_fns, test_hooks};
use crate::identity::throttle::SignInThrottle;
use crate::identity::users::UserRepository;
use crate::maintenance::{self, Sweeper};
use crate::metrics::{self, Metrics};
use crate::passkeys::{Ceremonies, Credentials, Passkeys};
use crate::redis_connection::{RedisConnection, RedisSetupError};
use crate::session::store::{
    CachedSessionStore, DatabaseSessionStore, MeasuredStore, RedisSessionStore, SharedSessionStore,
};
use crate::session::LocalKeys;
use crate::session::SessionService;
use crate::session::{JwtSecret, SecretError};
use crate::session::{TokenError, TokenService};
use crate::state::{AppState, Components};
use crate::work::WorkStore;

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Redis(#[from] RedisSetupError),
    #[error("the token self-test failed: {0}")]
    TokenSelfTest(#[from] TokenError),
    #[error(transparent)]
    Passkeys(#[from] crate::passkeys::PasskeySetupError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Everything the state needs, assembled from settings. `clock` overrides the clock chosen
/// from the settings (tests pass a manual one).
pub async fn build_state(
    settings: Settings,
    leptos_options: LeptosOptions,
    clock: Option<Arc<dyn Clock>>,
) -> Result<AppState, StartupError> {
    let db = db::connect(
        &settings.storage.database_url,
        settings.storage.store_timeout.unsigned_abs(),
    )
    .await?;
    let redis = redis(&settings)?;
    let store = session_store(&settings, &db, redis.as_ref());
    build_state_with_store(settings, leptos_options, clock, db, store).await
}

/// The connection to Redis, when the settings keep sessions there (nothing connects yet).
pub fn redis(settings: &Settings) -> Result<Option<RedisConnection>, RedisSetupError> {
    match &settings.storage.session_store {
        SessionStoreChoice::Database => Ok(None),
        SessionStoreChoice::Redis(target) => Ok(Some(RedisConnection::new(
            target,
            settings.storage.store_timeout.unsigned_abs(),
        )?)),
    }
}

/// The session store the settings choose. Records are cached in process only in front of
/// the embedded SQLite store, whose write marks reach every process that shares the file.
pub fn session_store(
    settings: &Settings,
    db: &Database,
    redis: Option<&RedisConnection>,
) -> SharedSessionStore {
    match redis {
        Some(connection) => Arc::new(RedisSessionStore::new(
            connection.clone(),
            &settings.storage.redis_prefix,
        )),
        None => {
            let sessions =
                DatabaseSessionStore::new(db, db::database_file(&settings.storage.database_url));
            match sessions.write_marks() {
                Some(mark) => Arc::new(CachedSessionStore::new(sessions, mark)),
                None => Arc::new(sessions),
            }
        }
    }
}

/// As [`build_state`], with the session store given (tests wrap it to count or fail).
pub async fn build_state_with_store(
    settings: Settings,
    leptos_options: LeptosOptions,
    clock: Option<Arc<dyn Clock>>,
    db: Database,
    store: SharedSessionStore,
) -> Result<AppState, StartupError> {
    let test_clock = settings.test_clock.then(OffsetClock::new);
    let clock: Arc<dyn Clock> = match (clock, &test_clock) {
        (Some(clock), _) => clock,
        (None, Some(offset)) => Arc::new(offset.clone()),
        (None, None) => Arc::new(SystemClock),
    };
    let secret = JwtSecret::load(
        &settings.tokens.secret,
        settings.environment == Environment::Production,
    )?;
    let tokens = TokenService::new(&secret, &settings.tokens.issuer, &settings.tokens.audience)?;
    tokens.self_test(clock.now())?;
    let audit = AuditLog::new(&db);
    let users = UserRepository::new(&db, settings.sign_in.hashing);
    let work = WorkStore::new(db.clone());
    let local_keys = LocalKeys::new(&secret);
    let metrics = Arc::new(Metrics::new());
    // The limits, the passkey ceremonies and the news of sessions are shared wherever the
    // sessions are: in Redis, or in this process and its database.
    let redis = redis(&settings)?;
    let prefix = &settings.storage.redis_prefix;
    let news = NewsChannel::of(redis.as_ref(), prefix);
    let store: SharedSessionStore = Arc::new(MeasuredStore::new(
        Arc::new(AnnouncingStore::new(store, news.clone())),
        metrics.clone(),
    ));
    let sessions = SessionService::new(
        store,
        tokens,
        clock.clone(),
        settings.sessions.rules,
        audit,
        local_keys,
        metrics.clone(),
    );
    let throttle = Arc::new(match &redis {
        Some(connection) => SignInThrottle::shared(
            settings.sign_in.limits,
            clock.clone(),
            connection.clone(),
            prefix,
        ),
        None => SignInThrottle::new(settings.sign_in.limits, clock.clone()),
    });
    let ceremonies = match redis {
        Some(connection) => Ceremonies::Redis {
            connection,
            prefix: prefix.clone(),
        },
        None => Ceremonies::Database(db.clone()),
    };
    let passkeys = Passkeys::new(
        &settings.network.public_url,
        ceremonies,
        Credentials::new(&db),
    )?;
    let events = Hub::new(sessions.clone(), news, settings.network.events);
    let backend = Arc::new(VigilBackend::new(
        sessions.clone(),
        users.clone(),
        throttle.clone(),
        passkeys.clone(),
    ));
    Ok(AppState::new(Components {
        leptos_options,
        settings: Arc::new(settings),
        clock,
        test_clock,
        db,
        users,
        sessions,
        work,
        backend,
        passkeys,
        events,
        throttle,
        metrics,
    }))
}

/// Every path of the API namespace the router serves: the axum API routes (the one list of
/// `http::api`, whose `routes!` record each path) and the server functions' registry. These
/// are exactly what [`routes`] merges into the API namespace; the OpenAPI coverage test holds
/// the document to them (and the methods to what the router answers).
pub fn api_paths(settings: &Settings) -> std::collections::BTreeSet<String> {
    let (_, recorded) = api(settings).split_for_parts();
    recorded
        .paths
        .paths
        .into_keys()
        .chain(server_fns::paths())
        .collect()
}

/// The routes alone: pages and server functions (Leptos), files, the API, the test hooks.
pub fn routes(state: &AppState) -> Router {
    // Server functions are served by `server_fns`, pages by Leptos.
    let routes = generate_route_list_with_exclusions(App, Some(server_fns::paths()));
    let backend: Arc<dyn AuthBackend> = state.backend.clone();
    let mut router = Router::new()
        .leptos_routes_with_context(state, routes, move || provide_context(backend.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(state.clone(), page_session));
    router = router
        .merge(server_fns::routes(state.backend.clone()))
        .merge(assets::routes(
            &state.leptos_options.site_root,
            &state.leptos_options.site_pkg_dir,
        ))
        .merge(api(&state.settings).split_for_parts().0);
    if state.test_clock.is_some() {
        router = router.merge(test_hooks::routes());
    }
    router
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone())
}

/// The one `Router` production and the tests use: [`routes`] inside the middleware stack.
pub fn router(state: AppState) -> Router {
    let routes = routes(&state);
    let body_read_timeout = state.settings.network.body_read_timeout.unsigned_abs();
    // One stack around the whole router, outermost first. (`Router::layer` would wrap every
    // route in each layer: a boxed clone per layer per request, most of a bare request's
    // time.)
    let stack = ServiceBuilder::new()
        .map_response({
            let metrics = state.metrics.clone();
            move |response| metrics::count_refusals(&metrics, response)
        })
        .map_request(sanitize_request_id)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(from_fn_with_state(state.clone(), protective_headers))
        .layer(RequestBodyTimeoutLayer::new(body_read_timeout))
        .map_request(|request: http::Request<_>| request.map(axum::body::Body::new))
        .map_request({
            let settings = state.settings.clone();
            move |request| resolve_client_address(&settings.network.trusted_proxies, request)
        })
        .layer(from_fn(run_to_completion))
        .layer(from_fn(normalize_api))
        .layer(from_fn_with_state(state.clone(), reject_cross_site))
        .layer(from_fn_with_state(state, require_session))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// Serves `/metrics` alone on `addr` (`VIGIL_METRICS_ADDR`), away from the public address.
async fn serve_metrics(state: AppState, addr: std::net::SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!(%addr, error = %err, "could not listen for metrics");
            return;
        }
    };
    tracing::info!(%addr, "metrics on http://{addr}/metrics");
    let (router, _) = health::metrics_routes().split_for_parts();
    let router = router.with_state(state);
    if let Err(err) = axum::serve(listener, router).await {
        tracing::error!(error = %err, "the metrics listener stopped");
    }
}

/// Every log line of a request carries its id, the one in `X-Request-Id` and problem bodies.
fn request_span<B>(request: &http::Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    pub async fn build(
        settings: Settings,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        let addr = settings
            .network
            .listen_addr
            .unwrap_or(leptos_options.site_addr);
        let state = build_state(settings, leptos_options, None).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        Ok(Self {
            listener,
            router: router(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM, with the housekeeping tasks beside it.
    pub async fn run_until_stopped(self) {
        self.run_until(shutdown_signal()).await;
    }

    /// Serves until `shutdown` completes; then writes what the audit log still holds.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) {
        let audit = self.state.sessions.audit().clone();
        let sweeper = maintenance::spawn_sweeper(
            Sweeper::new(
                self.state.sessions.clone(),
                self.state.work.clone(),
                self.state.passkeys.ceremonies().clone(),
                self.state.settings.audit_retention,
            ),
            maintenance::SWEEP_INTERVAL,
        );
        let flusher = maintenance::spawn_audit_flusher(audit.clone(), maintenance::FLUSH_INTERVAL);
        let checkpointer = maintenance::spawn_checkpointer(
            self.state.db.clone(),
            maintenance::CHECKPOINT_INTERVAL,
        );
        let metrics = self
            .state
            .settings
            .network
            .metrics_addr
            .map(|addr| tokio::spawn(serve_metrics(self.state.clone(), addr)));
        let header_read_timeout = self
            .state
            .settings
            .network
            .header_read_timeout
            .unsigned_abs();
        // Open event streams would hold the drain up: they end first (their pages
        // reconnect to another instance).
        let events = self.state.events.clone();
        let shutdown = async move {
            shutdown.await;
            events.close_all();
        };
        serve::serve(self.listener, self.router, header_read_timeout, shutdown).await;
        sweeper.abort();
        flusher.abort();
        checkpointer.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        if let Err(err) = audit.flush().await {
            tracing::error!(error = %err, "could not write the last audit counts");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
