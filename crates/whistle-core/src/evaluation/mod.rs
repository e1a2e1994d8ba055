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
use crate::order::{Order, Record, Satisfaction, VisitResult};
use crate::org::{Directory, UnitKind};
use crate::time::{beijing_date, Timestamp};

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
    /// The valid visits a unit (or one of its categories) needs in a period before it is ranked
    /// or named among the weakest; below it the unit is shown with its counts, marked 样本不足.
    pub min_valid_visits: i64,
    /// The day after a period's end on which the deadline worker closes it, publishing its
    /// edition 1 (5: the 5th of the next month for calendar months); 0: closed by hand only.
    pub close_days_after: u32,
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
            min_valid_visits: 5,
            close_days_after: 5,
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
        let factor = self.basically_satisfied_factor;
        if let Some(w) = weights
            .into_iter()
            .chain([factor])
            .find(|w| micros(*w).is_none())
        {
            return bad(
                "evaluation weights and factor (at most six decimal places)",
                w.to_string(),
            );
        }
        if weights.iter().filter_map(|w| micros(*w)).sum::<i64>() != MICROS {
            return bad(
                "evaluation weights (must sum to 1)",
                format!("{}", weights.iter().sum::<f64>()),
            );
        }
        if self.close_days_after > 28 {
            return bad("close_days_after", self.close_days_after.to_string());
        }
        if self.min_valid_visits < 1 {
            return bad("min_valid_visits", self.min_valid_visits.to_string());
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

    /// The period the worker closes at `today`, if today is its closing day or later: the one
    /// before today's period, from the `close_days_after`-th day after it ended.
    pub fn due_to_close(&self, today: NaiveDate) -> Option<String> {
        if self.close_days_after == 0 {
            return None;
        }
        let previous = EvaluationPolicy::previous(&self.period_of(today))?;
        let (_, after_end) = self.period(&previous).ok()?;
        let closing =
            after_end.checked_add_days(chrono::Days::new(u64::from(self.close_days_after) - 1))?;
        (today >= closing).then_some(previous)
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
    /// Visits of orders ruled unreasonable (核减): excluded from every rate.
    pub excluded: i64,
    /// As a co-handler (协办单位): the parts owed to a lead that replied (one per dispatch round),
    /// on the day of the lead's reply.
    pub parts_owed: i64,
    /// Of those, the parts reported after the round's dispatch and no later than the lead's
    /// reply and the round's handling deadline.
    pub parts_in_time: i64,
    /// As the dispatching unit (the centre, a district coordinating): the dispatches it made
    /// (a rework after a reopening is not a new dispatch), on the dispatch day.
    pub dispatches_made: i64,
    /// Of those, the dispatches overturned by an upheld objection (派单异议成立): the misdispatch
    /// is counted for the dispatcher, not for the unit it was sent to.
    pub misdispatches: i64,
}

/// How many counts a cell has.
pub const COUNTS: usize = 13;

impl Counts {
    pub const FIELDS: [&'static str; COUNTS] = [
        "dispatched",
        "visits",
        "invalid_visits",
        "responded",
        "resolved",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
        "excluded",
        "parts_owed",
        "parts_in_time",
        "dispatches_made",
        "misdispatches",
    ];

    pub fn values(&self) -> [i64; COUNTS] {
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
            self.parts_owed,
            self.parts_in_time,
            self.dispatches_made,
            self.misdispatches,
        ]
    }

    pub fn from_values(v: [i64; COUNTS]) -> Counts {
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
            parts_owed: v[9],
            parts_in_time: v[10],
            dispatches_made: v[11],
            misdispatches: v[12],
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

    /// The counts a unit is judged on as a handling unit: without the dispatches it made.
    pub fn judged(&self) -> Counts {
        Counts {
            dispatches_made: 0,
            misdispatches: 0,
            ..*self
        }
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

/// What an order contributes, from its history (its [`Record`]): each dispatch round counts
/// for the unit it was sent to on its own day, unless an upheld objection overturned it (then it
/// is a misdispatch of the dispatcher's unit); each return visit counts for the unit of the round
/// it judged, on the visit's day, that unit's response judged by its own contact in that round —
/// so a reopening adds a round and a visit and never moves an earlier one; an unreasonable ruling
/// turns every visit of the order into an exclusion; each co-handler owes its part once per
/// round the lead replied in. By receipt, everything counts on the day the request was received.
pub fn contributions(order: &Order, basis: CountBasis) -> Vec<(CellKey, Counts)> {
    let record: &Record = &order.record;
    let mut cells: Vec<(CellKey, Counts)> = Vec::new();
    let received = beijing_date(order.received_at);
    let mut put = |at: Timestamp, unit: &UnitCode, counts: Counts| {
        let day = match basis {
            CountBasis::ReturnVisit => beijing_date(at),
            CountBasis::Received => received,
        };
        let key = CellKey {
            day,
            unit: unit.clone(),
            category: order.category.clone(),
        };
        match cells.iter_mut().find(|(k, _)| k == &key) {
            Some((_, existing)) => existing.add(&counts),
            None => cells.push((key, counts)),
        }
    };
    for round in &record.rounds {
        if round.rework {
            continue;
        }
        let overturned = round.overturned_at.is_some();
        put(
            round.at,
            &round.dispatcher.unit,
            Counts {
                dispatches_made: 1,
                misdispatches: i64::from(overturned),
                ..Counts::default()
            },
        );
        if !overturned {
            put(
                round.at,
                &round.unit,
                Counts {
                    dispatched: 1,
                    ..Counts::default()
                },
            );
        }
    }
    for round in &record.rounds {
        let Some(replied) = round.replied_at else {
            continue;
        };
        let due = replied.min(round.handle_by);
        for unit in &round.co_handlers {
            let in_time = order
                .parts
                .iter()
                .any(|p| &p.unit == unit && p.at >= round.at && p.at <= due);
            put(
                replied,
                unit,
                Counts {
                    parts_owed: 1,
                    parts_in_time: i64::from(in_time),
                    ..Counts::default()
                },
            );
        }
    }
    for visit in &record.visits {
        let mut counts = Counts::default();
        if order.unreasonable.is_some() {
            counts.excluded = 1;
        } else {
            match &visit.result {
                VisitResult::Invalid { .. } => counts.invalid_visits = 1,
                VisitResult::Valid {
                    contacted,
                    resolved,
                    satisfaction,
                } => {
                    let in_time = record
                        .rounds
                        .get(visit.round)
                        .and_then(|r| r.contact)
                        .is_some_and(|c| c.in_time);
                    counts.visits = 1;
                    counts.responded = i64::from(*contacted && in_time);
                    counts.resolved = i64::from(*resolved);
                    match satisfaction {
                        Satisfaction::Satisfied => counts.satisfied = 1,
                        Satisfaction::BasicallySatisfied => counts.basically_satisfied = 1,
                        Satisfaction::Dissatisfied => counts.dissatisfied = 1,
                    }
                }
            }
        }
        put(visit.at, &visit.unit, counts);
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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UnitEvaluation {
    pub unit: UnitCode,
    pub name: String,
    pub group: PeerGroup,
    pub counts: Counts,
    pub rates: Option<Rates>,
    /// 1-based within the group; exactly equal composites share a rank; none below the
    /// policy's minimum of valid visits.
    pub rank: Option<u32>,
    /// Fewer valid visits than the policy's minimum (样本不足): shown, not ranked.
    pub insufficient: bool,
    /// As a co-handler: the share of parts owed that were reported in time (协办及时率); none
    /// when it owed none. A figure of its own, not in the composite.
    pub co_handling: Option<f64>,
    pub previous_composite: Option<f64>,
    pub change: Option<f64>,
    /// The unit's weakest categories by composite (those with valid visits), weakest first.
    pub weakest_categories: Vec<(CategoryCode, f64)>,
}

/// One millionth: the policy's weights and factor are decimal fractions of at most six places.
const MICROS: i64 = 1_000_000;

/// A weight or factor in millionths, if it has at most six decimal places.
fn micros(value: f64) -> Option<i64> {
    let scaled = (value * MICROS as f64).round();
    ((value * MICROS as f64 - scaled).abs() < 1e-6 && scaled.is_finite()).then_some(scaled as i64)
}

/// A composite as an exact fraction, for ranking: with the weights and the factor in millionths,
/// `numerator / (visits × 10¹²)` is the composite exactly, and two composites are compared by
/// cross-multiplying (in 128 bits), so units tie only when their composites are equal — never
/// because of rounding.
#[derive(Clone, Copy, Debug)]
pub struct ExactComposite {
    numerator: i128,
    visits: i128,
}

impl ExactComposite {
    pub fn of(counts: &Counts, policy: &EvaluationPolicy) -> Option<ExactComposite> {
        if counts.visits <= 0 {
            return None;
        }
        let m = |w: f64| i128::from(micros(w).unwrap_or(0));
        let million = i128::from(MICROS);
        let numerator = m(policy.weight_response) * million * i128::from(counts.responded)
            + m(policy.weight_resolution) * million * i128::from(counts.resolved)
            + m(policy.weight_satisfaction)
                * (million * i128::from(counts.satisfied)
                    + m(policy.basically_satisfied_factor)
                        * i128::from(counts.basically_satisfied));
        Some(ExactComposite {
            numerator,
            visits: i128::from(counts.visits),
        })
    }
}

impl PartialEq for ExactComposite {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for ExactComposite {}

impl PartialOrd for ExactComposite {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExactComposite {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.numerator * other.visits).cmp(&(other.numerator * self.visits))
    }
}

impl UnitEvaluation {
    /// Sets the previous period's composite and the change from it — stated only for a unit
    /// with the minimum of valid visits now and a previous composite (itself over the minimum).
    pub fn compare_with(&mut self, previous_composite: Option<f64>) {
        self.previous_composite = previous_composite;
        self.change = match (self.rates, previous_composite) {
            (Some(now), Some(before)) if !self.insufficient => Some(now.composite - before),
            _ => None,
        };
    }
}

/// The dispatch quality (派单准确) of one dispatching unit in a period: the dispatches it made,
/// those overturned by an upheld objection (misdispatches, counted for the dispatcher), and the
/// categories misdispatched most.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DispatchQuality {
    pub unit: UnitCode,
    pub name: String,
    pub dispatches: i64,
    pub misdispatches: i64,
    /// misdispatches ÷ dispatches.
    pub misdispatch_rate: f64,
    /// Categories with misdispatches, most first (at most five): (category, misdispatches,
    /// dispatches).
    pub categories: Vec<(CategoryCode, i64, i64)>,
}

/// The dispatch quality of every unit that dispatched in the period's cells, most dispatches
/// first.
pub fn dispatch_quality(
    cells: &[(UnitCode, CategoryCode, Counts)],
    directory: &Directory,
) -> Vec<DispatchQuality> {
    let mut units: BTreeMap<&UnitCode, BTreeMap<&CategoryCode, (i64, i64)>> = BTreeMap::new();
    for (unit, category, counts) in cells {
        if counts.dispatches_made == 0 && counts.misdispatches == 0 {
            continue;
        }
        let cell = units.entry(unit).or_default().entry(category).or_default();
        cell.0 += counts.misdispatches;
        cell.1 += counts.dispatches_made;
    }
    let mut out: Vec<DispatchQuality> = units
        .into_iter()
        .map(|(unit, categories)| {
            let dispatches = categories.values().map(|c| c.1).sum::<i64>();
            let misdispatches = categories.values().map(|c| c.0).sum::<i64>();
            let mut worst: Vec<(CategoryCode, i64, i64)> = categories
                .into_iter()
                .filter(|(_, c)| c.0 > 0)
                .map(|(category, c)| (category.clone(), c.0, c.1))
                .collect();
            worst.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            worst.truncate(5);
            DispatchQuality {
                unit: unit.clone(),
                name: directory
                    .get(unit)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                dispatches,
                misdispatches,
                misdispatch_rate: if dispatches > 0 {
                    misdispatches as f64 / dispatches as f64
                } else {
                    0.0
                },
                categories: worst,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.dispatches
            .cmp(&a.dispatches)
            .then_with(|| a.unit.cmp(&b.unit))
    });
    out
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
        // Districts roll up from their streets and departments (and their own handling) what
        // those were judged on; a dispatch centre's dispatches stay its own.
        if let Some(district) = directory.district_of(unit) {
            if &district.code != unit {
                add(&district.code, category, &counts.judged());
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
                    .add(&counts.judged());
            }
        }
    }
    let previous_totals =
        |unit: &UnitCode| -> Option<Counts> { previous_rolled.get(unit).copied() };
    let mut lines: Vec<UnitEvaluation> = totals
        .iter()
        .filter_map(|(unit, counts)| {
            // Activity the unit is judged on; a cell that netted to zero is none, and so are
            // dispatches it made (the dispatch quality's, not the exam paper's).
            if counts.judged().is_zero() {
                return None;
            }
            let group = PeerGroup::of(unit, directory, city)?;
            let rates = rates(counts, policy);
            // A change is only stated between two periods each with enough valid visits.
            let previous_composite = previous_totals(unit)
                .filter(|c| c.visits >= policy.min_valid_visits)
                .and_then(|c| self::rates(&c, policy))
                .map(|r| r.composite);
            let insufficient = counts.visits < policy.min_valid_visits;
            let mut weakest: Vec<(CategoryCode, ExactComposite, f64)> = by_category
                .get(unit)
                .into_iter()
                .flatten()
                .filter(|(_, c)| c.visits >= policy.min_valid_visits)
                .filter_map(|(category, c)| {
                    let exact = ExactComposite::of(c, policy)?;
                    self::rates(c, policy).map(|r| (category.clone(), exact, r.composite))
                })
                .collect();
            weakest.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            weakest.truncate(3);
            let weakest = weakest.into_iter().map(|(c, _, v)| (c, v)).collect();
            let mut line = UnitEvaluation {
                unit: unit.clone(),
                name: directory
                    .get(unit)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                group,
                counts: *counts,
                rates,
                rank: None,
                insufficient,
                co_handling: (counts.parts_owed > 0)
                    .then(|| counts.parts_in_time as f64 / counts.parts_owed as f64),
                change: None,
                previous_composite: None,
                weakest_categories: weakest,
            };
            line.compare_with(previous_composite);
            Some(line)
        })
        .collect();
    // Order: group, then the exact composite descending (units not ranked last), then code.
    let exact = |line: &UnitEvaluation| {
        (!line.insufficient)
            .then(|| ExactComposite::of(&line.counts, policy))
            .flatten()
    };
    lines.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then_with(|| match (exact(a), exact(b)) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.unit.cmp(&b.unit))
    });
    // Competition ranking within each group: exactly equal composites share a rank (1, 1, 3).
    let mut group = None;
    let mut position = 0u32;
    let mut previous: Option<(ExactComposite, u32)> = None;
    for line in &mut lines {
        if group != Some(line.group) {
            group = Some(line.group);
            position = 0;
            previous = None;
        }
        let Some(k) = exact(line) else {
            continue;
        };
        position += 1;
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
