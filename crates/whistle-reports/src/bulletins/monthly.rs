//! 月分析: the monthly analysis, against the month before and the same month last year.

use super::*;
use crate::evaluation::EvaluationReport;

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
    let covered = |from: NaiveDate, before: NaiveDate| {
        let (from_key, before_key) = (day_key(from), day_key(before));
        async move {
            let days = store.intake_days_covered(&from_key, &before_key).await?;
            Ok::<Coverage, StoreError>(Coverage {
                days: days.len() as i64,
                month_days: (before - from).num_days(),
            })
        }
    };
    let year_next = year_ago
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(year_ago);
    let coverage = [
        covered(first, next).await?,
        covered(previous, first).await?,
        covered(year_ago, year_next).await?,
    ];
    let top = |rows: &[IntakeVolume]| sum_by(rows, |r| top_level(&r.category).to_string());
    let total = |rows: &[IntakeVolume]| rows.iter().map(|r| r.count).sum::<i64>();
    let volumes = MonthVolumes {
        month: month.to_string(),
        previous: month_key(previous),
        year_ago: month_key(year_ago),
        total: total(&rows),
        previous_total: total(&before),
        year_total: total(&last_year),
        categories: top(&rows),
        categories_before: top(&before),
        categories_year: top(&last_year),
        coverage,
    };
    let evaluation = crate::evaluation::evaluation(store, month, now).await?;
    let districts = sum_by(&rows, |r| names.district(&r.territory));
    let districts_before = sum_by(&before, |r| names.district(&r.territory));
    let (streets, _) = top_streets_table(&names, &rows);
    let [best, worst] = improvers(&evaluation, lang);
    let empty = volumes.total == 0 && evaluation.empty;
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
        summary: month_summary(&volumes, empty, &evaluation, &names),
        tables: vec![
            overview_table(&volumes, lang),
            shifts_table(&volumes, &names),
            district_table(&names, &districts, &districts_before, volumes.total),
            streets,
            best,
            worst,
            crate::evaluation::dispatch_quality_table(&evaluation, lang),
        ],
    })
}

/// The month's volumes against the month before and the same month a year earlier, in total and
/// by top-level category.
struct MonthVolumes {
    month: String,
    previous: String,
    year_ago: String,
    total: i64,
    previous_total: i64,
    year_total: i64,
    categories: BTreeMap<String, i64>,
    categories_before: BTreeMap<String, i64>,
    categories_year: BTreeMap<String, i64>,
    /// How much of each month (this, the one before, a year ago) the data cover.
    coverage: [Coverage; 3],
}

/// The days of a month with data, of its days.
#[derive(Clone, Copy, Debug)]
struct Coverage {
    days: i64,
    month_days: i64,
}

impl Coverage {
    /// Data on fewer days than the whole month (an ongoing month, or data that start or stop
    /// within it): its total is no month's total.
    fn partial(&self) -> bool {
        self.days < self.month_days
    }

    fn daily(&self, total: i64) -> Option<f64> {
        (self.days > 0).then(|| total as f64 / self.days as f64)
    }
}

/// This month's change against an earlier one: on totals when both months are whole, else on
/// the daily averages over the days with data (a partial month is never compared as a whole).
fn month_change(now: (i64, Coverage), before: (i64, Coverage)) -> Option<f64> {
    if now.1.partial() || before.1.partial() {
        let (a, b) = (now.1.daily(now.0)?, before.1.daily(before.0)?);
        (b > 0.0).then(|| (a - b) / b)
    } else {
        change(now.0, before.0)
    }
}

/// "增加N件（x%）" on whole months; "日均a件，较之日均b件，增加x%（部分期间：…）" otherwise.
fn month_change_words(lang: Lang, now: (i64, Coverage), before: (i64, Coverage)) -> String {
    if !now.1.partial() && !before.1.partial() {
        return change_words(lang, now.0, before.0);
    }
    let (a, b) = (now.1.daily(now.0), before.1.daily(before.0));
    let rate = month_change(now, before);
    let avg = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into());
    match lang {
        Lang::Zh => format!(
            "按日均比较{}（日均{}件，对比期日均{}件；部分期间：本期有数据{}天/共{}天，对比期{}天/共{}天）",
            rate.map(|r| format!("{}{:.1}%", if r >= 0.0 { "增加" } else { "减少" }, r.abs() * 100.0))
                .unwrap_or_else(|| "无可比数据".into()),
            avg(a),
            avg(b),
            now.1.days,
            now.1.month_days,
            before.1.days,
            before.1.month_days
        ),
        Lang::En => format!(
            "{} by daily average ({} a day against {}; partial: data on {} of {} days, and {} of {})",
            rate.map(|r| format!("{:+.1}%", r * 100.0))
                .unwrap_or_else(|| "not comparable".into()),
            avg(a),
            avg(b),
            now.1.days,
            now.1.month_days,
            before.1.days,
            before.1.month_days
        ),
    }
}

/// 受理总量: the three months' volumes and this month's change against each.
fn overview_table(v: &MonthVolumes, lang: Lang) -> Table {
    let mut overview = Table::new(
        "overview",
        lang.t("受理总量", "Volume"),
        vec![
            lang.col("期间", "period"),
            lang.col("件数", "requests"),
            lang.col("有数据天数", "days with data"),
            lang.col("当月天数", "days in month"),
            lang.col("部分期间", "partial"),
            lang.col("日均", "daily average"),
            lang.col("本月较之变化率", "this month's change"),
            lang.col("比较口径", "compared on"),
        ],
    );
    let [now, before, year] = v.coverage;
    let basis = |other: Coverage| {
        if now.partial() || other.partial() {
            lang.t("日均（部分期间）", "daily average (partial)")
        } else {
            lang.t("总量", "totals")
        }
    };
    let row = |period: &str, total: i64, c: Coverage, change: Option<f64>, basis: String| {
        vec![
            period.to_string().into(),
            total.into(),
            c.days.into(),
            c.month_days.into(),
            if c.partial() {
                lang.t("是", "yes")
            } else {
                lang.t("否", "no")
            }
            .into(),
            c.daily(total).into(),
            change.into(),
            basis.into(),
        ]
    };
    overview.push(row(&v.month, v.total, now, None, String::new()));
    overview.push(row(
        &v.previous,
        v.previous_total,
        before,
        month_change((v.total, now), (v.previous_total, before)),
        basis(before),
    ));
    overview.push(row(
        &v.year_ago,
        v.year_total,
        year,
        month_change((v.total, now), (v.year_total, year)),
        basis(year),
    ));

    overview
}

/// 类别变化: each top-level category's volume and share against both earlier months.
fn shifts_table(v: &MonthVolumes, names: &Names) -> Table {
    let lang = names.lang;
    let MonthVolumes {
        total,
        previous_total,
        categories,
        categories_before,
        categories_year,
        ..
    } = v;
    let (total, previous_total) = (*total, *previous_total);
    let mut shifts = Table::new(
        "categories",
        lang.t("类别变化（一级）", "Category shifts (top level)"),
        vec![
            lang.col("类别代码", "code"),
            lang.col("类别", "category"),
            lang.col("件数", "requests"),
            lang.col("占比", "share"),
            lang.col("上月", "last month"),
            lang.col("环比", "month on month"),
            lang.col("去年同月", "same month last year"),
            lang.col("同比", "year on year"),
            lang.col("占比变化", "share change"),
        ],
    );
    for (code, count) in ranked(categories) {
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
    shifts
}

/// The ten units whose composite rose most and the ten that fell back most against the period
/// before.
fn improvers(evaluation: &EvaluationReport, lang: Lang) -> [Table; 2] {
    // Units with a composite this period and the one before, by change.
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
                    lang.col("单位代码", "code"),
                    lang.col("单位", "unit"),
                    lang.col("本期综合得分", "composite"),
                    lang.col("上期综合得分", "previous"),
                    lang.col("变化", "change"),
                    lang.col("同组排名", "rank in group"),
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
    [best, worst]
}

/// The summary lines: the volume's change, the category that gained most share and the
/// evaluation's extent.
fn month_summary(
    v: &MonthVolumes,
    empty: bool,
    evaluation: &EvaluationReport,
    names: &Names,
) -> Vec<String> {
    let lang = names.lang;
    let MonthVolumes {
        month,
        total,
        previous_total,
        year_total,
        categories,
        categories_before,
        ..
    } = v;
    let (total, previous_total, year_total) = (*total, *previous_total, *year_total);
    let mut summary = Vec::new();
    if empty {
        summary.push(lang.t(
            &format!("{month}无受理诉求和考核数据。"),
            &format!("{month}: no requests and no evaluation data."),
        ));
    } else {
        let [now, before, year] = v.coverage;
        summary.push(match lang {
            Lang::Zh => format!(
                "{month}共受理诉求{total}件{}，环比{}，同比{}。",
                if now.partial() {
                    format!("（部分期间，{}天有数据）", now.days)
                } else {
                    String::new()
                },
                month_change_words(lang, (total, now), (previous_total, before)),
                month_change_words(lang, (total, now), (year_total, year))
            ),
            Lang::En => format!(
                "{month}: {total} requests{}, {} on the month before and {} on the same month last year.",
                if now.partial() {
                    format!(" (partial: data on {} days)", now.days)
                } else {
                    String::new()
                },
                month_change_words(lang, (total, now), (previous_total, before)),
                month_change_words(lang, (total, now), (year_total, year))
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
    summary
}
