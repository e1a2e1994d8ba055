//! The monthly evaluation (一张卷子) from the period counters of a period and of the one before
//! it, and its renderings. Reading cost follows the number of (unit, category) cells of the two
//! periods, never the number of orders or days.

use serde::Serialize;
use std::collections::BTreeMap;
use whistle_core::error::DomainError;
use whistle_core::evaluation::{evaluate, Counts, EvaluationPolicy, UnitEvaluation};
use whistle_core::ids::UnitCode;
use whistle_core::time::{beijing_date, Timestamp};

use whistle_store::{Store, StoreError};

use crate::document::{Cell, Document, Lang, Table};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluationReport {
    pub period: String,
    /// First and last day of the period (Beijing dates, inclusive).
    pub first_day: chrono::NaiveDate,
    pub last_day: chrono::NaiveDate,
    pub policy: EvaluationPolicy,
    /// True when no order was dispatched or visited in the period.
    pub empty: bool,
    pub units: Vec<UnitEvaluation>,
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
    let units = evaluate(
        &cells,
        &previous,
        &reference.directory,
        &reference.city,
        &policy,
    );
    Ok(EvaluationReport {
        period: period.to_string(),
        first_day: from,
        last_day: before.pred_opt().unwrap_or(before),
        policy,
        empty,
        units,
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
        "group,rank,unit,name,dispatched,visits,invalid_visits,responded,resolved,satisfied,basically_satisfied,dissatisfied,excluded,response_rate,resolution_rate,satisfaction_rate,composite,previous_composite,change,weakest_categories\n",
    );
    for line in &report.units {
        let c = &line.counts;
        let weakest: Vec<String> = line
            .weakest_categories
            .iter()
            .map(|(category, composite)| format!("{category}:{composite:.4}"))
            .collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
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
            weakest.join(";")
        ));
    }
    out
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
        ]);
    }
    let p = &report.policy;
    let summary = vec![
        if report.empty {
            lang.t(
                &format!("{}（{}至{}）无派单和回访数据。", report.period, report.first_day, report.last_day),
                &format!("{} ({} to {}): nothing was dispatched or visited.", report.period, report.first_day, report.last_day),
            )
        } else {
            match lang {
                Lang::Zh => format!(
                    "考核期{}（{}至{}），{}个单位，{}个有有效回访并参与排名。",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count()
                ),
                Lang::En => format!(
                    "Period {} ({} to {}): {} units, {} with valid visits ranked.",
                    report.period,
                    report.first_day,
                    report.last_day,
                    report.units.len(),
                    report.units.iter().filter(|u| u.rank.is_some()).count()
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
        tables: vec![table],
    }
}
