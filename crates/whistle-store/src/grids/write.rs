//! Grid commands written once for both backends over the executor: load under a lock, decide in
//! the core ([`super::plan`]), write the projection, the events and the day counter in one
//! transaction.

use whistle_core::grid::GridCase;
use whistle_core::reference::Reference;
use whistle_core::time::to_millis;

use super::{GridEnvelope, GridRequest};
use crate::counters::{lock_counter, write_counter};
use std::sync::Arc;

use crate::db::{params, transact, Db, Tx};
use crate::events::append_events;
use crate::types::{CommandError, StoreFailure};

/// Files a grid case or runs a command on one, in its own transaction.
pub(crate) async fn execute(
    db: &dyn Db,
    reference: Arc<Reference>,
    envelope: GridEnvelope,
) -> Result<GridCase, CommandError> {
    transact(db, move |tx: &mut dyn Tx| {
        Box::pin(async move {
            // A refused command leaves nothing, not even the day counter's row.
            tx.savepoint("grid_command").await?;
            let result = command(&mut *tx, &reference, envelope).await;
            if result.is_err() {
                tx.rollback_to("grid_command").await?;
            }
            tx.release("grid_command").await?;
            Ok(result)
        })
    })
    .await?
}

async fn command(
    tx: &mut dyn Tx,
    reference: &Reference,
    envelope: GridEnvelope,
) -> Result<GridCase, CommandError> {
    let (current, counter_last) = match &envelope.request {
        GridRequest::File(_) => {
            let last = lock_counter(tx, &super::counter_key(envelope.at)).await?;
            (None, last)
        }
        GridRequest::Command { case, .. } => {
            let current = tx
                .lock_row("SELECT state FROM grid_cases WHERE no = $1", params![case])
                .await?
                .map(|row| super::parse_case(row.str(0)?))
                .transpose()?;
            (current, 0)
        }
    };
    let plan = super::plan(
        reference,
        envelope,
        current,
        counter_last,
        uuid::Uuid::now_v7(),
    )?;
    let case = &plan.case;
    let state = serde_json::to_string(case)
        .map_err(|e| CommandError::Store(StoreFailure::caused("failed to encode a row", e)))?;
    let handler = case.handler.as_ref().map(|h| h.to_string());
    if plan.new {
        tx.execute(
            "INSERT INTO grid_cases (id, no, version, street, stage, handler, category, filed_at, verified_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                case.id,
                &case.no,
                case.version as i64,
                case.street.as_str(),
                super::stage(case),
                handler,
                case.report.category.as_str(),
                to_millis(case.filed_at),
                super::millis(case.verified_at),
                state
            ],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE grid_cases SET version = $2, stage = $3, handler = $4, verified_at = $5, state = $6 WHERE id = $1",
            params![case.id, case.version as i64, super::stage(case), handler, super::millis(case.verified_at), state],
        )
        .await?;
    }
    let rows = plan
        .records
        .iter()
        .map(|r| {
            crate::events::encode(r.seq, r.at, &r.actor, super::event_name(&r.event), &r.event)
        })
        .collect::<Result<Vec<_>, _>>()?;
    append_events(tx, "grid_events", "case_id", case.id, rows).await?;
    if let Some((key, last)) = &plan.counter {
        write_counter(tx, key, *last).await?;
    }
    Ok(plan.case)
}
