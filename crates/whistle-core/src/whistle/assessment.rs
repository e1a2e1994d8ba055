//! The double assessment (双考核, Regulation art. 33) figures of a period, from its whistles:
//! for each summoned department how it reported in and how the streets rated it; for each street
//! what it whistled for and how it ended. The scoring issue ranks on these.

use serde::Serialize;
use std::collections::BTreeMap;

use super::{AbsenceDecision, Whistle, WhistleKind, WhistleResult};
use crate::ids::UnitCode;
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DepartmentFigures {
    pub unit: UnitCode,
    /// Summonses received (a replacement's is its own).
    pub summoned: u32,
    pub on_time: u32,
    pub late: u32,
    /// Marked absent (a later report-in after the district's order does not undo it).
    pub absent: u32,
    /// Released as not its duty: not counted against it.
    pub not_duty: u32,
    /// Mean minutes from summons to report-in, over the report-ins.
    pub mean_report_minutes: Option<f64>,
    /// Final ratings (objection window passed, or objection rejected).
    pub ratings: u32,
    /// Mean of the three scores over the final ratings (1–5).
    pub mean_rating: Option<f64>,
    pub objections_won: u32,
    pub objections_lost: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StreetFigures {
    pub street: UnitCode,
    pub raised: u32,
    pub by_kind: BTreeMap<WhistleKind, u32>,
    pub solved: u32,
    pub partly_solved: u32,
    pub not_solvable: u32,
    pub still_open: u32,
    pub escalated: u32,
    /// Grid cases found (filed) in the period (网格发现).
    pub grid_found: u32,
    /// Grid cases verified closed in the period (核查结案).
    pub grid_verified: u32,
}

/// A street's grid cases in a period, counted by the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GridCounts {
    pub street: UnitCode,
    pub found: u32,
    pub verified: u32,
}

fn street_row(street: &UnitCode) -> StreetFigures {
    StreetFigures {
        street: street.clone(),
        raised: 0,
        by_kind: BTreeMap::new(),
        solved: 0,
        partly_solved: 0,
        not_solvable: 0,
        still_open: 0,
        escalated: 0,
        grid_found: 0,
        grid_verified: 0,
    }
}

/// Figures for whistles raised in a period and the streets' grid counts of the period (the
/// caller selects both), as of `now`.
pub fn double_assessment(
    whistles: &[Whistle],
    grid: &[GridCounts],
    now: Timestamp,
) -> (Vec<DepartmentFigures>, Vec<StreetFigures>) {
    let mut departments: BTreeMap<UnitCode, (DepartmentFigures, f64, u32, f64)> = BTreeMap::new();
    let mut streets: BTreeMap<UnitCode, StreetFigures> = BTreeMap::new();
    for whistle in whistles {
        let street = streets
            .entry(whistle.street.clone())
            .or_insert_with(|| street_row(&whistle.street));
        street.raised += 1;
        *street.by_kind.entry(whistle.kind).or_insert(0) += 1;
        match whistle.outcome.as_ref().map(|(result, _)| *result) {
            Some(WhistleResult::Solved) => street.solved += 1,
            Some(WhistleResult::PartlySolved) => street.partly_solved += 1,
            Some(WhistleResult::NotSolvable) => street.not_solvable += 1,
            None => street.still_open += 1,
        }
        if whistle.escalated_at.is_some() {
            street.escalated += 1;
        }
        for summons in &whistle.summons {
            let (figures, minutes, reports, _) =
                departments.entry(summons.unit.clone()).or_insert_with(|| {
                    (
                        DepartmentFigures {
                            unit: summons.unit.clone(),
                            summoned: 0,
                            on_time: 0,
                            late: 0,
                            absent: 0,
                            not_duty: 0,
                            mean_report_minutes: None,
                            ratings: 0,
                            mean_rating: None,
                            objections_won: 0,
                            objections_lost: 0,
                        },
                        0.0,
                        0,
                        0.0,
                    )
                });
            figures.summoned += 1;
            if summons.decision == Some(AbsenceDecision::NotDuty) {
                figures.not_duty += 1;
                continue;
            }
            if summons.absent_at.is_some() || summons.decision.is_some() {
                figures.absent += 1;
            }
            if let Some(report) = &summons.report {
                if summons.absent_at.is_none() && summons.decision.is_none() {
                    if report.on_time {
                        figures.on_time += 1;
                    } else {
                        figures.late += 1;
                    }
                }
                *minutes += (report.at - summons.summoned_at).num_seconds() as f64 / 60.0;
                *reports += 1;
            }
        }
        for rating in &whistle.ratings {
            let Some((figures, _, _, sum)) = departments.get_mut(&rating.unit) else {
                continue;
            };
            match rating.objection.as_ref().and_then(|o| o.upheld) {
                Some(true) => figures.objections_won += 1,
                Some(false) => figures.objections_lost += 1,
                None => {}
            }
            if rating.is_final(now) {
                figures.ratings += 1;
                *sum += f64::from(
                    u32::from(rating.scores.response)
                        + u32::from(rating.scores.cooperation)
                        + u32::from(rating.scores.result),
                ) / 3.0;
            }
        }
    }
    for counts in grid {
        let street = streets
            .entry(counts.street.clone())
            .or_insert_with(|| street_row(&counts.street));
        street.grid_found += counts.found;
        street.grid_verified += counts.verified;
    }
    let departments = departments
        .into_values()
        .map(|(mut figures, minutes, reports, sum)| {
            figures.mean_report_minutes = (reports > 0).then(|| minutes / f64::from(reports));
            figures.mean_rating = (figures.ratings > 0).then(|| sum / f64::from(figures.ratings));
            figures
        })
        .collect();
    (departments, streets.into_values().collect())
}
