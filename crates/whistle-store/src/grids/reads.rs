//! Grid case reads, written once for both backends over the executor.

use whistle_core::grid::{GridCase, GridRecord};
use whistle_core::time::{to_millis, Timestamp};

use crate::db::{Db, Param};
use crate::{Scope, StoreError};

fn bound(params: Vec<String>) -> Vec<Param> {
    params.into_iter().map(Param::Text).collect()
}

pub(crate) async fn grid_case(db: &dyn Db, no: &str) -> Result<Option<GridCase>, StoreError> {
    db.query_opt(
        "SELECT state FROM grid_cases WHERE no = $1",
        vec![Param::from(no)],
    )
    .await?
    .map(|row| super::parse_case(row.str(0)?))
    .transpose()
}

pub(crate) async fn grid_history(
    db: &dyn Db,
    id: uuid::Uuid,
) -> Result<Vec<GridRecord>, StoreError> {
    crate::events::read_events(db, "grid_events", "case_id", id)
        .await?
        .into_iter()
        .map(|row| {
            let (seq, at, actor, event) = crate::events::decode(row)?;
            Ok(GridRecord {
                case_id: id,
                seq,
                at,
                actor,
                event,
            })
        })
        .collect()
}

pub(crate) async fn grid_counts(
    db: &dyn Db,
    scope: &Scope,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<whistle_core::whistle::GridCounts>, StoreError> {
    let mut params = Vec::new();
    let condition = super::scope_sql(scope, &mut params, |n| format!("${n}"));
    let sql = super::counts_sql(&condition, to_millis(from), to_millis(before));
    db.query(&sql, bound(params))
        .await?
        .iter()
        .map(|row| super::counts_row(&row.text(0)?, row.int(1)?, row.int(2)?))
        .collect()
}

pub(crate) async fn list_grid_cases(
    db: &dyn Db,
    scope: &Scope,
    limit: u32,
) -> Result<Vec<GridCase>, StoreError> {
    let mut params = Vec::new();
    let condition = super::scope_sql(scope, &mut params, |n| format!("${n}"));
    let limit = i64::from(limit.clamp(1, crate::PAGE_LIMIT_MAX));
    let sql = format!(
        "SELECT g.state FROM grid_cases g WHERE {condition} ORDER BY g.filed_at DESC, g.id DESC LIMIT {limit}"
    );
    db.query(&sql, bound(params))
        .await?
        .iter()
        .map(|row| super::parse_case(row.str(0)?))
        .collect()
}
