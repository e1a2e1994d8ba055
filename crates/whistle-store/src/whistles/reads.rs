//! Whistle reads, written once for both backends over the executor.

use whistle_core::time::{to_millis, Timestamp};
use whistle_core::whistle::Whistle;

use crate::db::{Db, Param, Row};
use crate::{Scope, StoreError, PAGE_LIMIT_MAX};

fn whistles(rows: Vec<Row>) -> Result<Vec<Whistle>, StoreError> {
    rows.iter()
        .map(|row| super::parse_whistle(row.str(0)?))
        .collect()
}

pub(crate) async fn whistle(db: &dyn Db, no: &str) -> Result<Option<Whistle>, StoreError> {
    db.query_opt(
        "SELECT state FROM whistles WHERE no = $1",
        vec![Param::from(no)],
    )
    .await?
    .map(|row| super::parse_whistle(row.str(0)?))
    .transpose()
}

pub(crate) async fn whistle_feed(
    db: &dyn Db,
    after: i64,
    limit: u32,
) -> Result<Vec<super::FeedItem>, StoreError> {
    let limit = i64::from(limit.clamp(1, PAGE_LIMIT_MAX));
    db.query(
        "SELECT e.position, e.whistle_id, e.seq, e.at, e.actor_user, e.actor_unit, e.payload, w.state \
         FROM whistle_events e JOIN whistles w ON w.id = e.whistle_id \
         WHERE e.position > $1 ORDER BY e.position LIMIT $2",
        vec![Param::Int(after), Param::Int(limit)],
    )
    .await?
    .iter()
    .map(|row| {
        super::feed_item(
            row.int(0)?,
            row.uuid(1)?,
            (
                row.int(2)?,
                row.int(3)?,
                row.text(4)?,
                row.text(5)?,
                row.text(6)?,
            ),
            &row.text(7)?,
        )
    })
    .collect()
}

pub(crate) async fn whistle_feed_head(db: &dyn Db) -> Result<i64, StoreError> {
    match db
        .query_opt(
            "SELECT COALESCE(MAX(position), 0) FROM whistle_events",
            Vec::new(),
        )
        .await?
    {
        Some(row) => row.int(0),
        None => Ok(0),
    }
}

pub(crate) async fn list_whistles(
    db: &dyn Db,
    scope: &Scope,
    limit: u32,
) -> Result<Vec<Whistle>, StoreError> {
    let mut params = Vec::new();
    let condition = super::scope_sql(scope, &mut params, |n| format!("${n}"));
    let limit = i64::from(limit.clamp(1, PAGE_LIMIT_MAX));
    let sql = format!(
        "SELECT w.state FROM whistles w WHERE {condition} ORDER BY w.raised_at DESC, w.id DESC LIMIT {limit}"
    );
    whistles(
        db.query(&sql, params.into_iter().map(Param::Text).collect())
            .await?,
    )
}

pub(crate) async fn whistles_raised(
    db: &dyn Db,
    scope: &Scope,
    from: Timestamp,
    before: Timestamp,
) -> Result<Vec<Whistle>, StoreError> {
    // The two times are $1 and $2; the scope's parameters follow.
    let mut texts = vec![String::new(), String::new()];
    let condition = super::scope_sql(scope, &mut texts, |n| format!("${n}"));
    let mut params = vec![Param::Int(to_millis(from)), Param::Int(to_millis(before))];
    params.extend(texts.into_iter().skip(2).map(Param::Text));
    let sql = format!(
        "SELECT w.state FROM whistles w WHERE w.raised_at >= $1 AND w.raised_at < $2 AND {condition} ORDER BY w.raised_at, w.id"
    );
    whistles(db.query(&sql, params).await?)
}

pub(crate) async fn absences_due(
    db: &dyn Db,
    at: Timestamp,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT no FROM whistles WHERE absence_at IS NOT NULL AND absence_at <= $1 ORDER BY absence_at, id LIMIT $2",
        vec![Param::Int(to_millis(at)), Param::Int(i64::from(limit))],
    )
    .await?
    .iter()
    .map(|row| row.text(0))
    .collect()
}
