//! Writing a decided order plan on PostgreSQL: one statement per table over `UNNEST` arrays.

use crate::db::postgres::store::*;
use crate::db::query as sql;
use crate::plan::{Plan, Row};
use crate::types::*;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;
use whistle_core::time::to_millis;

/// Column arrays for one `INSERT … UNNEST` of events.
pub(crate) type EventColumns<'a> = (
    Vec<uuid::Uuid>,
    Vec<i64>,
    Vec<i64>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<String>,
);

/// Writes a plan in the caller's transaction, one statement per table.
pub(crate) async fn persist(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    write_intake(tx, plan).await?;
    write_events(tx, plan).await?;
    let rows: Vec<(Row, bool)> = plan
        .orders
        .iter()
        .map(|(order, new)| Ok((Row::new(order, plan.due_soon_minutes)?, *new)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    let new: Vec<&Row> = rows.iter().filter(|(_, n)| *n).map(|(r, _)| r).collect();
    let old: Vec<&Row> = rows.iter().filter(|(_, n)| !*n).map(|(r, _)| r).collect();
    insert_orders(tx, &new).await?;
    update_orders(tx, &old).await?;
    write_unit_links(tx, plan).await?;
    write_requesters(tx, plan).await?;
    write_idempotency(tx, plan).await?;
    write_texts(tx, plan).await?;
    write_order_counters(tx, plan).await?;
    write_counter_deltas(tx, plan).await
}

/// The intake volumes (受理量) by day and by month.
async fn write_intake(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.intake_deltas.is_empty() {
        return Ok(());
    }
    let [days, months] = sql::intake_deltas(&plan.intake_deltas);
    for (table, (keys, counts)) in [
        (sql::CounterTable::IntakeDay, days),
        (sql::CounterTable::IntakeMonth, months),
    ] {
        let key: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let territory: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
        let category: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        tx.execute(
            &table.intake_upsert(true),
            &[&key, &territory, &category, &counts],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}

/// The batch's events, appended.
async fn write_events(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.events.is_empty() {
        return Ok(());
    }
    let mut cols: EventColumns = Default::default();
    for e in &plan.events {
        cols.0.push(e.order_id.0);
        cols.1.push(e.seq as i64);
        cols.2.push(to_millis(e.at));
        cols.3.push(&e.actor.user);
        cols.4.push(e.actor.unit.as_str());
        cols.5.push(e.payload.name());
        cols.6
            .push(serde_json::to_string(&e.payload).map_err(|e| anyhow::anyhow!(e))?);
    }
    tx.execute(
        "INSERT INTO events (order_id, seq, at, actor_user, actor_unit, kind, payload) \
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])",
        &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The projections of the orders the batch created.
async fn insert_orders(tx: &impl GenericClient, new: &[&Row<'_>]) -> Result<(), StoreError> {
    if new.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = new.iter().map(|r| r.order.id.0).collect();
    let nos: Vec<&str> = new.iter().map(|r| r.order.no.as_str()).collect();
    let versions: Vec<i64> = new.iter().map(|r| r.order.version as i64).collect();
    let stages: Vec<&str> = new.iter().map(|r| r.stage()).collect();
    let types: Vec<&str> = new.iter().map(|r| r.order.request_type.as_str()).collect();
    let channels: Vec<&str> = new.iter().map(|r| r.order.channel.as_str()).collect();
    let categories: Vec<&str> = new.iter().map(|r| r.order.category.as_str()).collect();
    let urgencies: Vec<&str> = new.iter().map(|r| r.order.urgency.as_str()).collect();
    let districts: Vec<Option<&str>> = new.iter().map(|r| r.territory(0)).collect();
    let streets: Vec<Option<&str>> = new.iter().map(|r| r.territory(1)).collect();
    let communities: Vec<Option<&str>> = new.iter().map(|r| r.territory(2)).collect();
    let leads: Vec<Option<&str>> = new.iter().map(|r| r.lead()).collect();
    let received: Vec<i64> = new.iter().map(|r| to_millis(r.order.received_at)).collect();
    let respond: Vec<Option<i64>> = new.iter().map(|r| r.respond_by()).collect();
    let handle: Vec<Option<i64>> = new.iter().map(|r| r.handle_by()).collect();
    let due: Vec<Option<i64>> = new.iter().map(|r| r.next_due_at()).collect();
    let closed: Vec<Option<i64>> = new.iter().map(|r| r.closed_at()).collect();
    let excluded: Vec<bool> = new.iter().map(|r| r.excluded()).collect();
    let states: Vec<&str> = new.iter().map(|r| r.state.as_str()).collect();
    let notices: Vec<Option<i64>> = new.iter().map(|r| r.notice_at).collect();
    let places: Vec<Option<&str>> = new
        .iter()
        .map(|r| r.order.location.address.as_deref())
        .collect();
    let awaiting: Vec<Option<i16>> = new.iter().map(|r| r.awaiting()).collect();
    let owed: Vec<Option<i16>> = new.iter().map(|r| r.owed()).collect();
    let assignees: Vec<Option<&str>> = new.iter().map(|r| r.assignee()).collect();
    let params: [&(dyn ToSql + Sync); 24] = [
        &ids,
        &nos,
        &versions,
        &stages,
        &types,
        &channels,
        &categories,
        &urgencies,
        &districts,
        &streets,
        &communities,
        &leads,
        &received,
        &respond,
        &handle,
        &due,
        &closed,
        &excluded,
        &states,
        &notices,
        &places,
        &awaiting,
        &owed,
        &assignees,
    ];
    tx.execute(
        "INSERT INTO orders (id, no, version, stage, request_type, channel, category, urgency, district, street, \
         community, lead_unit, received_at, respond_by, handle_by, next_due_at, closed_at, excluded, state, notice_at, place, awaiting, owed, assignee) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[], \
         $16::bigint[], $17::bigint[], $18::boolean[], $19::text[], $20::bigint[], $21::text[], $22::smallint[], $23::smallint[], $24::text[])",
        &params,
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The projections of the orders the batch changed.
async fn update_orders(tx: &impl GenericClient, old: &[&Row<'_>]) -> Result<(), StoreError> {
    if old.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = old.iter().map(|r| r.order.id.0).collect();
    let versions: Vec<i64> = old.iter().map(|r| r.order.version as i64).collect();
    let stages: Vec<&str> = old.iter().map(|r| r.stage()).collect();
    let leads: Vec<Option<&str>> = old.iter().map(|r| r.lead()).collect();
    let respond: Vec<Option<i64>> = old.iter().map(|r| r.respond_by()).collect();
    let handle: Vec<Option<i64>> = old.iter().map(|r| r.handle_by()).collect();
    let due: Vec<Option<i64>> = old.iter().map(|r| r.next_due_at()).collect();
    let closed: Vec<Option<i64>> = old.iter().map(|r| r.closed_at()).collect();
    let excluded: Vec<bool> = old.iter().map(|r| r.excluded()).collect();
    let states: Vec<&str> = old.iter().map(|r| r.state.as_str()).collect();
    let notices: Vec<Option<i64>> = old.iter().map(|r| r.notice_at).collect();
    let awaiting: Vec<Option<i16>> = old.iter().map(|r| r.awaiting()).collect();
    let owed: Vec<Option<i16>> = old.iter().map(|r| r.owed()).collect();
    let assignees: Vec<Option<&str>> = old.iter().map(|r| r.assignee()).collect();
    tx.execute(
        "UPDATE orders AS o SET version = u.version, stage = u.stage, lead_unit = u.lead_unit, respond_by = u.respond_by, \
         handle_by = u.handle_by, next_due_at = u.next_due_at, closed_at = u.closed_at, excluded = u.excluded, state = u.state, notice_at = u.notice_at, \
         awaiting = u.awaiting, owed = u.owed, assignee = u.assignee \
         FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], \
         $8::bigint[], $9::boolean[], $10::text[], $11::bigint[], $12::smallint[], $13::smallint[], $14::text[]) \
         AS u(id, version, stage, lead_unit, respond_by, handle_by, next_due_at, closed_at, excluded, state, notice_at, awaiting, owed, assignee) \
         WHERE o.id = u.id",
        &[&ids, &versions, &stages, &leads, &respond, &handle, &due, &closed, &excluded, &states, &notices, &awaiting, &owed, &assignees],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The units' links to the orders they were dispatched.
async fn write_unit_links(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.unit_links.is_empty() {
        return Ok(());
    }
    let units: Vec<&str> = plan.unit_links.iter().map(|l| l.unit.as_str()).collect();
    let received: Vec<i64> = plan.unit_links.iter().map(|l| l.received_at).collect();
    let ids: Vec<uuid::Uuid> = plan.unit_links.iter().map(|l| l.order_id.0).collect();
    let roles: Vec<&str> = plan.unit_links.iter().map(|l| l.role).collect();
    tx.execute(
        "INSERT INTO order_units (unit, received_at, order_id, role) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::text[]) ON CONFLICT DO NOTHING",
        &[&units, &received, &ids, &roles],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The requesters of the new orders (personal data, its own table).
async fn write_requesters(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.requesters.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = plan.requesters.iter().map(|(id, _)| id.0).collect();
    let names: Vec<Option<&str>> = plan
        .requesters
        .iter()
        .map(|(_, r)| r.name.as_deref())
        .collect();
    let phones: Vec<Option<&str>> = plan
        .requesters
        .iter()
        .map(|(_, r)| r.phone.as_deref())
        .collect();
    let addresses: Vec<Option<&str>> = plan
        .requesters
        .iter()
        .map(|(_, r)| r.address_detail.as_deref())
        .collect();
    tx.execute(
        "INSERT INTO requesters (order_id, name, phone, address_detail) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])",
        &[&ids, &names, &phones, &addresses],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The idempotency records of the batch's keyed commands.
async fn write_idempotency(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.idempotency.is_empty() {
        return Ok(());
    }
    let principals: Vec<&str> = plan
        .idempotency
        .iter()
        .map(|((p, _), _)| p.as_str())
        .collect();
    let keys: Vec<&str> = plan
        .idempotency
        .iter()
        .map(|((_, k), _)| k.as_str())
        .collect();
    let hashes: Vec<&str> = plan
        .idempotency
        .iter()
        .map(|(_, (h, _, _, _))| h.as_str())
        .collect();
    let ids: Vec<uuid::Uuid> = plan
        .idempotency
        .iter()
        .map(|(_, (_, id, _, _))| id.0)
        .collect();
    let nos: Vec<&str> = plan
        .idempotency
        .iter()
        .map(|(_, (_, _, no, _))| no.as_str())
        .collect();
    let versions: Vec<i64> = plan
        .idempotency
        .iter()
        .map(|(_, (_, _, _, v))| *v as i64)
        .collect();
    let now = to_millis(chrono::Utc::now());
    tx.execute(
        "INSERT INTO idempotency (principal, key, request_hash, order_id, order_no, version, created_at) \
         SELECT p, k, h, i, n, v, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::bigint[]) AS u(p, k, h, i, n, v)",
        &[&principals, &keys, &hashes, &ids, &nos, &versions, &now],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The request texts, for the search index.
async fn write_texts(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.texts.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = plan.texts.iter().map(|(id, _)| id.0).collect();
    let texts: Vec<&str> = plan.texts.iter().map(|(_, t)| t.as_str()).collect();
    tx.execute(
        "INSERT INTO order_texts (order_id, text) SELECT * FROM UNNEST($1::uuid[], $2::text[])",
        &[&ids, &texts],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The last order number of each day the batch numbered.
async fn write_order_counters(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.counters.is_empty() {
        return Ok(());
    }
    let days: Vec<String> = plan.counters.iter().map(|(d, _)| d.to_string()).collect();
    let lasts: Vec<i64> = plan.counters.iter().map(|(_, l)| *l as i64).collect();
    tx.execute(
        "UPDATE order_counters AS c SET last = u.last FROM UNNEST($1::text[], $2::bigint[]) AS u(day, last) WHERE c.day = u.day",
        &[&days, &lasts],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// The evaluation counters (一张卷子), under the counting basis and period stored in the
/// settings, read in this transaction.
async fn write_counter_deltas(tx: &impl GenericClient, plan: &Plan) -> Result<(), StoreError> {
    if plan.counter_deltas.iter().all(|d| d.is_empty()) {
        return Ok(());
    }
    // FOR SHARE: a change of counting rules (which locks the row for update and recounts)
    // waits for this batch, and this batch for it, so no delta lands under the wrong rules.
    let start_day: Option<String> = tx
        .query_opt(&format!("{} FOR SHARE", sql::PERIOD_START_DAY), &[])
        .await
        .map_err(pg)?
        .map(|r| r.get(0));
    let start_day = start_day.and_then(|v| v.parse().ok()).unwrap_or(1);
    let basis: Option<String> = tx
        .query_opt(sql::COUNT_BY, &[])
        .await
        .map_err(pg)?
        .map(|r| r.get(0));
    let deltas = &plan.counter_deltas[sql::count_basis(basis)?.index()];
    let periods = sql::period_deltas(deltas, start_day);
    upsert_cells(tx, sql::CounterTable::Period, &periods).await?;
    let days: Vec<sql::PeriodCell> = deltas.iter().map(|(k, c)| sql::day_cell(k, c)).collect();
    upsert_cells(tx, sql::CounterTable::Day, &days).await?;
    Ok(())
}

/// Adds counter-cell deltas (unique keys: day or period, unit, category) in one statement.
pub(crate) async fn upsert_cells(
    tx: &impl GenericClient,
    table: sql::CounterTable,
    cells: &[sql::PeriodCell],
) -> Result<(), StoreError> {
    if cells.is_empty() {
        return Ok(());
    }
    let periods: Vec<&str> = cells.iter().map(|c| c.0.as_str()).collect();
    let units: Vec<&str> = cells.iter().map(|c| c.1.as_str()).collect();
    let categories: Vec<&str> = cells.iter().map(|c| c.2.as_str()).collect();
    let columns: Vec<Vec<i64>> = (0..whistle_core::evaluation::COUNTS)
        .map(|i| cells.iter().map(|c| c.3[i]).collect())
        .collect();
    let mut values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        vec![&periods, &units, &categories];
    values.extend(
        columns
            .iter()
            .map(|c| c as &(dyn tokio_postgres::types::ToSql + Sync)),
    );
    tx.execute(&table.upsert(true), &values).await.map_err(pg)?;
    Ok(())
}
