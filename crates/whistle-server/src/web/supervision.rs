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
const TABS: [(&str, &str, &str); 5] = [
    ("overdue", "超期", "overdue"),
    ("soon", "临期", "due soon"),
    ("rulings", "待裁定", "to rule"),
    ("extensions", "延期待批", "extensions"),
    ("absences", "吹哨缺席", "whistles: absent units"),
];

/// Whistles read for the absences tab (the newest within the viewer's scope).
const WHISTLES_READ: u32 = 500;

/// Rows read for the summary; the table shows the first [`SHOWN`].
const READ: u32 = 500;
const SHOWN: usize = 100;

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    tab: String,
    /// A district's code.
    #[serde(default)]
    district: String,
    /// A street by the typeahead's "name code" or its code.
    #[serde(default)]
    street: String,
    /// A department line (`urban-management` …): orders led by its units.
    #[serde(default)]
    line: String,
    #[serde(default)]
    category: String,
    /// Overdue by at least this many days (the overdue tab).
    #[serde(default)]
    days: String,
    /// `csv`: the rows as a file, for the daily bulletin.
    #[serde(default)]
    format: String,
}

/// An open whistle with summoned units absent (缺席), for the absences tab.
pub struct AbsenceRow {
    pub no: String,
    pub street: String,
    pub raised: String,
    pub reason: String,
    pub absent: String,
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
    districts: Vec<(String, String)>,
    lines: Vec<(String, String)>,
    categories: Vec<String>,
    export: String,
    absences: Vec<AbsenceRow>,
}

fn query_string(query: &BoardQuery, tab: &str) -> String {
    let mut parts = vec![format!("tab={tab}")];
    for (name, value) in [
        ("district", &query.district),
        ("street", &query.street),
        ("line", &query.line),
        ("category", &query.category),
        ("days", &query.days),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", urlencode(value)));
        }
    }
    format!("/ui/supervision?{}", parts.join("&"))
}

/// The department lines of the directory, each named by its city-level unit where there is one
/// (else by the name of any of its units): (line, name), by name.
fn lines(reference: &whistle_core::reference::Reference) -> Vec<(String, String)> {
    let mut named: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for unit in reference.directory.units() {
        let Some(line) = &unit.line else { continue };
        let city_level = reference.directory.district_of(&unit.code).is_none();
        let entry = named
            .entry(line.clone())
            .or_insert_with(|| (city_level, unit.name.clone()));
        if city_level && !entry.0 {
            *entry = (true, unit.name.clone());
        }
    }
    let mut lines: Vec<(String, String)> = named
        .into_iter()
        .map(|(line, (_, name))| (line, name))
        .collect();
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    lines
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
    // Filters that do not parse are dropped (and shown empty), never guessed.
    let district = UnitCode::parse(query.district.trim()).ok().filter(|d| {
        reference
            .directory
            .get(d)
            .is_some_and(|u| u.kind == UnitKind::District)
    });
    if district.is_none() {
        query.district.clear();
    }
    let street = UnitCode::parse(query.street.split_whitespace().last().unwrap_or(""))
        .ok()
        .filter(|s| {
            reference
                .directory
                .get(s)
                .is_some_and(|u| u.kind.is_street_level())
        });
    if street.is_none() {
        query.street.clear();
    }
    let lead_units = Some(query.line.trim().to_string())
        .filter(|l| !l.is_empty())
        .map(|line| {
            reference
                .directory
                .units()
                .filter(|u| u.line.as_deref() == Some(line.as_str()))
                .map(|u| u.code.clone())
                .collect::<Vec<_>>()
        })
        .filter(|units| !units.is_empty());
    if lead_units.is_none() {
        query.line.clear();
    }
    let days = query
        .days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=365).contains(d));
    if days.is_none() {
        query.days.clear();
    }
    let mut filter = OrderFilter {
        district,
        street,
        lead_units,
        category: CategoryCode::parse(query.category.split_whitespace().next().unwrap_or("")).ok(),
        oldest_first: true,
        ..OrderFilter::default()
    };
    // The deadline tabs read the due index, the most overdue (or the soonest due) first.
    match query.tab.as_str() {
        "overdue" => {
            filter.by_deadline = true;
            filter.due_before = Some(now - chrono::Duration::days(i64::from(days.unwrap_or(0))));
        }
        "soon" => {
            filter.by_deadline = true;
            filter.due_after = Some(now);
            filter.due_before = Some(soon);
        }
        "rulings" => filter.stage = Some("visited".into()),
        "absences" => {}
        _ => filter.awaiting = Some(Awaiting::Extension),
    }
    let request = PageRequest {
        after: None,
        limit: READ,
    };
    let names = Names {
        reference: &reference,
        lang,
    };
    let (listed, absences) = if query.tab == "absences" {
        match absences(&state, &viewer.principal.scope, &names, &filter).await {
            Ok(rows) => (
                whistle_store::Page {
                    items: Vec::new(),
                    next: None,
                },
                rows,
            ),
            Err(error) => return super::store_failure(error, lang),
        }
    } else {
        match state
            .store
            .list_orders(&viewer.principal.scope, &filter, &request)
            .await
        {
            Ok(page) => (page, Vec::new()),
            Err(error) => return super::store_failure(error, lang),
        }
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
    if query.format == "csv" {
        return csv(&rows, lang);
    }
    let by_unit = tally(|r| r.unit.as_str());
    let by_category = tally(|r| r.category.as_str());
    let thrice = rows.iter().filter(|r| r.thrice).count();
    let total = if listed.next.is_some() {
        format!("{READ}+")
    } else if query.tab == "absences" {
        absences.len().to_string()
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
        districts: reference
            .directory
            .units()
            .filter(|u| u.kind == UnitKind::District)
            .map(|u| (u.code.to_string(), u.name.clone()))
            .collect(),
        lines: lines(&reference),
        categories: reference
            .taxonomy
            .iter()
            .map(|c| format!("{} {}", c.code, names.category(&c.code)))
            .collect(),
        export: {
            let mut href = query_string(&query, &query.tab);
            href.push_str("&format=csv");
            href
        },
        absences,
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

/// The open whistles within the scope with summoned units absent and not yet decided on, newest
/// first, with the street and line filters applied to the whistle's street and absent units.
async fn absences(
    state: &AppState,
    scope: &whistle_store::Scope,
    names: &Names<'_>,
    filter: &OrderFilter,
) -> Result<Vec<AbsenceRow>, whistle_store::StoreError> {
    let whistles = state.store.list_whistles(scope, WHISTLES_READ).await?;
    let reference = names.reference;
    Ok(whistles
        .iter()
        .filter(|w| w.closed_at.is_none())
        .filter(|w| filter.street.as_ref().is_none_or(|s| *s == w.street))
        .filter(|w| {
            filter.district.as_ref().is_none_or(|d| {
                reference
                    .directory
                    .district_of(&w.street)
                    .is_some_and(|u| u.code == *d)
            })
        })
        .filter_map(|w| {
            let absent: Vec<String> = w
                .summons
                .iter()
                .filter(|s| s.absent_at.is_some() && s.decision.is_none() && !s.released)
                .filter(|s| {
                    filter
                        .lead_units
                        .as_ref()
                        .is_none_or(|units| units.contains(&s.unit))
                })
                .map(|s| names.unit(&s.unit))
                .collect();
            (!absent.is_empty()).then(|| AbsenceRow {
                no: w.no.clone(),
                street: names.unit(&w.street),
                raised: format::time(w.raised_at),
                reason: w.needed.clone(),
                absent: absent.join("、"),
            })
        })
        .collect())
}

/// The board's rows as CSV, for the daily bulletin; no personal data.
fn csv(rows: &[BoardRow], lang: whistle_core::error::Lang) -> Response {
    let t = |zh: &'static str, en: &'static str| format::pick(lang, (zh, en));
    let header = [
        t("工单号", "order"),
        t("承办单位", "unit"),
        t("类别", "category"),
        t("地点", "place"),
        t("时限", "deadline"),
        t("剩余或超期", "left or late"),
        t("环节", "stage"),
        t("超期三倍", "3× late"),
    ];
    let lines = rows.iter().map(|r| {
        let (at, left) = r
            .deadline
            .as_ref()
            .map(|d| (d.at.clone(), d.left.clone()))
            .unwrap_or_default();
        vec![
            r.no.clone(),
            r.unit.clone(),
            r.category.clone(),
            r.place.clone(),
            at,
            left,
            r.stage.clone(),
            if r.thrice { t("是", "yes") } else { "" }.to_string(),
        ]
    });
    format::csv_download("supervision.csv", &header, lines)
}
