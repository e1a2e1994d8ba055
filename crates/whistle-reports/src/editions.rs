//! A published month stays published (一张卷子's editions). A period is open until it is closed
//! (`whistle report close`, after its last day): closing stores its evaluation as edition 1, the
//! published figures. Afterwards the counters may still move for it — an unreasonable ruling
//! (核减) or an upheld objection decided after the close changes the contributions of the
//! period's orders — but the published figures do not change silently: the report of a closed
//! period is its latest edition, with what would change listed as **pending adjustments** and the
//! events behind them (which order, what, when, by whom, why); `whistle report revise` publishes
//! them as a revised edition that lists what changed against the one before. Every edition stays
//! retrievable (`--edition N`); the next period's change is measured against the published one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use whistle_core::error::{DomainError, EditionRefusal};
use whistle_core::evaluation::{contributions, Counts, UnitEvaluation};
use whistle_core::ids::{Actor, UnitCode};
use whistle_core::order::EventPayload;
use whistle_core::time::{beijing_date, Timestamp};
use whistle_store::editions::StoredEdition;
use whistle_store::{OrderRef, Store, StoreError};

use crate::evaluation::{evaluation, EvaluationReport};

/// Which edition a report is, and who published it when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditionInfo {
    /// 1: as the period was closed; 2 …: revisions.
    pub number: u32,
    /// `first` or `revision`.
    pub kind: String,
    pub at: Timestamp,
    pub by_user: String,
    pub by_unit: String,
    pub note: String,
}

/// One figure of one unit that differs between two editions (or between the latest edition and
/// the counters now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    pub unit: UnitCode,
    pub name: String,
    /// A count's key (`visits`, `excluded` …) or `rank`.
    pub field: String,
    pub before: String,
    pub after: String,
}

/// An event after the close that changed the period's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjustmentReason {
    pub order: String,
    /// `ruled_unreasonable` (核减) or `dispute_upheld` (派单异议成立).
    pub what: String,
    pub at: Timestamp,
    pub by_user: String,
    pub by_unit: String,
    pub reason: String,
}

fn refused(why: EditionRefusal, period: &str) -> StoreError {
    DomainError::EditionRefused {
        period: period.chars().take(20).collect(),
        why,
    }
    .into()
}

/// A stored edition's report as it was published.
pub(crate) fn parse(edition: &StoredEdition) -> Result<EvaluationReport, StoreError> {
    serde_json::from_str(&edition.body).map_err(|e| {
        anyhow::anyhow!("edition {} of {}: {e}", edition.edition, edition.period).into()
    })
}

/// The figures of each unit that differ between `before` and `after`: every count and the rank.
pub fn differences(before: &EvaluationReport, after: &EvaluationReport) -> Vec<Adjustment> {
    let index = |r: &EvaluationReport| -> BTreeMap<UnitCode, UnitEvaluation> {
        r.units
            .iter()
            .map(|u| (u.unit.clone(), u.clone()))
            .collect()
    };
    let (old, new) = (index(before), index(after));
    let mut units: Vec<&UnitCode> = old.keys().chain(new.keys()).collect();
    units.sort();
    units.dedup();
    let mut out = Vec::new();
    for unit in units {
        let (a, b) = (old.get(unit), new.get(unit));
        let counts = |l: Option<&UnitEvaluation>| l.map(|l| l.counts).unwrap_or_default();
        let name = b.or(a).map(|l| l.name.clone()).unwrap_or_default();
        let (ca, cb) = (counts(a).values(), counts(b).values());
        for (i, field) in Counts::FIELDS.iter().enumerate() {
            if ca[i] != cb[i] {
                out.push(Adjustment {
                    unit: unit.clone(),
                    name: name.clone(),
                    field: field.to_string(),
                    before: ca[i].to_string(),
                    after: cb[i].to_string(),
                });
            }
        }
        let rank = |l: Option<&UnitEvaluation>| {
            l.and_then(|l| l.rank)
                .map(|r| r.to_string())
                .unwrap_or_default()
        };
        if rank(a) != rank(b) {
            out.push(Adjustment {
                unit: unit.clone(),
                name,
                field: "rank".into(),
                before: rank(a),
                after: rank(b),
            });
        }
    }
    out
}

/// The rulings and upheld objections after `since` whose orders contribute to `period`.
async fn reasons(
    store: &dyn Store,
    period: &str,
    since: Timestamp,
) -> Result<Vec<AdjustmentReason>, StoreError> {
    let policy = store.reference().policy.evaluation.clone();
    let mut out = Vec::new();
    for event in store.adjusting_events(since).await? {
        let (what, reason) = match &event.payload {
            EventPayload::RuledUnreasonable { reason } => ("ruled_unreasonable", reason.clone()),
            EventPayload::DisputeReviewed {
                upheld: true, note, ..
            } => ("dispute_upheld", note.clone()),
            _ => continue,
        };
        let Some(order) = store.order(&OrderRef::Id(event.order_id)).await? else {
            continue;
        };
        let touches = contributions(&order, policy.count_by)
            .iter()
            .any(|(key, _)| policy.period_of(key.day) == period);
        if touches {
            out.push(AdjustmentReason {
                order: order.no.to_string(),
                what: what.into(),
                at: event.at,
                by_user: event.actor.user.clone(),
                by_unit: event.actor.unit.to_string(),
                reason,
            });
        }
    }
    Ok(out)
}

fn info(edition: &StoredEdition) -> EditionInfo {
    EditionInfo {
        number: edition.edition,
        kind: edition.kind.clone(),
        at: edition.at,
        by_user: edition.by_user.clone(),
        by_unit: edition.by_unit.clone(),
        note: edition.note.clone(),
    }
}

async fn store_edition(
    store: &dyn Store,
    report: &mut EvaluationReport,
    number: u32,
    now: Timestamp,
    actor: &Actor,
    note: &str,
) -> Result<(), StoreError> {
    let stored = StoredEdition {
        period: report.period.clone(),
        edition: number,
        kind: if number == 1 { "first" } else { "revision" }.into(),
        at: now,
        by_user: actor.user.clone(),
        by_unit: actor.unit.to_string(),
        note: note.to_string(),
        body: String::new(),
    };
    report.edition = Some(info(&stored));
    let body = serde_json::to_string(report).map_err(|e| anyhow::anyhow!("edition body: {e}"))?;
    store.add_edition(&StoredEdition { body, ..stored }).await
}

/// Closes `period`: its evaluation now becomes edition 1, the published figures. Refused while
/// the period is not over and when it is closed already.
pub async fn close(
    store: &dyn Store,
    period: &str,
    now: Timestamp,
    actor: &Actor,
    note: &str,
) -> Result<EvaluationReport, StoreError> {
    let (_, after_end) = store.reference().policy.evaluation.period(period)?;
    if beijing_date(now) < after_end {
        return Err(refused(EditionRefusal::NotOver, period));
    }
    if !store.editions(period).await?.is_empty() {
        return Err(refused(EditionRefusal::AlreadyClosed, period));
    }
    let mut report = evaluation(store, period, now).await?;
    store_edition(store, &mut report, 1, now, actor, note).await?;
    Ok(report)
}

/// Publishes the pending adjustments of a closed period as a revised edition that lists what
/// changed against the edition before and the events behind it. Refused for an open period and
/// when nothing changed.
pub async fn revise(
    store: &dyn Store,
    period: &str,
    now: Timestamp,
    actor: &Actor,
    note: &str,
) -> Result<EvaluationReport, StoreError> {
    let editions = store.editions(period).await?;
    let Some(last) = editions.last() else {
        return Err(refused(EditionRefusal::NotClosed, period));
    };
    if note.trim().is_empty() {
        return Err(refused(EditionRefusal::NoteRequired, period));
    }
    let published = parse(last)?;
    let mut report = evaluation(store, period, now).await?;
    let adjustments = differences(&published, &report);
    if adjustments.is_empty() {
        return Err(refused(EditionRefusal::NothingChanged, period));
    }
    report.adjustments = adjustments;
    report.reasons = reasons(store, period, last.at).await?;
    store_edition(store, &mut report, last.edition + 1, now, actor, note).await?;
    Ok(report)
}

/// The evaluation of `period` as published: edition `edition` exactly; without one, the latest
/// edition of a closed period with its pending adjustments, or the live figures of an open one.
pub async fn published(
    store: &dyn Store,
    period: &str,
    edition: Option<u32>,
    now: Timestamp,
) -> Result<EvaluationReport, StoreError> {
    let editions = store.editions(period).await?;
    if let Some(number) = edition {
        let found = editions
            .iter()
            .find(|e| e.edition == number)
            .ok_or_else(|| refused(EditionRefusal::NoSuchEdition, period))?;
        let mut report = parse(found)?;
        report.editions = editions.len() as u32;
        return Ok(report);
    }
    let Some(last) = editions.last() else {
        return evaluation(store, period, now).await;
    };
    let mut report = parse(last)?;
    report.editions = editions.len() as u32;
    let live = evaluation(store, period, now).await?;
    report.pending_adjustments = differences(&report, &live);
    if !report.pending_adjustments.is_empty() {
        report.pending_reasons = reasons(store, period, last.at).await?;
    }
    Ok(report)
}
