//! The whistle (吹哨, DOMAIN §4): a street or township summons departments, they report in
//! (报到) against the kind's deadline, act together on tasks under the street's command, the
//! street records the outcome and rates each summoned unit; absences escalate to the district.
//!
//! Like the work order: a projection folded from events, commands decided purely.

mod assessment;
mod decide;
mod list;

pub use assessment::{double_assessment, DepartmentFigures, GridCounts, StreetFigures};
pub use decide::{decide, raise, WhistleContext};
pub use list::{WhistleList, WhistleListItem};

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{Actor, OrderNo, UnitCode};
use crate::taxonomy::str_enum;
use crate::time::Timestamp;

/// The four situations of the Street Office Regulation art. 5.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WhistleKind {
    /// 综合执法
    Enforcement,
    /// 重点工作
    KeyTask,
    /// 应急处置
    Emergency,
    /// 群众诉求
    Request,
}
str_enum!(WhistleKind, "whistle kind", Enforcement => "enforcement", KeyTask => "key_task", Emergency => "emergency",
    Request => "request");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummonsRole {
    Lead,
    Assist,
}

/// A unit's report-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportIn {
    pub at: Timestamp,
    pub by: Actor,
    /// How many people came.
    pub people: u32,
    pub on_time: bool,
}

/// What the district decided about an absent unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum AbsenceDecision {
    /// The unit is ordered to report in by a new deadline.
    Order,
    /// Another unit is summoned in its place.
    Replace { with: UnitCode },
    /// It was not the unit's duty: released, not counted against it.
    NotDuty,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summons {
    pub unit: UnitCode,
    pub role: SummonsRole,
    /// When this summons was issued (the raise, or the district's replacement).
    pub summoned_at: Timestamp,
    pub report_in_by: Timestamp,
    pub report: Option<ReportIn>,
    /// Marked absent at the deadline by the worker.
    pub absent_at: Option<Timestamp>,
    pub decision: Option<AbsenceDecision>,
    /// Released (replaced or not its duty): no longer expected.
    pub released: bool,
}

impl Summons {
    pub fn expected(&self) -> bool {
        !self.released
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Task {
    pub id: u32,
    pub unit: UnitCode,
    pub text: String,
    pub done: Option<TaskDone>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskDone {
    pub at: Timestamp,
    pub note: String,
    /// References to photos stored elsewhere.
    pub photos: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhistleResult {
    Solved,
    PartlySolved,
    NotSolvable,
}
str_enum!(WhistleResult, "whistle result", Solved => "solved", PartlySolved => "partly_solved", NotSolvable => "not_solvable");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    pub text: String,
    /// The unit the decision binds.
    pub binds: UnitCode,
    pub follow_up_on: Option<chrono::NaiveDate>,
}

/// 疑难案件会商.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consultation {
    pub at: Timestamp,
    pub participants: Vec<UnitCode>,
    pub decisions: Vec<Decision>,
}

/// Scores 1–5 on the three things a street judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scores {
    pub response: u8,
    pub cooperation: u8,
    pub result: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Objection {
    pub at: Timestamp,
    pub reason: String,
    /// The district's decision: true when the objection is upheld (the rating is annulled).
    pub upheld: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rating {
    pub unit: UnitCode,
    pub scores: Scores,
    pub comment: String,
    pub at: Timestamp,
    /// The end of the objection window.
    pub objection_until: Timestamp,
    pub objection: Option<Objection>,
}

impl Rating {
    /// Final once the window has passed without objection, or the objection was rejected.
    /// An upheld objection annuls the rating.
    pub fn is_final(&self, now: Timestamp) -> bool {
        match &self.objection {
            None => now > self.objection_until,
            Some(objection) => objection.upheld == Some(false),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhistleStage {
    /// Summoned units report in and act.
    Open,
    Closed,
}

/// The projection of a whistle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Whistle {
    pub id: uuid::Uuid,
    pub no: String,
    pub version: u64,
    pub street: UnitCode,
    pub district: UnitCode,
    pub kind: WhistleKind,
    pub order: Option<OrderNo>,
    pub place: String,
    pub needed: String,
    /// The whistle-list item it was raised for, or the written reason for one outside the list.
    pub list_item: Option<String>,
    pub off_list_reason: Option<String>,
    pub override_reference: Option<String>,
    pub raised_at: Timestamp,
    pub stage: WhistleStage,
    pub summons: Vec<Summons>,
    pub tasks: Vec<Task>,
    pub consultations: Vec<Consultation>,
    pub escalated_at: Option<Timestamp>,
    pub outcome: Option<(WhistleResult, String)>,
    pub closed_at: Option<Timestamp>,
    pub ratings: Vec<Rating>,
    pub last_event_at: Timestamp,
}

/// The raise command's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
/// The API refuses fields it does not know (`invalid_field`).
#[schemars(deny_unknown_fields)]
pub struct Raise {
    pub kind: WhistleKind,
    /// The work order the street holds, if the whistle is for one.
    #[serde(default)]
    pub order: Option<OrderNo>,
    /// The lead department; when absent, the whistle-list item's default lead. The recorded
    /// raise always names it.
    #[serde(default)]
    pub lead: Option<UnitCode>,
    #[serde(default)]
    pub assisting: Vec<UnitCode>,
    pub place: String,
    pub needed: String,
    /// The whistle-list item's code; its default lead and assisting units apply where the
    /// raise names none.
    #[serde(default)]
    pub list_item: Option<String>,
    /// Required when the problem is not on the street's whistle list.
    #[serde(default)]
    pub off_list_reason: Option<String>,
    /// The district's approval reference, required to summon a unit outside the district.
    #[serde(default)]
    pub override_reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum WhistleCommand {
    /// 报到.
    ReportIn {
        people: u32,
    },
    /// The deadline worker: a unit not reported in by its deadline.
    MarkAbsent {
        unit: UnitCode,
    },
    /// The district's coordination platform decides about an absent unit.
    ResolveAbsence {
        unit: UnitCode,
        decision: AbsenceDecision,
    },
    AssignTask {
        unit: UnitCode,
        text: String,
    },
    CompleteTask {
        task: u32,
        note: String,
        #[serde(default)]
        photos: Vec<String>,
    },
    HoldConsultation {
        participants: Vec<UnitCode>,
        decisions: Vec<Decision>,
    },
    /// The street records the outcome and closes the whistle.
    Close {
        result: WhistleResult,
        reasons: String,
    },
    Rate {
        unit: UnitCode,
        scores: Scores,
        comment: String,
    },
    /// The rated unit objects, once, within the window.
    Object {
        reason: String,
    },
    DecideObjection {
        unit: UnitCode,
        upheld: bool,
        note: String,
    },
}

impl WhistleCommand {
    pub fn name(&self) -> &'static str {
        match self {
            WhistleCommand::ReportIn { .. } => "report_in",
            WhistleCommand::MarkAbsent { .. } => "mark_absent",
            WhistleCommand::ResolveAbsence { .. } => "resolve_absence",
            WhistleCommand::AssignTask { .. } => "assign_task",
            WhistleCommand::CompleteTask { .. } => "complete_task",
            WhistleCommand::HoldConsultation { .. } => "hold_consultation",
            WhistleCommand::Close { .. } => "close",
            WhistleCommand::Rate { .. } => "rate",
            WhistleCommand::Object { .. } => "object",
            WhistleCommand::DecideObjection { .. } => "decide_objection",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WhistleEvent {
    Raised {
        no: String,
        district: UnitCode,
        raise: Raise,
        summons: Vec<Summons>,
    },
    ReportedIn {
        unit: UnitCode,
        people: u32,
        on_time: bool,
    },
    MarkedAbsent {
        unit: UnitCode,
    },
    Escalated,
    AbsenceResolved {
        unit: UnitCode,
        decision: AbsenceDecision,
        new_summons: Option<Summons>,
    },
    TaskAssigned {
        task: u32,
        unit: UnitCode,
        text: String,
    },
    TaskCompleted {
        task: u32,
        note: String,
        photos: Vec<String>,
    },
    ConsultationHeld {
        participants: Vec<UnitCode>,
        decisions: Vec<Decision>,
    },
    Closed {
        result: WhistleResult,
        reasons: String,
    },
    Rated {
        unit: UnitCode,
        scores: Scores,
        comment: String,
        objection_until: Timestamp,
    },
    Objected {
        unit: UnitCode,
        reason: String,
    },
    ObjectionDecided {
        unit: UnitCode,
        upheld: bool,
        note: String,
    },
}

/// An appended whistle event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhistleRecord {
    pub whistle_id: uuid::Uuid,
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub event: WhistleEvent,
}

fn corrupt(what: &str) -> DomainError {
    DomainError::InvalidReference(format!("corrupt whistle history: {what}"))
}

impl Whistle {
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a WhistleRecord>,
    ) -> Result<Whistle, DomainError> {
        let mut records = records.into_iter();
        let first = records.next().ok_or_else(|| corrupt("no events"))?;
        let WhistleEvent::Raised {
            no,
            district,
            raise,
            summons,
        } = &first.event
        else {
            return Err(corrupt("the first event is not the raise"));
        };
        let mut whistle = Whistle {
            id: first.whistle_id,
            no: no.clone(),
            version: 1,
            street: first.actor.unit.clone(),
            district: district.clone(),
            kind: raise.kind,
            order: raise.order.clone(),
            place: raise.place.clone(),
            needed: raise.needed.clone(),
            list_item: raise.list_item.clone(),
            off_list_reason: raise.off_list_reason.clone(),
            override_reference: raise.override_reference.clone(),
            raised_at: first.at,
            stage: WhistleStage::Open,
            summons: summons.clone(),
            tasks: Vec::new(),
            consultations: Vec::new(),
            escalated_at: None,
            outcome: None,
            closed_at: None,
            ratings: Vec::new(),
            last_event_at: first.at,
        };
        for record in records {
            whistle.apply(record)?;
        }
        Ok(whistle)
    }

    pub fn summons_of(&self, unit: &UnitCode) -> Option<&Summons> {
        self.summons.iter().rev().find(|s| &s.unit == unit)
    }

    fn summons_mut(&mut self, unit: &UnitCode) -> Result<&mut Summons, DomainError> {
        self.summons
            .iter_mut()
            .rev()
            .find(|s| &s.unit == unit)
            .ok_or_else(|| corrupt("unknown summons"))
    }

    pub fn apply(&mut self, record: &WhistleRecord) -> Result<(), DomainError> {
        if record.whistle_id != self.id || record.seq != self.version + 1 {
            return Err(corrupt("event out of sequence"));
        }
        let at = record.at;
        match &record.event {
            WhistleEvent::Raised { .. } => return Err(corrupt("a second raise")),
            WhistleEvent::ReportedIn {
                unit,
                people,
                on_time,
            } => {
                let by = record.actor.clone();
                self.summons_mut(unit)?.report = Some(ReportIn {
                    at,
                    by,
                    people: *people,
                    on_time: *on_time,
                });
            }
            WhistleEvent::MarkedAbsent { unit } => self.summons_mut(unit)?.absent_at = Some(at),
            WhistleEvent::Escalated => self.escalated_at = Some(at),
            WhistleEvent::AbsenceResolved {
                unit,
                decision,
                new_summons,
            } => {
                let summons = self.summons_mut(unit)?;
                summons.decision = Some(decision.clone());
                match (decision, new_summons) {
                    (AbsenceDecision::Order, Some(renewed)) => {
                        summons.report_in_by = renewed.report_in_by;
                        summons.absent_at = None;
                    }
                    (AbsenceDecision::Replace { .. }, Some(replacement)) => {
                        summons.released = true;
                        self.summons.push(replacement.clone());
                    }
                    (AbsenceDecision::NotDuty, None) => summons.released = true,
                    _ => return Err(corrupt("absence decision without its summons")),
                }
            }
            WhistleEvent::TaskAssigned { task, unit, text } => self.tasks.push(Task {
                id: *task,
                unit: unit.clone(),
                text: text.clone(),
                done: None,
            }),
            WhistleEvent::TaskCompleted { task, note, photos } => {
                let task = self
                    .tasks
                    .iter_mut()
                    .find(|t| t.id == *task)
                    .ok_or_else(|| corrupt("unknown task"))?;
                task.done = Some(TaskDone {
                    at,
                    note: note.clone(),
                    photos: photos.clone(),
                });
            }
            WhistleEvent::ConsultationHeld {
                participants,
                decisions,
            } => self.consultations.push(Consultation {
                at,
                participants: participants.clone(),
                decisions: decisions.clone(),
            }),
            WhistleEvent::Closed { result, reasons } => {
                self.stage = WhistleStage::Closed;
                self.outcome = Some((*result, reasons.clone()));
                self.closed_at = Some(at);
            }
            WhistleEvent::Rated {
                unit,
                scores,
                comment,
                objection_until,
            } => self.ratings.push(Rating {
                unit: unit.clone(),
                scores: *scores,
                comment: comment.clone(),
                at,
                objection_until: *objection_until,
                objection: None,
            }),
            WhistleEvent::Objected { unit, reason } => {
                let rating = self
                    .ratings
                    .iter_mut()
                    .find(|r| &r.unit == unit)
                    .ok_or_else(|| corrupt("objection without rating"))?;
                rating.objection = Some(Objection {
                    at,
                    reason: reason.clone(),
                    upheld: None,
                });
            }
            WhistleEvent::ObjectionDecided { unit, upheld, .. } => {
                let rating = self
                    .ratings
                    .iter_mut()
                    .find(|r| &r.unit == unit)
                    .ok_or_else(|| corrupt("decision without rating"))?;
                let objection = rating
                    .objection
                    .as_mut()
                    .ok_or_else(|| corrupt("decision without objection"))?;
                objection.upheld = Some(*upheld);
            }
        }
        self.version = record.seq;
        self.last_event_at = at;
        Ok(())
    }

    /// The next moment a summoned unit becomes absent (the worker's queue is indexed on this).
    pub fn next_absence_at(&self) -> Option<Timestamp> {
        if self.stage != WhistleStage::Open {
            return None;
        }
        self.summons
            .iter()
            .filter(|s| s.expected() && s.report.is_none() && s.absent_at.is_none())
            .map(|s| crate::time::saturating_add(s.report_in_by, chrono::Duration::milliseconds(1)))
            .min()
    }

    /// Summoned units still expected that have neither reported in nor been marked absent and
    /// whose deadline has passed: the worker marks them absent.
    pub fn absences_due(&self, now: Timestamp) -> Vec<UnitCode> {
        if self.stage != WhistleStage::Open {
            return Vec::new();
        }
        self.summons
            .iter()
            .filter(|s| {
                s.expected() && s.report.is_none() && s.absent_at.is_none() && now > s.report_in_by
            })
            .map(|s| s.unit.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests;
