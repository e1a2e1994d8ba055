//! The monthly evaluation (一张卷子) from the period counters of a period and of the one before
//! it, and its renderings. Reading cost follows the number of (unit, category) cells of the two
//! periods, never the number of orders or days.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use whistle_core::error::DomainError;
use whistle_core::evaluation::{
    dispatch_quality, evaluate, Counts, DispatchQuality, EvaluationPolicy, UnitEvaluation,
};
use whistle_core::ids::UnitCode;
use whistle_core::time::{beijing_date, Timestamp};

use whistle_store::{Store, StoreError};

use crate::document::{Cell, Document, Lang, Table};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub period: String,
    /// First and last day of the period (Beijing dates, inclusive).
    pub first_day: chrono::NaiveDate,
    pub last_day: chrono::NaiveDate,
    pub policy: EvaluationPolicy,
    /// True when no order was dispatched or visited in the period.
    pub empty: bool,
    /// The period is not over (its last day is today or later): a partial period, its figures
    /// still filling in; the day they are as of.
    pub partial: bool,
    pub as_of: chrono::NaiveDate,
    pub units: Vec<UnitEvaluation>,
    /// The dispatchers' figure: dispatches made and misdispatches (upheld objections).
    pub dispatch_quality: Vec<DispatchQuality>,
    /// A closed period's edition this is (none: the live figures of an open period).
    #[serde(default)]
    pub edition: Option<crate::editions::EditionInfo>,
    /// How many editions the period has.
    #[serde(default)]
    pub editions: u32,
    /// A revision: what changed against the edition before, and the events behind it.
    #[serde(default)]
    pub adjustments: Vec<crate::editions::Adjustment>,
    #[serde(default)]
    pub reasons: Vec<crate::editions::AdjustmentReason>,
    /// The latest edition of a closed period: what the counters would change now (not yet
    /// published in a revision), and the events behind it.
    #[serde(default)]
    pub pending_adjustments: Vec<crate::editions::Adjustment>,
    #[serde(default)]
    pub pending_reasons: Vec<crate::editions::AdjustmentReason>,
    /// The change is measured against the previous period's published edition (when it is
    /// closed), not its counters now.
    #[serde(default)]
    pub previous_edition: Option<u32>,
}

/// The evaluation of `period` (`YYYY-MM`) as of `now`. A period that starts after today is
/// refused; a period without data is reported as empty.
pub async fn evaluation(
    store: &dyn Store,
    period: &str,
    now: Timestamp,
) -> Result<EvaluationReport, StoreError> {
    let reference = store.reference();
    let policy = reference.policy.evaluation.clone();
    let (from, before) = policy.period(period)?;
    if from > beijing_date(now) {
        return Err(DomainError::InvalidValue {
            field: "period (in the future)".into(),
            value: period.chars().take(20).collect(),
        }
        .into());
    }
    let start_day = policy.period_start_day;
    let cells = store.period_cells(period, start_day, from, before).await?;
    let mut previous: BTreeMap<UnitCode, Counts> = BTreeMap::new();
    if let Some(name) = EvaluationPolicy::previous(period) {
        let (from, before) = policy.period(&name)?;
        for (unit, _, counts) in store.period_cells(&name, start_day, from, before).await? {
            previous.entry(unit).or_default().add(&counts);
        }
    }
    let empty = cells.iter().all(|(_, _, c)| c.is_zero());
    let dispatch_quality = dispatch_quality(&cells, &reference.directory);
    let mut units = evaluate(
        &cells,
        &previous,
        &reference.directory,
        &reference.city,
        &policy,
    );
    // A closed previous period: the change is against what was published for it.
    let mut previous_edition = None;
    if let Some(name) = EvaluationPolicy::previous(period) {
        if let Some(last) = store.editions(&name).await?.last() {
            let published = crate::editions::parse(last)?;
            let composites: BTreeMap<UnitCode, f64> = published
                .units
                .iter()
                .filter(|u| !u.insufficient)
                .filter_map(|u| u.rates.map(|r| (u.unit.clone(), r.composite)))
                .collect();
            for line in &mut units {
                line.compare_with(composites.get(&line.unit).copied());
            }
            previous_edition = Some(last.edition);
        }
    }
    Ok(EvaluationReport {
        period: period.to_string(),
        first_day: from,
        last_day: before.pred_opt().unwrap_or(before),
        policy,
        empty,
        partial: beijing_date(now) <= before.pred_opt().unwrap_or(before),
        as_of: beijing_date(now),
        units,
        dispatch_quality,
        edition: None,
        editions: 0,
        adjustments: Vec::new(),
        reasons: Vec::new(),
        pending_adjustments: Vec::new(),
        pending_reasons: Vec::new(),
        previous_edition,
    })
}

/// Keeps one unit's line (a unit with no activity in the period keeps none: the report says it is
/// empty for that unit); an unknown unit is refused.
pub fn only_unit(
    report: &mut EvaluationReport,
    unit: &str,
    reference: &whistle_core::reference::Reference,
) -> Result<(), StoreError> {
    let code = UnitCode::parse(unit)?;
    reference.directory.require(&code)?;
    report.units.retain(|line| line.unit == code);
    report.empty = report.units.is_empty();
    Ok(())
}

/// One row per unit; rates with four decimals, empty where a unit had no valid visit.
pub fn evaluation_csv(report: &EvaluationReport) -> String {
    let rate = |value: Option<f64>| value.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut out = String::from(
        "group,rank,unit,name,dispatched,visits,invalid_visits,responded,resolved,satisfied,basically_satisfied,dissatisfied,excluded,response_rate,resolution_rate,satisfaction_rate,composite,previous_composite,change,weakest_categories,insufficient,parts_owed,parts_in_time,co_handling_rate\n",
    );
    for line in &report.units {
        let c = &line.counts;
        let weakest: Vec<String> = line
            .weakest_categories
            .iter()
            .map(|(category, composite)| format!("{category}:{composite:.4}"))
            .collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            serde_json::to_value(line.group)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            line.rank.map(|r| r.to_string()).unwrap_or_default(),
            line.unit,
            line.name.replace(',', "，"),
            c.dispatched,
            c.visits,
            c.invalid_visits,
            c.responded,
            c.resolved,
            c.satisfied,
            c.basically_satisfied,
            c.dissatisfied,
            c.excluded,
            rate(line.rates.map(|r| r.response)),
            rate(line.rates.map(|r| r.resolution)),
            rate(line.rates.map(|r| r.satisfaction)),
            rate(line.rates.map(|r| r.composite)),
            rate(line.previous_composite),
            rate(line.change),
            weakest.join(";"),
            line.insufficient,
            c.parts_owed,
            c.parts_in_time,
            rate(line.co_handling),
        ));
    }
    out
}

/// The dispatchers' figure (派单准确): dispatches made and overturned by upheld objections, per
/// dispatching unit, with the categories misdispatched most — in the evaluation and the monthly
/// analysis.
pub fn dispatch_quality_table(report: &EvaluationReport, lang: Lang) -> Table {
    let mut quality = Table::new(
        "dispatch_quality",
        lang.t(
            "派单准确（派单异议成立计入派单方）",
            "Dispatch quality (upheld objections count for the dispatcher)",
        ),
        [
            ("派单单位代码", "unit"),
            ("派单单位", "name"),
            ("派单量", "dispatches"),
            ("异议成立改派", "misdispatches"),
            ("改派率", "misdispatch rate"),
            ("改派较多的类别", "categories misdispatched"),
        ]
        .iter()
        .map(|(zh, en)| lang.col(zh, en))
        .collect(),
    );
    for q in &report.dispatch_quality {
        let categories: Vec<String> = q
            .categories
            .iter()
            .map(|(c, m, d)| format!("{c}:{m}/{d}"))
            .collect();
        quality.push(vec![
            q.unit.to_string().into(),
            q.name.clone().into(),
            q.dispatches.into(),
            q.misdispatches.into(),
            Some(q.misdispatch_rate).into(),
            categories.join(";").into(),
        ]);
    }
    quality
}

/// The evaluation (一张卷子) as a document, for XLSX and text output.
pub fn evaluation_document(report: &EvaluationReport, lang: Lang) -> Document {
    let mut table = Table::new(
        "evaluation",
        lang.t("三率及综合得分", "Rates and composite"),
        [
            ("组别", "group"),
            ("名次", "rank"),
            ("单位代码", "unit"),
            ("单位", "name"),
            ("派单量", "dispatched"),
            ("有效回访", "valid visits"),
            ("无效回访", "invalid visits"),
            ("及时联系", "contacted in time"),
            ("已解决", "resolved"),
            ("满意", "satisfied"),
            ("基本满意", "basically satisfied"),
            ("不满意", "dissatisfied"),
            ("核减", "excluded"),
            ("响应率", "response rate"),
            ("解决率", "resolution rate"),
            ("满意率", "satisfaction rate"),
            ("综合得分", "composite"),
            ("上期综合得分", "previous composite"),
            ("变化", "change"),
            ("薄弱类别", "weakest categories"),
            ("样本", "sample"),
            ("协办应反馈", "parts owed"),
            ("协办及时反馈", "parts in time"),
            ("协办及时率", "co-handling rate"),
        ]
        .iter()
        .map(|(zh, en)| lang.col(zh, en))
        .collect(),
    );
    for line in &report.units {
        let c = &line.counts;
        let group = serde_json::to_value(line.group)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let weakest: Vec<String> = line
            .weakest_categories
            .iter()
            .map(|(category, composite)| format!("{category}:{composite:.4}"))
            .collect();
        table.push(vec![
            group.into(),
            line.rank
                .map(|r| Cell::Int(r as i64))
                .unwrap_or(Cell::Text(String::new())),
            line.unit.to_string().into(),
            line.name.clone().into(),
            c.dispatched.into(),
            c.visits.into(),
            c.invalid_visits.into(),
            c.responded.into(),
            c.resolved.into(),
            c.satisfied.into(),
            c.basically_satisfied.into(),
            c.dissatisfied.into(),
            c.excluded.into(),
            line.rates.map(|r| r.response).into(),
            line.rates.map(|r| r.resolution).into(),
            line.rates.map(|r| r.satisfaction).into(),
            line.rates.map(|r| r.composite).into(),
            line.previous_composite.into(),
            line.change.into(),
            weakest.join(";").into(),
            if line.insufficient {
                lang.t("样本不足", "too few visits").into()
            } else {
                String::new().into()
            },
            c.parts_owed.into(),
            c.parts_in_time.into(),
            line.co_handling.into(),
        ]);
    }
    let quality = dispatch_quality_table(report, lang);
    let p = &report.policy;
    let mut summary = vec![
        if report.empty {
            lang.t(
                &format!("{}（{}至{}）无派单和回访数据。", report.period, report.first_day, report.last_day),
                &format!("{} ({} to {}): nothing was dispatched or visited.", report.period, report.first_day, report.last_day),
            )
        } else {
            match lang {
                Lang::Zh => format!(
                    "考核期{}（{}至{}），{}个单位，{}个有效回访不少于{}件并参与排名，{}个样本不足不排名。",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count(),
                    report.policy.min_valid_visits,
                    report.units.iter().filter(|u| u.insufficient && u.rates.is_some()).count()
                ),
                Lang::En => format!(
                    "Period {} ({} to {}): {} units, {} with at least {} valid visits ranked, {} with too few not ranked.",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count(),
                    report.policy.min_valid_visits,
                    report.units.iter().filter(|u| u.insufficient && u.rates.is_some()).count()
                ),
            }
        },
        match lang {
            Lang::Zh => format!(
                "综合得分 = {}×响应率 + {}×解决率 + {}×满意率；满意率 =（满意 + {}×基本满意）÷ 有效回访。",
                p.weight_response, p.weight_resolution, p.weight_satisfaction, p.basically_satisfied_factor
            ),
            Lang::En => format!(
                "Composite = {}×response + {}×resolution + {}×satisfaction; satisfaction = (satisfied + {}×basically satisfied) ÷ valid visits.",
                p.weight_response, p.weight_resolution, p.weight_satisfaction, p.basically_satisfied_factor
            ),
        },
        match lang {
            Lang::Zh => format!(
                "名次按综合得分的精确值比较，完全相等才并列；有效回访少于{}件的单位标注“样本不足”，不排名，不计环比。每次回访计入回访当月，重办不移动已发生的回访；改派后的单位按本单位的派单和联系时间计算响应，异议成立的派单计入派单方的改派。",
                p.min_valid_visits
            ),
            Lang::En => format!(
                "Ranks compare exact composites and tie only when equal; units with fewer than {} valid visits are marked too few and neither ranked nor compared. Each visit counts in its own month and a reopening never moves one; a redispatched unit's response is judged from its own dispatch and contact; an upheld objection counts as the dispatcher's misdispatch.",
                p.min_valid_visits
            ),
        },
        match p.count_by {
            whistle_core::evaluation::CountBasis::ReturnVisit => lang.t(
                "统计口径：按回访时间（派单计入派单日，回访结果计入回访日）。",
                "Counted by return visit: a dispatch on its day, a visit's outcome on the visit's day.",
            ),
            whistle_core::evaluation::CountBasis::Received => lang.t(
                "统计口径：按受理时间（派单和回访结果均计入受理日）。",
                "Counted by receipt: dispatch and visit outcome both on the day the request was received.",
            ),
        },
    ];
    if let Some(e) = &report.edition {
        let at = whistle_core::time::format_minutes(e.at);
        summary.insert(
            1,
            match lang {
                Lang::Zh => format!(
                    "已发布：第{}版（{}，共{}版），{}由{}（{}）发布{}。",
                    e.number,
                    if e.number == 1 {
                        "结账发布"
                    } else {
                        "修订"
                    },
                    report.editions.max(e.number),
                    at,
                    e.by_user,
                    e.by_unit,
                    if e.note.is_empty() {
                        String::new()
                    } else {
                        format!("：{}", e.note)
                    }
                ),
                Lang::En => format!(
                    "Published: edition {} ({}, of {}), {} by {} ({}){}.",
                    e.number,
                    if e.number == 1 {
                        "as closed"
                    } else {
                        "revision"
                    },
                    report.editions.max(e.number),
                    at,
                    e.by_user,
                    e.by_unit,
                    if e.note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", e.note)
                    }
                ),
            },
        );
    }
    if !report.pending_adjustments.is_empty() {
        summary.push(lang.t(
            &format!(
                "发布后有{}项数据变化（见“待修订调整”），已发布数据不变，发布修订版后生效。",
                report.pending_adjustments.len()
            ),
            &format!(
                "{} figures changed since publication (see pending adjustments): the published figures stand until a revision is published.",
                report.pending_adjustments.len()
            ),
        ));
    }
    if let Some(n) = report.previous_edition {
        summary.push(lang.t(
            &format!("变化以上期第{n}版发布数据为基准。"),
            &format!("Changes are against the previous period's published edition {n}."),
        ));
    }
    let mut tables = vec![table, quality];
    for (name, title, rows, reasons) in [
        (
            "adjustments",
            lang.t(
                "本版调整（较上一版）",
                "Adjustments in this edition (against the one before)",
            ),
            &report.adjustments,
            &report.reasons,
        ),
        (
            "pending_adjustments",
            lang.t(
                "待修订调整（发布后的变化）",
                "Pending adjustments (changes since publication)",
            ),
            &report.pending_adjustments,
            &report.pending_reasons,
        ),
    ] {
        if rows.is_empty() {
            continue;
        }
        let mut t = Table::new(
            name,
            title,
            [
                ("单位代码", "unit"),
                ("单位", "name"),
                ("项目", "field"),
                ("原值", "before"),
                ("新值", "after"),
            ]
            .iter()
            .map(|(zh, en)| lang.col(zh, en))
            .collect(),
        );
        for a in rows {
            t.push(vec![
                a.unit.to_string().into(),
                a.name.clone().into(),
                a.field.clone().into(),
                a.before.clone().into(),
                a.after.clone().into(),
            ]);
        }
        tables.push(t);
        let mut why = Table::new(
            &format!("{name}_reasons"),
            lang.t("调整原因", "Why"),
            [
                ("工单号", "order"),
                ("事项", "what"),
                ("时间", "at"),
                ("操作人", "by"),
                ("单位", "by_unit"),
                ("理由", "reason"),
            ]
            .iter()
            .map(|(zh, en)| lang.col(zh, en))
            .collect(),
        );
        for r in reasons {
            why.push(vec![
                r.order.clone().into(),
                match r.what.as_str() {
                    "ruled_unreasonable" => lang.t("核减（不合理诉求）", "ruled unreasonable"),
                    _ => lang.t("派单异议成立改派", "objection upheld, redispatched"),
                }
                .into(),
                whistle_core::time::format_minutes(r.at).into(),
                r.by_user.clone().into(),
                r.by_unit.clone().into(),
                r.reason.clone().into(),
            ]);
        }
        tables.push(why);
    }
    if report.partial {
        summary.insert(
            1,
            lang.t(
                &format!(
                    "本期尚未结束（数据截至{}），为部分期间数据，名次和变化随后续回访变化。",
                    report.as_of
                ),
                &format!(
                    "The period is not over (data as of {}): partial figures; ranks and changes will move as visits come in.",
                    report.as_of
                ),
            ),
        );
    }
    Document {
        kind: "evaluation".into(),
        subject: report.period.clone(),
        lang,
        title: lang.t(
            &format!("接诉即办考核（{}）", report.period),
            &format!("Evaluation, {}", report.period),
        ),
        empty: report.empty,
        summary,
        tables,
    }
}
