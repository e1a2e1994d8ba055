//! Reports assembled from the store: the monthly evaluation (一张卷子) from the counters of a
//! period and of the one before it. Reading cost follows the number of counter cells of the two
//! periods (units × categories × days), never the number of orders.

use serde::Serialize;
use std::collections::BTreeMap;
use whistle_core::error::DomainError;
use whistle_core::evaluation::{evaluate, Counts, EvaluationPolicy, UnitEvaluation};
use whistle_core::ids::UnitCode;
use whistle_core::time::{beijing_date, Timestamp};

use crate::types::StoreError;
use crate::Store;

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
    let cells = store.evaluation_cells(from, before).await?;
    let mut previous: BTreeMap<UnitCode, Counts> = BTreeMap::new();
    if let Some(name) = EvaluationPolicy::previous(period) {
        let (from, before) = policy.period(&name)?;
        for (unit, _, counts) in store.evaluation_cells(from, before).await? {
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
