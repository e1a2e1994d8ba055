//! `/api/v1/whistles`: raise, list, show, history and every whistle command. The engine checks
//! the unit a person acts for (the raising street, a summoned unit, the street's district);
//! here: a role that may act at all, and the jurisdiction a whistle is visible in.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::whistle::{Raise, Whistle, WhistleCommand};
use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
use whistle_store::Scope;

use crate::api::{parse_json, parse_known};
use crate::auth::{Language, Principal};
use crate::error::{ApiError, ApiResult};
use crate::roles::Role;
use crate::AppState;

fn may_act(principal: &Principal, lang: Lang) -> ApiResult<()> {
    match principal.role(lang)? {
        Role::Handler | Role::Supervisor | Role::Admin => Ok(()),
        _ => Err(ApiError::forbidden(lang)),
    }
}

/// The same rule as the store's list query.
fn visible(scope: &Scope, whistle: &Whistle) -> bool {
    match scope {
        Scope::All => true,
        Scope::District(district) => &whistle.district == district,
        Scope::Street(street) => &whistle.street == street,
        Scope::Units(units) => {
            units.contains(&whistle.street)
                || units.contains(&whistle.district)
                || whistle.summons.iter().any(|s| units.contains(&s.unit))
        }
    }
}

async fn visible_whistle(
    state: &AppState,
    principal: &Principal,
    no: &str,
    lang: Lang,
) -> ApiResult<Whistle> {
    let whistle = state
        .store
        .whistle(no)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    match whistle {
        Some(whistle) if visible(&principal.scope, &whistle) => Ok(whistle),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "吹哨记录不存在",
            "no such whistle",
            lang,
        )),
    }
}

pub async fn raise(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    may_act(&principal, lang)?;
    let raise: Raise = parse_known(parse_json(&body, lang)?, lang)?;
    let envelope = WhistleEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: WhistleRequest::Raise(Box::new(raise)),
    };
    let outcome = state
        .store
        .execute_whistle(envelope)
        .await
        .map_err(|e| ApiError::command(e, lang))?;
    Ok((StatusCode::CREATED, Json(outcome.whistle)).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
) -> ApiResult<Json<Vec<Whistle>>> {
    let whistles = state
        .store
        .list_whistles(&principal.scope, 200)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(whistles))
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<Whistle>> {
    Ok(Json(visible_whistle(&state, &principal, &no, lang).await?))
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let whistle = visible_whistle(&state, &principal, &no, lang).await?;
    let records = state
        .store
        .whistle_history(whistle.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(
        serde_json::json!({"no": whistle.no, "events": records}),
    ))
}

pub const COMMANDS: [&str; 9] = [
    "report_in",
    "resolve_absence",
    "assign_task",
    "complete_task",
    "hold_consultation",
    "close",
    "rate",
    "object",
    "decide_objection",
];

/// `POST /api/v1/whistles/{no}/{command}` with `{"version": N, …}`. Absences are marked by the
/// deadline worker, not over the API.
pub async fn command(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path((no, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Whistle>> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    if !COMMANDS.contains(&name.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_command",
            "没有这个命令",
            "no such command",
            lang,
        ));
    }
    may_act(&principal, lang)?;
    let (command, version): (WhistleCommand, u64) =
        crate::api::parse_command_body(&body, &name, lang)?;
    let whistle = visible_whistle(&state, &principal, &no, lang).await?;
    let envelope = WhistleEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: WhistleRequest::Command {
            whistle: whistle.no,
            expected_version: Some(version),
            command,
        },
    };
    let outcome = state
        .store
        .execute_whistle(envelope)
        .await
        .map_err(|e| ApiError::command(e, lang))?;
    Ok(Json(*outcome.whistle))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    month: String,
    /// `json` (default) or `csv`.
    format: Option<String>,
    /// For CSV: `departments` (default) or `streets`.
    table: Option<String>,
}

/// The double-assessment figures of a month, within the caller's jurisdiction.
pub async fn double_assessment(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    params: Result<axum::extract::Query<AssessmentQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let axum::extract::Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", &e.body_text(), lang))?;
    principal.role(lang)?;
    let (from, before) = whistle_store::whistles::month_range(&params.month)
        .map_err(|e| ApiError::domain(&e, lang))?;
    let whistles = state
        .store
        .whistles_raised(&principal.scope, from, before)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let (departments, streets) =
        whistle_core::whistle::double_assessment(&whistles, state.clock.now());
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(serde_json::json!({
            "month": params.month,
            "whistles": whistles.len(),
            "departments": departments,
            "streets": streets,
        }))
        .into_response()),
        "csv" => {
            let (first, second) = whistle_store::whistles::assessment_csv(&departments, &streets);
            let body = match params.table.as_deref().unwrap_or("departments") {
                "departments" => first,
                "streets" => second,
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_query",
                        "table is departments or streets",
                        lang,
                    ))
                }
            };
            Ok((
                [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                body,
            )
                .into_response())
        }
        _ => Err(ApiError::bad_request(
            "invalid_query",
            "format is json or csv",
            lang,
        )),
    }
}
