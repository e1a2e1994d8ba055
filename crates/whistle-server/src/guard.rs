//! The JSON API's door: a write must say it sends JSON (else 415 — an HTML form cannot), and a
//! write authenticated by the session cookie must come from the service's own pages (its
//! `Origin`, or failing that its `Referer`, is the public URL's origin or the request's own
//! host; else 403). Bearer tokens are not sent by browsers on their own, so they need no check.
//! Open311 is outside (its spec posts forms, authenticated by an API key).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::error::ApiError;
use crate::AppState;

pub async fn api_writes(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let lang = crate::auth::language_of(headers);
    if has_body(headers) && !is_json(headers) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求体须为 JSON（Content-Type: application/json）",
            "the body must be JSON (Content-Type: application/json)",
            lang,
        )
        .into_response();
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let cookie = crate::auth::session_cookie(headers).is_some();
    let is_login = request.uri().path().ends_with("/login");
    let origin = origin_of(headers);
    let refused = match origin {
        // A cookie session's write must name where it comes from.
        None => cookie && !bearer,
        Some(origin) => (cookie && !bearer || is_login) && !allowed(&state, headers, &origin),
    };
    if refused {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "请求来源不是本系统的页面，已拒绝",
            "this request does not come from this service's pages",
            lang,
        )
        .into_response();
    }
    next.run(request).await
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|length| length > 0)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"))
}

/// `scheme://host[:port]` of the `Origin`, else of the `Referer`.
fn origin_of(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return Some(origin.trim().to_string());
    }
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok())?;
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

fn allowed(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    if let Some(public) = state.settings.allowed_origin() {
        return origin.eq_ignore_ascii_case(&public);
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    ["http://", "https://"]
        .iter()
        .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}")))
}
