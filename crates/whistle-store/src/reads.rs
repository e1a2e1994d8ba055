//! The reads the reports are built from — intake volumes and mix, emergencies, overdue notices,
//! the evaluation cells of a period, the order keys repeat detection compares — written once for
//! both backends over the executor. Each is one query (one snapshot), except a period's cells,
//! which read the start day the period counters are kept under and the cells in one snapshot.

use async_trait::async_trait;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::db::query as sql;
use crate::db::{params, snapshot, Db, Row, Tx};
use crate::types::{
    EmergencyRow, EvaluationCell, IntakeMix, IntakeVolume, OrderKey, OverdueRow, StoreError,
};

/// Intake volume cells of a day (`days`) or month key range.
/// The Beijing days in [from, before) (`YYYY-MM-DD`) on which any request was received.
pub(crate) async fn intake_days_covered(
    db: &dyn Db,
    from: &str,
    before: &str,
) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT DISTINCT day FROM intake_days WHERE day >= $1 AND day < $2 AND count <> 0 ORDER BY day",
        params![from, before],
    )
    .await?
    .into_iter()
    .map(|mut r| r.take_text(0))
    .collect()
}

pub(crate) async fn intake_volumes(
    db: &dyn Db,
    days: bool,
    from: &str,
    before: &str,
) -> Result<Vec<IntakeVolume>, StoreError> {
    db.query(&sql::intake_range(days), params![from, before])
        .await?
        .into_iter()
        .map(|mut r| {
            Ok(IntakeVolume {
                key: r.take_text(0)?,
                territory: r.take_text(1)?,
                category: r.take_text(2)?,
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
        .into_iter()
        .map(|mut r| {
            Ok(IntakeMix {
                request_type: r.take_text(0)?,
                channel: r.take_text(1)?,
                urgency: r.take_text(2)?,
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
    .into_iter()
    .map(|mut r| {
        Ok(EmergencyRow {
            no: r.take_text(0)?,
            category: r.take_text(1)?,
            district: r.take_opt_text(2)?,
            street: r.take_opt_text(3)?,
            lead_unit: r.take_opt_text(4)?,
            stage: r.take_text(5)?,
            received_at: from_millis(r.int(6)?),
        })
    })
    .collect()
}

/// The orders that became overdue in a range, by lead unit.
pub(crate) async fn overdue_notices(
    db: &dyn Db,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<OverdueRow>, StoreError> {
    db.query(
        sql::OVERDUE_NOTICES,
        params![to_millis(from), to_millis(before)],
    )
    .await?
    .into_iter()
    .map(|mut r| {
        Ok(OverdueRow {
            unit: r.take_opt_text(0)?,
            orders: r.int(1)?,
            response_missed: r.int(2)?,
            handling_missed: r.int(3)?,
        })
    })
    .collect()
}

fn cells(rows: Vec<Row>) -> Result<Vec<EvaluationCell>, StoreError> {
    let cells = rows
        .iter()
        .map(|r| {
            let mut values = [0i64; whistle_core::evaluation::COUNTS];
            for (i, value) in values.iter_mut().enumerate() {
                *value = r.int(2 + i)?;
            }
            sql::evaluation_cell(r.str(0)?, r.str(1)?, values)
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
            &sql::PERIOD_EVAL_COUNTERS,
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
    let period = period.to_string();
    let rows = snapshot(db, move |tx: &mut dyn Tx| {
        Box::pin(async move {
            let kept = tx
                .query_opt(sql::PERIOD_START_DAY, Vec::new())
                .await?
                .map(|row| row.text(0))
                .transpose()?;
            if kept.and_then(|v| v.parse().ok()).unwrap_or(1) == start_day {
                tx.query(&sql::ONE_PERIOD_EVAL_COUNTERS, params![period])
                    .await
            } else {
                tx.query(
                    &sql::PERIOD_EVAL_COUNTERS,
                    params![from.to_string(), before.to_string()],
                )
                .await
            }
        })
    })
    .await?;
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
    .into_iter()
    .map(|mut r| {
        Ok(OrderKey {
            no: r.take_text(0)?,
            received_at: from_millis(r.int(1)?),
            category: r.take_text(2)?,
            territory: r.take_text(3)?,
            place: r.take_opt_text(4)?,
            phone: r.take_opt_text(5)?,
            request_type: r.take_text(6)?,
            channel: r.take_text(7)?,
            urgency: r.take_text(8)?,
        })
    })
    .collect()
}

/// The reads the reports are built from, written once for both backends.
#[async_trait]
pub trait ReportReads: Send + Sync {
    /// The evaluation counters of the days [from, before), summed per (unit, category): reads
    /// the period's counter cells, never its orders.
    async fn evaluation_cells(
        &self,
        from: chrono::NaiveDate,
        before: chrono::NaiveDate,
    ) -> Result<Vec<EvaluationCell>, StoreError>;

    /// The counters of the evaluation period `period` (`YYYY-MM`, the days [from, before) under
    /// `start_day`) summed per (unit, category): read from the period counters — O(units ×
    /// categories) — when they are kept under `start_day`, otherwise summed from the day counters.
    async fn period_cells(
        &self,
        period: &str,
        start_day: u32,
        from: chrono::NaiveDate,
        before: chrono::NaiveDate,
    ) -> Result<Vec<EvaluationCell>, StoreError>;

    /// Intake volumes with keys in [from, before): days (`YYYY-MM-DD`) when `days`, else
    /// calendar months (`YYYY-MM`). O(cells of the range), never orders.
    async fn intake_volumes(
        &self,
        days: bool,
        from: &str,
        before: &str,
    ) -> Result<Vec<IntakeVolume>, StoreError>;

    /// Every stored edition of an evaluation period, first to latest (none while it is open).
    async fn editions(
        &self,
        period: &str,
    ) -> Result<Vec<crate::editions::StoredEdition>, StoreError>;

    /// Adds an edition of a period's evaluation; refused if that edition number exists.
    async fn add_edition(&self, edition: &crate::editions::StoredEdition)
        -> Result<(), StoreError>;

    /// The rulings and objection reviews recorded after `since` (what adjusts closed periods).
    async fn adjusting_events(
        &self,
        since: Timestamp,
    ) -> Result<Vec<whistle_core::order::Event>, StoreError>;

    /// The days in [from, before) (`YYYY-MM-DD`) with any request received: how much of a
    /// period the data cover (a month with 8 days of data is a partial month).
    async fn intake_days_covered(
        &self,
        from: &str,
        before: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Orders received in [from, before) per request type, channel and urgency (reads the
    /// range's orders through the received-time index).
    async fn intake_mix(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<IntakeMix>, StoreError>;

    /// Emergency orders received in [from, before), in time order, at most `limit`.
    async fn emergencies(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<EmergencyRow>, StoreError>;

    /// The orders that became overdue (督办: a deadline passed) in [from, before), per lead
    /// unit: each order once, and the response and handling deadlines missed.
    async fn overdue_notices(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OverdueRow>, StoreError>;

    /// The orders received in [from, before), in time order, as repeat detection needs them
    /// (reads the range's orders: an analysis, not a dashboard query).
    async fn order_keys(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderKey>, StoreError>;
}

#[async_trait]
impl<T: crate::db::Db> ReportReads for T {
    async fn evaluation_cells(
        &self,
        from: chrono::NaiveDate,
        before: chrono::NaiveDate,
    ) -> Result<Vec<EvaluationCell>, StoreError> {
        crate::reads::evaluation_cells(self, from, before).await
    }

    async fn period_cells(
        &self,
        period: &str,
        start_day: u32,
        from: chrono::NaiveDate,
        before: chrono::NaiveDate,
    ) -> Result<Vec<EvaluationCell>, StoreError> {
        crate::reads::period_cells(self, period, start_day, from, before).await
    }

    async fn intake_volumes(
        &self,
        days: bool,
        from: &str,
        before: &str,
    ) -> Result<Vec<IntakeVolume>, StoreError> {
        crate::reads::intake_volumes(self, days, from, before).await
    }

    async fn intake_days_covered(
        &self,
        from: &str,
        before: &str,
    ) -> Result<Vec<String>, StoreError> {
        crate::reads::intake_days_covered(self, from, before).await
    }

    async fn editions(
        &self,
        period: &str,
    ) -> Result<Vec<crate::editions::StoredEdition>, StoreError> {
        crate::editions::editions(self, period).await
    }

    async fn add_edition(
        &self,
        edition: &crate::editions::StoredEdition,
    ) -> Result<(), StoreError> {
        crate::editions::add_edition(self, edition).await
    }

    async fn adjusting_events(
        &self,
        since: Timestamp,
    ) -> Result<Vec<whistle_core::order::Event>, StoreError> {
        crate::editions::adjusting_events(self, since).await
    }

    async fn intake_mix(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<IntakeMix>, StoreError> {
        crate::reads::intake_mix(self, from, before).await
    }

    async fn emergencies(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<EmergencyRow>, StoreError> {
        crate::reads::emergencies(self, from, before, limit).await
    }

    async fn overdue_notices(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OverdueRow>, StoreError> {
        crate::reads::overdue_notices(self, from, before).await
    }

    async fn order_keys(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderKey>, StoreError> {
        crate::reads::order_keys(self, from, before).await
    }
}
