//! Storage for Whistle: the [`Store`] trait over domain types, with an embedded SQLite backend
//! (the default) and a PostgreSQL backend for production. Both append events and update the
//! projections in one transaction, group-committing concurrent commands, and both pass one
//! conformance suite (`tests/conformance.rs`).

mod accounts;
pub mod attachments;
pub mod backup;
pub mod baseline;
mod counters;
mod db;
pub mod editions;
mod events;
mod faults;
pub mod grids;
mod orders;
mod plan;
mod reads;
mod rebuild;
pub mod reference;
mod settings;
mod types;
pub mod whistles;

pub use types::*;

use async_trait::async_trait;
use std::sync::Arc;
use whistle_core::ids::{Actor, OrderId};
use whistle_core::order::Event;

pub use accounts::AccountStore;
pub use attachments::{Added, Attachment, AttachmentStore, NewAttachment};
pub use faults::Liveness;
pub use grids::GridStore;
pub use orders::{OrderReads, OrderStore};
pub use reads::ReportReads;
pub use reference::{import, seed, ReferenceStore};
pub use whistles::WhistleStore;

/// The schema version this binary knows. A database at another version is refused.
pub const SCHEMA_VERSION: i64 = 18;

/// The whole store, as callers hold it (`Arc<dyn Store>`): one trait per aggregate, each written
/// once over the executor except the order pipelines, and what only a backend knows.
#[async_trait]
pub trait Store:
    OrderStore
    + OrderReads
    + AccountStore
    + AttachmentStore
    + WhistleStore
    + GridStore
    + ReferenceStore
    + ReportReads
    + Send
    + Sync
{
    fn backend(&self) -> Backend;

    /// The store's long-running parts (`writer`, `planner` …) and whether each is running:
    /// readiness answers 503 while any is not.
    fn components(&self) -> Vec<(&'static str, bool)> {
        Vec::new()
    }

    /// Figures about the store's own machinery for `/metrics` (the SQLite log and its lag).
    fn gauges(&self) -> Vec<Gauge> {
        Vec::new()
    }

    /// Rebuilds every projection from the events and reports how many orders differed.
    async fn rebuild_projections(&self) -> Result<RebuildReport, StoreError>;
}

/// One figure for `/metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    pub value: f64,
}

/// How the SQLite writer is sized for its work (PostgreSQL ignores it). A service commits many
/// small batches: SQLite walks the writer's page cache at the end of every write transaction, so
/// it keeps that cache small and few decoded orders. Bulk loading (the simulator, the engine
/// benchmarks) commits few large batches that revisit a day's index pages and orders, so it
/// keeps much more. `[database]` in whistle.toml sets the service's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tuning {
    /// The writer connection's page cache.
    pub writer_cache_mib: u32,
    /// Decoded orders the planner keeps beyond those in flight.
    pub decoded_orders: usize,
    /// The write-ahead log's size at which the checkpointer restarts it, holding commits.
    pub wal_limit_mib: u32,
    /// Reads that run at once, each on its own pooled connection; more wait for one.
    pub readers: usize,
}

impl Tuning {
    /// A service answering requests (`whistle serve`, the CLI).
    pub const SERVICE: Tuning = Tuning {
        writer_cache_mib: 32,
        decoded_orders: 8_192,
        wal_limit_mib: 256,
        readers: 4,
    };
    /// Bulk loading: the simulator and the engine benchmarks.
    pub const BULK: Tuning = Tuning {
        writer_cache_mib: 256,
        decoded_orders: 65_536,
        wal_limit_mib: 1024,
        readers: 4,
    };
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning::SERVICE
    }
}

/// Opens a store from a URL (`sqlite://PATH`, `sqlite::memory:` is not offered: durability is
/// the point; `postgres://…`). With `Migrate::Apply` pending migrations are applied first;
/// otherwise a schema other than [`SCHEMA_VERSION`] is refused with a message naming `whistle migrate`.
pub async fn open(url: &str, migrate: Migrate) -> Result<Arc<dyn Store>, StoreError> {
    open_tuned(url, migrate, Tuning::SERVICE).await
}

/// [`open`] with the SQLite writer sized for `tuning`.
pub async fn open_tuned(
    url: &str,
    migrate: Migrate,
    tuning: Tuning,
) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store =
            db::sqlite::store::SqliteStore::open(std::path::Path::new(path), migrate, tuning)
                .await?;
        follow_replay(Arc::new(store), migrate).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = db::postgres::store::PgStore::open(url, migrate).await?;
        follow_replay(Arc::new(store), migrate).await
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
            redact_url(url)
        )))
    }
}

/// A migration that changed what an order's projection holds marks the database for a replay
/// (`replay_orders` in settings): applying migrations replays every order from its events (the
/// rebuild, which clears the mark); anything else refuses to run on projections that are out of
/// date.
async fn follow_replay<S: Store + db::Db + 'static>(
    store: Arc<S>,
    migrate: Migrate,
) -> Result<Arc<dyn Store>, StoreError> {
    let mark = db::Db::query(
        &*store,
        "SELECT value FROM settings WHERE key = 'replay_orders'",
        Vec::new(),
    )
    .await?;
    if let Some(row) = mark.first() {
        let why = row.text(0)?;
        if migrate != Migrate::Apply {
            return Err(StoreError::Schema(format!(
                "the stored orders predate this binary's {why}: run `whistle migrate` (it replays every order from its events)"
            )));
        }
        tracing::info!("replaying every order from its events ({why})");
        let report = store.rebuild_projections().await?;
        tracing::info!(
            orders = report.orders,
            changed = report.differing.len(),
            "orders replayed"
        );
    }
    Ok(store)
}

/// A URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Refuses a schema this binary does not know; `None` is a database never migrated.
pub(crate) fn check_schema(current: Option<i64>, mode: Migrate) -> Result<(), StoreError> {
    match current {
        Some(version) if version > SCHEMA_VERSION => Err(StoreError::Schema(format!(
            "the database schema is version {version}, newer than this whistle binary knows ({SCHEMA_VERSION}); \
             upgrade whistle — do not run an older binary on it"
        ))),
        Some(version) if version < SCHEMA_VERSION && mode == Migrate::Refuse => Err(StoreError::Schema(format!(
            "the database schema is version {version}, older than this binary's {SCHEMA_VERSION}: run `whistle migrate`"
        ))),
        None if mode == Migrate::Refuse => Err(StoreError::Schema(
            "the database is not initialised: run `whistle init` (or `whistle migrate`)".into(),
        )),
        _ => Ok(()),
    }
}

/// Cuts the extra row fetched to know whether another page exists and makes the cursor.
pub(crate) fn finish_page(
    mut items: Vec<OrderSummary>,
    limit: i64,
    due: bool,
) -> Page<OrderSummary> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next = if more {
        items.last().map(|last| {
            let at = if due {
                last.next_due_at.unwrap_or(last.received_at)
            } else {
                last.received_at
            };
            encode_cursor(whistle_core::time::to_millis(at), last.id)
        })
    } else {
        None
    };
    Page { items, next }
}

pub(crate) fn event_from_row(
    id: OrderId,
    seq: i64,
    at: i64,
    user: String,
    unit: &str,
    payload: &str,
) -> Result<Event, StoreError> {
    let payload =
        serde_json::from_str(payload).map_err(|e| anyhow::anyhow!("corrupt event payload: {e}"))?;
    Ok(Event {
        order_id: id,
        seq: seq as u64,
        at: whistle_core::time::from_millis(at),
        actor: Actor {
            user,
            unit: whistle_core::ids::UnitCode::parse(unit)?,
        },
        payload,
    })
}

/// Decodes a stored projection and checks its invariants (pair assertions: on write and on load).
pub(crate) fn parse_state(state: &str) -> Result<whistle_core::order::Order, StoreError> {
    let order: whistle_core::order::Order = serde_json::from_str(state)
        .map_err(|e| anyhow::anyhow!("corrupt order projection: {e}"))?;
    order
        .check_invariants()
        .map_err(|e| anyhow::anyhow!("order {} fails its invariants on load: {e}", order.no))?;
    Ok(order)
}
