//! Reads of the order side that are not the hot list and due pages — an order by id or number,
//! its requester, the units of an order, the orders a period touches, the deadline worker's
//! queue, the figures `/metrics` and `whistle status` show — written once for both backends over
//! the executor.

use whistle_core::ids::{OrderId, UnitCode};
use whistle_core::order::Order;
use whistle_core::time::{to_millis, Timestamp};

use crate::db::Row;
use crate::db::{params, Db, Param};
use crate::types::{OrderRef, OrderSummary, Requester, StoreError};
use whistle_core::ids::OrderNo;
use whistle_core::time::from_millis;

/// An order by id or number.
pub(crate) async fn order(db: &dyn Db, target: &OrderRef) -> Result<Option<Order>, StoreError> {
    let row = match target {
        OrderRef::Id(id) => {
            db.query_opt("SELECT state FROM orders WHERE id = $1", params![id.0])
                .await?
        }
        OrderRef::No(no) => {
            db.query_opt(
                "SELECT state FROM orders WHERE no = $1",
                params![no.as_str()],
            )
            .await?
        }
    };
    row.map(|row| crate::parse_state(row.str(0)?)).transpose()
}

/// The requester's personal data (the caller records the reveal).
pub(crate) async fn requester(db: &dyn Db, id: OrderId) -> Result<Option<Requester>, StoreError> {
    db.query_opt(
        "SELECT name, phone, address_detail FROM requesters WHERE order_id = $1",
        params![id.0],
    )
    .await?
    .map(|row| {
        Ok(Requester {
            name: row.opt_text(0)?,
            phone: row.opt_text(1)?,
            address_detail: row.opt_text(2)?,
        })
    })
    .transpose()
}

/// The orders a period touches: received in it, or dispatched or visited in it.
pub(crate) async fn period_order_ids(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<OrderId>, StoreError> {
    db.query(
        crate::db::query::PERIOD_ORDER_IDS,
        params![to_millis(from), to_millis(before)],
    )
    .await?
    .iter()
    .map(|row| Ok(OrderId(row.uuid(0)?)))
    .collect()
}

/// The units linked to an order (lead, co-handlers, the district copied), ever.
pub(crate) async fn order_units(
    db: &dyn Db,
    id: OrderId,
) -> Result<Vec<(UnitCode, String)>, StoreError> {
    db.query(
        "SELECT unit, role FROM order_units WHERE order_id = $1 ORDER BY unit",
        vec![Param::Id(id.0)],
    )
    .await?
    .iter()
    .map(|row| Ok((UnitCode::parse(row.str(0)?)?, row.text(1)?)))
    .collect()
}

/// Orders whose notice is due at `at`, the longest waiting first.
pub(crate) async fn notices_due(
    db: &dyn Db,
    at: Timestamp,
    limit: u32,
) -> Result<Vec<OrderId>, StoreError> {
    db.query(
        "SELECT id FROM orders WHERE notice_at IS NOT NULL AND notice_at <= $1 ORDER BY notice_at, id LIMIT $2",
        vec![Param::Int(to_millis(at)), Param::Int(i64::from(limit))],
    )
    .await?
    .iter()
    .map(|row| Ok(OrderId(row.uuid(0)?)))
    .collect()
}

/// How many open orders have a running deadline at or before `at`.
pub(crate) async fn count_due(db: &dyn Db, at: Timestamp) -> Result<i64, StoreError> {
    match db
        .query_opt(
            "SELECT COUNT(*) FROM orders WHERE next_due_at IS NOT NULL AND next_due_at <= $1",
            vec![Param::Int(to_millis(at))],
        )
        .await?
    {
        Some(row) => row.int(0),
        None => Ok(0),
    }
}

/// Orders per stage.
pub(crate) async fn stage_counts(db: &dyn Db) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(
        "SELECT stage, COUNT(*) FROM orders GROUP BY stage ORDER BY stage",
        Vec::new(),
    )
    .await?
    .iter()
    .map(|row| Ok((row.text(0)?, row.int(1)?)))
    .collect()
}

/// Orders and events stored, counted in one snapshot.
pub(crate) async fn totals(db: &dyn Db) -> Result<(i64, i64), StoreError> {
    crate::db::snapshot(db, |tx: &mut dyn crate::db::Tx| {
        Box::pin(async move {
            let mut counts = [0; 2];
            for (count, sql) in counts
                .iter_mut()
                .zip(["SELECT COUNT(*) FROM orders", "SELECT COUNT(*) FROM events"])
            {
                if let Some(row) = tx.query_opt(sql, Vec::new()).await? {
                    *count = row.int(0)?;
                }
            }
            Ok((counts[0], counts[1]))
        })
    })
    .await
}

/// A caller's orders received since `since`, newest first, at most `limit` — the intake's
/// repeat-caller hint (the analysis policy's window), from the `requesters_phone` index. The
/// phone is matched as stored (the intake page stores digits only).
pub(crate) async fn orders_of_phone(
    db: &dyn Db,
    phone: &str,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<OrderSummary>, StoreError> {
    let sql = format!(
        "SELECT {} FROM requesters r JOIN orders o ON o.id = r.order_id \
         WHERE r.phone = $1 AND o.received_at >= $2 ORDER BY o.received_at DESC LIMIT $3",
        crate::db::query::SUMMARY_COLUMNS
    );
    db.query(&sql, params![phone, to_millis(since), i64::from(limit)])
        .await?
        .iter()
        .map(summary)
        .collect()
}

pub(crate) async fn visits_by(
    db: &dyn Db,
    user: &str,
    since: Timestamp,
) -> Result<Vec<whistle_core::order::VisitResult>, StoreError> {
    let rows = db
        .query(
            "SELECT payload FROM events WHERE kind = 'visited' AND actor_user = $1 AND at >= $2 \
             ORDER BY at",
            params![user, to_millis(since)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            match serde_json::from_str::<whistle_core::order::EventPayload>(row.str(0)?)
                .map_err(|e| anyhow::anyhow!("corrupt event payload: {e}"))?
            {
                whistle_core::order::EventPayload::Visited { result } => Ok(result),
                _ => Err(anyhow::anyhow!("a visit event of another kind").into()),
            }
        })
        .collect()
}

/// An order's list row from [`crate::db::query::SUMMARY_COLUMNS`].
fn summary(row: &Row) -> Result<OrderSummary, StoreError> {
    let ms = |i: usize| -> Result<Option<Timestamp>, StoreError> {
        Ok(row.opt_int(i)?.map(from_millis))
    };
    Ok(OrderSummary {
        id: OrderId(row.uuid(0)?),
        no: OrderNo::parse(row.str(1)?)?,
        version: row.int(2)? as u64,
        stage: row.text(3)?,
        request_type: row.text(4)?,
        category: row.text(5)?,
        urgency: row.text(6)?,
        district: row.opt_text(7)?,
        street: row.opt_text(8)?,
        lead_unit: row.opt_text(9)?,
        received_at: from_millis(row.int(10)?),
        respond_by: ms(11)?,
        handle_by: ms(12)?,
        next_due_at: ms(13)?,
        closed_at: ms(14)?,
        excluded: row.bool(15)?,
    })
}
