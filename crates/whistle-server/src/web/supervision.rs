//! 督办台: the supervisor's board — overdue and near-overdue orders (within one working day) by
//! unit and category, the 3× overdue apart, reopen counts, the visited orders waiting for a
//! ruling and the extension requests pending; 催办 from the row (each rendered form has its own
//! idempotency key: a double click or a resubmitted page records one 督办 event).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use whistle_core::calendar::TimeLimit;
use whistle_core::ids::{CategoryCode, UnitCode};
use whistle_core::org::UnitKind;
use whistle_store::{Awaiting, OrderFilter, OrderSummary, PageRequest};

use super::format::{self, Deadline, Names};
use super::{chrome, page_language, signed_in, urlencode, Chrome};
use crate::roles::Role;
use crate::AppState;

/// The tabs: (value, Chinese, English).
const TABS: [(&str, &str, &str); 4] = [
    ("overdue", "超期", "overdue"),
    ("soon", "临期", "due soon"),
    ("rulings", "待裁定", "to rule"),
    ("extensions", "延期待批", "extensions"),
];

/// Rows read for the summary; the table shows the first [`SHOWN`].
const READ: u32 = 500;
const SHOWN: usize = 100;

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    category: String,
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct BoardRow {
    pub no: String,
    pub version: u64,
    pub unit: String,
    pub category: String,
    pub place: String,
    pub deadline: Option<Deadline>,
    pub stage: String,
    /// Late by three times the time allowed or more.
    pub thrice: bool,
    pub key: String,
}

pub struct Tally {
    pub name: String,
    pub count: usize,
    pub thrice: usize,
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct BoardPage {
    chrome: Chrome,
    query: BoardQuery,
    tabs: Vec<Tab>,
    rows: Vec<BoardRow>,
    by_unit: Vec<Tally>,
    by_category: Vec<Tally>,
    total: String,
    thrice: usize,
    here: String,
    urge: bool,
}

fn query_string(query: &BoardQuery, tab: &str) -> String {
    let mut parts = vec![format!("tab={tab}")];
    for (name, value) in [("district", &query.district), ("category", &query.category)] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", urlencode(value)));
        }
    }
    format!("/ui/supervision?{}", parts.join("&"))
}

/// `GET /ui/supervision`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(mut query): Query<BoardQuery>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/supervision").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    if !matches!(viewer.role, Role::Supervisor | Role::Admin) {
        let error = crate::error::ApiError::forbidden(lang);
        return super::failure(error.status, error.message, lang);
    }
    if !TABS.iter().any(|(tab, ..)| *tab == query.tab) {
        query.tab = "overdue".into();
    }
    let now = state.clock.now();
    let reference = state.store.reference();
    let soon = reference
        .calendar
        .deadline(now, TimeLimit::WorkingDays(1))
        .map(|d| d.at)
        .unwrap_or(now);
    let mut filter = OrderFilter {
        district: UnitCode::parse(query.district.trim()).ok(),
        category: CategoryCode::parse(query.category.split_whitespace().next().unwrap_or("")).ok(),
        oldest_first: true,
        ..OrderFilter::default()
    };
    // The deadline tabs read the due index, the most overdue (or the soonest due) first.
    match query.tab.as_str() {
        "overdue" => {
            filter.by_deadline = true;
            filter.due_before = Some(now);
        }
        "soon" => {
            filter.by_deadline = true;
            filter.due_after = Some(now);
            filter.due_before = Some(soon);
        }
        "rulings" => filter.stage = Some("visited".into()),
        _ => filter.awaiting = Some(Awaiting::Extension),
    }
    let request = PageRequest {
        after: None,
        limit: READ,
    };
    let listed = match state
        .store
        .list_orders(&viewer.principal.scope, &filter, &request)
        .await
    {
        Ok(page) => page,
        Err(error) => return super::store_failure(error, lang),
    };
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows: Vec<BoardRow> = listed
        .items
        .iter()
        .map(|s| board_row(s, &names, now))
        .collect();
    let tally = |key: fn(&BoardRow) -> &str| {
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for row in &rows {
            let entry = counts.entry(key(row)).or_default();
            entry.0 += 1;
            entry.1 += usize::from(row.thrice);
        }
        let mut tallies: Vec<Tally> = counts
            .into_iter()
            .map(|(name, (count, thrice))| Tally {
                name: name.to_string(),
                count,
                thrice,
            })
            .collect();
        tallies.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
        tallies.truncate(10);
        tallies
    };
    let by_unit = tally(|r| r.unit.as_str());
    let by_category = tally(|r| r.category.as_str());
    let thrice = rows.iter().filter(|r| r.thrice).count();
    let total = if listed.next.is_some() {
        format!("{READ}+")
    } else {
        rows.len().to_string()
    };
    let tabs = TABS
        .iter()
        .map(|(tab, zh, en)| Tab {
            href: query_string(&query, tab),
            label: format::pick(lang, (zh, en)).to_string(),
            current: *tab == query.tab,
        })
        .collect();
    let here = query_string(&query, &query.tab);
    let title = format::pick(lang, ("督办台", "Supervision"));
    let page = BoardPage {
        chrome: chrome(&state, Some(&viewer), lang, title, "/ui/supervision"),
        urge: matches!(query.tab.as_str(), "overdue" | "soon")
            && reference
                .directory
                .get(&viewer.principal.unit)
                .is_some_and(|u| {
                    matches!(
                        u.kind,
                        UnitKind::DispatchCenter | UnitKind::District | UnitKind::City
                    )
                }),
        rows: rows.into_iter().take(SHOWN).collect(),
        tabs,
        by_unit,
        by_category,
        total,
        thrice,
        here,
        query,
    };
    super::render(&page, StatusCode::OK)
}

fn board_row(
    summary: &OrderSummary,
    names: &Names,
    now: whistle_core::time::Timestamp,
) -> BoardRow {
    let unit = summary
        .lead_unit
        .as_deref()
        .and_then(|c| UnitCode::parse(c).ok())
        .map(|c| names.unit(&c))
        .unwrap_or_else(|| format::pick(names.lang, ("（未派）", "(not dispatched)")).to_string());
    let place = [&summary.district, &summary.street]
        .into_iter()
        .flatten()
        .filter_map(|c| UnitCode::parse(c).ok())
        .map(|c| names.unit(&c))
        .collect::<Vec<_>>()
        .join(" ");
    let due = summary.next_due_at;
    // Three times the time allowed: received → due is the allowance; received → now the time
    // taken.
    let thrice = due.is_some_and(|due| {
        let allowed = due - summary.received_at;
        allowed > chrono::Duration::zero() && now - summary.received_at >= allowed * 3
    });
    BoardRow {
        no: summary.no.to_string(),
        version: summary.version,
        unit,
        category: CategoryCode::parse(&summary.category)
            .map(|c| names.category(&c))
            .unwrap_or_else(|_| summary.category.clone()),
        place,
        deadline: due.map(|at| Deadline::new(names.reference, "", at, now, names.lang)),
        stage: names.stage_named(&summary.stage),
        thrice,
        key: crate::auth::random_hex(12),
    }
}
