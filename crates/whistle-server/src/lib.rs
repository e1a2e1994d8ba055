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
pub mod progress;
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
    /// The last evaluation period the worker found closed (it reads the editions once a period).
    pub closed_period: std::sync::Mutex<Option<String>>,
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
            closed_period: std::sync::Mutex::new(None),
        })
    }
}

/// A router that records each route it is given as (method, path): the service's routes are
/// listed by building them, so the API document is checked against what is served.
pub struct Routes {
    router: Router<Arc<AppState>>,
    prefix: &'static str,
    pub list: Vec<(&'static str, String)>,
}

impl Routes {
    fn new(prefix: &'static str) -> Routes {
        Routes {
            router: Router::new(),
            prefix,
            list: Vec::new(),
        }
    }

    fn add(
        mut self,
        method: &'static str,
        path: &str,
        route: axum::routing::MethodRouter<Arc<AppState>>,
    ) -> Routes {
        self.router = self.router.route(path, route);
        self.list.push((method, format!("{}{path}", self.prefix)));
        self
    }

    fn get<H, T>(self, path: &str, handler: H) -> Routes
    where
        H: axum::handler::Handler<T, Arc<AppState>>,
        T: 'static,
    {
        self.add("get", path, get(handler))
    }

    fn post<H, T>(self, path: &str, handler: H) -> Routes
    where
        H: axum::handler::Handler<T, Arc<AppState>>,
        T: 'static,
    {
        self.add("post", path, post(handler))
    }
}

/// `/api/v1`.
fn api_routes() -> Routes {
    Routes::new("/api/v1")
        .post("/login", api::login)
        .post("/logout", api::logout)
        .get("/me", api::me)
        .get("/orders", api::list_orders)
        .post("/orders", api::create_order)
        .get("/orders/{no}", api::get_order)
        .get("/orders/{no}/history", api::history)
        .post("/orders/{no}/requester/reveal", api::reveal)
        .post("/orders/{no}/{command}", api::command)
        .get("/due", api::due)
        .get("/units", api::units)
        .get("/categories", api::categories)
        .get("/catalogue", api::catalogue)
        .get("/deadline", api::deadline)
        .get("/track/{no}", api::track)
        .get("/openapi.json", openapi::openapi_json)
        .get("/whistles", whistles_api::list)
        .post("/whistles", whistles_api::raise)
        .get("/grid-cases", grid_api::list)
        .post("/grid-cases", grid_api::file)
        .get("/grid-cases/{no}", grid_api::show)
        .get("/grid-cases/{no}/history", grid_api::history)
        .post("/grid-cases/{no}/{command}", grid_api::command)
        .get("/reports/{kind}", reports_api::report)
        .post("/evaluation/editions", reports_api::publish_edition)
        .get("/export/orders", reports_api::export_orders)
        .get("/whistles/feed", whistles_api::feed)
        .get("/whistle-list", whistles_api::whistle_list)
        .get("/whistles/{no}", whistles_api::show)
        .get("/whistles/{no}/history", whistles_api::history)
        .post("/whistles/{no}/{command}", whistles_api::command)
}

/// Open311 GeoReport v2 (`discovery.json`, `services.xml`, `requests/ID.json` …).
fn open311_routes() -> Routes {
    Routes::new("/open311/v2")
        .get("/{file}", open311::root)
        .post("/{file}", open311::post_requests)
        .get("/{collection}/{file}", open311::nested)
}

/// The service's own routes outside `/api/v1` and Open311.
fn service_routes() -> Routes {
    Routes::new("")
        .get("/api/docs", openapi::docs_page)
        .get("/healthz", api::healthz)
        .get("/readyz", api::readyz)
        .get("/metrics", metrics::render)
}

/// Every route of the JSON API, Open311 and the service (not the web pages), as (method, path).
pub fn served_routes() -> Vec<(&'static str, String)> {
    [api_routes(), open311_routes(), service_routes()]
        .into_iter()
        .flat_map(|routes| routes.list)
        .collect()
}

pub fn router(state: Arc<AppState>) -> Router {
    let api =
        api_routes()
            .router
            .fallback(api::no_route)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                guard::api_writes,
            ));
    Router::new()
        .merge(web::router(
            state.settings.attachment_max_bytes * web::FILES_PER_FORM + 64 * 1024,
        ))
        .nest("/api/v1", api)
        .nest("/open311/v2", open311_routes().router)
        .merge(service_routes().router)
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
