//! Whistles in the store: the pure planning step both backends share, and their rows.
//! Whistles are few (hundreds a day, not tens of thousands), so each command is its own
//! transaction rather than group-committed; the order is the same as for work orders: load under
//! a lock, decide in the core, append events and the projection in one transaction.

use crate::types::Scope;
use crate::ReferenceStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use whistle_core::ids::{Actor, UnitCode};
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_date, to_millis, Timestamp};
use whistle_core::whistle::{self, Raise, Whistle, WhistleCommand, WhistleContext, WhistleRecord};

use crate::types::{CommandError, StoreError, StoreFailure};

/// One entry of the whistle live feed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FeedItem {
    pub position: i64,
    pub record: WhistleRecord,
    /// The whistle as it stands now.
    pub whistle: Whistle,
}

/// A feed row as read: position, the event row, the whistle id and its stored state.
pub(crate) fn feed_item(
    position: i64,
    whistle_id: uuid::Uuid,
    row: crate::events::StoredRow,
    state: &str,
) -> Result<FeedItem, StoreError> {
    let (seq, at, actor, event) = crate::events::decode(row)?;
    Ok(FeedItem {
        position,
        record: WhistleRecord {
            whistle_id,
            seq,
            at,
            actor,
            event,
        },
        whistle: parse_whistle(state)?,
    })
}

/// What to do with a whistle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhistleRequest {
    Raise(Box<Raise>),
    Command {
        whistle: String,
        expected_version: Option<u64>,
        command: WhistleCommand,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhistleEnvelope {
    pub actor: Actor,
    pub at: Timestamp,
    pub request: WhistleRequest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhistleOutcome {
    pub whistle: Box<Whistle>,
    pub records: Vec<WhistleRecord>,
}

/// The day counter key of whistle numbers (`W2025-10-09`), kept beside the orders' counters.
pub(crate) fn counter_key(at: Timestamp) -> String {
    format!("W{}", beijing_date(at))
}

pub(crate) struct WhistlePlan {
    pub whistle: Whistle,
    pub records: Vec<WhistleRecord>,
    pub new: bool,
    /// The day counter to write, for a raise.
    pub counter: Option<(String, u64)>,
}

/// Decides one whistle request against what the backend loaded under its lock.
pub(crate) fn plan(
    reference: &Reference,
    envelope: WhistleEnvelope,
    current: Option<Whistle>,
    order_lead: Option<UnitCode>,
    counter_last: u64,
    new_id: uuid::Uuid,
) -> Result<WhistlePlan, CommandError> {
    let WhistleEnvelope { actor, at, request } = envelope;
    // Events keep milliseconds: the projection must be built from exactly what replays.
    let at = whistle_core::time::from_millis(whistle_core::time::to_millis(at));
    let context = WhistleContext {
        now: at,
        actor: &actor,
        reference,
    };
    match request {
        WhistleRequest::Raise(raise) => {
            let sequence = counter_last + 1;
            let no = format!("W{}-{sequence:06}", beijing_date(at).format("%Y%m%d"));
            let event = whistle::raise(&raise, no, order_lead.as_ref(), &context)?;
            let record = WhistleRecord {
                whistle_id: new_id,
                seq: 1,
                at,
                actor: actor.clone(),
                event,
            };
            let whistle = Whistle::from_records([&record]).map_err(|e| {
                CommandError::Store(StoreFailure::msg(format!("invariant violated: {e}")))
            })?;
            Ok(WhistlePlan {
                whistle,
                records: vec![record],
                new: true,
                counter: Some((counter_key(at), sequence)),
            })
        }
        WhistleRequest::Command {
            whistle: no,
            expected_version,
            command,
        } => {
            let current = current.ok_or(CommandError::NotFound(no))?;
            if let Some(expected) = expected_version {
                if expected != current.version {
                    return Err(CommandError::Conflict {
                        expected,
                        actual: current.version,
                    });
                }
            }
            let events = whistle::decide(&current, &command, &context)?;
            let mut next = current.clone();
            let mut records = Vec::new();
            for event in events {
                let record = WhistleRecord {
                    whistle_id: next.id,
                    seq: next.version + 1,
                    at,
                    actor: actor.clone(),
                    event,
                };
                next.apply(&record).map_err(|e| {
                    CommandError::Store(StoreFailure::msg(format!("invariant violated: {e}")))
                })?;
                records.push(record);
            }
            Ok(WhistlePlan {
                whistle: next,
                records,
                new: false,
                counter: None,
            })
        }
    }
}

/// When a plan closes a whistle raised on a work order: the order command that records the
/// outcome on the order, run by the same street in the same transaction.
pub(crate) fn outcome_for_order(plan: &WhistlePlan) -> Option<crate::plan::Item> {
    let order = plan.whistle.order.clone()?;
    plan.records.iter().find_map(|record| match &record.event {
        whistle::WhistleEvent::Closed { result, reasons } => Some((
            crate::types::Envelope {
                actor: record.actor.clone(),
                at: record.at,
                request: crate::types::Request::Command {
                    order: crate::types::OrderRef::No(order.clone()),
                    expected_version: None,
                    command: whistle_core::order::Command::RecordWhistleOutcome {
                        whistle: plan.whistle.no.clone(),
                        result: *result,
                        reasons: reasons.clone(),
                    },
                },
            },
            None,
        )),
        _ => None,
    })
}

/// The order plan's one result as the whistle command's error, if it failed.
pub(crate) fn order_result(plan: &crate::plan::Plan) -> Result<(), CommandError> {
    match plan.results.first() {
        Some(Ok(_)) => Ok(()),
        Some(Err(error)) => Err(error.clone()),
        None => Err(CommandError::Store(StoreFailure::msg(
            "no result for the order record",
        ))),
    }
}

/// The indexed columns of a whistle row.
pub(crate) struct WhistleRow {
    pub stage: &'static str,
    pub closed_at: Option<i64>,
    pub escalated: bool,
    pub absence_at: Option<i64>,
    pub state: String,
}

impl WhistleRow {
    pub fn new(whistle: &Whistle) -> Result<WhistleRow, serde_json::Error> {
        Ok(WhistleRow {
            stage: match whistle.stage {
                whistle::WhistleStage::Open => "open",
                whistle::WhistleStage::Closed => "closed",
            },
            closed_at: whistle.closed_at.map(to_millis),
            escalated: whistle.escalated_at.is_some(),
            absence_at: whistle.next_absence_at().map(to_millis),
            state: serde_json::to_string(whistle)?,
        })
    }
}

pub(crate) fn event_name(event: &whistle::WhistleEvent) -> &'static str {
    use whistle::WhistleEvent::*;
    match event {
        Raised { .. } => "raised",
        ReportedIn { .. } => "reported_in",
        MarkedAbsent { .. } => "marked_absent",
        Escalated => "escalated",
        AbsenceResolved { .. } => "absence_resolved",
        TaskAssigned { .. } => "task_assigned",
        TaskCompleted { .. } => "task_completed",
        ConsultationHeld { .. } => "consultation_held",
        Closed { .. } => "closed",
        Rated { .. } => "rated",
        Objected { .. } => "objected",
        ObjectionDecided { .. } => "objection_decided",
    }
}

pub(crate) fn parse_whistle(state: &str) -> Result<Whistle, crate::StoreError> {
    serde_json::from_str(state)
        .map_err(|e| crate::StoreError::Other(anyhow::anyhow!("corrupt whistle projection: {e}")))
}

/// The list condition for a scope: a street (or a handler at a street) sees the whistles it
/// raised, a department those that summon it, a district (its leaders, its coordination
/// platform) its streets'.
pub(crate) fn scope_sql(
    scope: &crate::Scope,
    params: &mut Vec<String>,
    placeholder: impl Fn(usize) -> String,
) -> String {
    match scope {
        crate::Scope::All => "1 = 1".into(),
        crate::Scope::District(d) => {
            params.push(d.to_string());
            format!("w.district = {}", placeholder(params.len()))
        }
        crate::Scope::Street(s) => {
            params.push(s.to_string());
            format!("w.street = {}", placeholder(params.len()))
        }
        crate::Scope::Units(units) if units.is_empty() => "1 = 0".into(),
        crate::Scope::Units(units) => {
            let mut list = Vec::new();
            for unit in units {
                params.push(unit.to_string());
                list.push(placeholder(params.len()));
            }
            let list = list.join(", ");
            // The raising street, a summoned unit, or the district (its coordination platform).
            format!(
                "(w.street IN ({list}) OR w.district IN ({list}) OR EXISTS (SELECT 1 FROM whistle_units u WHERE u.whistle_id = w.id AND u.unit IN ({list})))"
            )
        }
    }
}

/// A whistle's history, oldest first (written once for both backends over the executor).
pub(crate) async fn whistle_history(
    db: &dyn crate::db::Db,
    id: uuid::Uuid,
) -> Result<Vec<whistle_core::whistle::WhistleRecord>, crate::StoreError> {
    crate::events::read_events(db, "whistle_events", "whistle_id", id)
        .await?
        .into_iter()
        .map(|row| {
            let (seq, at, actor, event) = crate::events::decode(row)?;
            Ok(whistle_core::whistle::WhistleRecord {
                whistle_id: id,
                seq,
                at,
                actor,
                event,
            })
        })
        .collect()
}

/// The whistle reads, written once for both backends over the executor.
pub(crate) mod reads;
pub(crate) mod write;

/// Whistles (吹哨): commands and reads, written once for both backends ([`write`], [`reads`]).
#[async_trait]
pub trait WhistleStore: Send + Sync {
    /// Raises a whistle or runs a command on one, in its own transaction.
    async fn execute_whistle(
        &self,
        envelope: WhistleEnvelope,
    ) -> Result<WhistleOutcome, CommandError>;

    /// Whistle commands in order, each as if by [`Store::execute_whistle`]: each commits
    /// completely or not at all, and a refused one does not affect the others (a backend may
    /// commit them together, each in its own savepoint). One result per envelope, in order.
    async fn execute_whistles(
        &self,
        envelopes: Vec<WhistleEnvelope>,
    ) -> Vec<Result<WhistleOutcome, CommandError>> {
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            results.push(self.execute_whistle(envelope).await);
        }
        results
    }

    /// A whistle by its number (`W20251009-000001`).
    async fn whistle(&self, no: &str)
        -> Result<Option<whistle_core::whistle::Whistle>, StoreError>;

    /// A whistle's full history, oldest first.
    async fn whistle_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::whistle::WhistleRecord>, StoreError>;

    /// Whistle events after a feed position, in position order, each with its whistle's current
    /// projection (for the live feed: the caller filters by jurisdiction). At most `limit`.
    async fn whistle_feed(&self, after: i64, limit: u32) -> Result<Vec<FeedItem>, StoreError>;

    /// The highest whistle-event position (0 when there is none): where a new feed starts.
    async fn whistle_feed_head(&self) -> Result<i64, StoreError>;

    /// Whistles within a scope, newest first (at most `limit`).
    async fn list_whistles(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError>;

    /// Whistles within a scope raised in [from, before), oldest first (for the double assessment).
    async fn whistles_raised(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError>;

    /// Numbers of open whistles with a summoned unit absent at `at` (the worker's queue).
    async fn absences_due(&self, at: Timestamp, limit: u32) -> Result<Vec<String>, StoreError>;
}

#[async_trait]
impl<T: crate::db::Database> WhistleStore for T {
    async fn execute_whistle(
        &self,
        envelope: WhistleEnvelope,
    ) -> Result<WhistleOutcome, CommandError> {
        self.execute_whistles(vec![envelope])
            .await
            .pop()
            .unwrap_or_else(|| Err(CommandError::Store(StoreFailure::msg("no result"))))
    }

    async fn execute_whistles(
        &self,
        envelopes: Vec<WhistleEnvelope>,
    ) -> Vec<Result<WhistleOutcome, CommandError>> {
        write::execute(self, self.reference(), envelopes).await
    }

    async fn whistle(
        &self,
        no: &str,
    ) -> Result<Option<whistle_core::whistle::Whistle>, StoreError> {
        reads::whistle(self, no).await
    }

    async fn whistle_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::whistle::WhistleRecord>, StoreError> {
        whistle_history(self, id).await
    }

    async fn whistle_feed(&self, after: i64, limit: u32) -> Result<Vec<FeedItem>, StoreError> {
        reads::whistle_feed(self, after, limit).await
    }

    async fn whistle_feed_head(&self) -> Result<i64, StoreError> {
        reads::whistle_feed_head(self).await
    }

    async fn list_whistles(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError> {
        reads::list_whistles(self, scope, limit).await
    }

    async fn whistles_raised(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError> {
        reads::whistles_raised(self, scope, from, before).await
    }

    async fn absences_due(&self, at: Timestamp, limit: u32) -> Result<Vec<String>, StoreError> {
        reads::absences_due(self, at, limit).await
    }
}
