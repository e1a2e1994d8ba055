//! The work order (工单) and its life (DOMAIN §3).
//!
//! An order is the fold of its events: [`Order::from_events`] and [`Order::apply`]. A command is
//! decided against the current order by [`decide`] (or [`intake`] for a new one) and yields the
//! events to append; nothing is ever edited in place.

mod decide;
mod record;
mod types;

pub use decide::{decide, intake, Context};
pub use record::{Record, Round, RoundContact, VisitRecord};
pub use types::*;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{Actor, CategoryCode, OrderId, OrderNo, UnitCode};
use crate::time::Timestamp;

/// An appended event: the truth from which every projection is derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    pub order_id: OrderId,
    /// 1 for the intake event; the order's version after this event.
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub payload: EventPayload,
}

/// The current state of an order, derived from its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    pub id: OrderId,
    pub no: OrderNo,
    /// The number of events applied; commands carry the version they saw.
    pub version: u64,
    pub received_at: Timestamp,
    pub channel: Channel,
    pub request_type: RequestType,
    pub text: String,
    pub category: CategoryCode,
    pub urgency: Urgency,
    pub location: Location,
    pub stage: Stage,
    pub respond_by: Option<Timestamp>,
    pub handle_by: Option<Timestamp>,
    pub dispatched_at: Option<Timestamp>,
    pub catalogue_version: Option<u32>,
    pub accepted_at: Option<Timestamp>,
    pub contacted_at: Option<Timestamp>,
    pub contacted_in_time: Option<bool>,
    pub replied_at: Option<Timestamp>,
    pub reply: Option<Reply>,
    pub visit: Option<VisitResult>,
    pub visited_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub dispute: Option<PendingDispute>,
    pub extension: Option<PendingExtension>,
    pub escalation: Option<EscalationLevel>,
    pub unreasonable: Option<Ruling>,
    pub notices: Vec<Notice>,
    pub urge_count: u32,
    pub flagged: bool,
    pub linked_to: Vec<OrderNo>,
    pub reopen_count: u32,
    pub disputes_upheld: u32,
    pub parts: Vec<Part>,
    /// Outcomes of whistles raised on the order (吹哨办理记录).
    #[serde(default)]
    pub whistle_outcomes: Vec<WhistleOutcome>,
    /// Who handles it within each unit (承办人), the latest assignment per unit. Not written
    /// while empty: the stored projection of an order no unit assigned keeps its bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<Assignee>,
    /// The history as the evaluation counts it (考核记录). Not written while empty.
    #[serde(default, skip_serializing_if = "Record::is_empty")]
    pub record: Record,
    pub last_event_at: Timestamp,
}

/// A unit's person handling the order (a login), since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Assignee {
    pub unit: UnitCode,
    pub login: String,
    pub at: Timestamp,
}

/// A whistle's outcome recorded on its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhistleOutcome {
    pub whistle: String,
    pub result: crate::whistle::WhistleResult,
    pub reasons: String,
    pub at: Timestamp,
}

impl Order {
    /// Folds a complete history; the first event must be the intake.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Order, DomainError> {
        let mut events = events.into_iter();
        let first = events
            .next()
            .ok_or_else(|| corrupt("an order without events"))?;
        let mut order = Order::received(first)?;
        for event in events {
            order.apply(event)?;
        }
        Ok(order)
    }

    fn received(event: &Event) -> Result<Order, DomainError> {
        let EventPayload::Received(received) = &event.payload else {
            return Err(corrupt("the first event is not the intake"));
        };
        if event.seq != 1 {
            return Err(corrupt("the intake event is not the first"));
        }
        Ok(Order {
            id: event.order_id,
            no: received.no.clone(),
            version: 1,
            received_at: received.received_at,
            channel: received.channel,
            request_type: received.request_type,
            text: received.text.clone(),
            category: received.category.clone(),
            urgency: received.urgency,
            location: received.location.clone(),
            stage: Stage::PendingDispatch,
            respond_by: None,
            handle_by: None,
            dispatched_at: None,
            catalogue_version: None,
            accepted_at: None,
            contacted_at: None,
            contacted_in_time: None,
            replied_at: None,
            reply: None,
            visit: None,
            visited_at: None,
            closed_at: None,
            dispute: None,
            extension: None,
            escalation: None,
            unreasonable: None,
            notices: Vec::new(),
            urge_count: 0,
            flagged: false,
            linked_to: Vec::new(),
            reopen_count: 0,
            disputes_upheld: 0,
            parts: Vec::new(),
            whistle_outcomes: Vec::new(),
            assignees: Vec::new(),
            record: Record::default(),
            last_event_at: event.at,
        })
    }

    /// Applies one event. An event that does not fit the order is corrupt history, not a user
    /// error: the store checks this on load as well as on write.
    pub fn apply(&mut self, event: &Event) -> Result<(), DomainError> {
        if event.order_id != self.id || event.seq != self.version + 1 {
            return Err(corrupt("event out of sequence"));
        }
        let at = event.at;
        match &event.payload {
            EventPayload::Received(_) => return Err(corrupt("a second intake event")),
            EventPayload::TriageClosed { disposition } => {
                self.stage = Stage::Closed(Closure::Triage(disposition.clone()));
                self.closed_at = Some(at);
            }
            EventPayload::Dispatched(dispatch) => {
                self.stage = Stage::Dispatched(Assignment {
                    lead: dispatch.lead.clone(),
                    co_handlers: dispatch.co_handlers.clone(),
                    copied_to: dispatch.copied_to.clone(),
                    coordination: dispatch.coordination,
                    dispatched_at: at,
                });
                let rework = self
                    .record
                    .current()
                    .is_some_and(|r| r.reopened_at.is_some() && r.unit == dispatch.lead);
                self.record.rounds.push(Round {
                    unit: dispatch.lead.clone(),
                    co_handlers: dispatch.co_handlers.clone(),
                    at,
                    dispatcher: event.actor.clone(),
                    rework,
                    handle_by: dispatch.handle_by,
                    contact: None,
                    disputes: 0,
                    overturned_at: None,
                    replied_at: None,
                    reopened_at: None,
                });
                self.dispatched_at = Some(at);
                // The unit now leading answers for its own response: a contact made by the unit
                // before it (redispatch) is not its contact.
                self.contacted_at = None;
                self.contacted_in_time = None;
                self.respond_by = Some(dispatch.respond_by);
                self.handle_by = Some(dispatch.handle_by);
                self.catalogue_version = dispatch.catalogue_version.or(self.catalogue_version);
                self.accepted_at = None;
                self.dispute = None;
                self.extension = None;
            }
            EventPayload::Forwarded { party, .. } => {
                self.stage = Stage::Forwarded {
                    party: party.clone(),
                }
            }
            EventPayload::ForwardAnswered { answer } => {
                let Stage::Forwarded { party } = &self.stage else {
                    return Err(corrupt("answer without forward"));
                };
                self.stage = Stage::Closed(Closure::ForwardAnswered {
                    party: party.clone(),
                    answer: answer.clone(),
                });
                self.closed_at = Some(at);
            }
            EventPayload::Accepted => {
                let assignment = self.take_assignment()?;
                self.stage = Stage::Accepted(assignment);
                self.accepted_at = Some(at);
            }
            EventPayload::Assigned { unit, to } => {
                let assignee = Assignee {
                    unit: unit.clone(),
                    login: to.clone(),
                    at,
                };
                match self.assignees.iter_mut().find(|a| a.unit == *unit) {
                    Some(current) => *current = assignee,
                    None => self.assignees.push(assignee),
                }
            }
            EventPayload::Disputed { reason } => {
                let unit = self
                    .assignment()
                    .map(|a| a.lead.clone())
                    .ok_or_else(|| corrupt("dispute without lead"))?;
                self.dispute = Some(PendingDispute {
                    unit,
                    reason: reason.clone(),
                    at,
                });
                if let Some(round) = self.record.current_mut() {
                    round.disputes += 1;
                }
            }
            EventPayload::DisputeReviewed { upheld, .. } => {
                self.dispute = None;
                if *upheld {
                    self.disputes_upheld += 1;
                    if let Some(round) = self.record.current_mut() {
                        round.overturned_at = Some(at);
                    }
                }
            }
            EventPayload::PartReported { unit, text } => {
                self.parts.push(Part {
                    unit: unit.clone(),
                    text: text.clone(),
                    at,
                });
            }
            EventPayload::Contacted { in_time, .. } => {
                if self.contacted_at.is_none() {
                    self.contacted_at = Some(at);
                    self.contacted_in_time = Some(*in_time);
                }
                if let Some(round) = self.record.current_mut() {
                    round.contact.get_or_insert(RoundContact {
                        at,
                        in_time: *in_time,
                    });
                }
            }
            EventPayload::ExtensionRequested { until, reason } => {
                self.extension = Some(PendingExtension {
                    until: *until,
                    reason: reason.clone(),
                    at,
                });
            }
            EventPayload::ExtensionDecided {
                approved, until, ..
            } => {
                self.extension = None;
                if *approved {
                    self.handle_by = Some(*until);
                    if let Some(round) = self.record.current_mut() {
                        round.handle_by = *until;
                    }
                }
            }
            EventPayload::Escalated { to, .. } => self.escalation = Some(*to),
            EventPayload::Replied {
                outcome, actions, ..
            } => {
                let assignment = self.take_assignment()?;
                self.stage = Stage::Replied(assignment);
                self.replied_at = Some(at);
                if let Some(round) = self.record.current_mut() {
                    round.replied_at.get_or_insert(at);
                }
                self.reply = Some(Reply {
                    outcome: *outcome,
                    actions: actions.clone(),
                });
            }
            EventPayload::Visited { result } => {
                let assignment = self.take_assignment()?;
                let lead = assignment.lead.clone();
                self.stage = Stage::Visited(assignment);
                self.visit = Some(result.clone());
                self.visited_at = Some(at);
                self.record.visits.push(VisitRecord {
                    at,
                    unit: lead,
                    round: self.record.rounds.len().saturating_sub(1),
                    result: result.clone(),
                });
            }
            EventPayload::Closed { .. } => {
                let assignment = self.take_assignment()?;
                self.stage = Stage::Closed(Closure::Handled(assignment));
                self.closed_at = Some(at);
            }
            EventPayload::Reopened { .. } => {
                self.reopen_count += 1;
                if let Some(round) = self.record.current_mut() {
                    round.reopened_at = Some(at);
                }
                self.contacted_at = None;
                self.contacted_in_time = None;
                self.replied_at = None;
                self.reply = None;
                self.visit = None;
                self.visited_at = None;
                self.closed_at = None;
            }
            EventPayload::RuledUnreasonable { reason } => {
                self.unreasonable = Some(Ruling {
                    reason: reason.clone(),
                    by: event.actor.clone(),
                    at,
                });
            }
            EventPayload::Supervised { action, .. } => match action {
                Supervision::Flag => self.flagged = true,
                Supervision::Urge => self.urge_count += 1,
                Supervision::DueSoon { deadline, due_at }
                | Supervision::Overdue { deadline, due_at } => {
                    let overdue = matches!(action, Supervision::Overdue { .. });
                    self.notices.push(Notice {
                        deadline: *deadline,
                        overdue,
                        due_at: *due_at,
                    });
                }
            },
            EventPayload::Linked { earlier } => self.linked_to.push(earlier.clone()),
            EventPayload::RequesterRevealed { .. } => {}
            EventPayload::WhistleOutcomeRecorded {
                whistle,
                result,
                reasons,
            } => self.whistle_outcomes.push(WhistleOutcome {
                whistle: whistle.clone(),
                result: *result,
                reasons: reasons.clone(),
                at,
            }),
            EventPayload::Merged { into } => {
                self.stage = Stage::Closed(Closure::Merged { into: into.clone() });
                self.closed_at = Some(at);
            }
        }
        self.version = event.seq;
        self.last_event_at = at;
        Ok(())
    }

    fn take_assignment(&self) -> Result<Assignment, DomainError> {
        self.assignment()
            .cloned()
            .ok_or_else(|| corrupt("event needs a handling unit"))
    }

    /// The current assignment, if the order is (or was, when closed after handling) dispatched.
    pub fn assignment(&self) -> Option<&Assignment> {
        match &self.stage {
            Stage::Dispatched(a) | Stage::Accepted(a) | Stage::Replied(a) | Stage::Visited(a) => {
                Some(a)
            }
            Stage::Closed(Closure::Handled(a)) => Some(a),
            _ => None,
        }
    }

    /// The lead handling unit while the order is with a unit.
    pub fn lead(&self) -> Option<&UnitCode> {
        self.assignment().map(|a| &a.lead)
    }

    /// 重办: the order was reopened and is with its unit again, not yet answered.
    pub fn in_rework(&self) -> bool {
        self.reopen_count > 0 && matches!(self.stage, Stage::Dispatched(_) | Stage::Accepted(_))
    }

    /// The co-handlers of the current dispatch that have not reported their part since it
    /// (协办反馈 owed to the lead), while the lead still handles the order.
    pub fn parts_owed(&self) -> Vec<&UnitCode> {
        let (Stage::Dispatched(a) | Stage::Accepted(a)) = &self.stage else {
            return Vec::new();
        };
        a.co_handlers
            .iter()
            .filter(|unit| {
                !self
                    .parts
                    .iter()
                    .any(|p| &p.unit == *unit && p.at >= a.dispatched_at)
            })
            .collect()
    }

    /// The earliest deadline still running: the response (until contact) and the handling
    /// deadline (until reply). The due index is built on this.
    pub fn next_due_at(&self) -> Option<Timestamp> {
        if !matches!(self.stage, Stage::Dispatched(_) | Stage::Accepted(_)) {
            return None;
        }
        let respond = if self.contacted_at.is_none() {
            self.respond_by
        } else {
            None
        };
        match (respond, self.handle_by) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The person handling it for a unit (承办人), if the unit assigned one.
    pub fn assignee(&self, unit: &UnitCode) -> Option<&str> {
        self.assignees
            .iter()
            .find(|a| a.unit == *unit)
            .map(|a| a.login.as_str())
    }

    /// The deadline of a given kind while it still runs.
    pub fn running_deadline(&self, kind: DeadlineKind) -> Option<Timestamp> {
        if !matches!(self.stage, Stage::Dispatched(_) | Stage::Accepted(_)) {
            return None;
        }
        match kind {
            DeadlineKind::Respond if self.contacted_at.is_none() => self.respond_by,
            DeadlineKind::Handle => self.handle_by,
            DeadlineKind::Respond => None,
        }
    }

    /// For each running deadline not yet notified as overdue: its kind, its time, and whether
    /// the due-soon notice was already recorded for that deadline value.
    fn pending_notices(&self) -> impl Iterator<Item = (DeadlineKind, Timestamp, bool)> + '_ {
        [DeadlineKind::Respond, DeadlineKind::Handle]
            .into_iter()
            .filter_map(move |deadline| {
                let due_at = self.running_deadline(deadline)?;
                let seen = |overdue: bool| {
                    self.notices.iter().any(|n| {
                        n.deadline == deadline && n.due_at == due_at && n.overdue == overdue
                    })
                };
                (!seen(true)).then(|| (deadline, due_at, seen(false)))
            })
    }

    /// The supervision notices due at `now`: for each running deadline, "overdue" once it has
    /// passed, else "due soon" once it is within `due_soon_minutes` — each at most once per
    /// deadline value (an overdue notice makes a missed due-soon notice moot).
    pub fn notices_due(&self, now: Timestamp, due_soon_minutes: i64) -> Vec<Supervision> {
        self.pending_notices()
            .filter_map(|(deadline, due_at, due_soon_seen)| {
                if now > due_at {
                    Some(Supervision::Overdue { deadline, due_at })
                } else if now
                    >= crate::time::saturating_add(
                        due_at,
                        -chrono::Duration::minutes(due_soon_minutes),
                    )
                    && !due_soon_seen
                {
                    Some(Supervision::DueSoon { deadline, due_at })
                } else {
                    None
                }
            })
            .collect()
    }

    /// The next moment a notice will be due (the deadline worker's queue is indexed on this).
    pub fn next_notice_at(&self, due_soon_minutes: i64) -> Option<Timestamp> {
        self.pending_notices()
            .map(|(_, due_at, due_soon_seen)| {
                if due_soon_seen {
                    // Overdue means strictly after the deadline.
                    crate::time::saturating_add(due_at, chrono::Duration::milliseconds(1))
                } else {
                    crate::time::saturating_add(
                        due_at,
                        -chrono::Duration::minutes(due_soon_minutes),
                    )
                }
            })
            .min()
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.stage, Stage::Closed(_))
    }

    /// Structural invariants, checked after every write and on every load.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (name, deadline) in [
            ("respond_by", self.respond_by),
            ("handle_by", self.handle_by),
        ] {
            if deadline.is_some_and(|at| at < self.received_at) {
                return Err(format!("{name} precedes intake"));
            }
        }
        if matches!(self.stage, Stage::Dispatched(_) | Stage::Accepted(_))
            && self.handle_by.is_none()
        {
            return Err("a dispatched order without a handling deadline".into());
        }
        if self.is_closed() != self.closed_at.is_some() {
            return Err("closed_at does not match the stage".into());
        }
        if self.last_event_at < self.received_at && self.version > 1 {
            return Err("events precede intake".into());
        }
        Ok(())
    }
}

fn corrupt(what: &str) -> DomainError {
    DomainError::InvalidReference(format!("corrupt history: {what}"))
}

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
