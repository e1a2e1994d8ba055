//! The day counters that number orders, whistles (`W…`) and grid cases (`G…`), kept in one
//! table. The order pipelines keep their own set-based statements for it; these serve the
//! aggregates written one command per transaction.

use crate::db::query as sql;
use crate::db::{params, Tx};
use crate::types::StoreError;

/// The last number issued under a day key (orders, `W…` whistles, `G…` grid cases), locked
/// until the transaction ends.
pub(crate) async fn lock_counter(tx: &mut dyn Tx, key: &str) -> Result<u64, StoreError> {
    tx.execute(
        "INSERT INTO order_counters (day, last) VALUES ($1, 0) ON CONFLICT (day) DO NOTHING",
        params![key],
    )
    .await?;
    let row = tx
        .lock_row(
            "SELECT last FROM order_counters WHERE day = $1",
            params![key],
        )
        .await?;
    Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64)
}

/// Sets a day counter read with [`lock_counter`].
pub(crate) async fn write_counter(tx: &mut dyn Tx, key: &str, last: u64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE order_counters SET last = $2 WHERE day = $1",
        params![key, last as i64],
    )
    .await?;
    Ok(())
}

/// Every cell of an evaluation or intake counter table, keyed `period|unit|category`.
pub(crate) async fn counter_cells(
    tx: &mut dyn Tx,
    table: sql::CounterTable,
) -> Result<Vec<(String, [i64; whistle_core::evaluation::COUNTS])>, StoreError> {
    tx.query(&table.all(), Vec::new())
        .await?
        .iter()
        .map(|row| {
            let key = format!("{}|{}|{}", row.text(0)?, row.text(1)?, row.text(2)?);
            let mut values = [0i64; whistle_core::evaluation::COUNTS];
            for (i, value) in values.iter_mut().enumerate() {
                *value = row.int(3 + i)?;
            }
            Ok((key, values))
        })
        .collect()
}

/// Brings the evaluation counters to the counting rules of the policy: recounted from every
/// order when the counting basis changed, and the period cells rebuilt from the day cells when
/// the period start day changed. Nothing is done when both are as kept.
pub(crate) async fn follow_counting(
    tx: &mut dyn Tx,
    start_day: u32,
    basis: whistle_core::evaluation::CountBasis,
) -> Result<(), StoreError> {
    let kept_start = tx
        .lock_row(sql::PERIOD_START_DAY, Vec::new())
        .await?
        .map(|row| row.text(0))
        .transpose()?;
    let kept_basis = tx
        .query_opt(sql::COUNT_BY, Vec::new())
        .await?
        .map(|row| row.text(0))
        .transpose()?;
    if sql::count_basis(kept_basis)? != basis {
        let mut cells = std::collections::BTreeMap::new();
        let mut after = uuid::Uuid::nil();
        loop {
            let rows = tx
                .query(
                    "SELECT id, state FROM orders WHERE id > $1 ORDER BY id LIMIT 10000",
                    params![after],
                )
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.uuid(0)?;
            for row in &rows {
                sql::recount_add(&mut cells, &crate::parse_state(row.str(1)?)?, basis);
            }
        }
        tx.execute("DELETE FROM eval_counters", Vec::new()).await?;
        let days: Vec<sql::PeriodCell> = cells
            .iter()
            .filter(|(_, c)| !c.is_zero())
            .map(|(k, c)| sql::day_cell(k, c))
            .collect();
        tx.write_cells(sql::CounterTable::Day, days).await?;
        tx.execute(sql::PUT_COUNT_BY, params![basis.name()]).await?;
    } else if kept_start.and_then(|v| v.parse().ok()) == Some(start_day) {
        return Ok(());
    }
    let days = counter_cells(tx, sql::CounterTable::Day).await?;
    tx.execute("DELETE FROM eval_period_counters", Vec::new())
        .await?;
    let cells = sql::recount_periods(&days, start_day)?;
    tx.write_cells(sql::CounterTable::Period, cells).await?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('eval_period_start_day', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![start_day.to_string()],
    )
    .await?;
    Ok(())
}
