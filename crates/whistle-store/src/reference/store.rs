//! Reference data in the database, written once for both backends over the executor: loaded
//! under the reference lock, changed by an import or a change of units in one transaction, and
//! the counting rules of the evaluation counters followed in the same transaction.
//!
//! Invariant: a change of reference data reads the stored reference, prepares and validates the
//! whole new one in memory ([`super::RawReference::prepare`]) and writes it in one transaction
//! holding [`Lock::Reference`]; the backend swaps its shared [`Reference`] only after commit.

use whistle_core::catalogue::CatalogueEntry;
use whistle_core::ids::Actor;
use whistle_core::org::UnitChange;
use whistle_core::reference::Reference;
use whistle_core::time::{from_millis, to_millis, Timestamp};

use super::rows;
use super::{ImportWrites, RawReference};
use crate::db::{params, transact, Db, Insert, Lock, Param, Tx};
use crate::types::{ImportReport, StoreError};

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))
}

fn texts<const N: usize>(row: &crate::db::Row) -> Result<[String; N], StoreError> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = row.opt_text(i)?.unwrap_or_default();
    }
    Ok(out)
}

/// The stored reference data.
pub(crate) async fn load(tx: &mut dyn Tx) -> Result<RawReference, StoreError> {
    let mut raw = RawReference::default();
    for row in tx
        .query(
            "SELECT code, kind, name, parent, line, status, merged_into FROM units",
            Vec::new(),
        )
        .await?
    {
        let unit = rows::unit(texts::<7>(&row)?)?;
        raw.units.insert(unit.code.clone(), unit);
    }
    for row in tx
        .query(
            "SELECT code, name_zh, name_en, handler, urgency, limit_class, public FROM categories",
            Vec::new(),
        )
        .await?
    {
        let category = rows::category(texts::<6>(&row)?, row.bool(6)?)?;
        raw.categories.insert(category.code.clone(), category);
    }
    let version = tx
        .query_opt("SELECT MAX(version) FROM catalogue_versions", Vec::new())
        .await?
        .map(|row| row.opt_int(0))
        .transpose()?
        .flatten();
    raw.catalogue_version = version.unwrap_or(0) as u32;
    raw.catalogue = catalogue_rows(tx, raw.catalogue_version).await?;
    for row in tx
        .query(
            "SELECT holder, category FROM duties ORDER BY holder, category",
            Vec::new(),
        )
        .await?
    {
        raw.duties.push(rows::duty(&row.text(0)?, &row.text(1)?)?);
    }
    for row in tx
        .query("SELECT days FROM calendar_years ORDER BY year", Vec::new())
        .await?
    {
        let year = rows::calendar_year(row.str(0)?)?;
        raw.calendar.insert(year.year, year);
    }
    if let Some(row) = tx
        .query_opt(
            "SELECT value FROM settings WHERE key = 'policy'",
            Vec::new(),
        )
        .await?
    {
        raw.policy = Some(rows::policy(row.str(0)?)?);
    }
    if let Some(row) = tx
        .query_opt(
            "SELECT value FROM settings WHERE key = 'whistle_list'",
            Vec::new(),
        )
        .await?
    {
        raw.whistle_list = rows::whistle_list(row.str(0)?)?;
    }
    Ok(raw)
}

/// The entries of one catalogue version.
pub(crate) async fn catalogue_rows(
    tx: &mut dyn Tx,
    version: u32,
) -> Result<Vec<CatalogueEntry>, StoreError> {
    tx.query(
        "SELECT category, territory, lead, co_handlers FROM catalogue_entries WHERE version = $1 ORDER BY category, territory",
        params![i64::from(version)],
    )
    .await?
    .iter()
    .map(|row| rows::entry(texts::<4>(row)?))
    .collect()
}

/// The entries of one catalogue version, read on their own.
pub(crate) async fn catalogue_entries(
    db: &dyn Db,
    version: u32,
) -> Result<Vec<CatalogueEntry>, StoreError> {
    let mut tx = db.read().await?;
    catalogue_rows(&mut *tx, version).await
}

/// At open: the stored reference under the reference lock, with the evaluation counters
/// brought to the counting rules it holds (so the rules followed are the ones loaded).
pub(crate) async fn open(mut tx: Box<dyn Tx>) -> Result<RawReference, StoreError> {
    tx.lock(Lock::Reference).await?;
    let raw = load(&mut *tx).await?;
    let (start_day, basis) = raw.policy_counting();
    crate::counters::follow_counting(&mut *tx, start_day, basis).await?;
    tx.commit().await?;
    Ok(raw)
}

/// Changes the reference data: `prepare` builds the writes and the new reference from the
/// stored one; both are written, with the counters following the new counting rules, in one
/// transaction. The new reference, for the backend to swap in.
pub(crate) async fn change(
    db: &dyn Db,
    prepare: impl FnOnce(&RawReference) -> Result<(ImportWrites, Reference, ImportReport), StoreError>
        + Send
        + 'static,
    actor: &Actor,
    at: Timestamp,
) -> Result<(ImportReport, Reference), StoreError> {
    let actor = actor.clone();
    transact(db, move |tx: &mut dyn Tx| {
        Box::pin(async move {
            tx.lock(Lock::Reference).await?;
            let raw = load(&mut *tx).await?;
            let (writes, built, report) = prepare(&raw)?;
            write_import(&mut *tx, &writes, &actor, at).await?;
            crate::counters::follow_counting(
                &mut *tx,
                built.policy.evaluation.period_start_day,
                built.policy.evaluation.count_by,
            )
            .await?;
            Ok((report, built))
        })
    })
    .await
}

const UNITS: Insert = Insert {
    table: "units",
    columns: &[
        ("code", "text"),
        ("kind", "text"),
        ("name", "text"),
        ("parent", "text"),
        ("line", "text"),
        ("status", "text"),
        ("merged_into", "text"),
    ],
    tail: "ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
           parent = excluded.parent, line = excluded.line, status = excluded.status, \
           merged_into = excluded.merged_into",
};

const CATALOGUE_ENTRIES: Insert = Insert {
    table: "catalogue_entries",
    columns: &[
        ("version", "bigint"),
        ("category", "text"),
        ("territory", "text"),
        ("lead", "text"),
        ("co_handlers", "text"),
    ],
    tail: "",
};

async fn put_setting(tx: &mut dyn Tx, key: &str, value: String) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .await?;
    Ok(())
}

async fn write_import(
    tx: &mut dyn Tx,
    writes: &ImportWrites,
    actor: &Actor,
    at: Timestamp,
) -> Result<(), StoreError> {
    let at = to_millis(at);
    let actor_text = format!("{}@{}", actor.user, actor.unit);
    let units = writes
        .units
        .iter()
        .map(|unit| {
            rows::unit_fields(unit)
                .into_iter()
                .map(Param::from)
                .collect()
        })
        .collect();
    tx.insert_rows(&UNITS, units).await?;
    for change in &writes.unit_changes {
        tx.execute(
            "INSERT INTO unit_changes (code, at, actor, change) VALUES ($1, $2, $3, $4)",
            params![rows::change_code(change), at, &actor_text, json(change)?],
        )
        .await?;
    }
    for c in &writes.categories {
        tx.execute(
            "INSERT INTO categories (code, name_zh, name_en, handler, urgency, limit_class, public) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en, handler = excluded.handler, \
             urgency = excluded.urgency, limit_class = excluded.limit_class, public = excluded.public",
            params![c.code.as_str(), &c.name_zh, &c.name_en, c.handler.to_string(), c.urgency.as_str(), c.limit_class.as_str(), c.public],
        )
        .await?;
    }
    if let Some((version, note, entries)) = &writes.catalogue {
        tx.execute(
            "INSERT INTO catalogue_versions (version, created_at, actor, note) VALUES ($1, $2, $3, $4)",
            params![i64::from(*version), at, &actor_text, note],
        )
        .await?;
        let values = entries
            .iter()
            .map(|entry| {
                let mut row = params![i64::from(*version)];
                row.extend(rows::entry_fields(entry).into_iter().map(Param::from));
                row
            })
            .collect();
        tx.insert_rows(&CATALOGUE_ENTRIES, values).await?;
    }
    if let Some(duties) = &writes.duties {
        tx.execute("DELETE FROM duties", Vec::new()).await?;
        for (holder, category) in duties {
            tx.execute(
                "INSERT INTO duties (holder, category) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                params![holder.as_str(), category.as_str()],
            )
            .await?;
        }
    }
    for year in &writes.calendar {
        tx.execute(
            "INSERT INTO calendar_years (year, source, days) VALUES ($1, $2, $3) \
             ON CONFLICT (year) DO UPDATE SET source = excluded.source, days = excluded.days",
            params![
                i64::from(year.year),
                &year.source,
                rows::calendar_days(year)?
            ],
        )
        .await?;
    }
    if let Some(policy) = &writes.policy {
        put_setting(tx, "policy", json(policy)?).await?;
    }
    if let Some(items) = &writes.whistle_list {
        put_setting(tx, "whistle_list", json(items)?).await?;
    }
    Ok(())
}

/// The recorded unit changes, oldest first.
pub(crate) async fn unit_changes(
    db: &dyn Db,
) -> Result<Vec<(Timestamp, String, UnitChange)>, StoreError> {
    db.query(
        "SELECT at, actor, change FROM unit_changes ORDER BY position",
        Vec::new(),
    )
    .await?
    .iter()
    .map(|row| {
        let change: UnitChange =
            serde_json::from_str(row.str(2)?).map_err(|e| anyhow::anyhow!(e))?;
        Ok((from_millis(row.int(0)?), row.text(1)?, change))
    })
    .collect()
}
