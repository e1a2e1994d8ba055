//! Work orders on PostgreSQL: the writer ([`writer`]) with its set-based writes ([`persist`]),
//! and the list and due pages.

pub(crate) mod persist;
pub(crate) mod writer;

use crate::db::postgres::store::*;
use crate::db::query::{self as sql, Param};
use crate::plan::Item;
use crate::types::*;
use async_trait::async_trait;
use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;
use whistle_core::ids::{OrderId, OrderNo};
use whistle_core::order::Order;
use whistle_core::time::{from_millis, to_millis, Timestamp};

#[async_trait]
impl crate::OrderStore for PgStore {
    async fn execute_items(&self, batch: Vec<Item>) -> Vec<Result<Outcome, CommandError>> {
        let count = batch.len();
        if count == 0 {
            return Vec::new();
        }
        let (sender, receiver) = oneshot::channel();
        if self.writer.send((batch, sender)).await.is_err() {
            return vec![
                Err(CommandError::Store(StoreFailure::msg(
                    "the PostgreSQL writer has stopped"
                )));
                count
            ];
        }
        receiver.await.unwrap_or_else(|_| {
            vec![
                Err(CommandError::Store(StoreFailure::msg(
                    "the PostgreSQL writer has stopped"
                )));
                count
            ]
        })
    }

    async fn orders_by_id(&self, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let client = self.client().await?;
        let wanted: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
        let rows = client
            .query(
                "SELECT id, state FROM orders WHERE id = ANY($1)",
                &[&wanted],
            )
            .await
            .map_err(pg)?;
        let mut found: std::collections::HashMap<uuid::Uuid, Order> =
            std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            found.insert(row.get(0), crate::parse_state(row.get(1))?);
        }
        Ok(ids.iter().filter_map(|id| found.remove(&id.0)).collect())
    }

    async fn list_orders(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::list_orders(scope, filter, page, false)?;
        summaries(
            &**self.client().await?,
            query,
            page.limit(),
            filter.by_deadline,
        )
        .await
    }

    async fn due(
        &self,
        at: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let query = sql::due(to_millis(at), page)?;
        summaries(&**self.client().await?, query, page.limit(), true).await
    }
}

pub(crate) async fn summaries(
    client: &impl GenericClient,
    query: sql::Query,
    limit: i64,
    due: bool,
) -> Result<Page<OrderSummary>, StoreError> {
    let params: Vec<Box<dyn ToSql + Sync + Send>> = query
        .params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Null => Box::new(Option::<String>::None),
                Param::Text(t) => Box::new(t.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Bool(b) => Box::new(*b),
                Param::Id(id) => Box::new(*id),
                Param::Bytes(b) => Box::new(b.clone()),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(query.sql.as_str(), &refs).await.map_err(pg)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let ms = |i: usize| r.get::<_, Option<i64>>(i).map(from_millis);
        items.push(OrderSummary {
            id: OrderId(r.get(0)),
            no: OrderNo::parse(r.get(1))?,
            version: r.get::<_, i64>(2) as u64,
            stage: r.get(3),
            request_type: r.get(4),
            category: r.get(5),
            urgency: r.get(6),
            district: r.get(7),
            street: r.get(8),
            lead_unit: r.get(9),
            received_at: from_millis(r.get(10)),
            respond_by: ms(11),
            handle_by: ms(12),
            next_due_at: ms(13),
            closed_at: ms(14),
            excluded: r.get(15),
        });
    }
    Ok(crate::finish_page(items, limit, due))
}
