//! The reporting mechanism (一套机制): the daily bulletin (日通报), the weekly summary (周汇总)
//! and the monthly analysis (月分析), built from the intake volumes, the evaluation counters and
//! the supervision notices — never by reading every order of the period. This module holds what
//! the three share: parsing, names, tables.

use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use whistle_core::error::DomainError;
use whistle_core::ids::UnitCode;
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_date, Timestamp};

use crate::document::{Cell, Document, Lang, Table};
use whistle_store::Store;
use whistle_store::{IntakeVolume, StoreError};

/// How many streets the top lists show.
pub const TOP_STREETS: usize = 10;
/// How many emergencies the daily bulletin lists.
pub const EMERGENCIES_LISTED: u32 = 50;

pub(crate) fn invalid(field: &str, value: &str) -> StoreError {
    DomainError::InvalidValue {
        field: field.into(),
        value: value.chars().take(20).collect(),
    }
    .into()
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid("date (YYYY-MM-DD)", text))
}

/// Parses an ISO week `YYYY-Www` into its Monday.
pub fn parse_week(text: &str) -> Result<NaiveDate, StoreError> {
    let bad = || invalid("week (YYYY-Www)", text);
    let (year, week) = text.split_once("-W").ok_or_else(bad)?;
    if year.len() != 4 || week.len() != 2 {
        return Err(bad());
    }
    let (year, week): (i32, u32) = (
        year.parse().map_err(|_| bad())?,
        week.parse().map_err(|_| bad())?,
    );
    NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).ok_or_else(bad)
}

/// Parses a calendar month `YYYY-MM` into its first day.
pub fn parse_month(text: &str) -> Result<NaiveDate, StoreError> {
    let bad = || invalid("month (YYYY-MM)", text);
    if text.len() != 7 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").map_err(|_| bad())
}

/// Refuses a range that has not begun yet (Beijing time).
pub(crate) fn not_future(first: NaiveDate, now: Timestamp, text: &str) -> Result<(), StoreError> {
    if first > beijing_date(now) {
        return Err(invalid("period (in the future)", text));
    }
    Ok(())
}

pub use whistle_core::time::midnight;

pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn month_key(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// Names for codes, in the report's language.
pub(crate) struct Names<'a> {
    pub reference: &'a Reference,
    pub lang: Lang,
}

impl Names<'_> {
    pub fn unit(&self, code: &str) -> String {
        if code == self.reference.city.as_str() {
            return self.lang.t("市级", "city-wide");
        }
        UnitCode::parse(code)
            .ok()
            .and_then(|c| self.reference.directory.get(&c).map(|u| u.name.clone()))
            .unwrap_or_else(|| code.to_string())
    }

    pub fn category(&self, code: &str) -> String {
        whistle_core::ids::CategoryCode::parse(code)
            .ok()
            .and_then(|c| {
                self.reference.taxonomy.get(&c).map(|c| match self.lang {
                    Lang::Zh => c.name_zh.clone(),
                    Lang::En => c.name_en.clone(),
                })
            })
            .unwrap_or_else(|| code.to_string())
    }

    /// The district code of a territory (the city's code for city-wide requests).
    pub fn district(&self, territory: &str) -> String {
        UnitCode::parse(territory)
            .ok()
            .and_then(|c| self.reference.directory.district_of(&c))
            .map(|u| u.code.to_string())
            .unwrap_or_else(|| self.reference.city.to_string())
    }

    /// Whether a territory is a street or township (街乡镇).
    pub fn is_street(&self, territory: &str) -> bool {
        UnitCode::parse(territory)
            .ok()
            .and_then(|c| self.reference.directory.get(&c))
            .is_some_and(|u| u.kind.is_street_level())
    }

    pub fn request_type(&self, code: &str) -> String {
        let (zh, en) = code
            .parse::<whistle_core::order::RequestType>()
            .map(|t| t.labels())
            .unwrap_or((code, code));
        self.lang.t(zh, en)
    }

    pub fn channel(&self, code: &str) -> String {
        let (zh, en) = code
            .parse::<whistle_core::order::Channel>()
            .map(|c| c.labels())
            .unwrap_or((code, code));
        self.lang.t(zh, en)
    }
}

/// The top-level category of a code (`07.02.01` → `07`).
pub(crate) fn top_level(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

pub(crate) fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

pub(crate) fn change(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| (now - before) as f64 / before as f64)
}

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// Sums volumes by a key derived from each row.
pub(crate) fn sum_by(
    rows: &[IntakeVolume],
    key: impl Fn(&IntakeVolume) -> String,
) -> BTreeMap<String, i64> {
    let mut sums = BTreeMap::new();
    for row in rows {
        *sums.entry(key(row)).or_insert(0) += row.count;
    }
    sums
}

/// Sorted by count descending, ties by key.
pub(crate) fn ranked(sums: &BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut items: Vec<(String, i64)> = sums
        .iter()
        .filter(|(_, c)| **c != 0)
        .map(|(k, c)| (k.clone(), *c))
        .collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items
}

fn change_words(lang: Lang, now: i64, before: i64) -> String {
    let diff = now - before;
    match lang {
        Lang::Zh => {
            let direction = if diff >= 0 { "增加" } else { "减少" };
            format!(
                "{direction}{}件（{}）",
                diff.abs(),
                percent(change(now, before))
            )
        }
        Lang::En => {
            let direction = if diff >= 0 { "up" } else { "down" };
            format!(
                "{direction} {} ({})",
                diff.abs(),
                percent(change(now, before))
            )
        }
    }
}

/// Volumes of this range against a comparison range, one row per code (most first): the code,
/// its name, the count, its share, the comparison count and the change.
#[allow(clippy::too_many_arguments)]
fn comparison_table(
    names: &Names,
    name: &str,
    title: String,
    (code_label, name_label): ((&str, &str), (&str, &str)),
    label: &dyn Fn(&str) -> String,
    now: &BTreeMap<String, i64>,
    before: &BTreeMap<String, i64>,
    total: i64,
) -> Table {
    let lang = names.lang;
    let mut table = Table::new(
        name,
        title,
        vec![
            lang.col(code_label.0, code_label.1),
            lang.col(name_label.0, name_label.1),
            lang.col("件数", "requests"),
            lang.col("占比", "share"),
            lang.col("对比期件数", "comparison"),
            lang.col("变化率", "change"),
        ],
    );
    for (code, count) in ranked(now) {
        let previous = before.get(&code).copied().unwrap_or(0);
        table.push(vec![
            code.clone().into(),
            label(&code).into(),
            count.into(),
            share(count, total).into(),
            previous.into(),
            change(count, previous).into(),
        ]);
    }
    table
}

fn category_table(
    names: &Names,
    name: &str,
    title: String,
    now: &BTreeMap<String, i64>,
    before: &BTreeMap<String, i64>,
    total: i64,
) -> Table {
    comparison_table(
        names,
        name,
        title,
        (("类别代码", "code"), ("类别", "category")),
        &|c| names.category(c),
        now,
        before,
        total,
    )
}

fn district_table(
    names: &Names,
    now: &BTreeMap<String, i64>,
    before: &BTreeMap<String, i64>,
    total: i64,
) -> Table {
    comparison_table(
        names,
        "districts",
        names.lang.t("按区", "By district"),
        (("区代码", "code"), ("区", "district")),
        &|c| names.unit(c),
        now,
        before,
        total,
    )
}

/// Ranked streets with their district.
pub(crate) fn streets_table(
    names: &Names,
    name: &str,
    title: String,
    streets: &[(String, i64)],
) -> Table {
    let lang = names.lang;
    let mut table = Table::new(
        name,
        title,
        vec![
            lang.col("名次", "rank"),
            lang.col("街乡镇代码", "code"),
            lang.col("街乡镇", "street"),
            lang.col("所属区", "district"),
            lang.col("件数", "requests"),
        ],
    );
    for (i, (code, count)) in streets.iter().enumerate() {
        table.push(vec![
            (i + 1).into(),
            code.clone().into(),
            names.unit(code).into(),
            names.unit(&names.district(code)).into(),
            (*count).into(),
        ]);
    }
    table
}

fn top_streets_table(names: &Names, rows: &[IntakeVolume]) -> (Table, Vec<(String, i64)>) {
    let streets = sum_by(rows, |r| r.territory.clone());
    let mut top: Vec<(String, i64)> = ranked(&streets)
        .into_iter()
        .filter(|(t, _)| names.is_street(t))
        .collect();
    top.truncate(TOP_STREETS);
    let table = streets_table(
        names,
        "top_streets",
        names.lang.t(
            "受理量前十街乡镇",
            "Top ten streets and townships by volume",
        ),
        &top,
    );
    (table, top)
}

fn mix_table(
    names: &Names,
    name: &str,
    title: String,
    sums: &BTreeMap<String, i64>,
    total: i64,
    label: &dyn Fn(&str) -> String,
) -> Table {
    let lang = names.lang;
    let mut table = Table::new(
        name,
        title,
        vec![
            lang.col("代码", "code"),
            lang.col("名称", "name"),
            lang.col("件数", "requests"),
            lang.col("占比", "share"),
        ],
    );
    for (code, count) in ranked(sums) {
        table.push(vec![
            code.clone().into(),
            label(&code).into(),
            count.into(),
            share(count, total).into(),
        ]);
    }
    table
}

/// The orders that became overdue, by lead unit: each order once (an order that missed both its
/// response and its handling deadline is one overdue order), and the deadlines missed beside.
fn overdue_table(names: &Names, rows: &[whistle_store::OverdueRow]) -> (Table, Overdue) {
    let lang = names.lang;
    let by_unit: BTreeMap<String, &whistle_store::OverdueRow> = rows
        .iter()
        .map(|r| (r.unit.clone().unwrap_or_default(), r))
        .collect();
    let sums: BTreeMap<String, i64> = by_unit.iter().map(|(u, r)| (u.clone(), r.orders)).collect();
    let total = Overdue {
        orders: rows.iter().map(|r| r.orders).sum(),
        response_missed: rows.iter().map(|r| r.response_missed).sum(),
        handling_missed: rows.iter().map(|r| r.handling_missed).sum(),
    };
    let mut table = Table::new(
        "overdue",
        lang.t("新增超期（按承办单位）", "New overdue orders by lead unit"),
        vec![
            lang.col("单位代码", "code"),
            lang.col("承办单位", "unit"),
            lang.col("超期工单", "overdue orders"),
            lang.col("超响应时限", "response deadlines missed"),
            lang.col("超办理时限", "handling deadlines missed"),
        ],
    );
    for (code, count) in ranked(&sums) {
        let row = by_unit[&code];
        table.push(vec![
            code.clone().into(),
            names.unit(&code).into(),
            count.into(),
            row.response_missed.into(),
            row.handling_missed.into(),
        ]);
    }
    (table, total)
}

/// Overdue orders and the deadlines they missed, in a bulletin's range.
#[derive(Clone, Copy, Debug, Default)]
struct Overdue {
    orders: i64,
    response_missed: i64,
    handling_missed: i64,
}

impl Overdue {
    /// "N件（超响应时限a件、超办理时限b件）".
    fn said(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => format!(
                "{}件（超响应时限{}件、超办理时限{}件）",
                self.orders, self.response_missed, self.handling_missed
            ),
            Lang::En => format!(
                "{} orders ({} response and {} handling deadlines missed)",
                self.orders, self.response_missed, self.handling_missed
            ),
        }
    }
}

mod daily;
mod monthly;
mod weekly;

pub use daily::daily;
pub use monthly::monthly;
pub use weekly::weekly;
