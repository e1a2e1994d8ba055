//! The small executor the cold paths are written against once for both backends: a transaction
//! ([`Tx`]) that runs `$n`-numbered SQL with [`Param`]s and returns backend-neutral [`Row`]s.
//! The two implementations (`sqlite/mod.rs`, `postgres/mod.rs`) are the only places that know
//! how a backend binds a parameter, reads a column, begins a transaction or writes a set of rows;
//! `query.rs` holds the SQL both share, written with `$n` placeholders.
//!
//! The hot paths — the SQLite planner/writer pipeline and the PostgreSQL UNNEST writer — do not
//! go through it: they keep their prepared statements, caches and set-based writes.
//!
//! Invariant: a write transaction holds the only writer (SQLite's writer thread, a pooled
//! PostgreSQL connection in `BEGIN`): between `Db::write` and `commit` the caller runs statements
//! and pure code only — never an order command through the store (that waits for the same
//! writer) and never a wait on anything outside the store.
//! Invariant: a transaction dropped without `commit` rolls back; nothing of it is written.

pub(crate) mod postgres;
pub(crate) mod query;
pub(crate) mod sqlite;

use async_trait::async_trait;

use crate::types::StoreError;

/// A parameter of a statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    /// A UUID (SQLite: its 16 bytes; PostgreSQL: `uuid`).
    Id(uuid::Uuid),
    /// Bytes (SQLite: a blob; PostgreSQL: `bytea`).
    Bytes(Vec<u8>),
}

impl From<&str> for Param {
    fn from(text: &str) -> Param {
        Param::Text(text.to_string())
    }
}
impl From<String> for Param {
    fn from(text: String) -> Param {
        Param::Text(text)
    }
}
impl From<&String> for Param {
    fn from(text: &String) -> Param {
        Param::Text(text.clone())
    }
}
impl From<i64> for Param {
    fn from(value: i64) -> Param {
        Param::Int(value)
    }
}
impl From<bool> for Param {
    fn from(value: bool) -> Param {
        Param::Bool(value)
    }
}
impl From<uuid::Uuid> for Param {
    fn from(value: uuid::Uuid) -> Param {
        Param::Id(value)
    }
}
impl From<Vec<u8>> for Param {
    fn from(value: Vec<u8>) -> Param {
        Param::Bytes(value)
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(value: Option<T>) -> Param {
        value.map(Into::into).unwrap_or(Param::Null)
    }
}

/// Parameters from a list of values of different types: `params![login, active, at]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Param::from($value)),*]
    };
}
pub(crate) use params;

/// One column's value as read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// One row of a result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row(pub Vec<Value>);

fn column_error(index: usize, expected: &str, found: &Value) -> StoreError {
    let found = match found {
        Value::Null => "null",
        Value::Int(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Bool(_) => "boolean",
        Value::Bytes(_) => "bytes",
    };
    StoreError::Other(anyhow::anyhow!(
        "column {index}: expected {expected}, found {found}"
    ))
}

impl Row {
    fn value(&self, index: usize) -> Result<&Value, StoreError> {
        self.0
            .get(index)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("no column {index}")))
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            Value::Text(text) => Ok(Some(text.clone())),
            other => Err(column_error(index, "text", other)),
        }
    }

    /// A text column borrowed (to parse it without a copy).
    pub fn str(&self, index: usize) -> Result<&str, StoreError> {
        match self.value(index)? {
            Value::Text(text) => Ok(text),
            other => Err(column_error(index, "text", other)),
        }
    }

    /// A text column moved out of the row (it reads as null afterwards): large reads build
    /// their rows without copying every string again.
    pub fn take_opt_text(&mut self, index: usize) -> Result<Option<String>, StoreError> {
        match self.0.get_mut(index) {
            Some(Value::Text(text)) => Ok(Some(std::mem::take(text))),
            Some(Value::Null) => Ok(None),
            Some(other) => Err(column_error(index, "text", other)),
            None => Err(StoreError::Other(anyhow::anyhow!("no column {index}"))),
        }
    }

    pub fn take_text(&mut self, index: usize) -> Result<String, StoreError> {
        self.take_opt_text(index)?
            .ok_or_else(|| column_error(index, "text", &Value::Null))
    }

    pub fn text(&self, index: usize) -> Result<String, StoreError> {
        self.opt_text(index)?
            .ok_or_else(|| column_error(index, "text", &Value::Null))
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            Value::Int(value) => Ok(Some(*value)),
            other => Err(column_error(index, "integer", other)),
        }
    }

    pub fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.opt_int(index)?
            .ok_or_else(|| column_error(index, "integer", &Value::Null))
    }

    /// A UUID: PostgreSQL's `uuid`, SQLite's 16 bytes.
    pub fn uuid(&self, index: usize) -> Result<uuid::Uuid, StoreError> {
        match self.value(index)? {
            Value::Bytes(bytes) => uuid::Uuid::from_slice(bytes)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("column {index}: {e}"))),
            other => Err(column_error(index, "uuid", other)),
        }
    }

    /// A bytes column moved out of the row.
    pub fn take_bytes(&mut self, index: usize) -> Result<Vec<u8>, StoreError> {
        match self.0.get_mut(index) {
            Some(Value::Bytes(bytes)) => Ok(std::mem::take(bytes)),
            Some(other) => Err(column_error(index, "bytes", other)),
            None => Err(StoreError::Other(anyhow::anyhow!("no column {index}"))),
        }
    }

    /// A boolean: PostgreSQL's `boolean`, SQLite's 0 or 1.
    pub fn bool(&self, index: usize) -> Result<bool, StoreError> {
        match self.value(index)? {
            Value::Bool(value) => Ok(*value),
            Value::Int(value) => Ok(*value != 0),
            other => Err(column_error(index, "boolean", other)),
        }
    }
}

/// Many rows into one table: how each backend writes a set best (SQLite: one prepared statement
/// per row; PostgreSQL: one statement over `UNNEST` of one array per column).
pub(crate) struct Insert<'a> {
    pub table: &'a str,
    /// Each column with its PostgreSQL type (`text`, `bigint`, `boolean`), for its array.
    pub columns: &'a [(&'a str, &'a str)],
    /// What follows the rows: `ON CONFLICT …`, or nothing.
    pub tail: &'a str,
}

impl Insert<'_> {
    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One row's statement, `$n` numbered.
    pub(crate) fn values_sql(&self) -> String {
        let values = (1..=self.columns.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({}) VALUES ({values}) {}",
            self.table,
            self.column_list(),
            self.tail
        )
    }

    /// The statement over one array per column.
    pub(crate) fn unnest_sql(&self) -> String {
        let arrays = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({arrays}) {}",
            self.table,
            self.column_list(),
            self.tail
        )
    }
}

/// What a write transaction may hold exclusively until it ends. On SQLite a write transaction
/// (`BEGIN IMMEDIATE`) already holds the whole database, so taking one does nothing there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lock {
    /// The reference data: one change of units, catalogue or policy at a time, across servers.
    Reference,
    /// Every order: no command may write one until the transaction ends (a rebuild).
    Orders,
}

/// A transaction on one backend. Dropped without [`Tx::commit`], it rolls back.
///
#[async_trait]
pub(crate) trait Tx: Send {
    /// Every row of a query.
    async fn query(&mut self, sql: &str, params: Vec<Param>) -> Result<Vec<Row>, StoreError>;

    /// Runs a statement; the number of rows it changed.
    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError>;

    /// The suffix that locks the rows a query reads until commit: `FOR UPDATE` on PostgreSQL,
    /// nothing on SQLite, whose write transactions (`BEGIN IMMEDIATE`) hold the database.
    fn lock_suffix(&self) -> &'static str;

    /// Commits everything the transaction did.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Writes decided order plans, in order, inside this transaction with the order
    /// aggregate's own writer (the statements its pipeline uses): how a whistle's outcome
    /// reaches its order, and how a rebuild rewrites a chunk of orders in one step.
    async fn persist_orders(&mut self, plans: Vec<crate::plan::Plan>) -> Result<(), StoreError>;

    /// Adds cells to an evaluation or intake counter table with the order writer's own
    /// statements (set-based on PostgreSQL).
    async fn write_cells(
        &mut self,
        table: crate::db::query::CounterTable,
        cells: Vec<crate::db::query::PeriodCell>,
    ) -> Result<(), StoreError>;

    /// Inserts rows (each as many parameters as the insert has columns).
    async fn insert_rows(
        &mut self,
        insert: &Insert<'_>,
        rows: Vec<Vec<Param>>,
    ) -> Result<(), StoreError> {
        let sql = insert.values_sql();
        for row in rows {
            self.execute(&sql, row).await?;
        }
        Ok(())
    }

    /// Takes a lock until the transaction ends.
    async fn lock(&mut self, lock: Lock) -> Result<(), StoreError>;

    /// The first row of a query, if any.
    async fn query_opt(
        &mut self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The first row of a query, locked against other writers until commit.
    async fn lock_row(&mut self, sql: &str, params: Vec<Param>) -> Result<Option<Row>, StoreError> {
        let sql = format!("{sql}{}", self.lock_suffix());
        self.query_opt(&sql, params).await
    }

    /// Marks a point the transaction can return to ([`Tx::rollback_to`]) without ending.
    async fn savepoint(&mut self, name: &str) -> Result<(), StoreError> {
        self.execute(&format!("SAVEPOINT {name}"), Vec::new())
            .await
            .map(|_| ())
    }

    /// Keeps what was done since the savepoint.
    async fn release(&mut self, name: &str) -> Result<(), StoreError> {
        self.execute(&format!("RELEASE SAVEPOINT {name}"), Vec::new())
            .await
            .map(|_| ())
    }

    /// Undoes what was done since the savepoint (which stays set).
    async fn rollback_to(&mut self, name: &str) -> Result<(), StoreError> {
        self.execute(&format!("ROLLBACK TO SAVEPOINT {name}"), Vec::new())
            .await
            .map(|_| ())
    }
}

/// A write transaction's work: given the transaction, a future that only runs statements and
/// pure code ([`transact`]).
pub(crate) type TxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`TxFuture`]'s work with its result type erased, as a backend receives it.
pub(crate) type Work =
    Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, Box<dyn std::any::Any + Send>> + Send>;

/// Runs `work` in one write transaction and commits it if the work succeeds (rolls it back if
/// not). Where the backend can, the work runs beside the connection: on SQLite, on the writer
/// thread itself, every statement a direct call (no hop between threads per statement), which
/// is what lets whistle commands, grid cases and rebuilds share the writer with the order
/// pipeline without holding it longer than they did when each backend had its own copy.
pub(crate) async fn transact<T: Send + 'static>(
    db: &dyn Db,
    work: impl for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, T> + Send + 'static,
) -> Result<T, StoreError> {
    typed(db.transact_work(erased(work)).await?)
}

/// Runs `work` on one read-only snapshot, where the connection is (on SQLite, on the pooled
/// reader's thread, each statement a direct call).
pub(crate) async fn snapshot<T: Send + 'static>(
    db: &dyn Db,
    work: impl for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, T> + Send + 'static,
) -> Result<T, StoreError> {
    typed(db.snapshot_work(erased(work)).await?)
}

fn erased<T: Send + 'static>(
    work: impl for<'a> FnOnce(&'a mut dyn Tx) -> TxFuture<'a, T> + Send + 'static,
) -> Work {
    Box::new(move |tx| {
        let future = work(tx);
        Box::pin(async move {
            future
                .await
                .map(|value| Box::new(value) as Box<dyn std::any::Any + Send>)
        })
    })
}

/// Runs work on a transaction driven from here, committing it if the work succeeds.
async fn run(mut tx: Box<dyn Tx>, work: Work) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
    let value = work(&mut *tx).await?;
    tx.commit().await?;
    Ok(value)
}

fn typed<T: 'static>(value: Box<dyn std::any::Any + Send>) -> Result<T, StoreError> {
    value
        .downcast::<T>()
        .map(|value| *value)
        .map_err(|_| StoreError::Other(anyhow::anyhow!("a transaction returned another type")))
}

/// A backend's transactions.
#[async_trait]
pub(crate) trait Db: Send + Sync {
    /// One query on its own (a single statement reads one snapshot): no explicit transaction,
    /// so a lookup costs what it did before the executor (one round trip on PostgreSQL).
    async fn query(&self, sql: &str, params: Vec<Param>) -> Result<Vec<Row>, StoreError>;

    /// A read-only transaction: one consistent snapshot for all its queries.
    async fn read(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// A write transaction: on SQLite serialised with every other writer of the database; on
    /// PostgreSQL the rows it writes or locks ([`Tx::lock_row`]) are held until it ends.
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Runs [`snapshot`]'s work on one read snapshot; by default on a [`Db::read`]
    /// transaction driven from the caller.
    async fn snapshot_work(&self, work: Work) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        run(self.read().await?, work).await
    }

    /// Runs [`transact`]'s work in one write transaction; by default on a [`Db::write`]
    /// transaction driven from the caller.
    async fn transact_work(&self, work: Work) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
        run(self.write().await?, work).await
    }

    /// The first row of one query, if any.
    async fn query_opt(&self, sql: &str, params: Vec<Param>) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs one statement in its own write transaction; the number of rows it changed.
    async fn execute(&self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        let sql = sql.to_string();
        let work =
            erased(move |tx: &mut dyn Tx| Box::pin(async move { tx.execute(&sql, params).await }));
        typed(self.transact_work(work).await?)
    }
}

/// A backend as the aggregates written once need it: its executor and its shared reference
/// snapshot (swapped after a reference change commits).
pub(crate) trait Database: Db {
    fn shared_reference(
        &self,
    ) -> &std::sync::RwLock<std::sync::Arc<whistle_core::reference::Reference>>;
}

/// The current reference snapshot.
pub(crate) fn current(
    shared: &std::sync::RwLock<std::sync::Arc<whistle_core::reference::Reference>>,
) -> std::sync::Arc<whistle_core::reference::Reference> {
    match shared.read() {
        Ok(reference) => reference.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Makes `built` the current reference snapshot.
pub(crate) fn swap(
    shared: &std::sync::RwLock<std::sync::Arc<whistle_core::reference::Reference>>,
    built: whistle_core::reference::Reference,
) {
    match shared.write() {
        Ok(mut guard) => *guard = std::sync::Arc::new(built),
        Err(poisoned) => *poisoned.into_inner() = std::sync::Arc::new(built),
    }
}

#[cfg(test)]
mod tests;
