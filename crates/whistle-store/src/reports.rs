//! Reports assembled from the store: the monthly evaluation (一张卷子) from the period counters
//! of a period and of the one before it. Reading cost follows the number of (unit, category)
//! cells of the two periods, never the number of orders or days.

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

/// `whistle export orders --period P`: one row per order received, dispatched or return-visited
/// in the period — its lead unit and peer group, district, category, Beijing days, the visit's answers
/// and whether it was excluded — the raw rows an independent check recomputes the evaluation
/// from. No personal data. Reads the period's orders only (found through indexes), a thousand at
/// a time; rows in order-number order.
pub async fn orders_csv(store: &dyn Store, period: &str) -> Result<String, StoreError> {
    use whistle_core::evaluation::PeerGroup;
    use whistle_core::order::{Satisfaction, VisitResult};
    let reference = store.reference();
    let (from, before) = reference.policy.evaluation.period(period)?;
    let within = |at: Option<Timestamp>| {
        at.map(beijing_date)
            .is_some_and(|day| day >= from && day < before)
    };
    let mut rows: Vec<(whistle_core::ids::OrderNo, String)> = Vec::new();
    let ids = store
        .period_order_ids(
            whistle_core::time::from_beijing(from.and_time(chrono::NaiveTime::MIN)),
            whistle_core::time::from_beijing(before.and_time(chrono::NaiveTime::MIN)),
        )
        .await?;
    for chunk in ids.chunks(1000) {
        for order in store.orders_by_id(chunk).await? {
            let Some(lead) = order.lead() else {
                continue;
            };
            if ![
                Some(order.received_at),
                order.dispatched_at,
                order.visited_at,
            ]
            .into_iter()
            .any(within)
            {
                continue;
            }
            let group = PeerGroup::of(lead, &reference.directory, &reference.city)
                .and_then(|g| serde_json::to_value(g).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let district = reference
                .directory
                .district_of(lead)
                .map(|d| d.code.to_string())
                .unwrap_or_default();
            let day = |at: Option<Timestamp>| at.map(|t| beijing_date(t).to_string());
            let (visit, contacted, resolved, satisfaction) = match &order.visit {
                None => ("", "", "", ""),
                Some(VisitResult::Invalid { .. }) => ("invalid", "", "", ""),
                Some(VisitResult::Valid {
                    contacted,
                    resolved,
                    satisfaction,
                }) => (
                    "valid",
                    if *contacted { "true" } else { "false" },
                    if *resolved { "true" } else { "false" },
                    match satisfaction {
                        Satisfaction::Satisfied => "satisfied",
                        Satisfaction::BasicallySatisfied => "basically_satisfied",
                        Satisfaction::Dissatisfied => "dissatisfied",
                    },
                ),
            };
            rows.push((
                order.no.clone(),
                format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    order.no,
                    lead,
                    group,
                    district,
                    order.category,
                    beijing_date(order.received_at),
                    day(order.dispatched_at).unwrap_or_default(),
                    day(order.visited_at).unwrap_or_default(),
                    visit,
                    contacted,
                    order
                        .contacted_in_time
                        .map(|b| b.to_string())
                        .unwrap_or_default(),
                    resolved,
                    satisfaction,
                    order.unreasonable.is_some()
                ),
            ));
        }
    }
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from(
        "no,unit,unit_group,district,category,received_day,dispatch_day,visit_day,visit,contacted,contacted_in_time,resolved,satisfaction,excluded\n",
    );
    for (_, row) in rows {
        out.push_str(&row);
    }
    Ok(out)
}
