//! The reads the reports are built from — intake volumes and mix, emergencies, overdue notices,
//! the evaluation cells of a period, the order keys repeat detection compares — written once for
//! both backends over the executor. Each is one query (one snapshot), except a period's cells,
//! which read the start day the period counters are kept under and the cells in one snapshot.

use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::db::{params, Db, Row};
use crate::sql;
use crate::types::{EmergencyRow, EvaluationCell, IntakeMix, IntakeVolume, OrderKey, StoreError};

/// Intake volume cells of a day (`days`) or month key range.
pub(crate) async fn intake_volumes(
    db: &dyn Db,
    days: bool,
    from: &str,
    before: &str,
) -> Result<Vec<IntakeVolume>, StoreError> {
    db.query(&sql::intake_range(days), params![from, before])
        .await?
        .iter()
        .map(|r| {
            Ok(IntakeVolume {
                key: r.text(0)?,
                territory: r.text(1)?,
                category: r.text(2)?,
                count: r.int(3)?,
            })
        })
        .collect()
}

/// Orders received in a range by request type, channel and urgency.
pub(crate) async fn intake_mix(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<IntakeMix>, StoreError> {
    db.query(sql::INTAKE_MIX, params![to_millis(from), to_millis(before)])
        .await?
        .iter()
        .map(|r| {
            Ok(IntakeMix {
                request_type: r.text(0)?,
                channel: r.text(1)?,
                urgency: r.text(2)?,
                count: r.int(3)?,
            })
        })
        .collect()
}

/// Emergency orders received in a range, oldest first.
pub(crate) async fn emergencies(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
    limit: u32,
) -> Result<Vec<EmergencyRow>, StoreError> {
    db.query(
        sql::EMERGENCIES,
        params![to_millis(from), to_millis(before), i64::from(limit)],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(EmergencyRow {
            no: r.text(0)?,
            category: r.text(1)?,
            district: r.opt_text(2)?,
            street: r.opt_text(3)?,
            lead_unit: r.opt_text(4)?,
            stage: r.text(5)?,
            received_at: from_millis(r.int(6)?),
        })
    })
    .collect()
}

/// Overdue notices issued in a range, by lead unit.
pub(crate) async fn overdue_notices(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<(Option<String>, i64)>, StoreError> {
    db.query(
        sql::OVERDUE_NOTICES,
        params![to_millis(from), to_millis(before)],
    )
    .await?
    .iter()
    .map(|r| Ok((r.opt_text(0)?, r.int(1)?)))
    .collect()
}

fn cells(rows: Vec<Row>) -> Result<Vec<EvaluationCell>, StoreError> {
    let cells = rows
        .iter()
        .map(|r| {
            let mut values = [0i64; 9];
            for (i, value) in values.iter_mut().enumerate() {
                *value = r.int(2 + i)?;
            }
            sql::evaluation_cell(&r.text(0)?, &r.text(1)?, values)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sql::in_key_order(cells))
}

/// The evaluation cells of the days `from..before`, summed from the day counters.
pub(crate) async fn evaluation_cells(
    db: &dyn Db,
    from: chrono::NaiveDate,
    before: chrono::NaiveDate,
) -> Result<Vec<EvaluationCell>, StoreError> {
    cells(
        db.query(
            sql::PERIOD_EVAL_COUNTERS,
            params![from.to_string(), before.to_string()],
        )
        .await?,
    )
}

/// The evaluation cells of one period: the period counters when they are kept under
/// `start_day`, otherwise summed from the day counters of `from..before`.
pub(crate) async fn period_cells(
    db: &dyn Db,
    period: &str,
    start_day: u32,
    from: chrono::NaiveDate,
    before: chrono::NaiveDate,
) -> Result<Vec<EvaluationCell>, StoreError> {
    // One snapshot: the start day and the cells it keeps.
    let mut tx = db.read().await?;
    let kept = tx
        .query_opt(sql::PERIOD_START_DAY, Vec::new())
        .await?
        .map(|row| row.text(0))
        .transpose()?;
    let rows = if kept.and_then(|v| v.parse().ok()).unwrap_or(1) == start_day {
        tx.query(sql::ONE_PERIOD_EVAL_COUNTERS, params![period])
            .await?
    } else {
        tx.query(
            sql::PERIOD_EVAL_COUNTERS,
            params![from.to_string(), before.to_string()],
        )
        .await?
    };
    tx.commit().await?;
    cells(rows)
}

/// The keys of the orders received in a range, for repeat detection, oldest first.
pub(crate) async fn order_keys(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<OrderKey>, StoreError> {
    db.query(
        &sql::order_keys(),
        params![to_millis(from), to_millis(before)],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(OrderKey {
            no: r.text(0)?,
            received_at: from_millis(r.int(1)?),
            category: r.text(2)?,
            territory: r.text(3)?,
            place: r.opt_text(4)?,
            phone: r.opt_text(5)?,
            request_type: r.text(6)?,
            channel: r.text(7)?,
            urgency: r.text(8)?,
        })
    })
    .collect()
}
