//! The reporting mechanism (一套机制): the daily bulletin (日通报), the weekly summary (周汇总)
//! and the monthly analysis (月分析), built from the intake volumes, the evaluation counters and
//! the supervision notices — never by reading every order of the period.

use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use whistle_core::error::DomainError;
use whistle_core::ids::UnitCode;
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_date, from_beijing, Timestamp};

use crate::document::{Cell, Document, Lang, Table};
use crate::types::{IntakeVolume, StoreError};
use crate::Store;

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

/// The first instant of a Beijing day.
pub fn midnight(day: NaiveDate) -> Timestamp {
    from_beijing(day.and_time(chrono::NaiveTime::MIN))
}

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
            lang.t(code_label.0, code_label.1),
            lang.t(name_label.0, name_label.1),
            lang.t("件数", "requests"),
            lang.t("占比", "share"),
            lang.t("对比期件数", "comparison"),
            lang.t("变化率", "change"),
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
            lang.t("名次", "rank"),
            lang.t("街乡镇代码", "code"),
            lang.t("街乡镇", "street"),
            lang.t("所属区", "district"),
            lang.t("件数", "requests"),
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
            lang.t("代码", "code"),
            lang.t("名称", "name"),
            lang.t("件数", "requests"),
            lang.t("占比", "share"),
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

fn overdue_table(names: &Names, notices: &[(Option<String>, i64)]) -> (Table, i64) {
    let lang = names.lang;
    let sums: BTreeMap<String, i64> = notices
        .iter()
        .map(|(u, c)| (u.clone().unwrap_or_default(), *c))
        .collect();
    let total = sums.values().sum();
    let mut table = Table::new(
        "overdue",
        lang.t("新增超期（按承办单位）", "New overdue orders by lead unit"),
        vec![
            lang.t("单位代码", "code"),
            lang.t("承办单位", "unit"),
            lang.t("超期件数", "overdue"),
        ],
    );
    for (code, count) in ranked(&sums) {
        table.push(vec![
            code.clone().into(),
            names.unit(&code).into(),
            count.into(),
        ]);
    }
    (table, total)
}

/// 日通报: the requests received on a Beijing day.
pub async fn daily(
    store: &dyn Store,
    date: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let day = parse_date(date)?;
    not_future(day, now, date)?;
    let next = day.succ_opt().ok_or_else(|| invalid("date", date))?;
    let previous = day.pred_opt().ok_or_else(|| invalid("date", date))?;
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows = store
        .intake_volumes(true, &day_key(day), &day_key(next))
        .await?;
    let before = store
        .intake_volumes(true, &day_key(previous), &day_key(day))
        .await?;
    let (from, until) = (midnight(day), midnight(next));
    let mix = store.intake_mix(from, until).await?;
    let emergencies = store.emergencies(from, until, EMERGENCIES_LISTED).await?;
    let notices = store.overdue_notices(from, until).await?;

    let total: i64 = rows.iter().map(|r| r.count).sum();
    let previous_total: i64 = before.iter().map(|r| r.count).sum();
    let types = mix.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.request_type.clone()).or_insert(0) += r.count;
        m
    });
    let channels = mix.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.channel.clone()).or_insert(0) += r.count;
        m
    });
    let emergency_count: i64 = mix
        .iter()
        .filter(|r| r.urgency == "emergency")
        .map(|r| r.count)
        .sum();
    let categories = sum_by(&rows, |r| top_level(&r.category).to_string());
    let categories_before = sum_by(&before, |r| top_level(&r.category).to_string());
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, top) = top_streets_table(&names, &rows);
    let (overdue, overdue_total) = overdue_table(&names, &notices);

    let mut summary = Vec::new();
    let empty = total == 0 && notices.is_empty();
    if total == 0 {
        summary.push(lang.t(
            &format!("{}，无受理诉求数据。", day.format("%Y年%-m月%-d日")),
            &format!("{day}: no requests were received."),
        ));
    } else {
        let type_words: Vec<String> = ranked(&types)
            .iter()
            .map(|(t, c)| match lang {
                Lang::Zh => format!("{}{}件", names.request_type(t), c),
                Lang::En => format!("{} {}", c, names.request_type(t)),
            })
            .collect();
        let phone = share(channels.get("phone").copied().unwrap_or(0), total);
        summary.push(match lang {
            Lang::Zh => format!(
                "{}，12345市民服务热线共受理诉求{}件，较前一日{}。其中{}；电话渠道占{}。",
                day.format("%Y年%-m月%-d日"),
                total,
                change_words(lang, total, previous_total),
                type_words.join("、"),
                percent(phone)
            ),
            Lang::En => format!(
                "{day}: the 12345 hotline received {total} requests, {} on the day before: {}; {} by phone.",
                change_words(lang, total, previous_total),
                type_words.join(", "),
                percent(phone)
            ),
        });
        if let Some((code, count)) = ranked(&categories).first() {
            summary.push(match lang {
                Lang::Zh => format!(
                    "诉求最集中的类别是“{}”，{}件，占{}。",
                    names.category(code),
                    count,
                    percent(share(*count, total))
                ),
                Lang::En => format!(
                    "The largest category was \"{}\": {} requests, {} of the day.",
                    names.category(code),
                    count,
                    percent(share(*count, total))
                ),
            });
        }
        if let Some((code, count)) = top.first() {
            summary.push(match lang {
                Lang::Zh => format!(
                    "受理量最多的街乡镇是{}{}（{}件）。",
                    names.unit(&names.district(code)),
                    names.unit(code),
                    count
                ),
                Lang::En => format!(
                    "The street with the most requests was {} ({}), {count}.",
                    names.unit(code),
                    names.unit(&names.district(code))
                ),
            });
        }
    }
    summary.push(match lang {
        Lang::Zh => format!(
            "紧急诉求{}件；当日新增超期工单{}件。",
            emergency_count, overdue_total
        ),
        Lang::En => format!(
            "{emergency_count} emergencies; {overdue_total} orders became overdue on the day."
        ),
    });

    let mut tables = vec![
        mix_table(
            &names,
            "types",
            lang.t("按诉求类型", "By request type"),
            &types,
            total,
            &|c| names.request_type(c),
        ),
        mix_table(
            &names,
            "channels",
            lang.t("按受理渠道", "By channel"),
            &channels,
            total,
            &|c| names.channel(c),
        ),
        category_table(
            &names,
            "categories",
            lang.t(
                "按类别（一级，对比前一日）",
                "By category (top level, against the day before)",
            ),
            &categories,
            &categories_before,
            total,
        ),
        district_table(&names, &districts, &districts_before, total),
        streets,
        overdue,
    ];
    let mut list = Table::new(
        "emergencies",
        lang.t("紧急诉求", "Emergencies"),
        vec![
            lang.t("工单编号", "order"),
            lang.t("受理时间", "received"),
            lang.t("类别", "category"),
            lang.t("区", "district"),
            lang.t("街乡镇", "street"),
            lang.t("承办单位", "lead unit"),
            lang.t("环节", "stage"),
        ],
    );
    for e in &emergencies {
        list.push(vec![
            e.no.clone().into(),
            e.received_at
                .with_timezone(&whistle_core::time::beijing())
                .format("%Y-%m-%d %H:%M")
                .to_string()
                .into(),
            names.category(&e.category).into(),
            e.district
                .as_deref()
                .map(|d| names.unit(d))
                .unwrap_or_default()
                .into(),
            e.street
                .as_deref()
                .map(|s| names.unit(s))
                .unwrap_or_default()
                .into(),
            e.lead_unit
                .as_deref()
                .map(|u| names.unit(u))
                .unwrap_or_default()
                .into(),
            e.stage.clone().into(),
        ]);
    }
    tables.push(list);
    Ok(Document {
        kind: "daily".into(),
        subject: day_key(day),
        lang,
        title: lang.t(
            &format!(
                "12345市民服务热线日通报（{}）",
                day.format("%Y年%-m月%-d日")
            ),
            &format!("12345 hotline daily bulletin, {day}"),
        ),
        empty,
        summary,
        tables,
    })
}

/// 周汇总: an ISO week (Monday to Sunday) against the week before.
pub async fn weekly(
    store: &dyn Store,
    week: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let monday = parse_week(week)?;
    not_future(monday, now, week)?;
    let next = monday + chrono::Days::new(7);
    let before_monday = monday - chrono::Days::new(7);
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let rows = store
        .intake_volumes(true, &day_key(monday), &day_key(next))
        .await?;
    let before = store
        .intake_volumes(true, &day_key(before_monday), &day_key(monday))
        .await?;
    let notices = store
        .overdue_notices(midnight(monday), midnight(next))
        .await?;
    let total: i64 = rows.iter().map(|r| r.count).sum();
    let previous_total: i64 = before.iter().map(|r| r.count).sum();
    let by_day = sum_by(&rows, |r| r.key.clone());
    let mut days = Table::new(
        "days",
        lang.t("每日受理量", "Requests per day"),
        vec![
            lang.t("日期", "date"),
            lang.t("星期", "weekday"),
            lang.t("件数", "requests"),
        ],
    );
    for offset in 0..7 {
        let day = monday + chrono::Days::new(offset);
        let weekday = ["一", "二", "三", "四", "五", "六", "日"][offset as usize];
        days.push(vec![
            day_key(day).into(),
            lang.t(&format!("星期{weekday}"), &day.format("%A").to_string())
                .into(),
            by_day.get(&day_key(day)).copied().unwrap_or(0).into(),
        ]);
    }
    let categories = sum_by(&rows, |r| top_level(&r.category).to_string());
    let categories_before = sum_by(&before, |r| top_level(&r.category).to_string());
    let leaves = sum_by(&rows, |r| r.category.clone());
    let leaves_before = sum_by(&before, |r| r.category.clone());
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, _) = top_streets_table(&names, &rows);
    let (overdue, overdue_total) = overdue_table(&names, &notices);
    // Rising categories: the largest increases in count among leaves with at least 10 requests.
    let mut rising: Vec<(String, i64, i64)> = leaves
        .iter()
        .map(|(c, n)| (c.clone(), *n, leaves_before.get(c).copied().unwrap_or(0)))
        .filter(|(_, n, _)| *n >= 10)
        .filter(|(_, n, b)| n > b)
        .collect();
    rising.sort_by(|a, b| (b.1 - b.2).cmp(&(a.1 - a.2)).then_with(|| a.0.cmp(&b.0)));
    rising.truncate(10);
    let mut risers = Table::new(
        "rising",
        lang.t("增量最大的小类", "Categories rising most"),
        vec![
            lang.t("类别代码", "code"),
            lang.t("类别", "category"),
            lang.t("本周", "this week"),
            lang.t("上周", "last week"),
            lang.t("增加", "increase"),
            lang.t("变化率", "change"),
        ],
    );
    for (code, n, b) in &rising {
        risers.push(vec![
            code.clone().into(),
            names.category(code).into(),
            (*n).into(),
            (*b).into(),
            (n - b).into(),
            change(*n, *b).into(),
        ]);
    }
    let empty = total == 0;
    let mut summary = Vec::new();
    let last = next.pred_opt().unwrap_or(next);
    if empty {
        summary.push(lang.t(
            &format!("{week}（{monday}至{last}）无受理诉求数据。"),
            &format!("{week} ({monday} to {last}): no requests were received."),
        ));
    } else {
        summary.push(match lang {
            Lang::Zh => format!(
                "{week}（{monday}至{last}）共受理诉求{total}件，日均{:.0}件，较上周{}；新增超期{overdue_total}件。",
                total as f64 / 7.0,
                change_words(lang, total, previous_total)
            ),
            Lang::En => format!(
                "{week} ({monday} to {last}): {total} requests, {:.0} a day, {} on the week before; {overdue_total} became overdue.",
                total as f64 / 7.0,
                change_words(lang, total, previous_total)
            ),
        });
        if let Some((code, n, b)) = rising.first() {
            summary.push(match lang {
                Lang::Zh => format!(
                    "增量最大的是“{}”，由{}件增至{}件。",
                    names.category(code),
                    b,
                    n
                ),
                Lang::En => format!("\"{}\" rose most, from {b} to {n}.", names.category(code)),
            });
        }
    }
    Ok(Document {
        kind: "weekly".into(),
        subject: week.to_string(),
        lang,
        title: lang.t(
            &format!("12345市民服务热线周汇总（{week}）"),
            &format!("12345 hotline weekly summary, {week}"),
        ),
        empty,
        summary,
        tables: vec![
            days,
            category_table(
                &names,
                "categories",
                lang.t(
                    "按类别（一级，对比上周）",
                    "By category (top level, against the week before)",
                ),
                &categories,
                &categories_before,
                total,
            ),
            risers,
            district_table(&names, &districts, &districts_before, total),
            streets,
            overdue,
        ],
    })
}

/// 月分析: a calendar month against the month before and the same month a year earlier, with
/// the month's evaluation: the units that improved and fell back most.
pub async fn monthly(
    store: &dyn Store,
    month: &str,
    now: Timestamp,
    lang: Lang,
) -> Result<Document, StoreError> {
    let first = parse_month(month)?;
    not_future(first, now, month)?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| invalid("month", month))?;
    let previous = first
        .checked_sub_months(chrono::Months::new(1))
        .ok_or_else(|| invalid("month", month))?;
    let year_ago = first
        .checked_sub_months(chrono::Months::new(12))
        .ok_or_else(|| invalid("month", month))?;
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let volumes = |from: NaiveDate, before: NaiveDate| {
        let (from, before) = (month_key(from), month_key(before));
        async move { store.intake_volumes(false, &from, &before).await }
    };
    let rows = volumes(first, next).await?;
    let before = volumes(previous, first).await?;
    let last_year = volumes(
        year_ago,
        year_ago
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(year_ago),
    )
    .await?;
    let total: i64 = rows.iter().map(|r| r.count).sum();
    let previous_total: i64 = before.iter().map(|r| r.count).sum();
    let year_total: i64 = last_year.iter().map(|r| r.count).sum();
    let evaluation = crate::reports::evaluation(store, month, now).await?;

    let mut overview = Table::new(
        "overview",
        lang.t("受理总量", "Volume"),
        vec![
            lang.t("期间", "period"),
            lang.t("件数", "requests"),
            lang.t("本月较之变化率", "this month's change"),
        ],
    );
    overview.push(vec![month.into(), total.into(), None.into()]);
    overview.push(vec![
        month_key(previous).into(),
        previous_total.into(),
        change(total, previous_total).into(),
    ]);
    overview.push(vec![
        month_key(year_ago).into(),
        year_total.into(),
        change(total, year_total).into(),
    ]);

    let top = |rows: &[IntakeVolume]| sum_by(rows, |r| top_level(&r.category).to_string());
    let (categories, categories_before, categories_year) =
        (top(&rows), top(&before), top(&last_year));
    let mut shifts = Table::new(
        "categories",
        lang.t("类别变化（一级）", "Category shifts (top level)"),
        vec![
            lang.t("类别代码", "code"),
            lang.t("类别", "category"),
            lang.t("件数", "requests"),
            lang.t("占比", "share"),
            lang.t("上月", "last month"),
            lang.t("环比", "month on month"),
            lang.t("去年同月", "same month last year"),
            lang.t("同比", "year on year"),
            lang.t("占比变化", "share change"),
        ],
    );
    for (code, count) in ranked(&categories) {
        let b = categories_before.get(&code).copied().unwrap_or(0);
        let y = categories_year.get(&code).copied().unwrap_or(0);
        let share_change = match (share(count, total), share(b, previous_total)) {
            (Some(now), Some(then)) => Some(now - then),
            _ => None,
        };
        shifts.push(vec![
            code.clone().into(),
            names.category(&code).into(),
            count.into(),
            share(count, total).into(),
            b.into(),
            change(count, b).into(),
            y.into(),
            change(count, y).into(),
            share_change.into(),
        ]);
    }
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, _) = top_streets_table(&names, &rows);

    // Improvers: units with a composite this period and the one before, by change.
    let mut changed: Vec<&whistle_core::evaluation::UnitEvaluation> = evaluation
        .units
        .iter()
        .filter(|u| u.change.is_some())
        .collect();
    changed.sort_by(|a, b| {
        b.change
            .unwrap_or(0.0)
            .total_cmp(&a.change.unwrap_or(0.0))
            .then_with(|| a.unit.cmp(&b.unit))
    });
    let improver_table =
        |name: &str, title: String, units: Vec<&&whistle_core::evaluation::UnitEvaluation>| {
            let mut table = Table::new(
                name,
                title,
                vec![
                    lang.t("单位代码", "code"),
                    lang.t("单位", "unit"),
                    lang.t("本期综合得分", "composite"),
                    lang.t("上期综合得分", "previous"),
                    lang.t("变化", "change"),
                    lang.t("同组排名", "rank in group"),
                ],
            );
            for u in units {
                table.push(vec![
                    u.unit.to_string().into(),
                    u.name.clone().into(),
                    u.rates.map(|r| r.composite).into(),
                    u.previous_composite.into(),
                    u.change.into(),
                    u.rank
                        .map(|r| r as i64)
                        .map(Cell::Int)
                        .unwrap_or(Cell::Text(String::new())),
                ]);
            }
            table
        };
    let best = improver_table(
        "improvers",
        lang.t("综合得分进步最大的十个单位", "Ten most improved units"),
        changed
            .iter()
            .filter(|u| u.change.unwrap_or(0.0) > 0.0)
            .take(10)
            .collect(),
    );
    let worst = improver_table(
        "decliners",
        lang.t(
            "综合得分退步最大的十个单位",
            "Ten units that fell back most",
        ),
        changed
            .iter()
            .rev()
            .filter(|u| u.change.unwrap_or(0.0) < 0.0)
            .take(10)
            .collect(),
    );
    let empty = total == 0 && evaluation.empty;
    let mut summary = Vec::new();
    if empty {
        summary.push(lang.t(
            &format!("{month}无受理诉求和考核数据。"),
            &format!("{month}: no requests and no evaluation data."),
        ));
    } else {
        summary.push(match lang {
            Lang::Zh => format!(
                "{month}共受理诉求{total}件，环比{}，同比{}。",
                change_words(lang, total, previous_total),
                change_words(lang, total, year_total)
            ),
            Lang::En => format!(
                "{month}: {total} requests, {} on the month before and {} on the same month last year.",
                change_words(lang, total, previous_total),
                change_words(lang, total, year_total)
            ),
        });
        let mut shares: Vec<(String, f64)> = categories
            .iter()
            .filter_map(|(code, count)| {
                let now = share(*count, total)?;
                let then = share(
                    categories_before.get(code).copied().unwrap_or(0),
                    previous_total,
                )?;
                Some((code.clone(), now - then))
            })
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some((code, delta)) = shares.first().filter(|(_, d)| *d > 0.0) {
            summary.push(match lang {
                Lang::Zh => format!(
                    "占比上升最多的类别是“{}”（上升{:.1}个百分点）。",
                    names.category(code),
                    delta * 100.0
                ),
                Lang::En => format!(
                    "\"{}\" gained most share ({:+.1} points).",
                    names.category(code),
                    delta * 100.0
                ),
            });
        }
        let ranked_units = evaluation.units.iter().filter(|u| u.rank.is_some()).count();
        summary.push(match lang {
            Lang::Zh => format!(
                "本期考核（{}至{}）共{}个单位参与排名。",
                evaluation.first_day, evaluation.last_day, ranked_units
            ),
            Lang::En => format!(
                "The evaluation ({} to {}) ranks {ranked_units} units.",
                evaluation.first_day, evaluation.last_day
            ),
        });
    }
    Ok(Document {
        kind: "monthly".into(),
        subject: month.to_string(),
        lang,
        title: lang.t(
            &format!(
                "12345市民服务热线月度分析（{}年{}月）",
                first.year(),
                first.month()
            ),
            &format!("12345 hotline monthly analysis, {month}"),
        ),
        empty,
        summary,
        tables: vec![
            overview,
            shifts,
            district_table(&names, &districts, &districts_before, total),
            streets,
            best,
            worst,
        ],
    })
}

/// The raw intake rows of the days [first, before): one row per order with its Beijing day,
/// type, channel, urgency, category, territory, district and street (no personal data, no
/// address) — what an independent check (DuckDB) recomputes the bulletin's volumes from.
pub async fn intake_csv(
    store: &dyn Store,
    first: NaiveDate,
    before: NaiveDate,
) -> Result<String, StoreError> {
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang: Lang::Zh,
    };
    let keys = store.order_keys(midnight(first), midnight(before)).await?;
    let mut out = String::from(
        "no,day,received_at_ms,request_type,channel,urgency,category,territory,district,street\n",
    );
    let mut districts: BTreeMap<String, String> = BTreeMap::new();
    for key in &keys {
        let district = districts
            .entry(key.territory.clone())
            .or_insert_with(|| names.district(&key.territory))
            .clone();
        let street = if names.is_street(&key.territory) {
            key.territory.as_str()
        } else {
            ""
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            key.no,
            beijing_date(key.received_at),
            key.received_at.timestamp_millis(),
            key.request_type,
            key.channel,
            key.urgency,
            key.category,
            key.territory,
            district,
            street
        ));
    }
    Ok(out)
}
