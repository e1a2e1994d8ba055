//! Signing in and out of the pages, and the language switch.
//!
//! The login form is protected by a double-submit token: a random value in an HttpOnly,
//! `SameSite=Strict` cookie and in the form, which must match (no session exists yet to derive
//! one from). Sign-in itself is the JSON API's ([`crate::api::sign_in`]): the same password
//! check, the same session, the same limits on failures.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;

use super::{chrome, csrf_ok, page_language, safe_next, viewer, Chrome, LANG_COOKIE};
use crate::auth;
use crate::limits::ClientIp;
use crate::AppState;

const LOGIN_CSRF_COOKIE: &str = "whistle_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    login: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /ui/login`: the form (a signed-in viewer goes straight on).
pub async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let lang = page_language(&headers);
    match viewer(&state, &headers).await {
        Ok(Some(_)) => return Redirect::to(safe_next(&query.next)).into_response(),
        Ok(None) => {}
        Err(response) => return response,
    }
    login_form(
        &state,
        lang,
        String::new(),
        query.next,
        None,
        StatusCode::OK,
    )
}

fn login_form(
    state: &AppState,
    lang: Lang,
    login: String,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let token = auth::random_hex(16);
    let mut chrome = chrome(state, None, lang, chrome_title(lang), "/ui/login");
    chrome.csrf = token.clone();
    chrome.narrow = true;
    let page = LoginPage {
        chrome,
        login,
        next: safe_next(&next).to_string(),
        error,
    };
    let mut response = super::render(&page, status);
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/ui/login; Max-Age=3600{}",
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    set_cookie(&mut response, &cookie);
    response
}

fn chrome_title(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "登录",
        Lang::En => "Log in",
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /ui/login`: signs in and goes on to `next` (a desk by default); a refusal shows the
/// form again with the login kept and the reason in the reader's language.
pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = page_language(&headers);
    let Ok(Form(form)) = form else {
        let error = lang_text(
            lang,
            "表单格式不正确，请重新填写",
            "the form could not be read; fill it in again",
        );
        return login_form(
            &state,
            lang,
            String::new(),
            String::new(),
            Some(error),
            StatusCode::BAD_REQUEST,
        );
    };
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !csrf_ok(&expected, &HeaderMap::new(), Some(&form.csrf)) {
        let error = lang_text(
            lang,
            "登录页面已过期，请重新登录",
            "the login page has expired; log in again",
        );
        return login_form(
            &state,
            lang,
            form.login,
            form.next,
            Some(error),
            StatusCode::FORBIDDEN,
        );
    }
    if form.login.trim().is_empty() || form.password.is_empty() {
        let error = lang_text(lang, "请填写用户名和密码", "enter your login and password");
        return login_form(
            &state,
            lang,
            form.login,
            form.next,
            Some(error),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match crate::api::sign_in(
        &state,
        &ip.to_string(),
        form.login.trim(),
        &form.password,
        lang,
    )
    .await
    {
        Ok(signed) => {
            let mut response = Redirect::to(safe_next(&form.next)).into_response();
            set_cookie(&mut response, &signed.cookie);
            response
        }
        Err(error) => login_form(
            &state,
            lang,
            form.login,
            form.next,
            Some(error.message),
            error.status,
        ),
    }
}

/// The refusal of a form whose token is not the session's.
fn expired(lang: Lang) -> Response {
    super::failure(
        StatusCode::FORBIDDEN,
        lang_text(
            lang,
            "请求已过期，请刷新页面后重试",
            "the page has expired; reload it and try again",
        ),
        lang,
    )
}

fn lang_text(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/logout`: ends the session (with its CSRF token: another site cannot sign a person
/// out) and shows the login page.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = page_language(&headers);
    let viewer = match viewer(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let Some(viewer) = viewer else {
        return Redirect::to("/ui/login").into_response();
    };
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !csrf_ok(&viewer.csrf, &headers, Some(&token)) {
        return expired(lang);
    }
    match crate::api::sign_out(&state, &headers, lang).await {
        Ok(clear) => {
            let mut response = Redirect::to("/ui/login").into_response();
            set_cookie(&mut response, &clear);
            response
        }
        Err(error) => super::failure(error.status, error.message, lang),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    /// `role@unit`, one of the roles the account holds.
    #[serde(default)]
    role: String,
}

/// `POST /ui/role`: the session acts in another of the person's roles from now on (the pages
/// and the JSON API alike), and lands on that role's desks. Only a role the account holds is
/// taken; one it no longer holds (an administrator removed it) falls back to the first role at
/// the next request.
pub async fn switch_role(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<RoleForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = page_language(&headers);
    let viewer = match super::signed_in(&state, &headers, "/ui/").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let Ok(Form(form)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            lang_text(lang, "表单格式不正确", "the form could not be read"),
            lang,
        );
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        return expired(lang);
    }
    // Only a role the account holds (the principal lists them), as it wrote it.
    let held = whistle_store::Grant::parse(&form.role).filter(|grant| {
        viewer
            .principal
            .grants
            .iter()
            .any(|(role, unit)| role.as_str() == grant.role && *unit == grant.unit)
    });
    let Some(grant) = held else {
        return super::failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang_text(lang, "您没有这个角色", "you do not hold that role"),
            lang,
        );
    };
    let Some(session) = auth::session_cookie(&headers) else {
        return Redirect::to("/ui/login").into_response();
    };
    match state
        .store
        .set_session_role(&auth::hash_secret(&session), Some(&grant))
        .await
    {
        Ok(_) => {
            tracing::info!(account = %viewer.principal.name, role = %grant, "role switched");
            Redirect::to("/ui/").into_response()
        }
        Err(error) => super::store_failure(error, lang),
    }
}

/// `GET /ui/lang/{zh|en}?next=…`: remembers the language for a year and goes back.
pub async fn switch_language(Path(lang): Path<String>, Query(query): Query<NextQuery>) -> Response {
    let value = match lang.as_str() {
        "en" => "en",
        _ => "zh",
    };
    let mut response = Redirect::to(safe_next(&query.next)).into_response();
    let cookie = format!("{LANG_COOKIE}={value}; SameSite=Lax; Path=/; Max-Age=31536000");
    set_cookie(&mut response, &cookie);
    response
}

/// Adds a `Set-Cookie` to a response.
fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
