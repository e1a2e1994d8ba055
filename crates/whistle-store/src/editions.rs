//! The stored editions of closed evaluation periods (一张卷子 as published), written once for
//! both backends over the executor. Editions are only ever added: a period's first edition when
//! it is closed, a revision for each later adjustment.

use whistle_core::error::DomainError;
use whistle_core::ids::OrderId;
use whistle_core::order::Event;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use crate::db::{params, Db};
use crate::types::StoreError;

/// One stored edition of a period's evaluation: its number (1 = as closed), kind (`first`,
/// `revision`), when and by whom it was published, why, and the report as published (JSON).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEdition {
    pub period: String,
    pub edition: u32,
    pub kind: String,
    pub at: Timestamp,
    pub by_user: String,
    pub by_unit: String,
    pub note: String,
    pub body: String,
}

const COLUMNS: &str = "period, edition, kind, at, by_user, by_unit, note, body";

fn edition(row: &mut crate::db::Row) -> Result<StoredEdition, StoreError> {
    Ok(StoredEdition {
        period: row.take_text(0)?,
        edition: u32::try_from(row.int(1)?).map_err(|e| anyhow::anyhow!("edition number: {e}"))?,
        kind: row.take_text(2)?,
        at: from_millis(row.int(3)?),
        by_user: row.take_text(4)?,
        by_unit: row.take_text(5)?,
        note: row.take_text(6)?,
        body: row.take_text(7)?,
    })
}

/// Every edition of a period, first to latest.
pub(crate) async fn editions(db: &dyn Db, period: &str) -> Result<Vec<StoredEdition>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM evaluation_editions WHERE period = $1 ORDER BY edition"),
        params![period],
    )
    .await?
    .iter_mut()
    .map(edition)
    .collect()
}

/// Adds an edition; refused when the period already has that edition (a concurrent close or
/// revision: the number is taken once).
pub(crate) async fn add_edition(db: &dyn Db, e: &StoredEdition) -> Result<(), StoreError> {
    let added = db
        .execute(
            &format!(
                "INSERT INTO evaluation_editions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (period, edition) DO NOTHING"
            ),
            params![
                e.period.clone(),
                i64::from(e.edition),
                e.kind.clone(),
                to_millis(e.at),
                e.by_user.clone(),
                e.by_unit.clone(),
                e.note.clone(),
                e.body.clone()
            ],
        )
        .await?;
    if added == 0 {
        return Err(DomainError::EditionRefused {
            period: e.period.chars().take(20).collect(),
            why: whistle_core::error::EditionRefusal::Concurrent,
        }
        .into());
    }
    Ok(())
}

/// The rulings (核减) and objection reviews recorded after `since`, with their orders, oldest
/// first: what may have adjusted a closed period.
pub(crate) async fn adjusting_events(
    db: &dyn Db,
    since: Timestamp,
) -> Result<Vec<Event>, StoreError> {
    db.query(
        "SELECT order_id, seq, at, actor_user, actor_unit, payload FROM events \
         WHERE kind IN ('ruled_unreasonable', 'dispute_reviewed') AND at > $1 ORDER BY at, order_id, seq",
        params![to_millis(since)],
    )
    .await?
    .iter_mut()
    .map(|r| {
        crate::event_from_row(
            OrderId(r.uuid(0)?),
            r.int(1)?,
            r.int(2)?,
            r.take_text(3)?,
            r.str(4)?,
            r.str(5)?,
        )
    })
    .collect()
}
