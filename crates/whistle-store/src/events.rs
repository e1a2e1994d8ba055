//! Event rows: those of the aggregates stored one command per transaction (whistles, grid cases,
//! the same columns in `whistle_events` and `grid_events`) written and read once for both
//! backends over the executor, and the work orders' event log read back (the order pipelines
//! write it with their own statements).

use serde::de::DeserializeOwned;
use serde::Serialize;
use whistle_core::ids::{Actor, UnitCode};
use whistle_core::time::{from_millis, to_millis, Timestamp};

use whistle_core::ids::OrderId;
use whistle_core::order::Event;

use crate::db::{params, Db, Row, Tx};
use crate::types::{CommandError, StoreError, StoreFailure};

/// A stored event as read back: seq, time (ms), actor user, actor unit, JSON payload.
pub(crate) type StoredRow = (i64, i64, String, String, String);

/// An event as stored: sequence, time, actor, kind and JSON payload.
pub(crate) struct EventRow {
    pub seq: i64,
    pub at: i64,
    pub user: String,
    pub unit: String,
    pub kind: &'static str,
    pub payload: String,
}

pub(crate) fn encode<E: Serialize>(
    seq: u64,
    at: Timestamp,
    actor: &Actor,
    kind: &'static str,
    event: &E,
) -> Result<EventRow, CommandError> {
    Ok(EventRow {
        seq: seq as i64,
        at: to_millis(at),
        user: actor.user.clone(),
        unit: actor.unit.to_string(),
        kind,
        payload: serde_json::to_string(event)
            .map_err(|e| CommandError::Store(StoreFailure::caused("failed to encode a row", e)))?,
    })
}

/// A stored row back as (seq, time, actor, event).
pub(crate) fn decode<E: DeserializeOwned>(
    (seq, at, user, unit, payload): StoredRow,
) -> Result<(u64, Timestamp, Actor, E), StoreError> {
    let event = serde_json::from_str(&payload)
        .map_err(|e| anyhow::anyhow!("corrupt event payload: {e}"))?;
    Ok((
        seq as u64,
        from_millis(at),
        Actor {
            user,
            unit: UnitCode::parse(&unit)?,
        },
        event,
    ))
}

/// An aggregate's stored events, oldest first (`table`: `whistle_events` or `grid_events`).
pub(crate) async fn read_events(
    db: &dyn crate::db::Db,
    table: &str,
    id_column: &str,
    id: uuid::Uuid,
) -> Result<Vec<StoredRow>, StoreError> {
    let sql = format!(
        "SELECT seq, at, actor_user, actor_unit, payload FROM {table} WHERE {id_column} = $1 ORDER BY seq"
    );
    db.query(&sql, vec![crate::db::Param::Id(id)])
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.int(0)?,
                row.int(1)?,
                row.text(2)?,
                row.text(3)?,
                row.text(4)?,
            ))
        })
        .collect()
}

/// Appends event rows to `table` (`whistle_events` or `grid_events`) for the aggregate `id`.
pub(crate) async fn append_events(
    tx: &mut dyn Tx,
    table: &str,
    id_column: &str,
    id: uuid::Uuid,
    rows: Vec<crate::events::EventRow>,
) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO {table} ({id_column}, seq, at, actor_user, actor_unit, kind, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    for row in rows {
        tx.execute(
            &sql,
            params![
                id,
                row.seq,
                row.at,
                row.user,
                row.unit,
                row.kind,
                row.payload
            ],
        )
        .await?;
    }
    Ok(())
}

const ORDER_HISTORY: &str =
    "SELECT seq, at, actor_user, actor_unit, payload FROM events WHERE order_id = $1 ORDER BY seq";

fn order_events(id: OrderId, rows: Vec<Row>) -> Result<Vec<Event>, StoreError> {
    rows.iter()
        .map(|r| {
            crate::event_from_row(
                id,
                r.int(0)?,
                r.int(1)?,
                r.text(2)?,
                &r.text(3)?,
                &r.text(4)?,
            )
        })
        .collect()
}

/// A work order's events, oldest first.
pub(crate) async fn order_history(db: &dyn Db, id: OrderId) -> Result<Vec<Event>, StoreError> {
    order_events(id, db.query(ORDER_HISTORY, params![id.0]).await?)
}

/// The events of every order with an id in `first..=last`, grouped by order, each oldest
/// first (one read for a chunk of a rebuild).
pub(crate) async fn order_histories_in(
    tx: &mut dyn Tx,
    first: uuid::Uuid,
    last: uuid::Uuid,
) -> Result<std::collections::HashMap<OrderId, Vec<Event>>, StoreError> {
    let mut histories: std::collections::HashMap<OrderId, Vec<Event>> =
        std::collections::HashMap::new();
    for mut r in tx
        .query(
            "SELECT order_id, seq, at, actor_user, actor_unit, payload FROM events \
             WHERE order_id >= $1 AND order_id <= $2 ORDER BY order_id, seq",
            params![first, last],
        )
        .await?
    {
        let id = OrderId(r.uuid(0)?);
        let event = crate::event_from_row(
            id,
            r.int(1)?,
            r.int(2)?,
            r.take_text(3)?,
            r.str(4)?,
            r.str(5)?,
        )?;
        histories.entry(id).or_default().push(event);
    }
    Ok(histories)
}
