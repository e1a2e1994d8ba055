//! Writing a decided order plan on SQLite: events, projections, requesters, texts, units,
//! idempotency records and counters, with prepared statements.

use crate::db::query as sql;
use crate::orders::sqlite::pipeline::*;
use crate::plan::{Plan, Row};
use crate::types::*;
use rusqlite::{params, Connection, OptionalExtension};
use whistle_core::ids::OrderId;
use whistle_core::time::to_millis;

/// A plan's rows in their stored form: each event's payload, each order's state and notice time.
pub(crate) struct Encoded {
    pub(crate) payloads: Vec<String>,
    pub(crate) states: Vec<(String, Option<i64>)>,
}

impl Encoded {
    pub(crate) fn new(plan: &Plan) -> Result<Encoded, StoreError> {
        let payloads = plan
            .events
            .iter()
            .map(|event| serde_json::to_string(&event.payload))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!(e))?;
        let states = plan
            .orders
            .iter()
            .map(|(order, _)| {
                Row::new(order, plan.due_soon_minutes).map(|row| (row.state, row.notice_at))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(Encoded { payloads, states })
    }
}

pub(crate) fn persist(tx: &Connection, plan: &Plan) -> Result<(), StoreError> {
    write(tx, plan, Encoded::new(plan)?, false)
}

/// Writes a plan. `checked`: the plan was decided outside this transaction, so every row it was
/// decided on is checked to be unchanged (any difference is an error, and the caller decides
/// the batch again).
pub(crate) fn write(
    tx: &Connection,
    plan: &Plan,
    encoded: Encoded,
    checked: bool,
) -> Result<(), StoreError> {
    let diverged =
        |what: String| StoreError::Other(anyhow::anyhow!("changed since planned: {what}"));
    persist_intake(tx, plan)?;
    let mut insert_event = tx.prepare_cached(&sql::INSERT_EVENT.replace('$', "?"))?;
    for (event, payload) in plan.events.iter().zip(encoded.payloads) {
        insert_event.execute(params![
            event.order_id.0.as_bytes(),
            event.seq as i64,
            to_millis(event.at),
            event.actor.user,
            event.actor.unit.as_str(),
            event.payload.name(),
            payload
        ])?;
    }
    let mut insert = tx.prepare_cached(&sql::INSERT_ORDER.replace('$', "?"))?;
    // With an expected version (a checked write), the row must still be at it.
    let mut update = tx.prepare_cached(&format!(
        "{} AND (?15 IS NULL OR version = ?15)",
        sql::UPDATE_ORDER.replace('$', "?")
    ))?;
    for ((order, new), (state, notice_at)) in plan.orders.iter().zip(encoded.states) {
        let row = Row {
            order,
            state,
            notice_at,
        };
        let expected = plan.expected.versions.get(&order.id);
        if *new {
            insert.execute(params![
                order.id.0.as_bytes(),
                order.no.as_str(),
                order.version as i64,
                row.stage(),
                order.request_type.as_str(),
                order.channel.as_str(),
                order.category.as_str(),
                order.urgency.as_str(),
                row.territory(0),
                row.territory(1),
                row.territory(2),
                row.lead(),
                to_millis(order.received_at),
                row.respond_by(),
                row.handle_by(),
                row.next_due_at(),
                row.closed_at(),
                row.excluded(),
                row.state,
                row.notice_at,
                order.location.address.as_deref(),
                row.awaiting(),
                row.owed(),
                row.assignee()
            ])?;
        } else {
            let expected = expected.filter(|_| checked);
            let changed = update.execute(params![
                order.id.0.as_bytes(),
                order.version as i64,
                row.stage(),
                row.lead(),
                row.respond_by(),
                row.handle_by(),
                row.next_due_at(),
                row.closed_at(),
                row.excluded(),
                row.state,
                row.notice_at,
                row.awaiting(),
                row.owed(),
                row.assignee(),
                expected.map(|v| *v as i64)
            ])?;
            if let (Some(expected), true) = (expected, changed != 1) {
                return Err(diverged(format!("order {} version {expected}", order.no)));
            }
        }
    }
    if checked {
        // Orders the plan read but did not change (a refused command, a referenced order).
        let written: std::collections::HashSet<OrderId> =
            plan.orders.iter().map(|(order, _)| order.id).collect();
        let mut version = tx.prepare_cached("SELECT version FROM orders WHERE id = ?1")?;
        for (id, expected) in &plan.expected.versions {
            if written.contains(id) {
                continue;
            }
            let stored: Option<i64> = version
                .query_row([id.0.as_bytes()], |r| r.get(0))
                .optional()?;
            if stored != Some(*expected as i64) {
                return Err(diverged(format!("order {id:?} version {expected}")));
            }
        }
        let mut key = tx.prepare_cached(
            "SELECT request_hash, order_id, order_no, version FROM idempotency WHERE principal = ?1 AND key = ?2",
        )?;
        for (slot, record) in &plan.expected.keys {
            if read_key(&mut key, slot)?.as_ref() != Some(record) {
                return Err(diverged(format!("idempotency key of {}", slot.0)));
            }
        }
    }
    let mut link = tx.prepare_cached(
        "INSERT INTO order_units (unit, received_at, order_id, role) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    for l in &plan.unit_links {
        link.execute(params![
            l.unit.as_str(),
            l.received_at,
            l.order_id.0.as_bytes(),
            l.role
        ])?;
    }
    let mut requester = tx.prepare_cached(
        "INSERT INTO requesters (order_id, name, phone, address_detail) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, r) in &plan.requesters {
        requester.execute(params![id.0.as_bytes(), r.name, r.phone, r.address_detail])?;
    }
    let mut counter = tx.prepare_cached(
        "INSERT INTO order_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last",
    )?;
    let mut counter_checked = tx.prepare_cached(
        "INSERT INTO order_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = excluded.last \
         WHERE order_counters.last = ?3",
    )?;
    for (day, last) in &plan.counters {
        match (checked, plan.expected.counters.get(day)) {
            (true, Some(before)) => {
                let changed = counter_checked.execute(params![
                    day.to_string(),
                    *last as i64,
                    *before as i64
                ])?;
                if changed != 1 {
                    return Err(diverged(format!("order numbers of {day}")));
                }
            }
            _ => {
                counter.execute(params![day.to_string(), *last as i64])?;
            }
        }
    }
    let mut key = tx.prepare_cached(
        "INSERT INTO idempotency (principal, key, request_hash, order_id, order_no, version, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let now = to_millis(chrono::Utc::now());
    for ((principal, k), (hash, id, no, version)) in &plan.idempotency {
        key.execute(params![
            principal,
            k,
            hash,
            id.0.as_bytes(),
            no.as_str(),
            *version as i64,
            now
        ])?;
    }
    let mut text = tx.prepare_cached("INSERT INTO order_texts (order_id, text) VALUES (?1, ?2)")?;
    let mut index = tx.prepare_cached(
        "INSERT INTO order_texts_fts (rowid, text) VALUES (last_insert_rowid(), ?1)",
    )?;
    for (id, body) in &plan.texts {
        text.execute(params![id.0.as_bytes(), body])?;
        index.execute(params![body])?;
    }
    if plan.counter_deltas.iter().any(|d| !d.is_empty()) {
        let (start_day, basis) = counting(tx)?;
        let deltas = &plan.counter_deltas[basis.index()];
        let mut counter =
            tx.prepare_cached(&sql::CounterTable::Period.upsert(false).replace('$', "?"))?;
        for cell in sql::period_deltas(deltas, start_day) {
            insert_cell(&mut counter, cell)?;
        }
        let mut counter =
            tx.prepare_cached(&sql::CounterTable::Day.upsert(false).replace('$', "?"))?;
        for (key, counts) in deltas {
            insert_cell(&mut counter, sql::day_cell(key, counts))?;
        }
    }
    Ok(())
}

/// Executes a counter upsert for one cell.
/// Adds counter cells with the writer's upsert (the executor's [`crate::db::Tx::write_cells`]).
pub(crate) fn write_cells(
    tx: &Connection,
    table: sql::CounterTable,
    cells: &[sql::PeriodCell],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(&table.upsert(false).replace('$', "?"))?;
    for cell in cells {
        insert_cell(&mut insert, cell.clone())?;
    }
    Ok(())
}

pub(crate) fn insert_cell(
    statement: &mut rusqlite::Statement<'_>,
    (key, unit, category, v): sql::PeriodCell,
) -> rusqlite::Result<usize> {
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&key, &unit, &category];
    values.extend(v.iter().map(|n| n as &dyn rusqlite::ToSql));
    statement.execute(values.as_slice())
}

/// Adds a plan's intake deltas to the day and month volumes.
pub(crate) fn persist_intake(tx: &Connection, plan: &Plan) -> Result<(), StoreError> {
    if plan.intake_deltas.is_empty() {
        return Ok(());
    }
    let [days, months] = sql::intake_deltas(&plan.intake_deltas);
    for (table, (keys, counts)) in [
        (sql::CounterTable::IntakeDay, days),
        (sql::CounterTable::IntakeMonth, months),
    ] {
        let mut upsert = tx.prepare_cached(&table.intake_upsert(false).replace('$', "?"))?;
        for ((key, territory, category), count) in keys.iter().zip(counts) {
            upsert.execute(params![key, territory, category, count])?;
        }
    }
    Ok(())
}

/// The start day the period counters are kept under.
pub(crate) fn period_start_day(c: &Connection) -> Result<u32, StoreError> {
    let value: Option<String> = c
        .query_row(sql::PERIOD_START_DAY, [], |r| r.get(0))
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(1))
}

/// The start day and basis the counters are kept under.
pub(crate) fn counting(
    c: &Connection,
) -> Result<(u32, whistle_core::evaluation::CountBasis), StoreError> {
    let basis: Option<String> = c.query_row(sql::COUNT_BY, [], |r| r.get(0)).optional()?;
    Ok((period_start_day(c)?, sql::count_basis(basis)?))
}
