//! The web workbenches (工作台): pages rendered on the server from askama templates
//! (`templates/`, checked at compile time), over the same store calls and core commands as the
//! JSON API — never HTTP calls to itself. Staff pages live under `/ui/`, the citizen's page at
//! `/`; the embedded static files under `/assets/`.
//!
//! Invariant: every page carries `Content-Security-Policy: default-src 'self'` (nothing is
//! loaded from elsewhere) and is never cached; every form that changes something carries the
//! CSRF token of its session ([`csrf_token`]) and is refused without it.

mod act;
mod admin;
pub mod assets;
mod attachments;
pub use attachments::FILES_PER_FORM;
mod citizen;
mod citizen_forms;
mod commands;
mod dispatch;
mod format;
mod hints;
mod inbox;
mod intake;
mod lookup;
mod pages;
mod replies;
mod session;
mod supervision;
mod visits;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use whistle_core::error::Lang;

use crate::auth::{self, Principal};
use crate::AppState;

/// The language cookie the pages' switch sets; the JSON API reads it too.
pub const LANG_COOKIE: &str = "whistle_lang";

/// The pages' routes; forms that carry files take bodies up to `upload_limit` bytes.
pub fn router(upload_limit: usize) -> Router<Arc<AppState>> {
    let uploads = Router::new()
        .route("/submit", post(citizen_forms::submit))
        .route("/ui/orders/{no}/attachments", post(attachments::upload))
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit));
    Router::new()
        .merge(uploads)
        .route("/", get(citizen::home))
        .route("/track", get(citizen::track))
        .route("/rate", post(citizen_forms::rate))
        .route("/streets", get(citizen::streets))
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(pages::landing))
        .route("/ui/login", get(session::login_page).post(session::login))
        .route("/ui/logout", post(session::logout))
        .route("/ui/role", post(session::switch_role))
        .route("/ui/lang/{lang}", get(session::switch_language))
        .route("/ui/intake", get(intake::page).post(intake::save))
        .route("/ui/intake/hints", get(hints::hints))
        .route("/ui/intake/streets", get(intake::streets))
        .route("/ui/intake/communities", get(intake::communities))
        .route("/ui/inbox", get(inbox::page))
        .route("/ui/units", get(lookup::units))
        .route("/ui/admin", get(admin::page).post(admin::act))
        .route("/ui/dispatch", get(dispatch::page))
        .route("/ui/dispatch/bulk", post(dispatch::bulk))
        .route("/ui/visits", get(visits::page))
        .route("/ui/supervision", get(supervision::page))
        .route("/ui/visits/reveal", post(visits::reveal))
        .route("/ui/orders/{no}/act/{command}", post(act::act))
        .route("/ui/orders", get(pages::find_order))
        .route("/ui/orders/{no}", get(pages::order))
        .route(
            "/ui/orders/{no}/attachments/{sha}",
            get(attachments::download),
        )
        .layer(axum::middleware::from_fn(page_headers))
        .route("/assets/{file}", get(assets::serve))
}

/// The headers of every page: the content policy, no framing, no sniffing, no caching.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The language of a page: the switch's cookie, else the browser's `Accept-Language`.
pub fn page_language(headers: &HeaderMap) -> Lang {
    match auth::cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        _ => auth::language_of(headers),
    }
}

/// Who is looking at a page: the principal behind the session cookie, and that session's CSRF
/// token. Integration tokens do not open pages.
pub struct Viewer {
    pub principal: Principal,
    pub role: crate::roles::Role,
    pub csrf: String,
}

/// The viewer of a request, if its session cookie is valid.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, Response> {
    let Some(session) = auth::session_cookie(headers) else {
        return Ok(None);
    };
    let lang = page_language(headers);
    let principal = auth::authenticate(state, &session)
        .await
        .map_err(|e| failure(e.status, e.message, lang))?;
    Ok(principal.and_then(|principal| {
        let role = principal.role.filter(|_| principal.token_scope.is_none())?;
        Some(Viewer {
            principal,
            role,
            csrf: csrf_token(&session),
        })
    }))
}

/// The viewer, or a redirect to the login page that comes back here afterwards.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Viewer, Response> {
    match viewer(state, headers).await? {
        Some(viewer) => Ok(viewer),
        None => Err(Redirect::to(&format!("/ui/login?next={}", urlencode(here))).into_response()),
    }
}

/// A session's CSRF token: derived from the session secret (which only the HttpOnly cookie
/// carries), so a page of this service can show it and another site cannot know it.
pub fn csrf_token(session: &str) -> String {
    auth::hash_secret(&format!("csrf:{session}"))[..32].to_string()
}

/// Whether a form's token (or htmx's `X-CSRF-Token` header) matches the viewer's session.
pub fn csrf_ok(expected: &str, headers: &HeaderMap, form: Option<&str>) -> bool {
    let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let given = form.filter(|t| !t.is_empty()).or(header).unwrap_or("");
    !expected.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What every page's frame shows: language, title, the signed-in user and the desks' menu.
pub struct Chrome {
    pub lang: Lang,
    pub title: String,
    pub csrf: String,
    pub user: Option<UserBar>,
    pub nav: Vec<NavItem>,
    /// The page's path and query, for the language switch to come back to.
    pub here: String,
    /// A narrow column (login).
    pub narrow: bool,
}

pub struct UserBar {
    pub login: String,
    pub role: String,
    pub unit: String,
    /// The roles the person may switch to (empty when there is only one).
    pub roles: Vec<RoleOption>,
}

/// A role the signed-in person holds, in the role switch: `role@unit`, its label, whether it is
/// the one acted in.
pub struct RoleOption {
    pub value: String,
    pub label: String,
    pub current: bool,
}

/// The people an order of `unit` may be assigned to: its active accounts that handle orders
/// there ([`crate::roles::handles_orders_at`]), by login.
pub async fn colleagues(
    state: &AppState,
    unit: &whistle_core::ids::UnitCode,
) -> Result<Vec<whistle_store::Account>, whistle_store::StoreError> {
    Ok(state
        .store
        .colleagues(unit)
        .await?
        .into_iter()
        .filter(|a| crate::roles::handles_orders_at(a, unit))
        .collect())
}

/// A role's name for the reader.
pub fn role_label(role: crate::roles::Role, lang: Lang) -> String {
    match lang {
        Lang::Zh => role.label_zh().to_string(),
        Lang::En => role.as_str().replace('_', " "),
    }
}

pub struct NavItem {
    pub href: String,
    pub label: String,
    pub current: bool,
}

impl Chrome {
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn html_lang(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other_lang_code(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "en",
            Lang::En => "zh-CN",
        }
    }

    pub fn other_lang_name(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "English",
            Lang::En => "中文",
        }
    }

    pub fn switch_href(&self) -> String {
        let target = match self.lang {
            Lang::Zh => "en",
            Lang::En => "zh",
        };
        format!("/ui/lang/{target}?next={}", urlencode(&self.here))
    }

    pub fn asset(&self, logical: &str) -> String {
        assets::url(logical)
    }
}

/// A page's frame for a viewer (or nobody), with the menu of the viewer's desks.
pub fn chrome(
    state: &AppState,
    viewer: Option<&Viewer>,
    lang: Lang,
    title: &str,
    here: &str,
) -> Chrome {
    let reference = state.store.reference();
    let unit_name = |unit: &whistle_core::ids::UnitCode| {
        reference
            .directory
            .get(unit)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| unit.to_string())
    };
    let user = viewer.map(|v| UserBar {
        login: v.principal.name.clone(),
        role: role_label(v.role, lang),
        unit: unit_name(&v.principal.unit),
        roles: v
            .principal
            .grants
            .iter()
            .map(|(role, unit)| RoleOption {
                value: whistle_store::Grant {
                    role: role.as_str().to_string(),
                    unit: unit.clone(),
                }
                .to_string(),
                label: format!("{} · {}", role_label(*role, lang), unit_name(unit)),
                current: *role == v.role && *unit == v.principal.unit,
            })
            .collect(),
    });
    let nav = viewer
        .map(|v| {
            pages::desks(v.role, lang)
                .into_iter()
                .map(|desk| NavItem {
                    current: here == desk.href || here.starts_with(&format!("{}?", desk.href)),
                    href: desk.href,
                    label: desk.label,
                })
                .collect()
        })
        .unwrap_or_default();
    Chrome {
        lang,
        title: title.to_string(),
        csrf: viewer.map(|v| v.csrf.clone()).unwrap_or_default(),
        user,
        nav,
        here: here.to_string(),
        narrow: false,
    }
}

/// Renders a template into a page, or a plain failure page when rendering fails.
pub fn render(template: &impl askama::Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "页面生成失败 / the page could not be rendered".into(),
                Lang::Zh,
            )
        }
    }
}

/// A minimal page for a failure (no template: it must work when templates do not).
pub fn failure(status: StatusCode, message: String, lang: Lang) -> Response {
    let (lang_attr, back) = match lang {
        Lang::Zh => ("zh-CN", "返回工作台"),
        Lang::En => ("en", "Back to my desks"),
    };
    let message = format::escape(&message);
    let css = assets::url("whistle.css");
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"{lang_attr}\"><head><meta charset=\"utf-8\"><title>{status}</title>\
             <link rel=\"stylesheet\" href=\"{css}\"></head><body><main id=\"main\"><div class=\"card\">\
             <h1>{}</h1><p class=\"alert error\" role=\"alert\">{message}</p><p><a href=\"/ui/\">{back}</a></p>\
             </div></main></body></html>",
            status.as_u16()
        )),
    )
        .into_response()
}

/// The failure page of a store error.
pub fn store_failure(error: whistle_store::StoreError, lang: Lang) -> Response {
    let error = crate::error::ApiError::store(error, lang);
    failure(error.status, error.message, lang)
}

/// Percent-encodes a path and query for a `next=` parameter.
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A `next=` target that stays on this service's pages (an open redirect otherwise).
pub fn safe_next(next: &str) -> &str {
    let local = (next.starts_with("/ui/") || next == "/" || next.starts_with("/track"))
        && !next.starts_with("//")
        && !next.contains('\\');
    if local {
        next
    } else {
        "/ui/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_the_service() {
        assert_eq!(
            safe_next("/ui/orders/20261201-000001"),
            "/ui/orders/20261201-000001"
        );
        assert_eq!(safe_next("/track?no=1"), "/track?no=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/ui/\\evil",
            "",
            "javascript:x",
        ] {
            assert_eq!(safe_next(bad), "/ui/", "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let token = csrf_token("abc");
        let mut headers = HeaderMap::new();
        assert!(csrf_ok(&token, &headers, Some(&token)));
        assert!(!csrf_ok(&token, &headers, Some(&csrf_token("abd"))));
        assert!(!csrf_ok(&token, &headers, None));
        assert!(!csrf_ok("", &headers, Some("")));
        headers.insert("x-csrf-token", HeaderValue::from_str(&token).unwrap());
        assert!(csrf_ok(&token, &headers, None));
    }
}
