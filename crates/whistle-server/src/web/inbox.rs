//! 承办台: a handling unit's inbox — its orders by what is due (待签收, 临期, 超期, 办理中, 重办,
//! 协办待反馈, 已答复, all), each with its deadline counting down (amber within a working day, red when passed),
//! filterable by category and street (by name or code) and words, bookmarkable by its URL,
//! exportable as CSV and XLSX; 签收 from the row.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, UnitCode};
use whistle_store::{AssignedTo, OrderFilter, OrderSummary, Owed, PageRequest};

use super::format::{self, Deadline, Names};
use super::{chrome, page_language, signed_in, urlencode, Chrome};
use crate::AppState;

/// The tabs: (value, stage filter, Chinese, English).
const TABS: [(&str, Option<&str>, &str, &str); 8] = [
    ("pending", Some("dispatched"), "待签收", "to accept"),
    // Open orders whose running deadline is within one working day, and those past it.
    ("soon", None, "临期", "due soon"),
    ("overdue", None, "超期", "overdue"),
    ("handling", Some("accepted"), "办理中", "being handled"),
    // Reopened after a dissatisfied visit and back with the unit.
    ("rework", None, "重办", "rework"),
    // Orders this unit co-handles whose part it has not yet reported to the lead.
    ("parts", None, "协办待反馈", "parts I owe"),
    ("replied", Some("replied"), "已答复", "replied"),
    ("all", None, "全部", "all"),
];

/// The time-limit filter's choices: (value, Chinese, English); the empty value is all.
const PUNCTUALITY: [(&str, &str, &str); 4] = [
    ("", "全部", "all"),
    ("on_time", "未超期", "not overdue"),
    ("late", "已超期", "overdue"),
    ("thrice", "超期三倍及以上", "3× overdue or more"),
];

const PAGE: u32 = 50;

#[derive(Deserialize, Default, Clone)]
pub struct InboxQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    q: String,
    /// 时限: `on_time` (the running deadline not passed), `late` (passed), `thrice` (late by
    /// three times the time allowed); anything else: all.
    #[serde(default)]
    punctuality: String,
    /// 承办人 (of the orders the unit leads): `me`, `none` (not yet assigned) or a colleague's
    /// login; empty: everyone's.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    after: String,
    /// `csv` for the export.
    #[serde(default)]
    format: String,
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct Row {
    pub no: String,
    pub version: u64,
    pub category: String,
    pub place: String,
    pub received: String,
    pub deadline: Option<Deadline>,
    pub stage: String,
    /// 签收 offered (dispatched to the viewer's unit as lead).
    pub acceptable: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    query: InboxQuery,
    /// The time-limit filter's choices in the reader's language: (value, label).
    punctuality: Vec<(String, String)>,
    /// The assignee filter's choices: everyone, me, nobody, each colleague.
    assignees: Vec<(String, String)>,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    next: Option<String>,
    export: String,
    export_xlsx: String,
    /// The leaf categories as "code name", for the filter's typeahead.
    categories: Vec<String>,
    here: String,
}

fn query_string(
    query: &InboxQuery,
    tab: &str,
    after: Option<&str>,
    format: Option<&str>,
) -> String {
    let mut parts = vec![format!("tab={tab}")];
    for (name, value) in [
        ("category", &query.category),
        ("street", &query.street),
        ("q", &query.q),
        ("punctuality", &query.punctuality),
        ("assignee", &query.assignee),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", urlencode(value)));
        }
    }
    if let Some(after) = after {
        parts.push(format!("after={}", urlencode(after)));
    }
    if let Some(format) = format {
        parts.push(format!("format={format}"));
    }
    format!("/ui/inbox?{}", parts.join("&"))
}

/// `GET /ui/inbox`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(mut query): Query<InboxQuery>,
) -> Response {
    let viewer = match signed_in(&state, &headers, "/ui/inbox").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    if !TABS.iter().any(|(tab, ..)| *tab == query.tab) {
        query.tab = "pending".into();
    }
    let stage = TABS
        .iter()
        .find(|(tab, ..)| *tab == query.tab)
        .and_then(|(_, stage, ..)| *stage);
    let now = state.clock.now();
    let soon = state
        .store
        .reference()
        .calendar
        .deadline(now, whistle_core::calendar::TimeLimit::WorkingDays(1))
        .map(|d| d.at)
        .unwrap_or(now);
    if !PUNCTUALITY
        .iter()
        .any(|(value, ..)| *value == query.punctuality)
    {
        query.punctuality.clear();
    }
    let (mut due_after, mut due_before) = match query.tab.as_str() {
        "soon" => (Some(now), Some(soon)),
        "overdue" => (None, Some(now)),
        _ => (None, None),
    };
    // The time-limit filter narrows the tab (临期 and 未超期 agree; 临期 and 已超期 leave none).
    let mut thrice_late_at = None;
    match query.punctuality.as_str() {
        "on_time" => due_after = Some(due_after.map_or(now, |at| at.max(now))),
        "late" | "thrice" => {
            due_before = Some(due_before.map_or(now, |at| at.min(now)));
            if query.punctuality == "thrice" {
                thrice_late_at = Some(now);
            }
        }
        _ => {}
    }
    let owed = match query.tab.as_str() {
        "rework" => Some(Owed::Rework),
        "parts" => Some(Owed::Part),
        _ => None,
    };
    let colleagues = match super::colleagues(&state, &viewer.principal.unit).await {
        Ok(people) => people,
        Err(error) => return super::store_failure(error, lang),
    };
    let assignee = match query.assignee.as_str() {
        "" => None,
        "me" => Some(AssignedTo::Person(viewer.principal.name.clone())),
        "none" => Some(AssignedTo::Nobody),
        login if colleagues.iter().any(|a| a.login == login) => {
            Some(AssignedTo::Person(login.to_string()))
        }
        _ => {
            query.assignee.clear();
            None
        }
    };
    let filter = OrderFilter {
        assignee,
        owed,
        due_after,
        due_before,
        thrice_late_at,
        unit: Some(viewer.principal.unit.clone()),
        stage: stage.map(str::to_string),
        // The typeahead fills "小关街道 110105010": the code is the last word.
        street: UnitCode::parse(query.street.split_whitespace().last().unwrap_or("")).ok(),
        category: CategoryCode::parse(query.category.split_whitespace().next().unwrap_or("")).ok(),
        text: Some(query.q.trim().to_string()).filter(|q| !q.is_empty()),
        ..OrderFilter::default()
    };
    let request = PageRequest {
        after: Some(query.after.clone()).filter(|a| !a.is_empty()),
        limit: PAGE,
    };
    let page = match state
        .store
        .list_orders(&viewer.principal.scope, &filter, &request)
        .await
    {
        Ok(page) => page,
        Err(error) => return super::store_failure(error, lang),
    };
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let unit = viewer.principal.unit.as_str();
    let rows: Vec<Row> = page
        .items
        .iter()
        .map(|s| row(s, &names, now, unit))
        .collect();
    match query.format.as_str() {
        "csv" => return csv(&rows, lang),
        "xlsx" => return xlsx(&rows, lang),
        _ => {}
    }
    let here = query_string(
        &query,
        &query.tab,
        Some(&query.after)
            .filter(|a| !a.is_empty())
            .map(|a| a.as_str()),
        None,
    );
    let tabs = TABS
        .iter()
        .map(|(tab, _, zh, en)| Tab {
            href: query_string(&query, tab, None, None),
            label: format::pick(lang, (zh, en)).to_string(),
            current: *tab == query.tab,
        })
        .collect();
    let categories = reference
        .taxonomy
        .iter()
        .filter(|c| reference.taxonomy.is_leaf(&c.code))
        .map(|c| format!("{} {}", c.code, names.category(&c.code)))
        .collect();
    let title = format::pick(lang, ("承办台", "Inbox"));
    let inbox = InboxPage {
        chrome: chrome(&state, Some(&viewer), lang, title, "/ui/inbox"),
        next: page
            .next
            .as_deref()
            .map(|after| query_string(&query, &query.tab, Some(after), None)),
        export: query_string(&query, &query.tab, None, Some("csv")),
        export_xlsx: query_string(&query, &query.tab, None, Some("xlsx")),
        categories,
        tabs,
        rows,
        here,
        assignees: {
            let mut choices = vec![
                (
                    String::new(),
                    format::pick(lang, ("全部", "everyone")).to_string(),
                ),
                (
                    "me".to_string(),
                    format::pick(lang, ("指派给我的", "assigned to me")).to_string(),
                ),
                (
                    "none".to_string(),
                    format::pick(lang, ("未指派", "not assigned")).to_string(),
                ),
            ];
            choices.extend(
                colleagues
                    .iter()
                    .filter(|a| a.login != viewer.principal.name)
                    .map(|a| {
                        (
                            a.login.clone(),
                            format!("{}（{}）", a.display_name, a.login),
                        )
                    }),
            );
            choices
        },
        punctuality: PUNCTUALITY
            .iter()
            .map(|(value, zh, en)| (value.to_string(), format::pick(lang, (zh, en)).to_string()))
            .collect(),
        query,
    };
    super::render(&inbox, StatusCode::OK)
}

fn row(
    summary: &OrderSummary,
    names: &Names,
    now: whistle_core::time::Timestamp,
    unit: &str,
) -> Row {
    let lang = names.lang;
    let unit_name = |code: &Option<String>| {
        code.as_deref()
            .and_then(|c| UnitCode::parse(c).ok())
            .map(|c| names.unit(&c))
    };
    let place = [unit_name(&summary.district), unit_name(&summary.street)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let deadline = summary
        .next_due_at
        .or(summary.handle_by)
        .filter(|_| summary.closed_at.is_none() && summary.stage != "replied")
        .map(|at| Deadline::new(names.reference, "", at, now, lang));
    let stage = names.stage_named(&summary.stage);
    Row {
        no: summary.no.to_string(),
        version: summary.version,
        category: CategoryCode::parse(&summary.category)
            .map(|c| names.category(&c))
            .unwrap_or_else(|_| summary.category.clone()),
        place,
        received: format::time(summary.received_at),
        deadline,
        stage,
        acceptable: summary.stage == "dispatched" && summary.lead_unit.as_deref() == Some(unit),
    }
}

/// The rows as a workbook (the same columns as the CSV), through the reports' XLSX writer.
fn xlsx(rows: &[Row], lang: Lang) -> Response {
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let report_lang: whistle_reports::Lang = lang.into();
    let columns = vec![
        report_lang.col("工单号", "order"),
        report_lang.col("类别", "category"),
        report_lang.col("地点", "place"),
        report_lang.col("受理时间", "received"),
        report_lang.col("时限", "deadline"),
        report_lang.col("剩余", "left"),
        report_lang.col("环节", "stage"),
    ];
    let cells = rows
        .iter()
        .map(|r| {
            let (at, left) = r
                .deadline
                .as_ref()
                .map(|d| (d.at.clone(), d.left.clone()))
                .unwrap_or_default();
            [
                r.no.clone(),
                r.category.clone(),
                r.place.clone(),
                r.received.clone(),
                at,
                left,
                r.stage.clone(),
            ]
            .into_iter()
            .map(whistle_reports::Cell::Text)
            .collect()
        })
        .collect();
    let document = whistle_reports::Document {
        kind: "inbox".into(),
        subject: String::new(),
        lang: report_lang,
        title: t("承办台工单", "Inbox"),
        empty: rows.is_empty(),
        summary: Vec::new(),
        tables: vec![{
            let mut table = whistle_reports::Table::new("inbox", t("承办台工单", "Inbox"), columns);
            table.rows = cells;
            table
        }],
    };
    match document.xlsx() {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"inbox.xlsx\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => super::store_failure(error, lang),
    }
}

fn csv(rows: &[Row], lang: Lang) -> Response {
    let header = match lang {
        Lang::Zh => ["工单号", "类别", "地点", "受理时间", "时限", "剩余", "环节"],
        Lang::En => [
            "order", "category", "place", "received", "deadline", "left", "stage",
        ],
    };
    let lines = rows.iter().map(|r| {
        let (at, left) = r
            .deadline
            .as_ref()
            .map(|d| (d.at.as_str(), d.left.as_str()))
            .unwrap_or(("", ""));
        vec![
            r.no.clone(),
            r.category.clone(),
            r.place.clone(),
            r.received.clone(),
            at.to_string(),
            left.to_string(),
            r.stage.clone(),
        ]
    });
    format::csv_download("inbox.csv", &header, lines)
}
