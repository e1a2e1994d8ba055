//! The executor on PostgreSQL: how a parameter binds (by the type the server infers for it), how
//! a column reads, and a transaction on a pooled connection.

pub(crate) mod store;

use async_trait::async_trait;
use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type};

use super::{Param, Row, Tx, Value};
use crate::types::StoreError;

/// The advisory lock that serialises migrations and reference changes across servers
/// (`WHISTLE` in ASCII).
pub(crate) const REFERENCE_LOCK: i64 = 0x0057_4849_5354_4c45;

fn pg(error: tokio_postgres::Error) -> StoreError {
    StoreError::Other(anyhow::Error::new(error))
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

fn checked<T: ToSql>(value: T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if !T::accepts(ty) {
        return Err(format!(
            "a {} parameter cannot be {}",
            ty.name(),
            std::any::type_name::<T>()
        )
        .into());
    }
    value.to_sql(ty, out)
}

/// A parameter bound as the type the server expects: an integer fits `smallint`, `integer` or
/// `bigint`; a null fits anything.
#[derive(Debug)]
pub(crate) struct Bound<'a>(pub &'a Param);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Text(text) => checked(text.as_str(), ty, out),
            Param::Int(value) => match *ty {
                Type::INT2 => checked(i16::try_from(*value)?, ty, out),
                Type::INT4 => checked(i32::try_from(*value)?, ty, out),
                _ => checked(*value, ty, out),
            },
            Param::Bool(value) => checked(*value, ty, out),
            Param::Id(value) => checked(*value, ty, out),
            Param::Bytes(value) => checked(value.as_slice(), ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// One column of rows as a PostgreSQL array of its declared type.
#[derive(Debug)]
enum Array {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Array {
    fn of<'a>(ty: &str, values: impl Iterator<Item = &'a Param>) -> Result<Array, StoreError> {
        let wrong =
            |p: &Param| StoreError::Other(anyhow::anyhow!("a {ty} column cannot hold {p:?}"));
        Ok(match ty {
            "text" => Array::Text(
                values
                    .map(|p| match p {
                        Param::Null => Ok(None),
                        Param::Text(t) => Ok(Some(t.clone())),
                        other => Err(wrong(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "bigint" => Array::Int(
                values
                    .map(|p| match p {
                        Param::Null => Ok(None),
                        Param::Int(i) => Ok(Some(*i)),
                        other => Err(wrong(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "boolean" => Array::Bool(
                values
                    .map(|p| match p {
                        Param::Null => Ok(None),
                        Param::Bool(b) => Ok(Some(*b)),
                        other => Err(wrong(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "the executor does not write {other} arrays"
                )))
            }
        })
    }
}

impl ToSql for Array {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Array::Text(values) => checked(values, ty, out),
            Array::Int(values) => checked(values, ty, out),
            Array::Bool(values) => checked(values, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn bound(params: &[Param]) -> Vec<Bound<'_>> {
    params.iter().map(Bound).collect()
}

fn refs<'a>(bound: &'a [Bound<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

fn value(row: &tokio_postgres::Row, index: usize) -> Result<Value, StoreError> {
    let column = &row.columns()[index];
    let ty = column.type_();
    let get = |e: tokio_postgres::Error| pg(e);
    Ok(match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map_err(get)?
            .map(Value::Bool),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map_err(get)?
            .map(|v| Value::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map_err(get)?
            .map(|v| Value::Int(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map_err(get)?
            .map(Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)
            .map_err(get)?
            .map(|v| Value::Real(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)
            .map_err(get)?
            .map(Value::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(index)
            .map_err(get)?
            .map(Value::Text),
        Type::UUID => row
            .try_get::<_, Option<uuid::Uuid>>(index)
            .map_err(get)?
            .map(|v| Value::Bytes(v.as_bytes().to_vec())),
        Type::JSON | Type::JSONB => row
            .try_get::<_, Option<serde_json::Value>>(index)
            .map_err(get)?
            .map(|v| Value::Text(v.to_string())),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)
            .map_err(get)?
            .map(Value::Bytes),
        ref other => {
            return Err(StoreError::Other(anyhow::anyhow!(
                "column {} has a type the executor does not read: {}",
                column.name(),
                other.name()
            )))
        }
    }
    .unwrap_or(Value::Null))
}

fn rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Row>, StoreError> {
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| value(row, i))
                .collect::<Result<_, _>>()
                .map(Row)
        })
        .collect()
}

/// Runs one query on a client, outside any explicit transaction (a single statement is its own
/// snapshot).
pub(crate) async fn query(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Row>, StoreError> {
    let bound = bound(params);
    rows(client.query(sql, &refs(&bound)).await.map_err(pg)?)
}

/// A transaction on a pooled connection. Dropped without commit, it is rolled back before the
/// connection goes back to the pool (or, outside a runtime, the connection is closed).
pub(crate) struct PgTx {
    client: Option<deadpool_postgres::Object>,
}

impl PgTx {
    pub(crate) async fn begin(
        client: deadpool_postgres::Object,
        begin: &str,
    ) -> Result<PgTx, StoreError> {
        client.batch_execute(begin).await.map_err(pg)?;
        Ok(PgTx {
            client: Some(client),
        })
    }

    fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("the transaction has ended")))
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        // Never hand a connection in an unknown state back to the pool.
                        let _ = deadpool_postgres::Object::take(client);
                    }
                });
            }
            Err(_) => {
                let _ = deadpool_postgres::Object::take(client);
            }
        }
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn query(&mut self, sql: &str, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        query(self.client()?, sql, &params).await
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        let bound = bound(&params);
        self.client()?.execute(sql, &refs(&bound)).await.map_err(pg)
    }

    fn lock_suffix(&self) -> &'static str {
        " FOR UPDATE"
    }

    async fn persist_orders(&mut self, plans: Vec<crate::plan::Plan>) -> Result<(), StoreError> {
        let client: &tokio_postgres::Client = self.client()?;
        for plan in &plans {
            crate::orders::postgres::persist::persist(client, plan).await?;
        }
        Ok(())
    }

    async fn write_cells(
        &mut self,
        table: crate::db::query::CounterTable,
        cells: Vec<crate::db::query::PeriodCell>,
    ) -> Result<(), StoreError> {
        let client: &tokio_postgres::Client = self.client()?;
        for chunk in cells.chunks(10_000) {
            crate::orders::postgres::persist::upsert_cells(client, table, chunk).await?;
        }
        Ok(())
    }

    async fn insert_rows(
        &mut self,
        insert: &super::Insert<'_>,
        rows: Vec<Vec<Param>>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let arrays = insert
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| Array::of(ty, rows.iter().map(|row| &row[i])))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        self.client()?
            .execute(&insert.unnest_sql(), &refs)
            .await
            .map_err(pg)?;
        Ok(())
    }

    async fn lock(&mut self, lock: super::Lock) -> Result<(), StoreError> {
        let client = self.client()?;
        match lock {
            super::Lock::Reference => client
                .execute("SELECT pg_advisory_xact_lock($1)", &[&REFERENCE_LOCK])
                .await
                .map(|_| ()),
            super::Lock::Orders => {
                client
                    .batch_execute("LOCK TABLE orders IN EXCLUSIVE MODE")
                    .await
            }
        }
        .map_err(pg)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let client = self.client()?;
        client.batch_execute("COMMIT").await.map_err(pg)?;
        // Committed: the connection goes back to the pool as it is.
        self.client.take();
        Ok(())
    }
}
