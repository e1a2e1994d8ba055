//! The exam paper (一张卷子, DOMAIN §5): per unit and period, from the return visits — the
//! response rate (响应率), resolution rate (解决率), satisfaction rate (满意率) and their weighted
//! composite, ranked within peer groups.
//!
//! Cost does not grow with history: every order contributes fixed counts to counters keyed by
//! (Beijing day, lead unit, category); the store keeps them with the events (the change of an
//! order's contribution is applied in the command's transaction), and an evaluation sums the
//! counters of a period. All arithmetic here is pure.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::DomainError;
use crate::ids::{CategoryCode, UnitCode};
use crate::order::{Order, Satisfaction, VisitResult};
use crate::org::{Directory, UnitKind};
use crate::time::beijing_date;

/// Evaluation policy (all configurable; defaults from DOMAIN §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationPolicy {
    pub weight_response: f64,
    pub weight_resolution: f64,
    pub weight_satisfaction: f64,
    /// How much a "basically satisfied" answer counts (0.9).
    pub basically_satisfied_factor: f64,
    /// The day of the month a period starts (1: calendar months; 19: the 19th to the 18th, the
    /// period named by the month it ends in).
    pub period_start_day: u32,
    /// Which orders count in a period (which time puts an order's figures in a period).
    pub count_by: CountBasis,
}

/// Which time puts an order's figures in a period (一张卷子's "which orders count").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CountBasis {
    /// By return-visit time (按回访时间, the default): the dispatch counts on its day and the
    /// return visit's outcome on the visit's day — a period is judged on the visits made in it.
    #[default]
    ReturnVisit,
    /// By receipt time (按受理时间): everything an order contributes counts on the day it was
    /// received — a period is judged on the requests received in it, however late their visit.
    Received,
}

impl CountBasis {
    pub const ALL: [CountBasis; 2] = [CountBasis::ReturnVisit, CountBasis::Received];

    pub fn name(self) -> &'static str {
        match self {
            CountBasis::ReturnVisit => "return_visit",
            CountBasis::Received => "received",
        }
    }

    pub fn parse(text: &str) -> Option<CountBasis> {
        CountBasis::ALL.into_iter().find(|b| b.name() == text)
    }

    /// Its position in [`CountBasis::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Default for EvaluationPolicy {
    fn default() -> Self {
        EvaluationPolicy {
            weight_response: 0.1,
            weight_resolution: 0.5,
            weight_satisfaction: 0.4,
            basically_satisfied_factor: 0.9,
            period_start_day: 1,
            count_by: CountBasis::ReturnVisit,
        }
    }
}

impl EvaluationPolicy {
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |field: &str, value: String| {
            Err(DomainError::InvalidValue {
                field: field.into(),
                value,
            })
        };
        let weights = [
            self.weight_response,
            self.weight_resolution,
            self.weight_satisfaction,
        ];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return bad("evaluation weights", format!("{weights:?}"));
        }
        if (weights.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return bad(
                "evaluation weights (must sum to 1)",
                format!("{}", weights.iter().sum::<f64>()),
            );
        }
        if !(0.0..=1.0).contains(&self.basically_satisfied_factor) {
            return bad(
                "basically_satisfied_factor",
                self.basically_satisfied_factor.to_string(),
            );
        }
        if !(1..=28).contains(&self.period_start_day) {
            return bad("period_start_day", self.period_start_day.to_string());
        }
        Ok(())
    }

    /// The days [from, before) of the period named `YYYY-MM`.
    pub fn period(&self, name: &str) -> Result<(NaiveDate, NaiveDate), DomainError> {
        let bad = || DomainError::InvalidValue {
            field: "period".into(),
            value: name.chars().take(20).collect(),
        };
        let (year, month) = name.split_once('-').ok_or_else(bad)?;
        let (year, month): (i32, u32) = (
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        );
        if year.to_string().len() != 4 || !(1..=12).contains(&month) || name.len() != 7 {
            return Err(bad());
        }
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(bad)?;
        if self.period_start_day == 1 {
            return Ok((first, next));
        }
        let start = self.period_start_day;
        let previous = first
            .checked_sub_months(chrono::Months::new(1))
            .ok_or_else(bad)?;
        let from = NaiveDate::from_ymd_opt(previous.year(), previous.month(), start);
        let before = NaiveDate::from_ymd_opt(year, month, start);
        Ok((from.ok_or_else(bad)?, before.ok_or_else(bad)?))
    }

    /// The name (`YYYY-MM`) of the period a Beijing day belongs to: its calendar month, or with
    /// a start day such as the 19th, the month in which the period ends (19 Sep – 18 Oct is
    /// `YYYY-10`).
    pub fn period_of(&self, day: NaiveDate) -> String {
        let month = if self.period_start_day > 1 && day.day() >= self.period_start_day {
            day.checked_add_months(chrono::Months::new(1))
                .unwrap_or(day)
        } else {
            day
        };
        format!("{:04}-{:02}", month.year(), month.month())
    }

    /// The period before `name`.
    pub fn previous(name: &str) -> Option<String> {
        let (year, month) = name.split_once('-')?;
        let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        let previous = date.checked_sub_months(chrono::Months::new(1))?;
        Some(format!("{:04}-{:02}", previous.year(), previous.month()))
    }
}

/// Counts of one (day, unit, category) cell, or of any sum of cells.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Orders first dispatched to the unit (on the dispatch day).
    pub dispatched: i64,
    /// Valid return visits (有效回访), on the visit day.
    pub visits: i64,
    /// Invalid visits (unreachable, refused …): not in any rate.
    pub invalid_visits: i64,
    /// Valid visits where the requester was contacted, in time.
    pub responded: i64,
    pub resolved: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub dissatisfied: i64,
    /// Visited orders ruled unreasonable (核减): excluded from every rate.
    pub excluded: i64,
}

impl Counts {
    pub const FIELDS: [&'static str; 9] = [
        "dispatched",
        "visits",
        "invalid_visits",
        "responded",
        "resolved",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
        "excluded",
    ];

    pub fn values(&self) -> [i64; 9] {
        [
            self.dispatched,
            self.visits,
            self.invalid_visits,
            self.responded,
            self.resolved,
            self.satisfied,
            self.basically_satisfied,
            self.dissatisfied,
            self.excluded,
        ]
    }

    pub fn from_values(v: [i64; 9]) -> Counts {
        Counts {
            dispatched: v[0],
            visits: v[1],
            invalid_visits: v[2],
            responded: v[3],
            resolved: v[4],
            satisfied: v[5],
            basically_satisfied: v[6],
            dissatisfied: v[7],
            excluded: v[8],
        }
    }

    pub fn add(&mut self, other: &Counts) {
        let (a, b) = (self.values(), other.values());
        *self = Counts::from_values(std::array::from_fn(|i| a[i] + b[i]));
    }

    pub fn sub(&mut self, other: &Counts) {
        let (a, b) = (self.values(), other.values());
        *self = Counts::from_values(std::array::from_fn(|i| a[i] - b[i]));
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

/// The counter cell an order contributes to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub day: NaiveDate,
    pub unit: UnitCode,
    pub category: CategoryCode,
}

/// What an order contributes, as it stands: its first dispatch to its lead unit and its return
/// visit — or, if ruled unreasonable, an exclusion — on the dispatch and visit days (by return
/// visit) or both on the day it was received (by receipt).
pub fn contributions(order: &Order, basis: CountBasis) -> Vec<(CellKey, Counts)> {
    let Some(lead) = order.lead() else {
        return Vec::new();
    };
    let mut cells: Vec<(CellKey, Counts)> = Vec::new();
    let received = beijing_date(order.received_at);
    let mut put = |day: NaiveDate, counts: Counts| {
        let day = match basis {
            CountBasis::ReturnVisit => day,
            CountBasis::Received => received,
        };
        let key = CellKey {
            day,
            unit: lead.clone(),
            category: order.category.clone(),
        };
        match cells.iter_mut().find(|(k, _)| k == &key) {
            Some((_, existing)) => existing.add(&counts),
            None => cells.push((key, counts)),
        }
    };
    if let Some(at) = order.dispatched_at {
        put(
            beijing_date(at),
            Counts {
                dispatched: 1,
                ..Counts::default()
            },
        );
    }
    if let (Some(visit), Some(at)) = (&order.visit, order.visited_at) {
        let mut counts = Counts::default();
        if order.unreasonable.is_some() {
            counts.excluded = 1;
        } else {
            match visit {
                VisitResult::Invalid { .. } => counts.invalid_visits = 1,
                VisitResult::Valid {
                    contacted,
                    resolved,
                    satisfaction,
                } => {
                    counts.visits = 1;
                    counts.responded =
                        i64::from(*contacted && order.contacted_in_time == Some(true));
                    counts.resolved = i64::from(*resolved);
                    match satisfaction {
                        Satisfaction::Satisfied => counts.satisfied = 1,
                        Satisfaction::BasicallySatisfied => counts.basically_satisfied = 1,
                        Satisfaction::Dissatisfied => counts.dissatisfied = 1,
                    }
                }
            }
        }
        put(beijing_date(at), counts);
    }
    cells
}

/// The change in counters when an order goes from `before` to `after`.
pub fn delta(before: Option<&Order>, after: &Order, basis: CountBasis) -> Vec<(CellKey, Counts)> {
    let mut cells: BTreeMap<CellKey, Counts> = BTreeMap::new();
    for (key, counts) in contributions(after, basis) {
        cells.entry(key).or_default().add(&counts);
    }
    if let Some(before) = before {
        for (key, counts) in contributions(before, basis) {
            cells.entry(key).or_default().sub(&counts);
        }
    }
    cells.into_iter().filter(|(_, c)| !c.is_zero()).collect()
}

/// The three rates and the composite, or none when there is no valid visit (reported as such,
/// never as 0 % or 100 %).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Rates {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
    pub composite: f64,
}

pub fn rates(counts: &Counts, policy: &EvaluationPolicy) -> Option<Rates> {
    if counts.visits <= 0 {
        return None;
    }
    let visits = counts.visits as f64;
    let response = counts.responded as f64 / visits;
    let resolution = counts.resolved as f64 / visits;
    let satisfaction = (counts.satisfied as f64
        + policy.basically_satisfied_factor * counts.basically_satisfied as f64)
        / visits;
    Some(Rates {
        response,
        resolution,
        satisfaction,
        composite: policy.weight_response * response
            + policy.weight_resolution * resolution
            + policy.weight_satisfaction * satisfaction,
    })
}

/// The peer groups ranked separately.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PeerGroup {
    /// 街道乡镇
    Streets,
    /// 区
    Districts,
    /// 市级部门
    CityDepartments,
    /// 区级部门
    DistrictDepartments,
    /// 公共服务企业
    Enterprises,
}

impl PeerGroup {
    pub fn label_zh(self) -> &'static str {
        match self {
            PeerGroup::Streets => "街道乡镇",
            PeerGroup::Districts => "区",
            PeerGroup::CityDepartments => "市级部门",
            PeerGroup::DistrictDepartments => "区级部门",
            PeerGroup::Enterprises => "公共服务企业",
        }
    }

    pub fn of(unit: &UnitCode, directory: &Directory, city: &UnitCode) -> Option<PeerGroup> {
        let found = directory.get(unit)?;
        match found.kind {
            kind if kind.is_street_level() => Some(PeerGroup::Streets),
            UnitKind::District => Some(PeerGroup::Districts),
            UnitKind::Department if found.parent.as_ref() == Some(city) => {
                Some(PeerGroup::CityDepartments)
            }
            UnitKind::Department => Some(PeerGroup::DistrictDepartments),
            UnitKind::Enterprise => Some(PeerGroup::Enterprises),
            _ => None,
        }
    }
}

/// One unit's line of the evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UnitEvaluation {
    pub unit: UnitCode,
    pub name: String,
    pub group: PeerGroup,
    pub counts: Counts,
    pub rates: Option<Rates>,
    /// 1-based within the group; equal composites share a rank; none without valid visits.
    pub rank: Option<u32>,
    pub previous_composite: Option<f64>,
    pub change: Option<f64>,
    /// The unit's weakest categories by composite (those with valid visits), weakest first.
    pub weakest_categories: Vec<(CategoryCode, f64)>,
}

/// Composites are compared at this precision, so ties do not depend on float noise.
fn key(composite: f64) -> i64 {
    (composite * 1e9).round() as i64
}

/// Evaluates every unit with counts in `cells` (a period's counters: unit × category), rolls
/// districts up from the units within them, ranks within peer groups, and compares with
/// `previous` (the previous period's per-unit totals).
pub fn evaluate(
    cells: &[(UnitCode, CategoryCode, Counts)],
    previous: &BTreeMap<UnitCode, Counts>,
    directory: &Directory,
    city: &UnitCode,
    policy: &EvaluationPolicy,
) -> Vec<UnitEvaluation> {
    let mut totals: BTreeMap<UnitCode, Counts> = BTreeMap::new();
    let mut by_category: BTreeMap<UnitCode, BTreeMap<CategoryCode, Counts>> = BTreeMap::new();
    let mut add = |unit: &UnitCode, category: &CategoryCode, counts: &Counts| {
        totals.entry(unit.clone()).or_default().add(counts);
        by_category
            .entry(unit.clone())
            .or_default()
            .entry(category.clone())
            .or_default()
            .add(counts);
    };
    for (unit, category, counts) in cells {
        add(unit, category, counts);
        // Districts roll up from their streets and departments (and their own handling).
        if let Some(district) = directory.district_of(unit) {
            if &district.code != unit {
                add(&district.code, category, counts);
            }
        }
    }
    // The previous period rolled up the same way, once (O(units), not O(units²)).
    let mut previous_rolled: BTreeMap<UnitCode, Counts> = BTreeMap::new();
    for (unit, counts) in previous {
        previous_rolled.entry(unit.clone()).or_default().add(counts);
        if let Some(district) = directory.district_of(unit) {
            if &district.code != unit {
                previous_rolled
                    .entry(district.code.clone())
                    .or_default()
                    .add(counts);
            }
        }
    }
    let previous_totals =
        |unit: &UnitCode| -> Option<Counts> { previous_rolled.get(unit).copied() };
    let mut lines: Vec<UnitEvaluation> = totals
        .iter()
        .filter_map(|(unit, counts)| {
            // A cell that netted to zero (a visit undone by a reopening) is no activity.
            if counts.is_zero() {
                return None;
            }
            let group = PeerGroup::of(unit, directory, city)?;
            let rates = rates(counts, policy);
            let previous_composite = previous_totals(unit)
                .and_then(|c| self::rates(&c, policy))
                .map(|r| r.composite);
            let mut weakest: Vec<(CategoryCode, f64)> = by_category
                .get(unit)
                .into_iter()
                .flatten()
                .filter_map(|(category, c)| {
                    self::rates(c, policy).map(|r| (category.clone(), r.composite))
                })
                .collect();
            weakest.sort_by(|a, b| key(a.1).cmp(&key(b.1)).then_with(|| a.0.cmp(&b.0)));
            weakest.truncate(3);
            Some(UnitEvaluation {
                unit: unit.clone(),
                name: directory
                    .get(unit)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                group,
                counts: *counts,
                rates,
                rank: None,
                change: match (rates, previous_composite) {
                    (Some(now), Some(before)) => Some(now.composite - before),
                    _ => None,
                },
                previous_composite,
                weakest_categories: weakest,
            })
        })
        .collect();
    // Order: group, then composite descending (units without valid visits last), then code.
    lines.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then_with(|| {
                let ka = a.rates.map(|r| key(r.composite));
                let kb = b.rates.map(|r| key(r.composite));
                match (ka, kb) {
                    (Some(x), Some(y)) => y.cmp(&x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            })
            .then_with(|| a.unit.cmp(&b.unit))
    });
    // Competition ranking within each group: equal composites share a rank (1, 1, 3).
    let mut group = None;
    let mut position = 0u32;
    let mut previous: Option<(i64, u32)> = None;
    for line in &mut lines {
        if group != Some(line.group) {
            group = Some(line.group);
            position = 0;
            previous = None;
        }
        let Some(rates) = line.rates else {
            continue;
        };
        position += 1;
        let k = key(rates.composite);
        let rank = match previous {
            Some((previous_key, previous_rank)) if previous_key == k => previous_rank,
            _ => position,
        };
        line.rank = Some(rank);
        previous = Some((k, rank));
    }
    lines
}

#[cfg(test)]
mod tests;
