//! Work orders on SQLite: the group-commit pipeline ([`pipeline`]) with its cache and writes,
//! and the list and due pages.

pub(crate) mod cache;
pub(crate) mod pipeline;
pub(crate) mod write;

use crate::db::query as sql;
use crate::db::sqlite::bind;
use crate::db::sqlite::store::*;
use crate::orders::sqlite::pipeline::*;
use crate::plan::Item;
use crate::types::*;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::order::Order;
use whistle_core::time::{from_millis, to_millis, Timestamp};

#[async_trait]
impl crate::OrderStore for SqliteStore {
    async fn execute_items(&self, batch: Vec<Item>) -> Vec<Result<Outcome, CommandError>> {
        let count = batch.len();
        if count == 0 {
            return Vec::new();
        }
        let (sender, receiver) = oneshot::channel();
        if !self.enqueue(Job::Execute(batch, sender)).await {
            return vec![
                Err(CommandError::Store(StoreFailure::msg(
                    "the SQLite writer has stopped"
                )));
                count
            ];
        }
        receiver.await.unwrap_or_else(|_| {
            vec![
                Err(CommandError::Store(StoreFailure::msg(
                    "the SQLite writer has stopped"
                )));
                count
            ]
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut statement = c.prepare_cached("SELECT state FROM orders WHERE id = ?1")?;
            let mut orders = Vec::with_capacity(ids.len());
            for id in ids {
                let state: Option<String> = statement
                    .query_row([id.0.as_bytes()], |r| r.get(0))
                    .optional()?;
                if let Some(state) = state {
                    orders.push(crate::parse_state(&state)?);
                }
            }
            Ok(orders)
        })
        .await
    }

    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::list_orders(scope, filter, page, true)?;
        let limit = page.limit();
        let by_deadline = filter.by_deadline;
        self.read(move |c| summaries(c, query, limit, by_deadline))
            .await
    }

    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::due(to_millis(at), page)?;
        let limit = page.limit();
        self.read(move |c| summaries(c, query, limit, true)).await
    }
}

pub(crate) fn summaries(
    connection: &Connection,
    query: sql::Query,
    limit: i64,
    due: bool,
) -> Result<Page<OrderSummary>, StoreError> {
    let mut statement = connection.prepare_cached(&query.for_sqlite())?;
    let bound = bind(&query.params);
    let refs: Vec<&dyn rusqlite::ToSql> = bound.iter().map(|b| b.as_ref()).collect();
    let rows = statement.query_map(refs.as_slice(), |r| {
        let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e)
        };
        let id =
            uuid::Uuid::from_slice(&r.get::<_, Vec<u8>>(0)?).map_err(|e| invalid(Box::new(e)))?;
        let no = OrderNo::parse(&r.get::<_, String>(1)?).map_err(|e| invalid(Box::new(e)))?;
        let ms = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
            Ok(r.get::<_, Option<i64>>(i)?.map(from_millis))
        };
        Ok(OrderSummary {
            id: OrderId(id),
            no,
            version: r.get::<_, i64>(2)? as u64,
            stage: r.get(3)?,
            request_type: r.get(4)?,
            category: r.get(5)?,
            urgency: r.get(6)?,
            district: r.get(7)?,
            street: r.get(8)?,
            lead_unit: r.get(9)?,
            received_at: from_millis(r.get(10)?),
            respond_by: ms(11)?,
            handle_by: ms(12)?,
            next_due_at: ms(13)?,
            closed_at: ms(14)?,
            excluded: r.get(15)?,
        })
    })?;
    let items = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(crate::finish_page(items, limit, due))
}
