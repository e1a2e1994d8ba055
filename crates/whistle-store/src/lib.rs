//! Storage for Whistle: the [`Store`] trait over domain types, with an embedded SQLite backend
//! (the default) and a PostgreSQL backend for production. Both append events and update the
//! projections in one transaction, group-committing concurrent commands, and both pass one
//! conformance suite (`tests/conformance.rs`).

mod accounts;
pub mod baseline;
mod counters;
mod db;
mod events;
mod faults;
pub mod grids;
mod orders;
mod plan;
pub mod postgres;
mod reads;
mod rebuild;
pub mod reference;
mod settings;
mod sql;
pub mod sqlite;
mod types;
pub mod whistles;

pub use types::*;

use async_trait::async_trait;
use std::sync::Arc;
use whistle_core::ids::{Actor, OrderId};
use whistle_core::order::Event;
use whistle_core::org::UnitChange;
use whistle_core::reference::Reference;
use whistle_core::time::Timestamp;

pub use faults::Liveness;
pub use reference::{import, seed};

/// The schema version this binary knows. A database at another version is refused.
pub const SCHEMA_VERSION: i64 = 7;

#[async_trait]
pub trait Store: Send + Sync {
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

    /// The current reference data (units, taxonomy, catalogue, duties, calendar, policy).
    fn reference(&self) -> Arc<Reference>;

    /// Executes commands, group-committed: every command's events are durable when its result
    /// is returned, and a failing command writes nothing. Results are in input order. A command
    /// with an idempotency key that was seen before is not executed again: its first result is
    /// returned (`replayed`), or `idempotency_mismatch` if the request differs.
    async fn execute_items(
        &self,
        batch: Vec<(Envelope, Option<Idempotency>)>,
    ) -> Vec<Result<Outcome, CommandError>>;

    /// Executes commands without idempotency keys.
    async fn execute(&self, batch: Vec<Envelope>) -> Vec<Result<Outcome, CommandError>> {
        self.execute_items(batch.into_iter().map(|envelope| (envelope, None)).collect())
            .await
    }

    /// One command, executed with whatever else is in flight.
    async fn execute_one(&self, envelope: Envelope) -> Result<Outcome, CommandError> {
        self.execute(vec![envelope])
            .await
            .pop()
            .unwrap_or_else(|| Err(CommandError::Store("no result".into())))
    }

    /// An order's current projection.
    async fn order(
        &self,
        target: &OrderRef,
    ) -> Result<Option<whistle_core::order::Order>, StoreError>;

    /// Orders by id, in the order asked; ids not stored are left out. One read for many.
    async fn orders_by_id(
        &self,
        ids: &[OrderId],
    ) -> Result<Vec<whistle_core::order::Order>, StoreError>;

    /// The ids of the orders received in [from, before) or with a dispatch (派单) or a return
    /// visit (回访) recorded in it — every order a period's evaluation can count, whatever its
    /// counting basis — in id order. From the `orders_received` and `events_evaluated` indexes:
    /// the cost follows the period's orders, not the store's.
    async fn period_order_ids(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderId>, StoreError>;

    /// An order's full history, oldest first.
    async fn history(&self, id: OrderId) -> Result<Vec<Event>, StoreError>;

    /// The requester's personal data. Callers must record the reveal (next issue: as an event).
    async fn requester(&self, id: OrderId) -> Result<Option<Requester>, StoreError>;

    /// Orders within `scope` matching a filter, newest first, with keyset pagination.
    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError>;

    /// Open orders whose earliest running deadline is at or before `at`, earliest first.
    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError>;

    /// The units linked to an order (lead, co-handlers, the district copied), ever.
    async fn order_units(
        &self,
        id: OrderId,
    ) -> Result<Vec<(whistle_core::ids::UnitCode, String)>, StoreError>;

    /// Whether an order lies within a scope: the same rule the list queries apply.
    async fn visible(
        &self,
        scope: &Scope,
        order: &whistle_core::order::Order,
    ) -> Result<bool, StoreError> {
        let territory = &order.location.territory;
        Ok(match scope {
            Scope::All => true,
            Scope::District(district) => territory.district.as_ref() == Some(district),
            Scope::Street(street) => territory.street.as_ref() == Some(street),
            Scope::Units(units) => self
                .order_units(order.id)
                .await?
                .iter()
                .any(|(unit, _)| units.contains(unit)),
        })
    }

    /// Creates or updates an account.
    async fn put_user(
        &self,
        account: &Account,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_users(&[(account.clone(), password_hash.to_string())], at)
            .await
    }

    /// Creates or updates accounts (with their password hashes) in one transaction: all or none.
    async fn put_users(
        &self,
        accounts: &[(Account, String)],
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// An account and its password hash.
    async fn user(&self, login: &str) -> Result<Option<(Account, String)>, StoreError>;

    /// All accounts.
    async fn users(&self) -> Result<Vec<Account>, StoreError>;

    /// Stores an integration token record (the secret is never stored).
    async fn put_token(&self, token: &TokenRecord, at: Timestamp) -> Result<(), StoreError>;

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Stores a login session by the hash of its id.
    async fn put_session(
        &self,
        id_hash: &str,
        login: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// A session's login and expiry.
    async fn session(&self, id_hash: &str) -> Result<Option<(String, Timestamp)>, StoreError>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Orders that need a due-soon or overdue notice at `at`, the longest waiting first (the
    /// deadline worker's queue, from the `notice_at` index).
    async fn notices_due(&self, at: Timestamp, limit: u32) -> Result<Vec<OrderId>, StoreError>;

    /// How many open orders have a running deadline at or before `at` (from the due index).
    async fn count_due(&self, at: Timestamp) -> Result<i64, StoreError>;

    /// Raises a whistle or runs a command on one, in its own transaction.
    async fn execute_whistle(
        &self,
        envelope: whistles::WhistleEnvelope,
    ) -> Result<whistles::WhistleOutcome, CommandError>;

    /// Whistle commands in order, each as if by [`Store::execute_whistle`]: each commits
    /// completely or not at all, and a refused one does not affect the others (a backend may
    /// commit them together, each in its own savepoint). One result per envelope, in order.
    async fn execute_whistles(
        &self,
        envelopes: Vec<whistles::WhistleEnvelope>,
    ) -> Vec<Result<whistles::WhistleOutcome, CommandError>> {
        let mut results = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            results.push(self.execute_whistle(envelope).await);
        }
        results
    }

    /// A whistle by its number (`W20251009-000001`).
    async fn whistle(&self, no: &str)
        -> Result<Option<whistle_core::whistle::Whistle>, StoreError>;

    /// A whistle's full history, oldest first.
    async fn whistle_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::whistle::WhistleRecord>, StoreError>;

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

    /// Overdue notices (督办: a deadline passed) recorded in [from, before), per lead unit.
    async fn overdue_notices(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<(Option<String>, i64)>, StoreError>;

    /// The orders received in [from, before), in time order, as repeat detection needs them
    /// (reads the range's orders: an analysis, not a dashboard query).
    async fn order_keys(
        &self,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<OrderKey>, StoreError>;

    /// A stored setting (JSON text) by key, e.g. the chosen topics of the month.
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a setting (JSON text), replacing the previous value, in one transaction.
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Whistle events after a feed position, in position order, each with its whistle's current
    /// projection (for the live feed: the caller filters by jurisdiction). At most `limit`.
    async fn whistle_feed(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<whistles::FeedItem>, StoreError>;

    /// The highest whistle-event position (0 when there is none): where a new feed starts.
    async fn whistle_feed_head(&self) -> Result<i64, StoreError>;

    /// Whistles within a scope, newest first (at most `limit`).
    async fn list_whistles(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError>;

    /// Whistles within a scope raised in [from, before), oldest first (for the double assessment).
    async fn whistles_raised(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::Whistle>, StoreError>;

    /// Per street within a scope: grid cases filed, and grid cases verified, in [from, before).
    async fn grid_counts(
        &self,
        scope: &Scope,
        from: Timestamp,
        before: Timestamp,
    ) -> Result<Vec<whistle_core::whistle::GridCounts>, StoreError>;

    /// Files a grid case or runs a command on one, in its own transaction.
    async fn execute_grid(
        &self,
        envelope: grids::GridEnvelope,
    ) -> Result<whistle_core::grid::GridCase, CommandError>;

    /// A grid case by its number (`G20251009-000001`).
    async fn grid_case(&self, no: &str)
        -> Result<Option<whistle_core::grid::GridCase>, StoreError>;

    /// A grid case's history, oldest first.
    async fn grid_history(
        &self,
        id: uuid::Uuid,
    ) -> Result<Vec<whistle_core::grid::GridRecord>, StoreError>;

    /// Grid cases within a scope, newest first.
    async fn list_grid_cases(
        &self,
        scope: &Scope,
        limit: u32,
    ) -> Result<Vec<whistle_core::grid::GridCase>, StoreError>;

    /// Numbers of open whistles with a summoned unit absent at `at` (the worker's queue).
    async fn absences_due(&self, at: Timestamp, limit: u32) -> Result<Vec<String>, StoreError>;

    /// Counts of orders per stage.
    async fn stage_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Imports reference data in one transaction and swaps the snapshot; nothing on error.
    async fn import(
        &self,
        import: ReferenceImport,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<ImportReport, StoreError>;

    /// Renames, merges, retires or adds a unit, recording the change.
    async fn change_unit(
        &self,
        change: UnitChange,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The entries of a catalogue version (old versions stay readable).
    async fn catalogue_entries(
        &self,
        version: u32,
    ) -> Result<Vec<whistle_core::catalogue::CatalogueEntry>, StoreError>;

    /// The recorded unit changes, oldest first.
    async fn unit_changes(&self) -> Result<Vec<(Timestamp, String, UnitChange)>, StoreError>;

    /// Rebuilds every projection from the events and reports how many orders differed.
    async fn rebuild_projections(&self) -> Result<RebuildReport, StoreError>;

    /// Totals: orders and events stored.
    async fn totals(&self) -> Result<(i64, i64), StoreError>;
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
        let store = sqlite::SqliteStore::open(std::path::Path::new(path), migrate, tuning).await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::open(url, migrate).await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
            redact_url(url)
        )))
    }
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
