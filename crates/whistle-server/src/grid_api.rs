//! `/api/v1/grid-cases`: grid discovery over HTTP — file, list, show, history, and the steps of
//! the loop (dispatch, whistle, handle, verify) with versions. The engine checks who may take
//! each step; here: a role that may act, and the case's visibility.

use crate::views::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::grid::{GridCase, GridCommand, Report};
use whistle_core::org::UnitKind;
use whistle_store::grids::{GridEnvelope, GridRequest};
use whistle_store::Scope;

use crate::api::{parse_command_body, parse_json, parse_known};
use crate::auth::{Language, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Grid-level people (grid, lane, community) see their street's cases; everyone else their scope.
fn scope(state: &AppState, principal: &Principal) -> Scope {
    let reference = state.store.reference();
    let directory = &reference.directory;
    match directory.get(&principal.unit) {
        Some(unit)
            if matches!(unit.kind, UnitKind::Grid | UnitKind::Lane)
                || unit.kind.is_community_level() =>
        {
            match directory.enclosing(&unit.code, |kind| kind.is_street_level()) {
                Some(street) => Scope::Street(street.code.clone()),
                None => Scope::Units(Vec::new()),
            }
        }
        _ => principal.scope.clone(),
    }
}

fn visible(state: &AppState, scope: &Scope, case: &GridCase) -> bool {
    match scope {
        Scope::All => true,
        Scope::District(district) => {
            state
                .store
                .reference()
                .directory
                .district_of(&case.street)
                .map(|d| &d.code)
                == Some(district)
        }
        Scope::Street(street) => &case.street == street,
        Scope::Units(units) => {
            units.contains(&case.street) || case.handler.as_ref().is_some_and(|h| units.contains(h))
        }
    }
}

fn may_act(principal: &Principal, step: &str, lang: Lang) -> ApiResult<()> {
    if principal.role(lang)?.may_grid(step) {
        Ok(())
    } else {
        Err(ApiError::forbidden(lang))
    }
}

async fn visible_case(
    state: &AppState,
    principal: &Principal,
    no: &str,
    lang: Lang,
) -> ApiResult<GridCase> {
    match state
        .store
        .grid_case(no)
        .await
        .map_err(|e| ApiError::store(e, lang))?
    {
        Some(case) if visible(state, &scope(state, principal), &case) => Ok(case),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "网格案件不存在",
            "no such grid case",
            lang,
        )),
    }
}

pub async fn file(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    may_act(&principal, "file", lang)?;
    let report: Report = parse_known(parse_json(&body, lang)?, lang)?;
    let envelope = GridEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: GridRequest::File(Box::new(report)),
    };
    let case = state
        .store
        .execute_grid(envelope)
        .await
        .map_err(|e| ApiError::command_on(e, crate::error::Subject::GridCase, lang))?;
    Ok((StatusCode::CREATED, Json(case)).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
) -> ApiResult<Json<Vec<GridCase>>> {
    let cases = state
        .store
        .list_grid_cases(&scope(&state, &principal), 200)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(cases))
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<GridCase>> {
    Ok(Json(visible_case(&state, &principal, &no, lang).await?))
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<crate::views::History<whistle_core::grid::GridEvent>>> {
    let case = visible_case(&state, &principal, &no, lang).await?;
    let records = state
        .store
        .grid_history(case.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(crate::views::History {
        no: case.no,
        events: records
            .into_iter()
            .map(crate::views::HistoryEntry::of_grid)
            .collect(),
    }))
}

pub const COMMANDS: [&str; 4] = ["dispatch", "whistle", "handle", "verify"];

pub async fn command(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path((no, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<GridCase>> {
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
    may_act(&principal, &name, lang)?;
    let (command, version): (GridCommand, u64) = parse_command_body(&body, &name, lang)?;
    let case = visible_case(&state, &principal, &no, lang).await?;
    let envelope = GridEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: GridRequest::Command {
            case: case.no,
            expected_version: Some(version),
            command,
        },
    };
    Ok(Json(state.store.execute_grid(envelope).await.map_err(
        |e| ApiError::command_on(e, crate::error::Subject::GridCase, lang),
    )?))
}
