//! The intake's hints column (WEB.md §2.1), refreshed by htmx as the operator types: the
//! **repeat caller** — this number's orders in the analysis policy's repeat window with stage,
//! unit and deadline, so the operator can answer "your order … is being handled by … until …"
//! and record a repeat (重复诉求) in one key. The suggestion and the knowledge base (issue 18)
//! are further panels of the same column.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::ids::{CategoryCode, UnitCode};

use super::format::{self, Deadline, Names};
use super::{page_language, Chrome};
use crate::AppState;

/// How many of a caller's orders the hint lists.
const SHOWN: u32 = 10;

pub struct Earlier {
    pub no: String,
    pub received: String,
    pub category: String,
    pub stage: String,
    pub unit: Option<String>,
    pub deadline: Option<Deadline>,
    /// Still open: a repeat can be linked to it.
    pub open: bool,
}

#[derive(Template)]
#[template(path = "hints.html")]
struct HintsPanel {
    chrome: Chrome,
    phone_given: bool,
    window_days: u32,
    earlier: Vec<Earlier>,
    /// Open orders of the same category in the same street (not this caller's, listed above).
    duplicates: Vec<Earlier>,
    place_given: bool,
}

#[derive(Deserialize)]
pub struct HintsQuery {
    #[serde(default)]
    phone: String,
    /// The form's street and category (its first word is the code): the duplicates' place.
    #[serde(default)]
    street: String,
    #[serde(default)]
    category: String,
}

/// Open orders of the same category in the same street within the window, newest first: the
/// "possible duplicates" (可能重复). Linking one is the operator's act (art. 11(3)), never automatic.
async fn duplicates(
    state: &AppState,
    viewer: &super::Viewer,
    query: &HintsQuery,
    since: whistle_core::time::Timestamp,
) -> Result<Vec<whistle_store::OrderSummary>, whistle_store::StoreError> {
    let street = UnitCode::parse(query.street.trim()).ok();
    let category = CategoryCode::parse(query.category.split_whitespace().next().unwrap_or("")).ok();
    let (Some(street), Some(category)) = (street, category) else {
        return Ok(Vec::new());
    };
    let filter = whistle_store::OrderFilter {
        street: Some(street),
        category: Some(category),
        received_from: Some(since),
        ..whistle_store::OrderFilter::default()
    };
    let page = whistle_store::PageRequest {
        after: None,
        limit: 4 * SHOWN,
    };
    let listed = state
        .store
        .list_orders(&viewer.principal.scope, &filter, &page)
        .await?;
    Ok(listed
        .items
        .into_iter()
        .filter(|o| o.closed_at.is_none())
        .take(SHOWN as usize)
        .collect())
}

/// `GET /ui/intake/hints?phone=…`: the panel (a fragment).
pub async fn hints(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HintsQuery>,
) -> Response {
    let viewer = match super::intake::operator(&state, &headers, "/ui/intake").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let phone: String = query.phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let reference = state.store.reference();
    let window_days = reference.policy.analysis.repeat_window_days;
    let now = state.clock.now();
    let since = now - chrono::Duration::days(i64::from(window_days));
    let rows = if phone.len() >= 5 {
        match state.store.orders_of_phone(&phone, since, SHOWN).await {
            Ok(rows) => rows,
            Err(error) => return super::store_failure(error, lang),
        }
    } else {
        Vec::new()
    };
    let duplicates = match duplicates(&state, &viewer, &query, since).await {
        Ok(rows) => rows,
        Err(error) => return super::store_failure(error, lang),
    };
    let names = Names {
        reference: &reference,
        lang,
    };
    let unit = |code: &Option<String>| {
        code.as_deref()
            .and_then(|c| UnitCode::parse(c).ok())
            .map(|c| names.unit(&c))
    };
    let earlier_of = |row: &whistle_store::OrderSummary| {
        let open = row.closed_at.is_none();
        Earlier {
            no: row.no.to_string(),
            received: format::time(row.received_at),
            category: CategoryCode::parse(&row.category)
                .map(|c| names.category(&c))
                .unwrap_or_else(|_| row.category.clone()),
            stage: names.stage_named(&row.stage),
            unit: unit(&row.lead_unit),
            deadline: row
                .handle_by
                .filter(|_| open)
                .map(|at| Deadline::new(&reference, "", at, now, lang)),
            open,
        }
    };
    let earlier = rows.iter().map(earlier_of).collect();
    let shown: Vec<String> = rows.iter().map(|r| r.no.to_string()).collect();
    let duplicates = duplicates
        .iter()
        .filter(|d| !shown.contains(&d.no.to_string()))
        .map(earlier_of)
        .collect();
    let panel = HintsPanel {
        chrome: super::chrome(&state, Some(&viewer), lang, "", "/ui/intake"),
        phone_given: phone.len() >= 5,
        window_days,
        earlier,
        duplicates,
        place_given: !query.street.trim().is_empty() && !query.category.trim().is_empty(),
    };
    super::render(&panel, StatusCode::OK)
}
