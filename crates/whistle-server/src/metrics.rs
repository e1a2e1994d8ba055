//! Prometheus-format metrics: requests by route and status with latency histograms, orders by
//! stage and overdue orders (read from the store at scrape time). No personal data, no order
//! numbers: routes are their templates (`/api/v1/orders/{no}`).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
}

/// The method label from a closed set: a made-up method is "other", so no request can add a
/// series (the route label is the matched template or "unmatched", the status a number).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut guard = match self.requests.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let series = guard
            .entry((method, route.to_string(), status))
            .or_default();
        series.count += 1;
        series.sum += seconds;
        for (bucket, bound) in series.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }
}

/// Middleware: times every request, records it under its route template and writes its access
/// log line.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe(method, &route, status, latency.as_secs_f64());
    access_log(&state, &id, method, &route, status, latency);
    response
}

/// The access log: one structured line per request logged — the request id, the method (from
/// the closed set), the route template, the status and the latency; never the query string or
/// the body, which can carry personal data. `server.access_log` sets the level (`info`, `debug`,
/// `off`); `server.access_log_sample` the share of successful, fast requests logged (refusals,
/// errors and requests slower than a second are always logged).
fn access_log(
    state: &AppState,
    id: &str,
    method: &str,
    route: &str,
    status: u16,
    latency: std::time::Duration,
) {
    let debug = match state.settings.access_log.as_str() {
        "off" => return,
        "debug" => true,
        _ => false,
    };
    let sample = state.settings.access_log_sample.clamp(0.0, 1.0);
    let always = status >= 400 || latency.as_secs() >= 1;
    let sampled = || {
        sample > 0.0 && {
            let every = (1.0 / sample).round().max(1.0) as u64;
            state
                .access_seen
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .is_multiple_of(every)
        }
    };
    if always || sampled() {
        let latency_ms = latency.as_secs_f64() * 1e3;
        if debug {
            tracing::debug!(request_id = %id, method, route = %route, status, latency_ms, "request");
        } else {
            tracing::info!(request_id = %id, method, route = %route, status, latency_ms, "request");
        }
    }
}

pub async fn render(State(state): State<Arc<AppState>>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP whistle_http_requests_total HTTP requests by route and status.\n# TYPE whistle_http_requests_total counter\n");
    let mut latency = String::from(
        "# HELP whistle_http_request_seconds HTTP request latency.\n# TYPE whistle_http_request_seconds histogram\n",
    );
    if let Ok(guard) = state.metrics.requests.lock() {
        for ((method, route, status), series) in guard.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let _ = writeln!(
                out,
                "whistle_http_requests_total{{{labels}}} {}",
                series.count
            );
            for (bound, count) in BUCKETS.iter().zip(series.buckets) {
                let _ = writeln!(
                    latency,
                    "whistle_http_request_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                latency,
                "whistle_http_request_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                latency,
                "whistle_http_request_seconds_sum{{{labels}}} {}",
                series.sum
            );
            let _ = writeln!(
                latency,
                "whistle_http_request_seconds_count{{{labels}}} {}",
                series.count
            );
        }
    }
    out.push_str(&latency);
    out.push_str("# HELP whistle_component_up Whether each long-running part runs (1) or has stopped (0): the store's writer (and SQLite's planner) and the deadline worker.\n# TYPE whistle_component_up gauge\n");
    for (component, running) in crate::components(&state) {
        let _ = writeln!(
            out,
            "whistle_component_up{{component=\"{component}\"}} {}",
            u8::from(running)
        );
    }
    for gauge in state.store.gauges() {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}",
            name = gauge.name,
            help = gauge.help,
            kind = gauge.kind,
            value = gauge.value
        );
    }
    out.push_str("# HELP whistle_orders Orders by stage.\n# TYPE whistle_orders gauge\n");
    if let Ok(counts) = state.store.stage_counts().await {
        for (stage, count) in counts {
            let _ = writeln!(out, "whistle_orders{{stage=\"{stage}\"}} {count}");
        }
    }
    out.push_str("# HELP whistle_orders_overdue Open orders whose earliest running deadline has passed.\n# TYPE whistle_orders_overdue gauge\n");
    if let Ok(count) = state.store.count_due(state.clock.now()).await {
        let _ = writeln!(out, "whistle_orders_overdue {count}");
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}
