//! The order's history as the evaluation counts it (考核记录): each dispatch round with its own
//! unit, dispatcher, contact, objections, co-handlers and reply, and each return visit with the
//! round it judged. Kept on the order (folded from its events like everything else), so what an
//! order contributes to the exam paper follows what happened and when — a reopening adds a
//! round and never moves an earlier visit, a redispatch judges the new unit on its own dispatch
//! and its own contact — without reading the event log on every write. Stored compactly (what did not happen
//! is not written): it is part of every write of the order.

use serde::{Deserialize, Serialize};

use crate::ids::{Actor, UnitCode};
use crate::order::VisitResult;
use crate::time::Timestamp;

/// The evaluation record of one order: its rounds and its visits, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    pub rounds: Vec<Round>,
    pub visits: Vec<VisitRecord>,
}

impl Record {
    pub fn is_empty(&self) -> bool {
        self.rounds.is_empty() && self.visits.is_empty()
    }

    /// The round running now (the latest dispatch).
    pub fn current(&self) -> Option<&Round> {
        self.rounds.last()
    }

    pub(crate) fn current_mut(&mut self) -> Option<&mut Round> {
        self.rounds.last_mut()
    }
}

/// One dispatch of the order to a lead unit (派单), until the next one: the first dispatch, a
/// redispatch after an upheld objection (改派), or the dispatch back to the unit on a reopening
/// (重办).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Round {
    pub unit: UnitCode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_handlers: Vec<UnitCode>,
    pub at: Timestamp,
    /// Who dispatched it (派单员) and for which unit (the centre, or a district coordinating).
    pub dispatcher: Actor,
    /// A dispatch back to the same unit after a reopening: rework, not a new dispatch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rework: bool,
    /// The handling deadline of the round, as extended.
    pub handle_by: Timestamp,
    /// The lead's first contact with the requester in this round, and whether it was within the
    /// round's response deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<RoundContact>,
    /// Objections the lead filed in this round (派单异议).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disputes: u32,
    /// When an objection was upheld (the dispatch was wrong: counted for the dispatcher, not the
    /// unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overturned_at: Option<Timestamp>,
    /// The lead's first reply in this round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_at: Option<Timestamp>,
    /// When the order was reopened after this round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<Timestamp>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoundContact {
    pub at: Timestamp,
    pub in_time: bool,
}

/// A return visit (回访), judging the round it followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VisitRecord {
    pub at: Timestamp,
    /// The lead unit of the round visited.
    pub unit: UnitCode,
    /// The index of that round in [`Record::rounds`].
    pub round: usize,
    pub result: VisitResult,
}
