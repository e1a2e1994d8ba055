//! Whistle commands written once for both backends over the executor: load under a lock, decide
//! in the core ([`super::plan`]), write the projection, the events, the summoned units and the
//! day counter — and, when a whistle raised on a work order closes, the outcome on the order with
//! the order aggregate's own writer — all in one transaction.
//!
//! Invariant: each command runs in its own savepoint; a refused one leaves no trace and does not
//! affect the others of its batch, which commit together (one fsync on SQLite).

use whistle_core::ids::OrderId;
use whistle_core::reference::Reference;
use whistle_core::time::to_millis;

use super::{WhistleEnvelope, WhistleOutcome, WhistleRequest, WhistleRow};
use crate::counters::{lock_counter, write_counter};
use std::sync::Arc;

use crate::db::{params, transact, Db, Tx};
use crate::events::append_events;
use crate::plan::Loaded;
use crate::types::{CommandError, StoreError, StoreFailure};

/// Runs whistle commands in order in one transaction; one result per envelope.
pub(crate) async fn execute(
    db: &dyn Db,
    reference: Arc<Reference>,
    envelopes: Vec<WhistleEnvelope>,
) -> Vec<Result<WhistleOutcome, CommandError>> {
    let count = envelopes.len();
    if count == 0 {
        return Vec::new();
    }
    let attempt = transact(db, move |tx: &mut dyn Tx| {
        Box::pin(async move {
            let mut results = Vec::with_capacity(count);
            for envelope in envelopes {
                tx.savepoint("whistle_command").await?;
                let result = command(&mut *tx, &reference, envelope).await;
                if result.is_err() {
                    tx.rollback_to("whistle_command").await?;
                }
                tx.release("whistle_command").await?;
                results.push(result);
            }
            Ok(results)
        })
    })
    .await;
    attempt.unwrap_or_else(|error| {
        let failure = StoreFailure::caused("failed to write the whistle commands", error);
        (0..count)
            .map(|_| Err(CommandError::Store(failure.clone())))
            .collect()
    })
}

/// An order's stored state by number, locked like the order writer locks it.
async fn order_state(
    tx: &mut dyn Tx,
    no: &str,
) -> Result<Option<whistle_core::order::Order>, StoreError> {
    tx.lock_row("SELECT state FROM orders WHERE no = $1", params![no])
        .await?
        .map(|row| crate::parse_state(row.str(0)?))
        .transpose()
}

/// One whistle command inside the caller's transaction (nothing is committed here).
async fn command(
    tx: &mut dyn Tx,
    reference: &Reference,
    envelope: WhistleEnvelope,
) -> Result<WhistleOutcome, CommandError> {
    let (current, order_lead, counter_last) = match &envelope.request {
        WhistleRequest::Raise(raise) => {
            let last = lock_counter(tx, &super::counter_key(envelope.at)).await?;
            let lead = match &raise.order {
                Some(no) => match order_state(tx, no.as_str()).await? {
                    Some(order) => order.lead().cloned(),
                    None => return Err(CommandError::NotFound(no.to_string())),
                },
                None => None,
            };
            (None, lead, last)
        }
        WhistleRequest::Command { whistle, .. } => {
            let current = tx
                .lock_row("SELECT state FROM whistles WHERE no = $1", params![whistle])
                .await?
                .map(|row| super::parse_whistle(row.str(0)?))
                .transpose()?;
            (current, None, 0)
        }
    };
    let plan = super::plan(
        reference,
        envelope,
        current,
        order_lead,
        counter_last,
        uuid::Uuid::now_v7(),
    )?;
    let whistle = &plan.whistle;
    let row = WhistleRow::new(whistle)
        .map_err(|e| CommandError::Store(StoreFailure::caused("failed to encode a row", e)))?;
    if plan.new {
        tx.execute(
            "INSERT INTO whistles (id, no, version, street, district, kind, stage, order_no, raised_at, closed_at, escalated, absence_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            params![
                whistle.id,
                &whistle.no,
                whistle.version as i64,
                whistle.street.as_str(),
                whistle.district.as_str(),
                whistle.kind.as_str(),
                row.stage,
                whistle.order.as_ref().map(|o| o.to_string()),
                to_millis(whistle.raised_at),
                row.closed_at,
                row.escalated,
                row.absence_at,
                row.state
            ],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE whistles SET version = $2, stage = $3, closed_at = $4, escalated = $5, absence_at = $6, state = $7 WHERE id = $1",
            params![whistle.id, whistle.version as i64, row.stage, row.closed_at, row.escalated, row.absence_at, row.state],
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
    append_events(tx, "whistle_events", "whistle_id", whistle.id, rows).await?;
    for summons in &whistle.summons {
        tx.execute(
            "INSERT INTO whistle_units (unit, raised_at, whistle_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            params![summons.unit.as_str(), to_millis(whistle.raised_at), whistle.id],
        )
        .await?;
    }
    if let Some((key, last)) = &plan.counter {
        write_counter(tx, key, *last).await?;
    }
    if let Some(item) = super::outcome_for_order(&plan) {
        let mut loaded = Loaded::default();
        if let Some(no) = &plan.whistle.order {
            if let Some(order) = order_state(tx, no.as_str()).await? {
                loaded.insert(order);
            }
        }
        let order_plan = crate::plan::plan(reference, vec![item], loaded, || {
            OrderId(uuid::Uuid::now_v7())
        });
        super::order_result(&order_plan)?;
        tx.persist_orders(vec![order_plan]).await?;
    }
    Ok(WhistleOutcome {
        whistle: Box::new(plan.whistle),
        records: plan.records,
    })
}
