//! Rebuilding every projection from the event log, written once for both backends: each order
//! replayed from its events and rewritten with the order writer's own statements, the counter
//! tables recounted from scratch, and what differed from before reported.
//!
//! Invariant: the rebuild holds [`Lock::Orders`] (on SQLite, the write transaction) from the
//! first read to commit, so no command writes an order while it runs; it commits whole or not at
//! all.

use whistle_core::ids::OrderId;
use whistle_core::order::Order;

use crate::counters::counter_cells;
use crate::db::query::{self as sql, CounterTable};
use crate::db::{params, transact, Db, Lock, Tx};
use crate::plan::Plan;
use crate::types::{RebuildReport, StoreError};

/// Orders replayed per read of the log.
const CHUNK: i64 = 1_000;

pub(crate) async fn rebuild(
    db: &dyn Db,
    due_soon_minutes: i64,
) -> Result<RebuildReport, StoreError> {
    transact(db, move |tx: &mut dyn Tx| {
        Box::pin(async move {
            tx.lock(Lock::Orders).await?;
            let mut report = RebuildReport::default();
            let tables = [
                CounterTable::Day,
                CounterTable::Period,
                CounterTable::IntakeDay,
                CounterTable::IntakeMonth,
            ];
            let mut before = Vec::new();
            for table in tables {
                before.push(counter_cells(&mut *tx, table).await?);
            }
            for table in [
                "eval_counters",
                "eval_period_counters",
                "intake_days",
                "intake_months",
            ] {
                tx.execute(&format!("DELETE FROM {table}"), Vec::new())
                    .await?;
            }
            let mut after = uuid::Uuid::nil();
            loop {
                let rows = tx
                    .query(
                        "SELECT id, state FROM orders WHERE id > $1 ORDER BY id LIMIT $2",
                        params![after, CHUNK],
                    )
                    .await?;
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    break;
                };
                let first = first.uuid(0)?;
                after = last.uuid(0)?;
                let mut histories =
                    crate::events::order_histories_in(&mut *tx, first, after).await?;
                let mut plans = Vec::with_capacity(rows.len());
                for row in &rows {
                    let events = histories.remove(&OrderId(row.uuid(0)?)).unwrap_or_default();
                    report.events += events.len() as u64;
                    report.orders += 1;
                    let replayed = Order::from_events(&events)?;
                    let stored: Order = crate::parse_state(row.str(1)?)?;
                    if stored != replayed {
                        report.differing.push(replayed.no.to_string());
                    }
                    // Always rewritten: derived columns (the worker's notice_at) follow the policy.
                    plans.push(Plan::recount(replayed, due_soon_minutes));
                }
                tx.persist_orders(plans).await?;
            }
            tx.execute(
                "DELETE FROM settings WHERE key = 'replay_orders'",
                Vec::new(),
            )
            .await?;
            for (table, before) in tables.into_iter().zip(before) {
                report.counter_cells_differing +=
                    sql::cells_differing(&before, &counter_cells(&mut *tx, table).await?);
            }
            Ok(report)
        })
    })
    .await
}
