//! Grid cases in the store: the planning step both backends share and their rows. Like whistles,
//! few and one transaction per command.

use crate::types::{Scope, StoreError, StoreFailure};
use crate::ReferenceStore;
use async_trait::async_trait;
use whistle_core::grid::{self, GridCase, GridCommand, GridEvent, GridRecord, Report};
use whistle_core::ids::Actor;
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_date, to_millis, Timestamp};

use crate::types::CommandError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GridRequest {
    /// A grid worker, lane chief or steward reports (the actor's unit is their grid/lane/community).
    File(Box<Report>),
    Command {
        case: String,
        expected_version: Option<u64>,
        command: GridCommand,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridEnvelope {
    pub actor: Actor,
    pub at: Timestamp,
    pub request: GridRequest,
}

pub(crate) fn counter_key(at: Timestamp) -> String {
    format!("G{}", beijing_date(at))
}

pub(crate) struct GridPlan {
    pub case: GridCase,
    pub records: Vec<GridRecord>,
    pub new: bool,
    pub counter: Option<(String, u64)>,
}

pub(crate) fn plan(
    reference: &Reference,
    envelope: GridEnvelope,
    current: Option<GridCase>,
    counter_last: u64,
    new_id: uuid::Uuid,
) -> Result<GridPlan, CommandError> {
    let GridEnvelope { actor, at, request } = envelope;
    // Events keep milliseconds: the projection must be built from exactly what replays.
    let at = whistle_core::time::from_millis(whistle_core::time::to_millis(at));
    let invariant = |e: whistle_core::error::DomainError| {
        CommandError::Store(StoreFailure::msg(format!("invariant violated: {e}")))
    };
    match request {
        GridRequest::File(mut report) => {
            // The same millisecond precision for the reported time, so "found now" is never later
            // than the (truncated) filing time.
            report.found_at =
                whistle_core::time::from_millis(whistle_core::time::to_millis(report.found_at));
            let sequence = counter_last + 1;
            let no = format!("G{}-{sequence:06}", beijing_date(at).format("%Y%m%d"));
            let event = grid::file(&report, &actor, at, reference)?;
            let record = GridRecord {
                case_id: new_id,
                seq: 1,
                at,
                actor,
                event,
            };
            let case = GridCase::from_records(new_id, &no, [&record]).map_err(invariant)?;
            Ok(GridPlan {
                case,
                records: vec![record],
                new: true,
                counter: Some((counter_key(at), sequence)),
            })
        }
        GridRequest::Command {
            case: no,
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
            if at
                < current
                    .fed_back_at
                    .or(current.dispatched_at)
                    .unwrap_or(current.filed_at)
            {
                return Err(whistle_core::error::DomainError::TimeBeforeLastEvent.into());
            }
            let event = current.decide(&command, &actor, at, reference)?;
            let mut next = current.clone();
            next.apply(&event, &actor, at).map_err(invariant)?;
            let record = GridRecord {
                case_id: next.id,
                seq: next.version,
                at,
                actor,
                event,
            };
            Ok(GridPlan {
                case: next,
                records: vec![record],
                new: false,
                counter: None,
            })
        }
    }
}

pub(crate) fn stage(case: &GridCase) -> &'static str {
    match case.stage {
        grid::GridStage::Filed => "filed",
        grid::GridStage::Dispatched => "dispatched",
        grid::GridStage::FedBack => "fed_back",
        grid::GridStage::Verified => "verified",
    }
}

pub(crate) fn event_name(event: &GridEvent) -> &'static str {
    match event {
        GridEvent::Filed { .. } => "filed",
        GridEvent::Dispatched { .. } => "dispatched",
        GridEvent::Handled { .. } => "handled",
        GridEvent::Verified { .. } => "verified",
    }
}

pub(crate) fn parse_case(state: &str) -> Result<GridCase, crate::StoreError> {
    serde_json::from_str(state)
        .map_err(|e| crate::StoreError::Other(anyhow::anyhow!("corrupt grid case projection: {e}")))
}

pub(crate) fn millis(at: Option<Timestamp>) -> Option<i64> {
    at.map(to_millis)
}

/// A street sees its queue; a handling unit the cases sent to it; a district its streets'.
/// The per-street grid counts query of a period (times are our own integers, inlined).
pub(crate) fn counts_sql(condition: &str, from: i64, before: i64) -> String {
    format!(
        "SELECT g.street, \
         CAST(SUM(CASE WHEN g.filed_at >= {from} AND g.filed_at < {before} THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN g.verified_at >= {from} AND g.verified_at < {before} THEN 1 ELSE 0 END) AS BIGINT) \
         FROM grid_cases g WHERE ({condition}) AND ((g.filed_at >= {from} AND g.filed_at < {before}) \
         OR (g.verified_at >= {from} AND g.verified_at < {before})) GROUP BY g.street ORDER BY g.street"
    )
}

pub(crate) fn counts_row(
    street: &str,
    found: i64,
    verified: i64,
) -> Result<whistle_core::whistle::GridCounts, crate::StoreError> {
    Ok(whistle_core::whistle::GridCounts {
        street: whistle_core::ids::UnitCode::parse(street)?,
        found: found as u32,
        verified: verified as u32,
    })
}

pub(crate) fn scope_sql(
    scope: &crate::Scope,
    params: &mut Vec<String>,
    placeholder: impl Fn(usize) -> String,
) -> String {
    match scope {
        crate::Scope::All => "1 = 1".into(),
        crate::Scope::District(d) => {
            params.push(format!("{d}%"));
            format!("g.street LIKE {}", placeholder(params.len()))
        }
        crate::Scope::Street(s) => {
            params.push(s.to_string());
            format!("g.street = {}", placeholder(params.len()))
        }
        crate::Scope::Units(units) if units.is_empty() => "1 = 0".into(),
        crate::Scope::Units(units) => {
            let mut list = Vec::new();
            for unit in units {
                params.push(unit.to_string());
                list.push(placeholder(params.len()));
            }
            let list = list.join(", ");
            format!("(g.street IN ({list}) OR g.handler IN ({list}))")
        }
    }
}

/// The grid reads, written once for both backends over the executor.
pub(crate) mod reads;
pub(crate) mod write;

/// Grid cases (网格案件): commands and reads, written once for both backends ([`write`], [`reads`]).
#[async_trait]
pub trait GridStore: Send + Sync {
    /// Files a grid case or runs a command on one, in its own transaction.
    async fn execute_grid(
        &self,
        envelope: GridEnvelope,
    ) -> Result<whistle_core::grid::GridCase, CommandError>;

    /// A grid case by its number (`G20251009-000001`).
    async fn grid_case(&self, no: &str)
        -> Result<Option<whistle_core::grid::GridCase>, StoreError>;

    /// A grid case's history, oldest first.
    async fn grid_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::grid::GridRecord>, StoreError>;

    /// Per street within a scope: grid cases filed, and grid cases verified, in [from, before).
    async fn grid_counts(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::GridCounts>, StoreError>;

    /// Grid cases within a scope, newest first.
    async fn list_grid_cases(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::grid::GridCase>, StoreError>;
}

#[async_trait]
impl<T: crate::db::Database> GridStore for T {
    async fn execute_grid(
        &self,
        envelope: GridEnvelope,
    ) -> Result<whistle_core::grid::GridCase, CommandError> {
        write::execute(self, self.reference(), envelope).await
    }

    async fn grid_case(
        &self,
        no: &str,
    ) -> Result<Option<whistle_core::grid::GridCase>, StoreError> {
        reads::grid_case(self, no).await
    }

    async fn grid_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::grid::GridRecord>, StoreError> {
        reads::grid_history(self, id).await
    }

    async fn grid_counts(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::GridCounts>, StoreError> {
        reads::grid_counts(self, scope, from, before).await
    }

    async fn list_grid_cases(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::grid::GridCase>, StoreError> {
        reads::list_grid_cases(self, scope, limit).await
    }
}
