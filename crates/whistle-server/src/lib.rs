//! The Whistle HTTP service: the JSON API over the engine, accounts and roles, Open311, the
//! deadline worker. Handlers are thin: parse → role and scope checks → one Store call → render.

pub mod api;
pub mod auth;
pub mod error;
pub mod grid_api;
pub mod guard;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod open311;
pub mod openapi;
pub mod reports_api;
pub mod roles;
pub mod settings;
pub mod views;
pub mod web;
pub mod whistles_api;
pub mod worker;

use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use whistle_core::time::Timestamp;
use whistle_store::Store;

pub use settings::{ServerSettings, WorkerSettings};

/// Where "now" comes from; tests substitute a clock they control.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

/// A clock that starts at a chosen time and runs at the real pace from there: the demo's
/// `--clock`, so that screenshots and browser tests see the same dates and deadlines each run.
pub struct StartedClock {
    start: Timestamp,
    since: std::time::Instant,
}

impl StartedClock {
    pub fn new(start: Timestamp) -> Self {
        StartedClock {
            start,
            since: std::time::Instant::now(),
        }
    }
}

impl Clock for StartedClock {
    fn now(&self) -> Timestamp {
        let elapsed = chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: ServerSettings,
    pub clock: Arc<dyn Clock>,
    pub metrics: metrics::Metrics,
    pub limiter: limits::RateLimiter,
    /// Wakes the live feeds when this server has written whistle events.
    pub whistle_written: tokio::sync::Notify,
    /// Flips to true when the server shuts down, ending the live feeds.
    pub shutting_down: tokio::sync::watch::Sender<bool>,
    /// The deadline worker's task (readiness, when it is enabled).
    pub worker_running: whistle_store::Liveness,
    /// Whose `X-Forwarded-For` is believed.
    pub proxies: limits::TrustedProxies,
    /// Requests seen by the access log (for its sampling).
    pub access_seen: std::sync::atomic::AtomicU64,
}

/// Every long-running part and whether it runs: the store's, and the deadline worker when the
/// settings enable it. Readiness is 503 and `whistle_component_up` 0 while one is not.
pub fn components(state: &AppState) -> Vec<(&'static str, bool)> {
    let mut parts = state.store.components();
    if state.settings.worker.enabled {
        parts.push(("deadline_worker", state.worker_running.is_running()));
    }
    parts
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        settings: ServerSettings,
        clock: Arc<dyn Clock>,
    ) -> Arc<AppState> {
        let proxies =
            limits::TrustedProxies::parse(&settings.trusted_proxies).unwrap_or_else(|error| {
                tracing::error!(%error, "ignoring the trusted proxies");
                limits::TrustedProxies::default()
            });
        Arc::new(AppState {
            access_seen: std::sync::atomic::AtomicU64::new(0),
            proxies,
            store,
            settings,
            clock,
            metrics: metrics::Metrics::default(),
            limiter: limits::RateLimiter::default(),
            whistle_written: tokio::sync::Notify::new(),
            shutting_down: tokio::sync::watch::Sender::new(false),
            worker_running: whistle_store::Liveness::default(),
        })
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me", get(api::me))
        .route("/orders", get(api::list_orders).post(api::create_order))
        .route("/orders/{no}", get(api::get_order))
        .route("/orders/{no}/history", get(api::history))
        .route("/orders/{no}/requester/reveal", post(api::reveal))
        .route("/orders/{no}/{command}", post(api::command))
        .route("/due", get(api::due))
        .route("/units", get(api::units))
        .route("/categories", get(api::categories))
        .route("/catalogue", get(api::catalogue))
        .route("/deadline", get(api::deadline))
        .route("/track/{no}", get(api::track))
        .route("/openapi.json", get(openapi::openapi_json))
        .route(
            "/whistles",
            get(whistles_api::list).post(whistles_api::raise),
        )
        .route("/grid-cases", get(grid_api::list).post(grid_api::file))
        .route("/grid-cases/{no}", get(grid_api::show))
        .route("/grid-cases/{no}/history", get(grid_api::history))
        .route("/grid-cases/{no}/{command}", post(grid_api::command))
        .route("/reports/{kind}", get(reports_api::report))
        .route("/export/orders", get(reports_api::export_orders))
        .route("/whistles/feed", get(whistles_api::feed))
        .route("/whistle-list", get(whistles_api::whistle_list))
        .route("/whistles/{no}", get(whistles_api::show))
        .route("/whistles/{no}/history", get(whistles_api::history))
        .route("/whistles/{no}/{command}", post(whistles_api::command))
        .fallback(api::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::api_writes,
        ));
    let open311 = Router::new()
        .route("/{file}", get(open311::root).post(open311::post_requests))
        .route("/{collection}/{file}", get(open311::nested));
    Router::new()
        .merge(web::router(
            state.settings.attachment_max_bytes * web::FILES_PER_FORM + 64 * 1024,
        ))
        .nest("/api/v1", api)
        .nest("/open311/v2", open311)
        .route("/api/docs", get(openapi::docs_page))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::render))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.settings.body_limit_bytes,
        ))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feeds = state.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live feeds never end by themselves: end them so the shutdown can finish.
            feeds.shutting_down.send_replace(true);
        })
        .await
}
