//! Typeahead over the reference data for the command forms: `GET /ui/units?…=小关` answers the
//! `<option>`s of a datalist (htmx swaps them in) — handling units whose name or code contains
//! what was typed, at most 20, each as "name code" so the form reads back the exact unit.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

use super::format;
use crate::AppState;

const MAX_OPTIONS: usize = 20;

pub async fn units(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match super::viewer(&state, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return axum::http::StatusCode::UNAUTHORIZED.into_response(),
        Err(response) => return response,
    }
    // The input's own name is the parameter (`unit`, `redispatch_to` …): take what was typed.
    let typed = query
        .values()
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
        .unwrap_or("");
    Html(options(&state, typed)).into_response()
}

/// The options for `typed`: by name or code, streets and departments before communities.
pub fn options(state: &AppState, typed: &str) -> String {
    let mut html = String::new();
    if typed.is_empty() {
        return html;
    }
    let reference = state.store.reference();
    let mut found: Vec<_> = reference
        .directory
        .units()
        .filter(|u| u.kind.can_handle() && u.merged_into.is_none())
        .filter(|u| u.name.contains(typed) || u.code.as_str().starts_with(typed))
        .collect();
    found.sort_by_key(|u| {
        (
            u.kind.is_community_level(),
            u.name.chars().count(),
            u.code.clone(),
        )
    });
    for unit in found.into_iter().take(MAX_OPTIONS) {
        html.push_str(&format!(
            "<option value=\"{} {}\"></option>",
            format::escape(&unit.name),
            format::escape(unit.code.as_str())
        ));
    }
    html
}
