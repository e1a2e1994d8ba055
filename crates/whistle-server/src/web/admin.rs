//! 系统管理: the administrator's basics — accounts (create, disable, reset the password: a new
//! random one shown once), the standard reply texts (edited as CSV, checked line by line before
//! anything is stored), and read views of the reference data in force (units, categories, the
//! catalogue, the calendar years, the policy) with the CLI commands that change them.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_store::Account;

use super::commands::resolve_unit;
use super::format::{self, Names};
use super::{chrome, csrf_ok, page_language, signed_in, Chrome, Viewer};
use crate::roles::Role;
use crate::AppState;

pub struct UserRow {
    pub login: String,
    pub name: String,
    pub role: String,
    pub unit: String,
    pub active: bool,
    pub me: bool,
    /// Further roles (`role@unit` and its label).
    pub others: Vec<super::RoleOption>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<(String, String)>,
    /// A message after an action (a new password is shown here, once).
    notice: Option<String>,
    error: Option<String>,
    replies: String,
    facts: Vec<(String, String)>,
    policy: String,
}

#[derive(Deserialize, Default)]
pub struct AdminForm {
    #[serde(default)]
    csrf: String,
    /// `create`, `grant`, `ungrant`, `disable`, `enable`, `reset` or `replies`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    replies: String,
    /// `role@unit`, for `ungrant`.
    #[serde(default)]
    grant: String,
}

/// The refusal for anyone but an administrator.
fn not_admin(viewer: &Viewer, lang: Lang) -> Option<Response> {
    (viewer.role != Role::Admin).then(|| {
        let error = crate::error::ApiError::forbidden(lang);
        super::failure(error.status, error.message, lang)
    })
}

/// `GET /ui/admin`.
pub async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/admin").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    if let Some(response) = not_admin(&viewer, lang) {
        return response;
    }
    render(&state, &viewer, lang, None, None, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    lang: Lang,
    notice: Option<String>,
    error: Option<String>,
    replies: Option<String>,
    status: StatusCode,
) -> Response {
    let users = match state.store.users().await {
        Ok(users) => users,
        Err(error) => return super::store_failure(error, lang),
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let role_label = |role: &str| match (Role::parse(role), lang) {
        (Some(role), Lang::Zh) => role.label_zh().to_string(),
        _ => role.replace('_', " "),
    };
    let users = users
        .into_iter()
        .map(|a| UserRow {
            others: a
                .other_roles
                .iter()
                .map(|g| super::RoleOption {
                    value: g.to_string(),
                    label: format!("{} · {}", role_label(&g.role), names.unit(&g.unit)),
                    current: false,
                })
                .collect(),
            me: a.login == viewer.principal.name,
            role: role_label(&a.role),
            unit: names.unit(&a.unit),
            login: a.login,
            name: a.display_name,
            active: a.active,
        })
        .collect();
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let count = |pred: &dyn Fn(&whistle_core::org::Unit) -> bool| {
        reference.directory.units().filter(|u| pred(u)).count()
    };
    let facts = vec![
        (
            t("承办单位", "Units"),
            format!(
                "{} · {} {} · {} {}",
                reference.directory.len(),
                t("街乡镇", "streets and townships"),
                count(&|u| u.kind.is_street_level()),
                t("部门和企业", "departments and enterprises"),
                count(&|u| {
                    matches!(
                        u.kind,
                        whistle_core::org::UnitKind::Department
                            | whistle_core::org::UnitKind::Enterprise
                    )
                })
            ),
        ),
        (
            t("诉求分类", "Categories"),
            reference.taxonomy.len().to_string(),
        ),
        (
            t("派单目录", "Dispatch catalogue"),
            format!(
                "v{} · {} {}",
                reference.catalogue.version,
                reference.catalogue.len(),
                t("条", "entries")
            ),
        ),
        (
            t("节假日", "Calendar years"),
            reference
                .calendar
                .years()
                .map(|y| y.year.to_string())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
            t("修改方式", "To change them"),
            "whistle import units|categories|catalogue|calendar|policy FILE · whistle export …"
                .into(),
        ),
    ];
    let policy = serde_json::to_string_pretty(&reference.policy).unwrap_or_else(|e| e.to_string());
    let replies = match replies {
        Some(replies) => replies,
        None => match state.store.setting(super::replies::SETTING).await {
            Ok(Some(csv)) => csv,
            Ok(None) => super::replies::DEFAULT.to_string(),
            Err(error) => return super::store_failure(error, lang),
        },
    };
    let page = AdminPage {
        chrome: chrome(
            state,
            Some(viewer),
            lang,
            &t("系统管理", "Administration"),
            "/ui/admin",
        ),
        users,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), role_label(r.as_str())))
            .collect(),
        notice,
        error,
        replies,
        facts,
        policy,
    };
    super::render(&page, status)
}

/// `POST /ui/admin`: one of the page's actions.
pub async fn act(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<AdminForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/admin").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    if let Some(response) = not_admin(&viewer, lang) {
        return response;
    }
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let Ok(Form(form)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            t("表单格式不正确", "the form could not be read"),
            lang,
        );
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        return super::failure(
            StatusCode::FORBIDDEN,
            t(
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            ),
            lang,
        );
    }
    let refuse = |message: String, replies: Option<String>| {
        render(
            &state,
            &viewer,
            lang,
            None,
            Some(message),
            replies,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let login = form.login.trim();
    let now = state.clock.now();
    let done = |notice: String| {
        render(
            &state,
            &viewer,
            lang,
            Some(notice),
            None,
            None,
            StatusCode::OK,
        )
    };
    match form.action.as_str() {
        "replies" => {
            let reference = state.store.reference();
            if let Err(message) = super::replies::parse(&form.replies, &reference, lang) {
                return refuse(message, Some(form.replies.clone())).await;
            }
            if let Err(error) = state
                .store
                .put_setting(super::replies::SETTING, &form.replies)
                .await
            {
                return super::store_failure(error, lang);
            }
            done(t(
                "标准答复用语已保存。",
                "The standard reply texts are saved.",
            ))
            .await
        }
        "create" => {
            let valid_login = !login.is_empty()
                && login.len() <= 64
                && login
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !valid_login {
                return refuse(
                    t(
                        "登录名应为 1–64 位字母、数字或 . _ -",
                        "a login is 1–64 letters, digits or . _ -",
                    ),
                    None,
                )
                .await;
            }
            let (role, unit) = match role_at_unit(&state, &form, lang) {
                Ok(found) => found,
                Err(message) => return refuse(message, None).await,
            };
            match state.store.user(login).await {
                Ok(Some(_)) => {
                    return refuse(t("登录名已存在", "that login exists already"), None).await
                }
                Ok(None) => {}
                Err(error) => return super::store_failure(error, lang),
            }
            let name = form.name.trim();
            let account = Account {
                login: login.to_string(),
                display_name: if name.is_empty() {
                    login.to_string()
                } else {
                    name.chars().take(50).collect()
                },
                role: role.as_str().to_string(),
                unit,
                active: true,
                other_roles: Vec::new(),
            };
            match set_password(&state, &account, lang, now).await {
                Ok(password) => {
                    done(match lang {
                        Lang::Zh => format!(
                        "已创建账户 {login}，初始密码：{password}（只显示这一次，请当面交给本人）"
                    ),
                        Lang::En => format!(
                        "account {login} created; its first password: {password} (shown this once)"
                    ),
                    })
                    .await
                }
                Err(response) => response,
            }
        }
        "grant" | "ungrant" => {
            let (mut account, hash) = match state.store.user(login).await {
                Ok(Some(found)) => found,
                Ok(None) => return refuse(t("没有这个账户", "no such account"), None).await,
                Err(error) => return super::store_failure(error, lang),
            };
            let grant = if form.action == "grant" {
                match role_at_unit(&state, &form, lang) {
                    Ok((role, unit)) => whistle_store::Grant {
                        role: role.as_str().to_string(),
                        unit,
                    },
                    Err(message) => return refuse(message, None).await,
                }
            } else {
                match whistle_store::Grant::parse(&form.grant) {
                    Some(grant) if account.other_roles.contains(&grant) => grant,
                    _ => {
                        return refuse(
                            t("该账户没有这个角色", "the account does not hold that role"),
                            None,
                        )
                        .await
                    }
                }
            };
            if form.action == "grant" {
                if account.holds(&grant) {
                    return refuse(
                        t("该账户已有这个角色", "the account holds that role already"),
                        None,
                    )
                    .await;
                }
                account.other_roles.push(grant);
            } else {
                account.other_roles.retain(|g| *g != grant);
            }
            if let Err(error) = state.store.put_user(&account, &hash, now).await {
                return super::store_failure(error, lang);
            }
            tracing::info!(account = %account.login, action = %form.action, "roles changed by an administrator");
            done(if form.action == "grant" {
                t("已增加角色。", "The role is added.")
            } else {
                t("已取消角色。", "The role is removed.")
            })
            .await
        }
        "disable" | "enable" | "reset" => {
            let (mut account, hash) = match state.store.user(login).await {
                Ok(Some(found)) => found,
                Ok(None) => return refuse(t("没有这个账户", "no such account"), None).await,
                Err(error) => return super::store_failure(error, lang),
            };
            if account.login == viewer.principal.name && form.action != "reset" {
                return refuse(
                    t("不能停用自己的账户", "you cannot disable your own account"),
                    None,
                )
                .await;
            }
            if form.action == "reset" {
                return match set_password(&state, &account, lang, now).await {
                    Ok(password) => {
                        done(match lang {
                            Lang::Zh => format!("{login} 的新密码：{password}（只显示这一次）"),
                            Lang::En => {
                                format!("{login}'s new password: {password} (shown this once)")
                            }
                        })
                        .await
                    }
                    Err(response) => response,
                };
            }
            account.active = form.action == "enable";
            if let Err(error) = state.store.put_user(&account, &hash, now).await {
                return super::store_failure(error, lang);
            }
            done(if account.active {
                t("账户已启用。", "The account is enabled.")
            } else {
                t("账户已停用。", "The account is disabled.")
            })
            .await
        }
        _ => refuse(t("没有这个操作", "no such action"), None).await,
    }
}

/// The form's role and unit, checked: a known role, a unit found by name or code, and a role
/// that fits the unit's kind.
fn role_at_unit(
    state: &AppState,
    form: &AdminForm,
    lang: Lang,
) -> Result<(Role, whistle_core::ids::UnitCode), String> {
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let role = Role::parse(form.role.trim()).ok_or_else(|| t("请选择角色", "choose a role"))?;
    let reference = state.store.reference();
    let unit = resolve_unit(&form.unit, &reference, lang)?
        .ok_or_else(|| t("请填写所在单位", "give the unit"))?;
    if !reference
        .directory
        .get(&unit)
        .is_some_and(|u| role.fits(u.kind))
    {
        return Err(t(
            "该角色不能属于这个单位",
            "this role cannot belong to that unit",
        ));
    }
    Ok((role, unit))
}

/// Stores the account with a new random password, which is returned to be shown once (it is
/// kept only as its hash).
async fn set_password(
    state: &AppState,
    account: &Account,
    lang: Lang,
    now: whistle_core::time::Timestamp,
) -> Result<String, Response> {
    let password = crate::auth::random_hex(8);
    let hash = crate::auth::hash_password(&password)
        .map_err(|e| super::failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), lang))?;
    state
        .store
        .put_user(account, &hash, now)
        .await
        .map_err(|error| super::store_failure(error, lang))?;
    tracing::info!(account = %account.login, "password set by an administrator");
    Ok(password)
}
