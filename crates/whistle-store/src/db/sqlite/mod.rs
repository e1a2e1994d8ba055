//! The executor on SQLite: how a parameter binds, how a column reads, and a transaction served on
//! the connection's own thread (the writer thread for writes, a pooled reader for reads) while
//! the async caller sends it statements one at a time.

pub(crate) mod checkpoint;
pub(crate) mod store;

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

use super::{Param, Row, Tx, Value};
use crate::types::StoreError;

/// `$n` placeholders as SQLite's `?n`.
pub(crate) fn sql(text: &str) -> String {
    text.replace('$', "?")
}

/// The parameters as rusqlite binds them (a UUID as its 16 bytes, a boolean as 0 or 1).
pub(crate) fn bind(params: &[Param]) -> Vec<Box<dyn rusqlite::ToSql>> {
    params
        .iter()
        .map(|p| -> Box<dyn rusqlite::ToSql> {
            match p {
                Param::Null => Box::new(rusqlite::types::Null),
                Param::Text(t) => Box::new(t.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Bool(b) => Box::new(*b),
                Param::Id(id) => Box::new(id.as_bytes().to_vec()),
                Param::Bytes(bytes) => Box::new(bytes.clone()),
            }
        })
        .collect()
}

fn value(column: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match column {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Other(e.into()))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

/// Runs a query on a connection: every row.
pub(crate) fn query(
    connection: &Connection,
    text: &str,
    params: &[Param],
) -> Result<Vec<Row>, StoreError> {
    let mut statement = connection.prepare_cached(&sql(text))?;
    let columns = statement.column_count();
    let bound = bind(params);
    let mut rows = statement.query(rusqlite::params_from_iter(bound.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            values.push(value(row.get_ref(index)?)?);
        }
        out.push(Row(values));
    }
    Ok(out)
}

fn execute(connection: &Connection, text: &str, params: &[Param]) -> Result<u64, StoreError> {
    let mut statement = connection.prepare_cached(&sql(text))?;
    let bound = bind(params);
    Ok(statement.execute(rusqlite::params_from_iter(bound.iter()))? as u64)
}

/// What the async side asks of the connection's thread.
pub(crate) enum Op {
    Query(
        String,
        Vec<Param>,
        oneshot::Sender<Result<Vec<Row>, StoreError>>,
    ),
    Execute(String, Vec<Param>, oneshot::Sender<Result<u64, StoreError>>),
    /// One statement run once per row.
    ExecuteRows(
        String,
        Vec<Vec<Param>>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    Persist(
        Vec<crate::plan::Plan>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    WriteCells(
        crate::db::query::CounterTable,
        Vec<crate::db::query::PeriodCell>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    Commit(oneshot::Sender<Result<(), StoreError>>),
}

/// Serves one transaction on `connection` (on its own thread): begins it with `begin`, runs each
/// statement as it arrives, and commits on [`Op::Commit`] — or rolls back when the caller goes
/// away without committing.
pub(crate) fn serve(connection: &Connection, begin: &str, ops: mpsc::Receiver<Op>) {
    let started = connection.execute_batch(begin).map_err(StoreError::from);
    let failed = |error: &StoreError| StoreError::Other(anyhow::anyhow!("{error}"));
    for op in ops.iter() {
        match op {
            Op::Query(text, params, reply) => {
                let _ = reply.send(match &started {
                    Ok(()) => query(connection, &text, &params),
                    Err(e) => Err(failed(e)),
                });
            }
            Op::Execute(text, params, reply) => {
                let _ = reply.send(match &started {
                    Ok(()) => execute(connection, &text, &params),
                    Err(e) => Err(failed(e)),
                });
            }
            Op::ExecuteRows(text, rows, reply) => {
                let _ = reply.send(match &started {
                    Ok(()) => rows
                        .iter()
                        .try_for_each(|row| execute(connection, &text, row).map(|_| ())),
                    Err(e) => Err(failed(e)),
                });
            }
            Op::Persist(plans, reply) => {
                let _ = reply.send(match &started {
                    Ok(()) => plans.iter().try_for_each(|plan| {
                        crate::orders::sqlite::write::persist(connection, plan)
                    }),
                    Err(e) => Err(failed(e)),
                });
            }
            Op::WriteCells(table, cells, reply) => {
                let _ = reply.send(match &started {
                    Ok(()) => crate::orders::sqlite::write::write_cells(connection, table, &cells),
                    Err(e) => Err(failed(e)),
                });
            }
            Op::Commit(reply) => {
                let result = match &started {
                    Ok(()) => connection.execute_batch("COMMIT").map_err(StoreError::from),
                    Err(e) => Err(failed(e)),
                };
                if result.is_err() && !connection.is_autocommit() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                let _ = reply.send(result);
                return;
            }
        }
    }
    // The caller dropped the transaction without committing.
    if started.is_ok() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
}

/// A transaction whose statements run on the connection's thread.
pub(crate) struct SqliteTx {
    ops: mpsc::Sender<Op>,
}

impl SqliteTx {
    /// A transaction and the receiver its thread serves ([`serve`]).
    pub(crate) fn new() -> (SqliteTx, mpsc::Receiver<Op>) {
        let (ops, receiver) = mpsc::channel();
        (SqliteTx { ops }, receiver)
    }
}

fn gone() -> StoreError {
    StoreError::Other(anyhow::anyhow!("the SQLite connection has stopped"))
}

#[async_trait]
impl Tx for SqliteTx {
    async fn query(&mut self, sql: &str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Query(sql.to_string(), params, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Execute(sql.to_string(), params, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    fn lock_suffix(&self) -> &'static str {
        ""
    }

    async fn persist_orders(&mut self, plans: Vec<crate::plan::Plan>) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Persist(plans, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn write_cells(
        &mut self,
        table: crate::db::query::CounterTable,
        cells: Vec<crate::db::query::PeriodCell>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::WriteCells(table, cells, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn insert_rows(
        &mut self,
        insert: &super::Insert<'_>,
        rows: Vec<Vec<Param>>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::ExecuteRows(insert.values_sql(), rows, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn lock(&mut self, _: super::Lock) -> Result<(), StoreError> {
        // `BEGIN IMMEDIATE` holds the database until the transaction ends.
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(Op::Commit(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// A transaction run where the connection is (the writer thread): every statement a direct
/// call. Made by [`run_direct`] only.
struct DirectTx<'c> {
    connection: &'c mut Connection,
}

#[async_trait]
impl Tx for DirectTx<'_> {
    async fn query(&mut self, sql: &str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        query(self.connection, sql, &params)
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        execute(self.connection, sql, &params)
    }

    fn lock_suffix(&self) -> &'static str {
        ""
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        // `run_direct` commits when the work is done.
        Ok(())
    }

    async fn persist_orders(&mut self, plans: Vec<crate::plan::Plan>) -> Result<(), StoreError> {
        plans
            .iter()
            .try_for_each(|plan| crate::orders::sqlite::write::persist(self.connection, plan))
    }

    async fn write_cells(
        &mut self,
        table: crate::db::query::CounterTable,
        cells: Vec<crate::db::query::PeriodCell>,
    ) -> Result<(), StoreError> {
        crate::orders::sqlite::write::write_cells(self.connection, table, &cells)
    }

    async fn insert_rows(
        &mut self,
        insert: &super::Insert<'_>,
        rows: Vec<Vec<Param>>,
    ) -> Result<(), StoreError> {
        let sql = insert.values_sql();
        rows.iter()
            .try_for_each(|row| execute(self.connection, &sql, row).map(|_| ()))
    }

    async fn lock(&mut self, _: super::Lock) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs a transaction's work on `connection`, on this thread, inside `begin` (`BEGIN
/// IMMEDIATE` on the writer, `BEGIN` for a read snapshot on a reader): committed if it
/// succeeds, rolled back if not.
///
/// Invariant: the work only runs statements and pure code, so its future completes in one
/// poll; one that waits on anything else is refused (rolled back) rather than blocking the
/// writer.
pub(crate) fn run_direct(
    connection: &mut Connection,
    begin: &str,
    work: super::Work,
) -> Result<Box<dyn std::any::Any + Send>, StoreError> {
    connection.execute_batch(begin)?;
    let result = {
        let mut tx = DirectTx {
            connection: &mut *connection,
        };
        let mut future = work(&mut tx);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => Err(StoreError::Other(anyhow::anyhow!(
                "a write transaction waited on something outside the store"
            ))),
        }
    };
    match result {
        Ok(value) => {
            if let Err(error) = connection.execute_batch("COMMIT") {
                if !connection.is_autocommit() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                return Err(error.into());
            }
            Ok(value)
        }
        Err(error) => {
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            Err(error)
        }
    }
}
